"""The run directory every later tool reads: config.json, metrics.jsonl, results.json, predictions, best/.

Format: docs/ARCHITECTURE.md. Writes that matter (results, checkpoints) are atomic: a temporary file in the
same directory, then a rename, so a run killed at any moment leaves either the old or the new file.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from model.checkpoint import atomic_write_bytes


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _clean(value: Any) -> Any:
    """JSON cannot hold NaN/inf portably: they become strings ("nan"), which readers treat as failures."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(_clean(obj), indent=2, sort_keys=False) + "\n")


class RunDir:
    """runs/<experiment-name>/ of one run. Only rank 0 writes (`enabled=False` elsewhere)."""

    def __init__(self, root: str | Path, enabled: bool = True):
        self.path = Path(root)
        self.enabled = enabled
        if enabled:
            self.path.mkdir(parents=True, exist_ok=True)

    @property
    def best_dir(self) -> Path:
        return self.path / "best"

    def write_config(self, config: dict) -> None:
        if self.enabled:
            write_json(self.path / "config.json", config)

    def log(self, event: str, **values: Any) -> None:
        """Append one line to metrics.jsonl (flushed at once, so a crash loses nothing logged before it)."""
        if not self.enabled:
            return
        record = {"event": event, "time": round(time.time(), 3), **values}
        with open(self.path / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(_clean(record)) + "\n")

    def write_results(self, results: dict) -> None:
        if self.enabled:
            write_json(self.path / "results.json", results)

    def write_predictions(self, split: str, rows: list[dict]) -> Path:
        path = self.path / f"predictions_{split}.jsonl"
        if self.enabled:
            atomic_write_text(path, "".join(json.dumps(_clean(r), ensure_ascii=False) + "\n" for r in rows))
        return path

    def read_results(self) -> dict | None:
        f = self.path / "results.json"
        return json.loads(f.read_text()) if f.is_file() else None
