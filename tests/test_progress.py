"""The progress line: n of N, elapsed and the estimate of the rest from an injected clock; quiet off a terminal."""

from __future__ import annotations

import io

from edge_bench.progress import Progress


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_first_item_has_no_estimate():
    clock = Clock()
    p = Progress(io.StringIO(), enabled=False, clock=clock)
    clock.now += 5
    assert p.line("build", 1, 4, "a") == "build 1/4 a [0m05s elapsed]"


def test_estimate_is_the_mean_time_per_item_times_the_items_left():
    clock = Clock()
    p = Progress(io.StringIO(), enabled=False, clock=clock)
    p.line("build", 1, 4, "a")
    clock.now += 30
    # One item took 30 s; items 2, 3 and 4 remain: 90 s.
    assert p.line("build", 2, 4, "b") == "build 2/4 b [0m30s elapsed, ~1m30s left]"
    clock.now += 90
    # Two items in 120 s: 60 s each, two remain.
    assert p.line("build", 3, 4, "c") == "build 3/4 c [2m00s elapsed, ~2m00s left]"


def test_interleaved_stages_keep_their_own_start():
    clock = Clock()
    p = Progress(io.StringIO(), enabled=False, clock=clock)
    p.line("build", 1, 3, "a")
    clock.now += 10
    p.line("evaluate", 1, 3, "a")
    clock.now += 10
    # The build of item 1 plus its evaluation took 20 s: 2 items left, ~40 s (not 0, as a restart would say).
    assert p.line("build", 2, 3, "b").endswith("[0m20s elapsed, ~0m40s left]")


def test_a_stage_that_starts_late_counts_only_what_it_did():
    clock = Clock()
    p = Progress(io.StringIO(), enabled=False, clock=clock)
    p.line("build", 5, 10, "e")  # a resumed sweep: items 1-4 were done before
    clock.now += 10
    assert p.line("build", 6, 10, "f").endswith("~0m50s left]")  # 10 s per item, 6..10 left


def test_a_lower_n_restarts_the_stage():
    clock = Clock()
    p = Progress(io.StringIO(), enabled=False, clock=clock)
    p.line("measure", 1, 2, "a")
    clock.now += 100
    p.line("measure", 2, 2, "b")
    p.line("measure", 1, 2, "a")  # the next target's sweep
    clock.now += 10
    assert p.line("measure", 2, 2, "b").endswith("~0m10s left]")


def test_hours_are_shown_as_hours():
    clock = Clock()
    p = Progress(io.StringIO(), enabled=False, clock=clock)
    p.line("build", 1, 3, "a")
    clock.now += 3600
    assert p.line("build", 2, 3, "b") == "build 2/3 b [1h00m elapsed, ~2h00m left]"


def test_without_a_terminal_plain_lines_come_per_stage_and_at_most_one_per_interval():
    stream, clock = io.StringIO(), Clock()
    p = Progress(stream, clock=clock, interval=30, ticker=False)
    p.update("build", 1, 3, "a")  # a new stage: written
    clock.now += 10
    p.update("build", 2, 3, "b")  # 10 s later: not yet
    clock.now += 25
    p.update("build", 3, 3, "c")  # 35 s after the last line: written
    p.update("measure", 1, 1, "a")  # a new stage: written at once
    p.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4 - 1 and not any("\r" in line for line in lines)
    assert lines[0].endswith("build 1/3 a [0m00s elapsed]")
    assert lines[1].endswith("build 3/3 c [0m35s elapsed, ~0m17s left]")
    assert lines[2].startswith(lines[2][:8]) and "measure 1/1 a" in lines[2]


def test_the_estimate_counts_down_while_an_item_runs():
    stream, clock = io.StringIO(), Clock()
    p = Progress(stream, enabled=False, clock=clock)
    p.line("build", 1, 3, "a")
    clock.now += 60
    assert p.line("build", 2, 3, "b").endswith("~2m00s left]")
    clock.now += 45  # the same item, 45 s on: the rest is 45 s shorter, not stale
    assert p._text(clock()).endswith("~1m15s left]")
    clock.now += 600  # past the estimate: zero, never negative
    assert p._text(clock()).endswith("~0m00s left]")


def test_a_terminal_gets_one_line_rewritten_with_carriage_returns():
    stream, clock = Terminal(), Clock()
    p = Progress(stream, clock=clock, ticker=False)
    p.update("build", 1, 2, "a")
    clock.now += 7
    p.update("build", 2, 2, "b")
    p.close()
    text = stream.getvalue()
    assert text.startswith("\rbuild 1/2 a [0m00s elapsed]")
    assert "\rbuild 2/2 b [0m07s elapsed, ~0m07s left]" in text
    assert text.count("\r") == 2 and text.endswith("\n") and text.count("\n") == 1
    # Each update pads to the same width, so a shorter line hides the longer one before it.
    first, second = text.strip("\n").split("\r")[1:]
    assert len(first) == len(second)
