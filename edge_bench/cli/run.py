"""`edge-bench run`: build what is missing, measure on the targets, record, report."""

from __future__ import annotations

import sys
from pathlib import Path

from ..console import keep_log_in
from ..errors import InputError
from .options import EXIT_OK, EXIT_SOME_FAILED, chosen_runtimes, finite, progress_line, recipe_variants


def cmd_run(args) -> int:
    from ..config import load_target
    from ..results import RESULTS_FILE, ResultStore, ResultWriteError
    from ..measure.runner import Runner

    recipe, variants = recipe_variants(args)
    runtimes = chosen_runtimes(args.runtime, recipe)
    names = [t.strip() for t in args.target.split(",") if t.strip()]
    if not names:
        raise InputError("--target: name at least one target (see 'edge-bench list targets')")
    targets = [load_target(name) for name in names]
    twice = sorted({t.name for t in targets if [u.name for u in targets].count(t.name) > 1})
    if twice:
        raise InputError(f"--target {args.target}: {', '.join(twice)} named more than once; name each target once")
    if args.max_images <= 0:
        raise InputError(f"--max-images {args.max_images}: give a positive number of images")
    finite("--budget", args.budget, 0, None, "a finite number of points >= 0")
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
        from ..accuracy.evaluator import Evaluator
        from ..export.cache import cache_root
        from ..measure.operators import first_round_profiler
        from ..provenance import write_provenance

        # Fidelity to FP32 is measured for every artifact; accuracy too when a labelled dataset is given.
        evaluator = Evaluator(
            recipe, cache_root(), dataset=Path(args.dataset) if args.dataset else None, max_images=args.max_images
        )
        # --prebuilt: artifacts built elsewhere, e.g. on a board without the converter stack
        builder = _prebuilt_builder(recipe) if args.prebuilt else None
        runner = Runner(
            recipe,
            variants,
            runtimes,
            targets,
            store,
            resume=args.resume,
            builder=builder,
            progress=progress_line(),
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
        from ..measure.operators import write_operator_tables
        from ..measure.roofline import ROOFLINE_RECIPE, measure_roofline

        print(write_operator_tables(out))
        if recipe.name != ROOFLINE_RECIPE:  # the target's ceilings, for the report's roofline
            print(
                measure_roofline(out, runtimes, targets, _prebuilt_builder if args.prebuilt else None, progress_line())
            )
    from ..report import write_report
    from ..results import read_records

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


def _prebuilt_builder(recipe):
    from ..build.prebuilt import PrebuiltBuilder

    return PrebuiltBuilder(recipe)


def _alongside(args, out: Path):
    """--alongside: the baseline's records (the newest run of a history) and where its twins' records go."""
    if not args.alongside:
        return [], None
    from ..measure.alongside import ALONGSIDE_DIR
    from ..measure.gate import load_baseline
    from ..results import ResultStore

    path = Path(args.alongside)
    try:
        baseline, _ = load_baseline(path, 1)
    except InputError as e:
        raise InputError(f"--alongside {e}") from None
    if not any(r.ok for r in baseline):
        raise InputError(f"--alongside {path}: holds no ok measurement whose artifact could be measured alongside")
    return baseline, ResultStore(out / ALONGSIDE_DIR)
