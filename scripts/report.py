"""Report-ready tables and plots from run directories.

    python scripts/report.py runs/demo_grid                      # a sweep folder
    python scripts/report.py "runs/ag_news_*" --out reports/ag_news  # several sweeps or run directories

For each task it writes, under `<out>/<task>/`: the best setting per method and prompt and the full grid as
Markdown, LaTeX (booktabs) and CSV, each with mean ± std over seeds; and PNG plots: a dev-metric heatmap over
lr × batch size, sensitivity curves per hyperparameter, prompt bars with the seed spread, learning curves from
metrics.jsonl, and cloze versus linear head. `<out>/report.md` puts it all on one page and `<out>/runs.csv`
lists every run. A plot whose dimension is missing (a single lr, one prompt) is skipped with the reason logged.

The hyperparameters of a run are its config.json args that differ between the runs of a task, minus
bookkeeping (seed, experiment name, paths); the method is the run's identity. Settings are grouped by them and
averaged over seeds, and the best setting is the one with the best mean dev metric, as in grid_search.py.
The library is analysis/ (runs, tables, plots, report). Exit status 2 for a run directory that breaks the
run-directory contract.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.peft import load_benchmark  # noqa: E402
from analysis.report import default_out, write_report  # noqa: E402
from training.rundir import RunDirError  # noqa: E402

log = logging.getLogger("report")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="run directories, sweep folders or globs of either")
    parser.add_argument("--out", type=Path, help="report folder (default: reports/<first path's name>)")
    parser.add_argument("--peft-benchmark", type=Path, metavar="JSON",
                        help="benchmarks/bench_peft.py --json output: memory and time ratios for the PEFT table")
    parser.add_argument("--reference", metavar="METHOD[:PROMPT]",
                        help="the row significance is tested against (default: the best row on dev)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # PDF font subsetting chatter
    try:
        report = write_report(args.paths, args.out or default_out(args.paths[0]), args.reference,
                              load_benchmark(args.peft_benchmark))
    except (RunDirError, ValueError) as exc:
        log.error("%s", exc)
        return 2
    log.info("report: %s", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
