#!/usr/bin/env bash
# Classification fine-tuning, THUDM/GLM style:
#   bash scripts/ds_finetune_superglue.sh config_tasks/model_glm_roberta_large.sh config_tasks/task_ag_news.sh [extra flags]
#
# The model fragment sets MODEL_TYPE, MODEL_ARGS and CHECKPOINT_PATH; the task fragment sets EXPERIMENT_NAME,
# TASK_NAME, DATA_PATH, MAX_SEQ_LEN, LR_SINGLE, EPOCH_SINGLE, BATCH_SIZE, TRAIN_ARGS, COMMON_ARGS, PATTERN_IDS and
# optionally XXLARGE_EPOCH. THUDM/GLM's own fragments run unchanged (DATA_ROOT, CHECKPOINT_PATH, SAVE_PATH:
# scripts/fragments.sh, docs/UPSTREAM.md). As in upstream's finetune_superglue.sh, BATCH_SIZE, EPOCH_SINGLE and
# LR_SINGLE come after TRAIN_ARGS and COMMON_ARGS and so win over them; under DeepSpeed, XXLARGE_EPOCH (when set)
# is the number of epochs, as in upstream's ds_finetune_superglue.sh. The pattern is the fragment's --pattern-id,
# or PATTERN_ID when set (it wins), else the first of PATTERN_IDS; the run is named EXPERIMENT_NAME-p<pattern>.
# Extra flags are appended last, so they win. GPUs, DeepSpeed and precision: scripts/launch.sh.
# PROMPT names a promptsource template (or "all": one run per original-task template); such runs are named
# EXPERIMENT_NAME-<template name>. Fragments are found from the current directory or the repository root.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/launch.sh"
source "$(dirname "$0")/fragments.sh"
[ $# -ge 2 ] || { echo "usage: $0 MODEL.sh TASK.sh [extra finetune_glm.py flags]" >&2; exit 2; }
MODEL_FRAGMENT=$(find_fragment "$1") || exit 2
TASK_FRAGMENT=$(find_fragment "$2") || exit 2
cd "$REPO_ROOT"
fragment_defaults "$MODEL_FRAGMENT"
source "$MODEL_FRAGMENT"
source "$TASK_FRAGMENT"
shift 2
check_fragment_paths "$MODEL_FRAGMENT" "$TASK_FRAGMENT"

EPOCHS=$EPOCH_SINGLE
if [ -n "${XXLARGE_EPOCH:-}" ] && uses_deepspeed; then
  EPOCHS=$XXLARGE_EPOCH
fi
DATA_ARGS=()
[ -n "${DATA_PATH:-}" ] && DATA_ARGS=(--data-dir "$DATA_PATH")
model_argv
pattern_args "${MODEL_ARGV[@]}" $TRAIN_ARGS $COMMON_ARGS "$@"
ARGS=(--task "$TASK_NAME" "${DATA_ARGS[@]}" --save "$SAVE_PATH" --seq-length "$MAX_SEQ_LEN"
      --eval-batch-size "${EVAL_BATCH_SIZE:-16}" --overwrite
      "${MODEL_ARGV[@]}" $TRAIN_ARGS $COMMON_ARGS
      --batch-size "$BATCH_SIZE" --epochs "$EPOCHS" --lr "$LR_SINGLE" "${PATTERN_ARGS[@]}" "$@")
pattern_and_name "${ARGS[@]}"
ARGS=(--experiment-name "$RUN_NAME" "${ARGS[@]}")
echo "[ds_finetune] task $TASK_NAME, pattern $RUN_PATTERN_ID, data ${DATA_PATH:-from the hub}, run $SAVE_PATH/$RUN_NAME"
launch_finetune ds_finetune
