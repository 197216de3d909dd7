"""Sweeps and reports over run directories: the library behind scripts/grid_search.py and scripts/report.py.

It reads run directories only (through training.rundir), starts drivers as subprocesses, and never imports
torch, model/ or tasks/, so a report can be made on a machine without the training stack.

    sweep.py         spec -> trials: flag tokens, zip groups, placeholders, trial ids, keep_best
    runner.py        running trials (one per GPU slot), resuming, failure records, checkpoint pruning
    stats.py         selection: mean ± std over seeds, settings ranked by mean dev metric
    tables.py        Markdown, LaTeX (booktabs) and CSV tables at a chosen scale and precision
    summary.py       a sweep's summary.json / summary.md
    runs.py          run directories -> runs and per-data-set data (identity vs recorded hyperparameters)
    compare.py       the GLM-first comparison rows, their intervals and tests against a reference row
    significance.py  per-example scores, paired bootstrap, McNemar, Kendall tau
    sensitivity.py   per-axis sensitivity, variance shares, prompt spread and rank stability
    findings.py      paper/findings.md
    plots.py         the report's figures (PNG and PDF)
    report.py        the report: tables, plots, report.md and paper/ for a set of run directories
"""
