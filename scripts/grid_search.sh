#!/usr/bin/env bash
# Run a hyperparameter sweep from a spec file; the rest goes to grid_search.py, and flags after "--" to the
# driver. Example: bash scripts/grid_search.sh config_tasks/grid_superglue_style.yaml --gpus 0,1 -- --task rte
set -euo pipefail
if [[ $# -lt 1 ]]; then
  echo "usage: bash scripts/grid_search.sh SPEC.yaml [grid_search.py options] [-- driver flags]" >&2
  exit 2
fi
spec=$1
shift
exec "${PYTHON:-python}" "$(dirname "${BASH_SOURCE[0]}")/grid_search.py" --spec "$spec" "$@"
