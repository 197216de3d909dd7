"""Hyperparameter grid search over the fine-tuning driver.

A sweep spec (YAML or JSON) names the flags to sweep; every combination becomes a trial with a stable id,
run as its own subprocess of the normal driver into its own run directory (`<save_dir>/<sweep>/<trial-id>/`).
A trial whose run directory says `finished` is never run again, so a sweep can be killed at any moment and
simply started again. The best setting is chosen by its mean dev metric over seeds and reported with test
mean ± std (`summary.json`, `summary.md`). The library is analysis/ (sweep, runner, summary).

    python scripts/grid_search.py --spec config_tasks/grid_demo.yaml
    python scripts/grid_search.py --spec config_tasks/grid_superglue_style.yaml --name rte_grid \\
        --gpus 0,1,2,3 -- --task rte --data-dir data/rte
    python scripts/grid_search.py --name quick --set lr=1e-5,2e-5 --set cloze_eval=true,false --dry-run \\
        -- --task ag_news

Spec keys: `name`, `description`, `save_dir`, `command`, `base_args`, `grid`, `zip`, `keep_best`;
docs/GRID_AND_REPORT.md. Flags after `--` replace the same flags of `base_args`.
`--set key=v1,v2` adds or replaces a grid axis. Exit status: 0 when a trial finished, 1 when none did,
2 for a bad spec or bad options.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tqdm.contrib.logging import logging_redirect_tqdm  # noqa: E402

from analysis.runner import SweepLocked, make_slots, planned_commands, run_sweep  # noqa: E402
from analysis.summary import best_line, summarize_sweep  # noqa: E402
from analysis.sweep import SpecError, build_sweep, load_spec, parse_set  # noqa: E402

log = logging.getLogger("grid_search")
LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"


def parse_args(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:  # everything after -- goes to the driver unchanged
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", type=Path, help="sweep spec (YAML or JSON)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2",
                        help="add or replace a grid axis (repeatable)")
    parser.add_argument("--name", help="sweep name (default: the spec's 'name')")
    parser.add_argument("--save-dir", help="folder of run directories (default: the spec's or 'runs')")
    parser.add_argument("--gpus", help="comma-separated device ids; trials run side by side")
    parser.add_argument("--gpus-per-trial", type=int, default=1,
                        help="above 1, each trial is launched with deepspeed on that many of --gpus")
    parser.add_argument("--dry-run", action="store_true", help="print the commands and run nothing")
    return parser.parse_args(argv), extra


def main(argv: Sequence[str] | None = None) -> int:
    args, extra = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    try:
        spec = load_spec(args.spec) if args.spec else {}
        sweep = build_sweep(spec, str(args.spec or "command line"), overrides=parse_set(args.set),
                            extra_args=extra, name=args.name, save_dir=args.save_dir)
        slots = make_slots(args.gpus, args.gpus_per_trial)
    except SpecError as exc:
        log.error("%s", exc)
        return 2

    if args.dry_run:
        print("\n".join(planned_commands(sweep, slots)))
        return 0

    sweep.folder.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(sweep.folder / "grid_search.log")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.getLogger().addHandler(handler)
    log.info("sweep %s: %d trials, %d slot(s), runs in %s", sweep.name, len(sweep.trials), len(slots),
             sweep.folder)
    try:
        with logging_redirect_tqdm():
            records = run_sweep(sweep, slots)
    except SweepLocked as exc:
        log.error("%s", exc)
        return 2
    summary = summarize_sweep(sweep, records)
    line = best_line(summary)
    if line:
        log.info("%s", line)
    log.info("summary: %s", sweep.folder / "summary.md")
    return 0 if summary["finished"] else 1


if __name__ == "__main__":
    sys.exit(main())
