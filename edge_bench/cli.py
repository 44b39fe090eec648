"""The edge-bench command line: parses flags, calls the library, prints.

Exit codes: 0 everything measured, 1 some variants failed (the others are recorded), 2 bad input.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from pathlib import Path
from typing import NoReturn, Sequence

from .console import keep_log_in
from .errors import InputError

EXIT_OK, EXIT_SOME_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2 (argparse prints usage too)
        raise InputError(f"{message} (see '{self.prog} --help')")


def _runtimes(text: str | None, recipe) -> list[str]:
    if not text:
        return list(recipe.runtimes)
    chosen = [r.strip() for r in text.split(",") if r.strip()]
    unknown = [r for r in chosen if r not in ("executorch", "litert")]
    if unknown or not chosen:
        raise InputError(f"--runtime {text}: choose from executorch, litert (comma-separated)")
    return chosen


def _variants(args):
    from .config import load_recipe
    from .recipes import Only, expand

    recipe = load_recipe(args.recipe)
    return recipe, expand(recipe, [Only.parse(o) for o in args.only or []])


def _progress():
    from .console import console_stderr
    from .progress import Progress

    return Progress(console_stderr())  # a line redrawn on a terminal, plain lines now and then otherwise


def _finite(flag: str, value: float, low: float | None = None, high: float | None = None, what: str = "") -> float:
    """A numeric flag that must be a finite number in [low, high]: one-line error otherwise."""
    if not math.isfinite(value) or (low is not None and value < low) or (high is not None and value > high):
        raise InputError(f"{flag} {value}: give {what or 'a finite number'}")
    return value


class _Version(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from .install import describe

        print(describe())  # as is: argparse's own version action would wrap a long path
        parser.exit()


# ------------------------------------------------------------------ commands


def cmd_list(args) -> int:
    from .catalog import PATH_VARIABLE, entries, sources
    from .config import load_recipe, load_target

    load = load_recipe if args.what == "recipes" else load_target
    for entry in entries(args.what):
        try:
            description = load(str(entry.path)).description
        except InputError as e:
            description = f"(invalid: {e})"
        shadows = f" (shadows {', '.join(s.label for s in entry.shadows)})" if entry.shadows else ""
        print(f"{entry.name:28s} {entry.source.label:8s} {description}{shadows}")
    print(f"\n{args.what} are looked up in this order, the first file of a name wins:")
    for source in sources(args.what):
        if source.label == "user" and not os.environ.get(PATH_VARIABLE):
            print(f"  {'env':8s} ${PATH_VARIABLE} is not set (folders holding {args.what}/, separated by ':')")
        state = "" if source.folder.is_dir() else " (no such folder)"
        print(f"  {source.label:8s} {source.folder}{state}  [{source.origin}]")
    return EXIT_OK


def cmd_analyze(args) -> int:
    import pandas as pd

    from .analytic.sweep import analyze_recipe, write_analysis
    from .config import load_recipe
    from .recipes import Only, expand
    from .report.tables import to_markdown

    frames = []
    for name in [n.strip() for n in args.recipe.split(",") if n.strip()]:
        recipe = load_recipe(name)
        variants = expand(recipe, [Only.parse(o) for o in args.only or []])
        frames.append(analyze_recipe(recipe, variants, progress=_progress()))
    frame = pd.concat(frames, ignore_index=True)
    print(to_markdown(frame))
    if args.out:
        keep_log_in(Path(args.out))
        for path in write_analysis(frame, Path(args.out)):
            print(f"wrote {path}")
    return EXIT_OK


def cmd_build(args) -> int:
    from .build import build_all

    if args.jobs < 1:
        raise InputError(f"--jobs {args.jobs}: give 1 or more parallel conversions")
    recipe, variants = _variants(args)
    outcomes = build_all(recipe, variants, _runtimes(args.runtime, recipe), jobs=args.jobs, progress=_progress())
    failed = 0
    for o in outcomes:
        state = "cached" if o.cached else ("built" if o.artifact else "FAILED")
        detail = o.artifact.path if o.artifact else o.error
        failed += o.artifact is None
        print(f"{state:7s} {o.variant.name} {o.runtime}: {detail}")
    return EXIT_SOME_FAILED if failed else EXIT_OK


def cmd_run(args) -> int:
    from .config import load_target
    from .results import RESULTS_FILE, ResultStore, ResultWriteError
    from .measure.runner import Runner

    recipe, variants = _variants(args)
    runtimes = _runtimes(args.runtime, recipe)
    names = [t.strip() for t in args.target.split(",") if t.strip()]
    if not names:
        raise InputError("--target: name at least one target (see 'edge-bench list targets')")
    targets = [load_target(name) for name in names]
    twice = sorted({t.name for t in targets if [u.name for u in targets].count(t.name) > 1})
    if twice:
        raise InputError(f"--target {args.target}: {', '.join(twice)} named more than once; name each target once")
    if args.max_images <= 0:
        raise InputError(f"--max-images {args.max_images}: give a positive number of images")
    _finite("--budget", args.budget, 0, None, "a finite number of points >= 0")
    out = Path(args.out) if args.out else Path("reports") / f"{recipe.name}-{'+'.join(t.name for t in targets)}"
    alongside, alongside_store = _alongside(args, out)
    store = ResultStore(out)
    store.lock(" ".join(["edge-bench", *sys.argv[1:]]) if sys.argv else "run")  # exit 2 when another run holds it
    keep_log_in(out)
    try:
        stores = [store, *([alongside_store] if alongside_store else [])]
        for written in stores:
            if written.path.exists() and not args.resume:
                raise InputError(
                    f"--out {out}: {written.directory} already holds {RESULTS_FILE}; add --resume to continue it, "
                    "or choose a new --out"
                )
        for message in (m for written in stores for m in written.repair()):
            print(f"edge-bench: {message}", file=sys.stderr)
        from .accuracy.evaluator import Evaluator
        from .export.cache import cache_root
        from .measure.operators import first_round_profiler
        from .provenance import write_provenance

        # Fidelity to FP32 is measured for every artifact; accuracy too when a labelled dataset is given.
        evaluator = Evaluator(
            recipe, cache_root(), dataset=Path(args.dataset) if args.dataset else None, max_images=args.max_images
        )
        builder = None
        if args.prebuilt:  # artifacts built elsewhere, e.g. on a board without the converter stack
            from .build.prebuilt import PrebuiltBuilder

            builder = PrebuiltBuilder(recipe)
        runner = Runner(
            recipe,
            variants,
            runtimes,
            targets,
            store,
            resume=args.resume,
            builder=builder,
            progress=_progress(),
            evaluator=evaluator,
            alongside=alongside,
            alongside_store=alongside_store,
            spec_extra=first_round_profiler() if args.profile_ops else None,
        )
        write_provenance(out, runner, argv=sys.argv)
        try:
            summary = runner.run()
        except ResultWriteError as e:
            print(
                f"edge-bench: error: {e}; the run stopped ({runner.summary.ok + runner.summary.failed} "
                f"measurements recorded before it)",
                file=sys.stderr,
            )
            return EXIT_SOME_FAILED
        write_provenance(out, runner, argv=sys.argv, finished=True)
    finally:
        store.unlock()
    for notice in summary.notices:
        print(f"  {notice}")
    if args.profile_ops:  # before the report, which reads them
        from .measure.operators import write_operator_tables

        print(write_operator_tables(out))
    from .report import write_report
    from .results import read_records

    report = write_report(
        read_records(out / RESULTS_FILE), out, title=f"{recipe.name} on {', '.join(names)}", budget_points=args.budget
    )
    imprecise = f", {summary.imprecise} not to the target precision" if summary.imprecise else ""
    print(
        f"{summary.ok} ok{imprecise}, {summary.failed} failed, {summary.skipped} already done; "
        f"results in {out / RESULTS_FILE}"
    )
    for failure in summary.failures:
        print(f"  failed: {failure}")
    print(f"report: {report} and {report.with_suffix('.html')}")
    if alongside_store is not None:
        print(
            f"measured alongside: {summary.alongside} of the baseline's artifacts, in {alongside_store.directory}; judge "
            f"them side by side with `edge-bench compare {alongside_store.directory} {out}`"
        )
    return EXIT_SOME_FAILED if summary.failed else EXIT_OK


def _alongside(args, out: Path):
    """--alongside: the baseline's records (the newest run of a history) and where its twins' records go."""
    if not args.alongside:
        return [], None
    from .measure.alongside import ALONGSIDE_DIR
    from .measure.gate import load_baseline
    from .results import ResultStore

    path = Path(args.alongside)
    try:
        baseline, _ = load_baseline(path, 1)
    except InputError as e:
        raise InputError(f"--alongside {e}") from None
    if not any(r.ok for r in baseline):
        raise InputError(f"--alongside {path}: holds no ok measurement whose artifact could be measured alongside")
    return baseline, ResultStore(out / ALONGSIDE_DIR)


def cmd_report(args) -> int:
    from .report import write_report
    from .results import load_dirs

    _finite("--budget", args.budget, 0, None, "a finite number of points >= 0")
    dirs = [Path(d) for d in args.dirs]
    out = Path(args.out) if args.out else dirs[0]
    records = load_dirs(dirs)
    keep_log_in(out)
    path = write_report(records, out, budget_points=args.budget)
    print(f"report: {path} and {path.with_suffix('.html')}")
    return EXIT_OK


def cmd_compare(args) -> int:
    from .measure.gate import compare, format_comparisons, load_baseline, not_compared
    from .results import load_dirs

    _finite("--min-change", args.min_change, 0, None, "a fraction >= 0 (0.02: 2 %)")
    _finite("--confidence", args.confidence, 0, 1, "a probability between 0 and 1 (e.g. 0.95)")
    if not 0 < args.confidence < 1:
        raise InputError(f"--confidence {args.confidence}: give a probability between 0 and 1 (e.g. 0.95)")
    if args.last < 1:
        raise InputError(f"--last {args.last}: give 1 or more baseline runs")
    baseline, runs = load_baseline(Path(args.baseline), args.last)
    current = load_dirs([Path(args.run)])
    comparisons = compare(baseline, current, args.min_change, args.confidence, args.allow_different_artifacts)
    left_out = not_compared(baseline, current, args.allow_different_artifacts)
    if not comparisons:
        why = f" ({'; '.join(left_out[:3])})" if left_out else ""
        raise InputError(f"{args.baseline} and {args.run} share no ok measurement of the same artifact{why}")
    source = f"the last {runs} accepted runs in {args.baseline}" if runs > 1 else str(args.baseline)
    print(f"baseline: {source}")
    print(format_comparisons(comparisons, args.confidence))
    if left_out:
        print("not compared:")
        for line in left_out:
            print(f"  {line}")
    slower = [c for c in comparisons if c.regressed]
    print(
        f"{len(slower)} of {len(comparisons)} measurements slower than the baseline beyond the noise "
        f"(ratio interval above 1 and more than {args.min_change:.0%} slower)"
    )
    return EXIT_SOME_FAILED if slower else EXIT_OK


def cmd_baseline(args) -> int:
    from .measure.gate import accept, prune

    if args.keep is not None and args.keep < 1:
        raise InputError(f"--keep {args.keep}: keep 1 or more baselines")
    entry, kept, refused = accept(Path(args.run), Path(args.history))
    print(f"accepted {kept} record(s) as a baseline: {entry}")
    for line in refused:
        print(f"  not a baseline: {line}")
    if args.keep:
        for removed in prune(Path(args.history), args.keep):
            print(f"  removed the old baseline {removed}")
    return EXIT_OK


def cmd_doctor(args) -> int:
    from .config import load_target
    from .doctor import format_checks, run_doctor

    target = load_target(args.target)
    progress = _progress()
    progress.update("doctor", 1, 1, f"checking {target.name} (reaching it, running the agent's checks there)")
    try:
        checks = run_doctor(target)
    finally:
        progress.close()
    print(format_checks(checks))
    return EXIT_OK if all(c.ok for c in checks) else EXIT_SOME_FAILED


# ------------------------------------------------------------------ parser


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
    p.set_defaults(func=cmd_list)

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
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("build", help="quantize and export the recipe's artifacts (cached)")
    variant_flags(p)
    p.add_argument("--runtime", help="executorch,litert (default: the recipe's)")
    p.add_argument("--jobs", type=int, default=1, help="parallel conversions (bounded by available memory)")
    p.set_defaults(func=cmd_build)

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
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("report", help="report.md, results.csv and plots from one or more result directories")
    p.add_argument("dirs", nargs="+", metavar="DIR")
    p.add_argument("--out", help="where to write (default: the first DIR)")
    p.add_argument(
        "--budget", type=float, default=0.75, help="accuracy budget in points for the selection (default 0.75)"
    )
    p.set_defaults(func=cmd_report)

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
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "baseline", help="keep a run's trustworthy records as a baseline (a dated history, never overwritten)"
    )
    p.add_argument("action", choices=["accept"])
    p.add_argument("run", help="the run to accept: a results directory or results.jsonl")
    p.add_argument("--history", required=True, help="the folder that keeps the baselines")
    p.add_argument("--keep", type=int, help="keep only the newest N baselines")
    p.set_defaults(func=cmd_baseline)

    p = sub.add_parser("doctor", help="can this target run? what is missing, and the fix")
    p.add_argument("--target", required=True)
    p.set_defaults(func=cmd_doctor)
    return parser


def _quiet_libraries(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not verbose:  # the libraries' warnings go to edge-bench.log (console.py); progress bars nowhere
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        os.environ.setdefault("LITERT_TORCH_SHOW_PROGRESS", "n")


def _library_output(args, argv: list[str]):
    """Quiet by default: what the libraries print goes to edge-bench.log (see console.py)."""
    from .console import LibraryOutput
    from .export.cache import cache_root

    return LibraryOutput(f"edge-bench {' '.join(argv)}", cache_root() / "logs" / f"{args.command}.log")


def _missing_extra(e: ModuleNotFoundError, command: str) -> str | None:
    """One line naming the extra that installs the missing module, when one of edge-bench's extras does."""
    from .install import extra_providing

    extra = extra_providing(e.name or "")
    if extra is None:
        return None
    return (
        f"'{command}' needs {e.name}, which the {extra} extra installs: pip install \"edge-bench[{extra}]\" "
        f"(in a checkout: scripts/setup.sh)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in argv or "--verbose" in argv
    output = None
    command = "edge-bench"
    try:
        args = build_parser().parse_args(argv)
        command = args.command
        _quiet_libraries(args.verbose)
        if args.verbose:
            return args.func(args)
        output = _library_output(args, argv)
        with output:
            return args.func(args)
    except InputError as e:
        print(f"edge-bench: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(
            "edge-bench: interrupted; what was measured is in results.jsonl (continue with --resume)", file=sys.stderr
        )
        return 130
    except Exception as e:  # a defect in edge-bench or a library: say so in one line unless asked
        missing = _missing_extra(e, command) if isinstance(e, ModuleNotFoundError) else None
        if missing:  # not a defect: an extra that was not installed
            print(f"edge-bench: error: {missing}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if verbose:
            raise
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        log = f"; the libraries' output is in {output.log}" if output is not None and output.log else ""
        print(
            f"edge-bench: internal error: {type(e).__name__}: {first} (run with -v for the traceback{log})",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
