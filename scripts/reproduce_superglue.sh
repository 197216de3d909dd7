#!/usr/bin/env bash
# The GLM paper's SuperGLUE table: all eight tasks over upstream's lr x seed grid, then one table vs the paper.
#   bash scripts/reproduce_superglue.sh config_tasks/model_glm_roberta_large.sh --data-root /path/to/superglue
#   bash scripts/reproduce_superglue.sh config_tasks/model_glm_tiny.sh --data-root data/demo/superglue \
#       --lrs 5e-4 --seeds 1234,5678 -- --epochs 4
# Options: scripts/reproduce_superglue.py --help (resumable; --report-only rewrites the table).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
[ $# -ge 1 ] || { echo "usage: $0 MODEL.sh [--data-root DIR] [--tasks ...] [--lrs ...] [--seeds ...] [-- extra flags]" >&2; exit 2; }
MODEL=$1
shift
exec "$PYTHON" scripts/reproduce_superglue.py --model "$MODEL" "$@"
