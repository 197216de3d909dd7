#!/usr/bin/env python
"""Survey every promptsource original-task template as a GLM prompt and write docs/PROMPTSOURCE_COVERAGE.md.

    python scripts/promptsource_coverage.py [--out docs/PROMPTSOURCE_COVERAGE.md] [--tokenizer-dir DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from model.tokenizer import GLMTokenizer  # noqa: E402
from tasks.promptsource.coverage import markdown, summary, survey  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(ROOT / "docs" / "PROMPTSOURCE_COVERAGE.md"))
    p.add_argument("--tokenizer-dir", default=str(ROOT / "tests" / "fixtures" / "tokenizer"),
                   help="the BPE vocabulary prompts are encoded with (default: GLM's RoBERTa tokenizer)")
    a = p.parse_args(argv)
    outcomes = survey(GLMTokenizer.from_dir(a.tokenizer_dir))
    Path(a.out).write_text(markdown(outcomes), encoding="utf-8")
    s = summary(outcomes)
    print(f"{s['rendered']} of {s['templates']} original-task templates of {s['datasets']} data sets render; wrote {a.out}")


if __name__ == "__main__":
    main()
