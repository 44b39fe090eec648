"""The command line's grammar: every command, its flags and their help."""

from __future__ import annotations

import argparse
from typing import NoReturn

from ..errors import InputError
from . import commands, run  # looked up when the parser is built: a command replaced in its module is the one run


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2 (argparse prints usage too)
        raise InputError(f"{message} (see '{self.prog} --help')")

    def add_argument(self, *args, **kwargs):
        # An empty value (`--dataset ''`, a shell variable that was not set) is refused, not taken for the
        # flag left out: a run without its dataset, or into the default --out, would be the wrong run.
        if kwargs.get("action", "store") == "store" and "type" not in kwargs and "choices" not in kwargs:
            kwargs["type"] = _given
        return super().add_argument(*args, **kwargs)

    def parse_known_args(self, args=None, namespace=None):
        """Every argument, unknown ones reported before missing required ones.

        argparse checks the required arguments first: `run --trget host` would be told only that --target
        is missing. A mistyped flag explains both, so it is named first; this parser then knows every
        argument, and returns none unknown (a command's own parser errs here, naming itself in the fix)."""
        required = [action for action in self._actions if action.required]
        for action in required:
            action.required = False
        try:
            namespace, unknown = super().parse_known_args(args, namespace)
        finally:
            for action in required:
                action.required = True
        if unknown:
            self.error(f"unrecognized arguments: {' '.join(unknown)}")
        missing = [_shown(action) for action in required if getattr(namespace, action.dest, None) is None]
        if missing:
            self.error(f"the following arguments are required: {', '.join(missing)}")
        return namespace, unknown


def _given(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; give a value")
    return text


def _shown(action: argparse.Action) -> str:
    """An argument as argparse names it in its own messages."""
    if action.option_strings:
        return "/".join(action.option_strings)
    return action.metavar if isinstance(action.metavar, str) else action.dest


class _Version(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from ..install import describe

        print(describe())  # as is: argparse's own version action would wrap a long path
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="edge-bench", description="Benchmark resolution- and width-scaled INT8 vision models on edge devices."
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show what the libraries print (kept in edge-bench.log otherwise) and tracebacks",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="the version, where it is installed, the Python")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("list", help="list recipes or targets")
    p.add_argument("what", choices=["recipes", "targets"])
    p.set_defaults(func=commands.cmd_list)

    def variant_flags(p):
        p.add_argument(
            "--recipe", required=True, help="a recipe name (see 'edge-bench list recipes') or a path to a .toml file"
        )
        p.add_argument(
            "--only",
            action="append",
            metavar="KEY=VALUE",
            help="keep variants whose field equals VALUE (repeatable, AND-ed; VALUE may be a,b)",
        )

    p = sub.add_parser("analyze", help="the analytic model only: no export, no device")
    variant_flags(p)
    p.add_argument("--out", help="write DIR/analysis.csv and the trade-off plots")
    p.set_defaults(func=commands.cmd_analyze)

    p = sub.add_parser("build", help="quantize and export the recipe's artifacts (cached)")
    variant_flags(p)
    p.add_argument("--runtime", help="executorch,litert (default: the recipe's)")
    p.add_argument("--jobs", type=int, default=1, help="parallel conversions (bounded by available memory)")
    p.set_defaults(func=commands.cmd_build)

    p = sub.add_parser("run", help="build what is missing, measure on the target(s), write results and report")
    p.add_argument("--target", required=True, help="a target name or .toml path; several: a,b")
    variant_flags(p)
    p.add_argument("--runtime", help="executorch,litert (default: the recipe's)")
    p.add_argument("--out", help="results directory (default: reports/<recipe>-<target>)")
    p.add_argument("--resume", action="store_true", help="skip measurements already ok in --out")
    p.add_argument(
        "--dataset",
        help="labelled images (ImageFolder, or Cityscapes for segmentation): top-1/top-5 or mIoU "
        "of every artifact and of its FP32 model",
    )
    p.add_argument("--max-images", type=int, default=500, help="images of --dataset to evaluate (default 500)")
    p.add_argument(
        "--budget", type=float, default=0.75, help="accuracy budget in points for the selection (default 0.75)"
    )
    p.add_argument(
        "--prebuilt",
        action="store_true",
        help="measure the artifacts another machine built into the cache; convert nothing (no torch needed)",
    )
    p.add_argument(
        "--alongside",
        metavar="BASELINE",
        help="also measure the artifacts of this baseline (a results directory or a history's newest run) in the "
        "same rounds, into OUT/alongside, for `edge-bench compare OUT/alongside OUT` side by side",
    )
    p.add_argument(
        "--profile-ops",
        action="store_true",
        help="also profile each measurement per operator (a separate pass after its first round): OUT/operators.csv",
    )
    p.set_defaults(func=run.cmd_run)

    p = sub.add_parser("report", help="report.md, results.csv and plots from one or more result directories")
    p.add_argument("dirs", nargs="+", metavar="DIR")
    p.add_argument(
        "--out", help="where to write (default: the first DIR, or the folder of a results.jsonl given as DIR)"
    )
    p.add_argument(
        "--budget", type=float, default=0.75, help="accuracy budget in points for the selection (default 0.75)"
    )
    p.set_defaults(func=commands.cmd_report)

    p = sub.add_parser("compare", help="fail (exit 1) when a run's median latencies regressed against a baseline")
    p.add_argument(
        "baseline", help="a baseline history (edge-bench baseline accept), a results directory or results.jsonl"
    )
    p.add_argument("run", help="the run to check: a results directory or results.jsonl")
    p.add_argument(
        "--min-change", type=float, default=0.02, help="slower by more than this fraction to matter (default 0.02)"
    )
    p.add_argument("--confidence", type=float, default=0.95, help="of the ratio's interval (default 0.95)")
    p.add_argument("--last", type=int, default=3, help="baseline runs of a history to compare against (default 3)")
    p.add_argument(
        "--allow-different-artifacts",
        action="store_true",
        help="also compare measurements of different artifacts, runtime versions or threads (marked)",
    )
    p.set_defaults(func=commands.cmd_compare)

    p = sub.add_parser(
        "baseline", help="keep a run's trustworthy records as a baseline (a dated history, never overwritten)"
    )
    p.add_argument("action", choices=["accept"])
    p.add_argument("run", help="the run to accept: a results directory or results.jsonl")
    p.add_argument("--history", required=True, help="the folder that keeps the baselines")
    p.add_argument("--keep", type=int, help="keep only the newest N baselines")
    p.set_defaults(func=commands.cmd_baseline)

    p = sub.add_parser("doctor", help="can this target run? what is missing, and the fix")
    p.add_argument("--target", required=True)
    p.set_defaults(func=commands.cmd_doctor)
    return parser
