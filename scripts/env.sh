# Sourced by the run scripts: picks the Python to use and sets up the environment on first use.
#   PYTHON=/path/to/python  use that interpreter (e.g. a CUDA environment you manage yourself)
#   otherwise .venv/bin/python, created by scripts/setup.sh when missing.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
  if [ ! -x "$REPO_ROOT/.venv/bin/python" ] || ! "$REPO_ROOT/.venv/bin/python" -c "import torch" 2>/dev/null; then
    bash "$REPO_ROOT/scripts/setup.sh"
  fi
  PYTHON="$REPO_ROOT/.venv/bin/python"
fi
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
