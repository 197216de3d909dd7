"""Sweeps and reports over run directories: the library behind scripts/grid_search.py and scripts/report.py.

It reads run directories only (through training.rundir), starts drivers as subprocesses, and never imports
torch, model/ or tasks/, so a report can be made on a machine without the training stack.

    sweep.py    spec -> trials: flag tokens, trial ids, the command of each trial
    runner.py   running trials (one per GPU slot), resuming, failure records (grid_records.json)
    stats.py    selection: mean ± std over seeds, settings ranked by mean dev metric
    tables.py   Markdown, LaTeX (booktabs) and CSV tables
    summary.py  a sweep's summary.json / summary.md
    runs.py     run directories -> runs and per-task data for the report
    plots.py    the report's PNG plots
    report.py   the report: tables, plots and report.md for a set of run directories
"""
