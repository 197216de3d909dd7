#!/usr/bin/env bash
# The fast test tier (a few minutes on 2 CPU cores), offline. Extra arguments go to pytest
# (e.g. `-m slow` for the long learning runs, `-m realweights` with GLM_CHECKPOINT set).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
exec "$PYTHON" -m pytest -q "$@"
