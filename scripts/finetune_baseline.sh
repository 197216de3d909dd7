#!/usr/bin/env bash
# A baseline on the tasks, data, splits and metrics of the GLM runs:
#   bash scripts/finetune_baseline.sh config_tasks/baseline_roberta_large.sh config_tasks/task_ag_news.sh [extra flags]
#   bash scripts/finetune_baseline.sh config_tasks/baseline_bart_large.sh config_tasks/seq_samsum.sh [extra flags]
#
# The baseline fragment sets MODEL_TYPE, MODEL_PATH and BASELINE_ARGS, and may set LR_BASELINE, EPOCH_BASELINE and
# BATCH_BASELINE (they override the task fragment's values) and GPU_PRECISION_ARGS. The task fragment is one the
# GLM runs use: config_tasks/task_*.sh (classification) or seq_*.sh (generation; its prompt patterns do not apply).
# Extra flags come last and win. GPUs, DeepSpeed and precision: scripts/launch.sh.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/launch.sh"
cd "$REPO_ROOT"
[ $# -ge 2 ] || { echo "usage: $0 BASELINE.sh TASK.sh [extra finetune_baseline.py flags]" >&2; exit 2; }
source "$1"
source "$2"
shift 2

if [ -n "${MAKE_TINY_BASELINE:-}" ] && [ ! -f "$MODEL_PATH/config.json" ]; then
  "$PYTHON" scripts/make_tiny_baseline.py --out "$MODEL_PATH" $MAKE_TINY_BASELINE
fi

DATA_ARGS=()
[ -n "${DATA_PATH:-}" ] && DATA_ARGS=(--data-dir "$DATA_PATH")
TASK_VALUES=()  # a classification fragment's values as flags; a seq fragment has them in TRAIN_ARGS and TASK_ARGS
[ -n "${MAX_SEQ_LEN:-}" ] && TASK_VALUES=(--seq-length "$MAX_SEQ_LEN" --batch-size "$BATCH_SIZE" --epochs "$EPOCH_SINGLE"
                                          --lr "$LR_SINGLE" --eval-batch-size "${EVAL_BATCH_SIZE:-16}")
OVERRIDES=(${LR_BASELINE:+--lr "$LR_BASELINE"} ${EPOCH_BASELINE:+--epochs "$EPOCH_BASELINE"}
           ${BATCH_BASELINE:+--batch-size "$BATCH_BASELINE"})
ARGS=(--task "$TASK_NAME" "${DATA_ARGS[@]}" --experiment-name "$EXPERIMENT_NAME" --save "${SAVE_PATH:-runs}" --overwrite
      "${TASK_VALUES[@]}" $BASELINE_ARGS $TRAIN_ARGS $COMMON_ARGS ${TASK_ARGS:-} "${OVERRIDES[@]}" "$@")
launch_finetune finetune_baseline finetune_baseline.py
