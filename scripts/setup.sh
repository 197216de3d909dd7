#!/usr/bin/env bash
# Create .venv with the pinned stack (about a minute on a fresh machine; CPU torch).
# GPU users: install the CUDA build of the same torch version first, or set PYTHON to an environment that has it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY_BOOT=${PYTHON_BOOT:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($PY_BOOT --version)"
  "$PY_BOOT" -m venv .venv
fi
if ! .venv/bin/python -c "import torch, transformers, tokenizers, datasets, deepspeed, peft, matplotlib, promptsource.templates" 2>/dev/null; then
  echo "[setup] installing requirements.txt (torch is pinned in the same command so no CUDA build is pulled)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
  # promptsource 0.2.3 declares Python < 3.10 and pins old streamlit/black; it needs only pyyaml, jinja2, pandas
  # and pkg_resources (setuptools < 82) at run time.
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --ignore-requires-python promptsource==0.2.3
fi
echo "[setup] environment ready: .venv/bin/python"
