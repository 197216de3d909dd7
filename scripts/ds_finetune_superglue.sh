#!/usr/bin/env bash
# Classification fine-tuning, THUDM/GLM style:
#   bash scripts/ds_finetune_superglue.sh config_tasks/model_glm_roberta_large.sh config_tasks/task_ag_news.sh [extra flags]
#
# The model fragment sets MODEL_TYPE, MODEL_ARGS and CHECKPOINT_PATH; the task fragment sets EXPERIMENT_NAME,
# TASK_NAME, DATA_PATH, MAX_SEQ_LEN, LR_SINGLE, EPOCH_SINGLE, BATCH_SIZE, TRAIN_ARGS, COMMON_ARGS, PATTERN_IDS.
# PATTERN_ID picks the pattern (default: TRAIN_ARGS' --pattern-id, upstream's default, else the first of PATTERN_IDS)
# and names the run. As in upstream's finetune_superglue.sh, BATCH_SIZE, EPOCH_SINGLE and LR_SINGLE come after
# TRAIN_ARGS and COMMON_ARGS (they win over a --batch-size there), and extra flags are appended last, so they win.
# GPUs, DeepSpeed and precision: scripts/launch.sh.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/launch.sh"
cd "$REPO_ROOT"
[ $# -ge 2 ] || { echo "usage: $0 MODEL.sh TASK.sh [extra finetune_glm.py flags]" >&2; exit 2; }
source "$1"
source "$2"
shift 2

FRAGMENT_PATTERN=$(sed -n 's/.*--pattern-id[ =]\([0-9][0-9]*\).*/\1/p' <<<"${TRAIN_ARGS:-}")
PATTERN_ID=${PATTERN_ID:-${FRAGMENT_PATTERN:-${PATTERN_IDS[0]:-0}}}
DATA_ARGS=()
[ -n "${DATA_PATH:-}" ] && DATA_ARGS=(--data-dir "$DATA_PATH")
ARGS=(--task "$TASK_NAME" "${DATA_ARGS[@]}" --experiment-name "${EXPERIMENT_NAME}-p${PATTERN_ID}" --save "${SAVE_PATH:-runs}"
      --seq-length "$MAX_SEQ_LEN" --eval-batch-size "${EVAL_BATCH_SIZE:-16}" --overwrite
      $MODEL_ARGS $TRAIN_ARGS $COMMON_ARGS
      --pattern-id "$PATTERN_ID" --batch-size "$BATCH_SIZE" --epochs "$EPOCH_SINGLE" --lr "$LR_SINGLE" "$@")
launch_finetune ds_finetune
