"""The commands but `run` (`run.py`): each reads its flags, calls the library and prints; it returns the
exit code."""

from __future__ import annotations

import os
from pathlib import Path

from ..console import keep_log_in
from ..errors import InputError
from .options import EXIT_OK, EXIT_SOME_FAILED, chosen_runtimes, finite, progress_line, recipe_variants


def cmd_list(args) -> int:
    from ..catalog import PATH_VARIABLE, entries, sources
    from ..config import load_recipe, load_target

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

    from ..analytic.sweep import analyze_recipe, write_analysis
    from ..config import load_recipe
    from ..recipes import Only, expand
    from ..report.tables import to_markdown
    from ..results.store import check_writable

    names = [n.strip() for n in args.recipe.split(",") if n.strip()]
    if not names:
        raise InputError(f"--recipe {args.recipe!r}: name at least one recipe (see 'edge-bench list recipes')")
    if args.out:
        check_writable(Path(args.out), what="the analysis")  # before the analysis, not after it
    frames = []
    for name in names:
        recipe = load_recipe(name)
        variants = expand(recipe, [Only.parse(o) for o in args.only or []])
        frames.append(analyze_recipe(recipe, variants, progress=progress_line()))
    frame = pd.concat(frames, ignore_index=True)
    print(to_markdown(frame))
    if args.out:
        keep_log_in(Path(args.out))
        for path in write_analysis(frame, Path(args.out)):
            print(f"wrote {path}")
    return EXIT_OK


def cmd_build(args) -> int:
    from ..build import build_all

    if args.jobs < 1:
        raise InputError(f"--jobs {args.jobs}: give 1 or more parallel conversions")
    recipe, variants = recipe_variants(args)
    outcomes = build_all(
        recipe, variants, chosen_runtimes(args.runtime, recipe), jobs=args.jobs, progress=progress_line()
    )
    failed = 0
    for o in outcomes:
        state = "cached" if o.cached else ("built" if o.artifact else "FAILED")
        detail = o.artifact.path if o.artifact else o.error
        failed += o.artifact is None
        print(f"{state:7s} {o.variant.name} {o.runtime}: {detail}")
    return EXIT_SOME_FAILED if failed else EXIT_OK


def cmd_report(args) -> int:
    from ..report import write_report
    from ..results import load_dirs
    from ..results.store import check_writable

    finite("--budget", args.budget, 0, None, "a finite number of points >= 0")
    dirs = [Path(d) for d in args.dirs]
    out = Path(args.out) if args.out else (dirs[0].parent if dirs[0].is_file() else dirs[0])  # DIR may be a .jsonl
    check_writable(out, what="the report")
    records = load_dirs(dirs)
    keep_log_in(out)
    measured_in = [d.parent if d.is_file() else d for d in dirs]
    path = write_report(records, out, budget_points=args.budget, measured_in=measured_in)
    print(f"report: {path} and {path.with_suffix('.html')}")
    return EXIT_OK


def cmd_compare(args) -> int:
    from ..measure.gate import compare, format_comparisons, load_baseline, not_compared
    from ..results import load_dirs

    finite("--min-change", args.min_change, 0, None, "a fraction >= 0 (0.02: 2 %)")
    finite("--confidence", args.confidence, 0, 1, "a probability between 0 and 1 (e.g. 0.95)")
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
    from ..measure.gate import accept, prune
    from ..results.store import check_writable

    if args.keep is not None and args.keep < 1:
        raise InputError(f"--keep {args.keep}: keep 1 or more baselines")
    check_writable(Path(args.history), "--history", "the baselines")
    entry, kept, refused = accept(Path(args.run), Path(args.history))
    print(f"accepted {kept} record(s) as a baseline: {entry}")
    for line in refused:
        print(f"  not a baseline: {line}")
    if args.keep:
        for removed in prune(Path(args.history), args.keep):
            print(f"  removed the old baseline {removed}")
    return EXIT_OK


def cmd_doctor(args) -> int:
    from ..config import load_target
    from ..doctor import format_checks, run_doctor

    target = load_target(args.target)
    progress = progress_line()
    progress.update("doctor", 1, 1, f"checking {target.name} (reaching it, running the agent's checks there)")
    try:
        checks = run_doctor(target)
    finally:
        progress.close()
    print(format_checks(checks))
    return EXIT_OK if all(c.ok for c in checks) else EXIT_SOME_FAILED
