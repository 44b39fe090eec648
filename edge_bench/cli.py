"""The edge-bench command line: parses flags, calls the library, prints.

Exit codes: 0 everything measured, 1 some variants failed (the others are recorded), 2 bad input.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Sequence

from .errors import InputError

EXIT_OK, EXIT_SOME_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage too)
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
    from .progress import Progress

    return Progress()  # silent unless stderr is a terminal


# ------------------------------------------------------------------ commands


def cmd_list(args) -> int:
    from .config import RECIPES_DIR, TARGETS_DIR, load_recipe, load_target

    folder, load = (RECIPES_DIR, load_recipe) if args.what == "recipes" else (TARGETS_DIR, load_target)
    for path in sorted(folder.glob("*.toml")):
        try:
            print(f"{path.stem:28s} {load(path.stem).description}")
        except InputError as e:
            print(f"{path.stem:28s} (invalid: {e})")
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
        for path in write_analysis(frame, Path(args.out)):
            print(f"wrote {path}")
    return EXIT_OK


def cmd_build(args) -> int:
    from .build import build_all

    recipe, variants = _variants(args)
    outcomes = build_all(recipe, variants, _runtimes(args.runtime, recipe), jobs=args.jobs,
                         progress=_progress())
    failed = 0
    for o in outcomes:
        state = "cached" if o.cached else ("built" if o.artifact else "FAILED")
        detail = o.artifact.path if o.artifact else o.error
        failed += o.artifact is None
        print(f"{state:7s} {o.variant.name} {o.runtime}: {detail}")
    return EXIT_SOME_FAILED if failed else EXIT_OK


def cmd_run(args) -> int:
    from .config import load_target
    from .report import write_report
    from .results import RESULTS_FILE, read_records
    from .runner import Runner

    recipe, variants = _variants(args)
    runtimes = _runtimes(args.runtime, recipe)
    names = [t.strip() for t in args.target.split(",") if t.strip()]
    if not names:
        raise InputError("--target: name at least one target (see 'edge-bench list targets')")
    targets = [load_target(name) for name in names]
    out = Path(args.out) if args.out else Path("reports") / f"{recipe.name}-{'+'.join(t.name for t in targets)}"
    if (out / RESULTS_FILE).exists() and not args.resume:
        raise InputError(f"--out {out}: already holds {RESULTS_FILE}; add --resume to continue it, or choose a new --out")
    from .accuracy.evaluator import Evaluator
    from .export.cache import cache_root

    if args.max_images <= 0:
        raise InputError(f"--max-images {args.max_images}: give a positive number of images")
    # Fidelity to FP32 is measured for every artifact; accuracy too when a labelled dataset is given.
    evaluator = Evaluator(recipe, cache_root(), dataset=Path(args.dataset) if args.dataset else None,
                          max_images=args.max_images)
    builder = None
    if args.prebuilt:  # artifacts built elsewhere, e.g. on a board without the converter stack
        from .build.prebuilt import PrebuiltBuilder

        builder = PrebuiltBuilder(recipe)
    runner = Runner(recipe, variants, runtimes, targets, out, resume=args.resume, builder=builder,
                    progress=_progress(), evaluator=evaluator)
    summary = runner.run()
    report = write_report(read_records(out / RESULTS_FILE), out, title=f"{recipe.name} on {', '.join(names)}",
                          budget_points=args.budget)
    print(f"{summary.ok} ok, {summary.failed} failed, {summary.skipped} already done; results in {out / RESULTS_FILE}")
    for failure in summary.failures:
        print(f"  failed: {failure}")
    print(f"report: {report}")
    return EXIT_SOME_FAILED if summary.failed else EXIT_OK


def cmd_report(args) -> int:
    from .report import write_report
    from .results import load_dirs

    dirs = [Path(d) for d in args.dirs]
    out = Path(args.out) if args.out else dirs[0]
    path = write_report(load_dirs(dirs), out, budget_points=args.budget)
    print(f"report: {path}")
    return EXIT_OK


def cmd_compare(args) -> int:
    from .gate import compare, format_comparisons
    from .results import load_dirs

    comparisons = compare(load_dirs([Path(args.baseline)]), load_dirs([Path(args.run)]), args.sigmas, args.min_change)
    if not comparisons:
        raise InputError(f"{args.baseline} and {args.run} share no ok measurement (same recipe, variant, runtime, target)")
    print(format_comparisons(comparisons, args.sigmas))
    slower = [c for c in comparisons if c.regressed]
    print(f"{len(slower)} of {len(comparisons)} measurements slower than the baseline beyond the noise")
    return EXIT_SOME_FAILED if slower else EXIT_OK


def cmd_doctor(args) -> int:
    from .config import load_target
    from .doctor import format_checks, run_doctor

    checks = run_doctor(load_target(args.target))
    print(format_checks(checks))
    return EXIT_OK if all(c.ok for c in checks) else EXIT_SOME_FAILED


# ------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="edge-bench", description="Benchmark resolution- and width-scaled INT8 vision models on edge devices.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log the libraries' own messages and tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("list", help="list recipes or targets")
    p.add_argument("what", choices=["recipes", "targets"])
    p.set_defaults(func=cmd_list)

    def variant_flags(p):
        p.add_argument("--recipe", required=True, help="a recipe name from recipes/ or a path to a .toml file")
        p.add_argument("--only", action="append", metavar="KEY=VALUE",
                       help="keep variants whose field equals VALUE (repeatable, AND-ed; VALUE may be a,b)")

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
    p.add_argument("--dataset", help="labelled images (ImageFolder, or Cityscapes for segmentation): top-1/top-5 or mIoU "
                                     "of every artifact and of its FP32 model")
    p.add_argument("--max-images", type=int, default=500, help="images of --dataset to evaluate (default 500)")
    p.add_argument("--budget", type=float, default=0.75, help="accuracy budget in points for the selection (default 0.75)")
    p.add_argument("--prebuilt", action="store_true",
                   help="measure the artifacts another machine built into the cache; convert nothing (no torch needed)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("report", help="report.md, results.csv and plots from one or more result directories")
    p.add_argument("dirs", nargs="+", metavar="DIR")
    p.add_argument("--out", help="where to write (default: the first DIR)")
    p.add_argument("--budget", type=float, default=0.75, help="accuracy budget in points for the selection (default 0.75)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("compare", help="fail (exit 1) when a run's median latencies regressed against a baseline")
    p.add_argument("baseline", help="baseline results directory or results.jsonl")
    p.add_argument("run", help="the run to check: a results directory or results.jsonl")
    p.add_argument("--sigmas", type=float, default=3.0, help="slower by more than this many standard errors (default 3)")
    p.add_argument("--min-change", type=float, default=0.02, help="and by more than this fraction (default 0.02)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("doctor", help="can this target run? what is missing, and the fix")
    p.add_argument("--target", required=True)
    p.set_defaults(func=cmd_doctor)
    return parser


def _quiet_libraries(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not verbose:
        for name in ("torch", "torchao", "executorch", "litert_torch", "absl", "jax"):
            logging.getLogger(name).setLevel(logging.ERROR)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        os.environ.setdefault("LITERT_TORCH_SHOW_PROGRESS", "n")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in argv or "--verbose" in argv
    try:
        args = build_parser().parse_args(argv)
        _quiet_libraries(args.verbose)
        return args.func(args)
    except InputError as e:
        print(f"edge-bench: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("edge-bench: interrupted; what was measured is in results.jsonl (continue with --resume)", file=sys.stderr)
        return 130
    except Exception as e:  # a defect in edge-bench or a library: say so in one line unless asked
        if verbose:
            raise
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        print(f"edge-bench: internal error: {type(e).__name__}: {first} (run with -v for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
