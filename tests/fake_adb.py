#!/usr/bin/env python3
"""A stand-in for adb that drives the adb transport end to end without a phone.

    fake_adb.py [-s SERIAL] get-state | push LOCAL REMOTE | pull REMOTE LOCAL | shell COMMAND...

The device's filesystem root is the local directory $FAKE_ADB_ROOT: device paths under /data, /sdcard
and /sys in a command are rewritten into it, `shell` runs the command with /bin/sh (in its own session,
as adbd does) with $FAKE_ADB_ROOT/system/bin first on PATH, and the root is rewritten back to "/" in
what it prints. Like a modern adb it passes the exit status through ($FAKE_ADB_OLD=1: like a device
before Android 7, status 0 and stderr mixed into stdout).

$FAKE_ADB_SERIAL names the one attached device. $FAKE_ADB_STATE_FILE, when set, holds its state:
"device", "offline", or "gone" (unplugged: new commands fail as adb's do, and a running `shell` ends
with status 0 and truncated output, as adb's client does when the connection drops).

Thermal zones made by `make_thermal_zones` change over time: every shell command that reads
/sys/class/thermal/thermal_zone* first moves each zone to its next reading (the last one stays), as a
phone cooling down between the reads of a cool-down wait.

The helpers below build a device tree (cpufreq policies, governors, a `taskset` that logs its mask) and
a `benchmark_model` that prints LiteRT's documented output for the flags it is given. With
$FAKE_BENCHMARK_UNPLUG_AT=N it unplugs the phone (writes "gone" to the state file) during its Nth run,
counted in $FAKE_BENCHMARK_COUNT: a phone lost in the middle of a sweep.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

DEVICE_DIRS = ("data", "sdcard", "sys")


def _env_root() -> Path:
    return Path(os.environ["FAKE_ADB_ROOT"]).resolve()


def _state() -> str:
    path = os.environ.get("FAKE_ADB_STATE_FILE")
    if path and Path(path).exists():
        return Path(path).read_text().strip() or "device"
    return "device"


def to_local(text: str, root: Path) -> str:
    """Device paths (/data/..., /sys/...) in a command -> paths below the fake root."""
    pattern = rf"(?<![\w./-])/({'|'.join(DEVICE_DIRS)})(?=/|\b)"
    return re.sub(pattern, lambda m: f"{root}/{m.group(1)}", text)


def to_device(data: bytes, root: Path) -> bytes:
    return data.replace(str(root).encode(), b"")


def _fail(message: str) -> int:
    sys.stderr.write(message + "\n")
    return 1


def _forward(pipe, sink, root: Path, gate: dict) -> None:
    """Copy a stream line by line (the root rewritten back to "/") until the device is unplugged."""
    for line in iter(pipe.readline, b""):
        if gate["open"]:
            sink.write(to_device(line, root))
            sink.flush()


def _next_thermal_readings(root: Path) -> None:
    """Each shell command that reads the thermal zones gets each zone's next reading (see make_thermal_zones)."""
    for pending in sorted((root / "sys/class/thermal").glob("thermal_zone*/temp.readings")):
        readings = pending.read_text().split()
        if readings:
            (pending.parent / "temp").write_text(readings[0] + "\n")
            pending.write_text("\n".join(readings[1:]))


def _shell(command: str, root: Path, old: bool) -> int:
    if "thermal_zone" in command:
        _next_thermal_readings(root)
    env = dict(os.environ)
    env["PATH"] = f"{root}/system/bin:{env.get('PATH', '/usr/bin:/bin')}"
    env["TMPDIR"] = f"{root}/data/local/tmp"
    # adb forwards its own stdin to the device's shell (the agent's --exit-with-host watches it).
    proc = subprocess.Popen(
        ["/bin/sh", "-c", to_local(command, root)],
        cwd=str(root),
        env=env,
        stdin=None,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if old else subprocess.PIPE,
        start_new_session=True,
    )
    gate = {"open": True}
    threads = [threading.Thread(target=_forward, args=(proc.stdout, sys.stdout.buffer, root, gate))]
    if not old:
        threads.append(threading.Thread(target=_forward, args=(proc.stderr, sys.stderr.buffer, root, gate)))
    for t in threads:
        t.start()
    while proc.poll() is None:
        if _state() != "device":  # unplugged: the rest of the output is lost, adb's client says 0
            gate["open"] = False
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return 0
        time.sleep(0.02)
    for t in threads:
        t.join()
    return 0 if old else proc.returncode


def main(argv: list[str]) -> int:
    serial = None
    if argv[:1] == ["-s"]:
        serial, argv = argv[1], argv[2:]
    attached = os.environ.get("FAKE_ADB_SERIAL", "fake-serial")
    if serial not in (None, attached) or _state() == "gone":
        return _fail(f"adb: device '{serial or attached}' not found" if serial else "adb: no devices/emulators found")
    if _state() == "offline":
        return _fail("adb: device offline")
    root = _env_root()
    if not argv:
        return _fail("adb: no command")
    command, args = argv[0], argv[1:]
    if command == "get-state":
        print("device")
        return 0
    if command == "push" and len(args) == 2:
        local, remote = args
        if not os.path.isfile(local):
            return _fail(f"adb: error: cannot stat '{local}': No such file or directory")
        target = root / remote.lstrip("/")
        if not target.parent.is_dir():
            return _fail(
                f"adb: error: failed to copy '{local}' to '{remote}': remote couldn't create file: "
                "No such file or directory"
            )
        shutil.copyfile(local, target)
        print(f"{local}: 1 file pushed, 0 skipped.")
        return 0
    if command == "pull" and len(args) == 2:
        remote, local = args
        source = root / remote.lstrip("/")
        if not source.is_file():
            return _fail(f"adb: error: failed to stat remote object '{remote}': No such file or directory")
        shutil.copyfile(source, local)
        print(f"{remote}: 1 file pulled, 0 skipped.")
        return 0
    if command == "shell" and args:
        if args[0] == "-T":
            args = args[1:]
        return _shell(" ".join(args), root, os.environ.get("FAKE_ADB_OLD") == "1")
    return _fail(f"fake adb: unsupported command {argv!r}")


# ---------------------------------------------------------------- test helpers (host side)


def make_device(root: Path, policies: dict[int, tuple[list[int], int]], governor: str = "schedutil") -> Path:
    """A device tree: cpufreq policies {first_cpu: (cpus, max_khz)}, governors, a /data/local/tmp,
    and a `taskset` that logs its mask to $FAKE_ADB_TASKSET_LOG and runs the rest."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "data/local/tmp").mkdir(parents=True, exist_ok=True)
    cpu = root / "sys/devices/system/cpu"
    for first, (cpus, max_khz) in policies.items():
        policy = cpu / "cpufreq" / f"policy{first}"
        policy.mkdir(parents=True, exist_ok=True)
        (policy / "related_cpus").write_text(" ".join(map(str, cpus)) + "\n")
        (policy / "cpuinfo_max_freq").write_text(f"{max_khz}\n")
        for c in cpus:
            (cpu / f"cpu{c}/cpufreq").mkdir(parents=True, exist_ok=True)
            (cpu / f"cpu{c}/cpufreq/scaling_governor").write_text(governor + "\n")
    (root / "sys/devices/system/clocksource/clocksource0").mkdir(parents=True, exist_ok=True)
    (root / "sys/devices/system/clocksource/clocksource0/current_clocksource").write_text("arch_sys_counter\n")
    bin_dir = root / "system/bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    taskset = bin_dir / "taskset"
    taskset.write_text('#!/bin/sh\necho "$1" >> "$FAKE_ADB_TASKSET_LOG"\nshift\nexec "$@"\n')
    taskset.chmod(0o755)
    return root


def make_thermal_zones(root: Path, readings: dict[int, list[str]], kinds: dict[int, str] | None = None) -> None:
    """Thermal zones {N: [reading, ...]} as sysfs prints them (millidegrees, e.g. "41000"): a read by the
    shell sees the next reading each time, then the last one for good."""
    for zone, values in readings.items():
        folder = root / f"sys/class/thermal/thermal_zone{zone}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "type").write_text((kinds or {}).get(zone, f"zone{zone}") + "\n")
        (folder / "temp").write_text(values[0] + "\n")
        (folder / "temp.readings").write_text("\n".join(values))


def write_dumpsys(root: Path, battery_text: str) -> None:
    """A `dumpsys` on the device whose `dumpsys battery` prints `battery_text` (a real capture)."""
    (root / "system/bin/battery.txt").write_text(battery_text)
    dumpsys = root / "system/bin/dumpsys"
    dumpsys.write_text(f'#!/bin/sh\n[ "$1" = battery ] && cat "{root}/system/bin/battery.txt"\n')
    dumpsys.chmod(0o755)


def write_adb(path: Path) -> Path:
    """An executable `adb` for the transport's [adb] adb key: this file run by this interpreter."""
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" "$@"\n')
    path.chmod(0o755)
    return path


BENCHMARK_MODEL = r'''#!{python}
"""A stand-in for LiteRT's benchmark_model: checks its flags and the model file, prints the tool's format.

Its numbers follow from its flags (count = --num_runs, ...) so a test can tell they went through.
"""
import os, sys, time
flags = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
if os.environ.get("FAKE_BENCHMARK_SLEEP"):
    time.sleep(float(os.environ["FAKE_BENCHMARK_SLEEP"]))
if os.environ.get("FAKE_BENCHMARK_UNPLUG_AT"):
    counter = os.environ["FAKE_BENCHMARK_COUNT"]
    run = (int(open(counter).read()) if os.path.exists(counter) else 0) + 1
    open(counter, "w").write(str(run))
    if run == int(os.environ["FAKE_BENCHMARK_UNPLUG_AT"]):
        print("INFO: STARTING!", flush=True)
        open(os.environ["FAKE_ADB_STATE_FILE"], "w").write("gone")
        time.sleep(30)  # the fake adb notices within 20 ms and kills this run
graph = flags.get("graph", "")
print("INFO: STARTING!")
print("INFO: Log parameter values verbosely: [0]")
print(f"INFO: Num threads: [{{flags.get('num_threads', '-1')}}]")
print(f"INFO: Graph: [{{graph}}]")
print(f"INFO: Use xnnpack: [{{1 if flags.get('use_xnnpack') == 'true' else 0}}]")
if not os.path.isfile(graph):
    print(f"ERROR: Could not open '{{graph}}'.", file=sys.stderr)
    print("ERROR: Benchmarking failed.", file=sys.stderr)
    sys.exit(1)
print(f"INFO: Loaded model {{graph}}")
print(f"INFO: The input model file size (MB): {{os.path.getsize(graph) / 1e6:g}}")
print("INFO: Initialized session in 12.5ms.")
warmup, runs = int(flags.get("warmup_runs", 1)), int(flags.get("num_runs", 50))
print(f"INFO: Running benchmark for at least {{warmup}} iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.")
print(f"INFO: count={{warmup}} first=1500 curr=1250 min=1250 max=1500 avg=1375 std=125")
print(f"INFO: Running benchmark for at least {{runs}} iterations and at least 1 seconds but terminate if exceeding 150 seconds.")
print(f"INFO: count={{runs}} first=1210 curr=1190 min=1180 max=1250 avg=1200.5 std=15 p5=1181 median=1199 p95=1240")
print("INFO: Inference timings in us: Init: 12345, First inference: 1500, Warmup (avg): 1375, Inference (avg): 1200.5")
print("INFO: Note: as the benchmark tool itself affects memory footprint, the following is only APPROXIMATE to the actual memory footprint of the model at runtime. Take the information at your discretion.")
print("INFO: Memory footprint delta from the start of the tool (MB): init=3.5 overall=4.25")
'''


def write_benchmark_model(path: Path) -> Path:
    """A host-side `benchmark_model` for [adb] benchmark_model: pushed to the fake device and run there."""
    path.write_text(BENCHMARK_MODEL.format(python=sys.executable))
    path.chmod(0o644)  # the transport must chmod it on the device
    return path


EXECUTOR_RUNNER = r'''#!{python}
"""A stand-in for ExecuTorch's executor_runner: checks the model file, logs like the posix PAL on stderr."""
import os, sys
flags = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
model, n = flags.get("model_path", ""), int(flags.get("num_executions", 1))
log = lambda msg: print(f"I 00:00:00.{{len(msg):06d}} executorch:executor_runner.cpp:100] {{msg}}", file=sys.stderr)
if not os.path.isfile(model):
    print(f"E 00:00:00.000100 executorch:executor_runner.cpp:90] FileDataLoader::from() failed: 0x22", file=sys.stderr)
    sys.exit(1)
log(f"Resetting threadpool with num threads = {{flags.get('cpu_threads', '-1')}}")
log("Model loaded in 7.250000 ms.")
log("Setting up planned buffer 0, size 4096.")
for i in range(1, n + 1):
    log(f"Iteration {{i}} of {{n}}: {{3.0 if i == 1 else 2.0 + i / 1000:.6f}} ms")
log(f"Model executed successfully {{n}} time(s) in {{2.0 * n + 1:.6f}} ms.")
'''


def write_executor_runner(path: Path) -> Path:
    """A host-side `executor_runner` for [adb] executor_runner."""
    path.write_text(EXECUTOR_RUNNER.format(python=sys.executable))
    path.chmod(0o644)
    return path


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
