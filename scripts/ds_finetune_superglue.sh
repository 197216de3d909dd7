#!/usr/bin/env bash
# Classification fine-tuning, THUDM/GLM style:
#   bash scripts/ds_finetune_superglue.sh config_tasks/model_glm_roberta_large.sh config_tasks/task_ag_news.sh [extra flags]
#
# The model fragment sets MODEL_TYPE, MODEL_ARGS and CHECKPOINT_PATH; the task fragment sets EXPERIMENT_NAME,
# TASK_NAME, DATA_PATH, MAX_SEQ_LEN, LR_SINGLE, EPOCH_SINGLE, BATCH_SIZE, TRAIN_ARGS, COMMON_ARGS, PATTERN_IDS.
# PATTERN_ID picks the pattern (default: the first of PATTERN_IDS); PROMPT names a promptsource template (or
# "all": one run per original-task template). Runs are named EXPERIMENT_NAME-<prompt name>. Fragments are found
# from the current directory or the repository root. Extra flags are appended last, so they win.
# GPUs, DeepSpeed and precision: scripts/launch.sh.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/launch.sh"
[ $# -ge 2 ] || { echo "usage: $0 MODEL.sh TASK.sh [extra finetune_glm.py flags]" >&2; exit 2; }
MODEL_FRAGMENT=$(find_fragment "$1") || exit 2
TASK_FRAGMENT=$(find_fragment "$2") || exit 2
cd "$REPO_ROOT"
source "$MODEL_FRAGMENT"
source "$TASK_FRAGMENT"
shift 2

prompt_args
DATA_ARGS=()
[ -n "${DATA_PATH:-}" ] && DATA_ARGS=(--data-dir "$DATA_PATH")
ARGS=(--task "$TASK_NAME" "${DATA_ARGS[@]}" --experiment-name "${EXPERIMENT_NAME}-{prompt}" --save "${SAVE_PATH:-runs}"
      --seq-length "$MAX_SEQ_LEN" "${PROMPT_ARGS[@]}" --batch-size "$BATCH_SIZE" --epochs "$EPOCH_SINGLE"
      --lr "$LR_SINGLE" --eval-batch-size "${EVAL_BATCH_SIZE:-16}" --overwrite
      $MODEL_ARGS $TRAIN_ARGS $COMMON_ARGS "$@")
launch_finetune ds_finetune
