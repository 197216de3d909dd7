#!/usr/bin/env bash
# Generation fine-tuning, THUDM/GLM style:
#   bash scripts/ds_finetune_seq2seq.sh config_tasks/model_glm_roberta_large.sh config_tasks/seq_samsum.sh [extra flags]
#
# The model fragment sets MODEL_TYPE, MODEL_ARGS, CHECKPOINT_PATH; the seq fragment sets EXPERIMENT_NAME,
# TASK_NAME, DATA_PATH, TRAIN_ARGS, COMMON_ARGS, TASK_ARGS and PATTERN_IDS. THUDM/GLM's own fragments run unchanged
# (DATA_ROOT, CHECKPOINT_PATH, SAVE_PATH: scripts/fragments.sh, docs/UPSTREAM.md). The prompt is the fragment's
# --pattern-id, or PATTERN_ID when set (it wins), else the first of PATTERN_IDS; the run is named
# EXPERIMENT_NAME-p<pattern>. The position tables follow --src-seq-length (finetune_glm.py). Extra flags come last
# and win. GPUs, DeepSpeed and precision: scripts/launch.sh.
# PROMPT names a promptsource template (or "all": one run per original-task template); such runs are named
# EXPERIMENT_NAME-<template name>. Fragments are found from the current directory or the repository root.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/launch.sh"
source "$(dirname "$0")/fragments.sh"
[ $# -ge 2 ] || { echo "usage: $0 MODEL.sh SEQ_TASK.sh [extra finetune_glm.py flags]" >&2; exit 2; }
MODEL_FRAGMENT=$(find_fragment "$1") || exit 2
TASK_FRAGMENT=$(find_fragment "$2") || exit 2
cd "$REPO_ROOT"
fragment_defaults "$MODEL_FRAGMENT"
source "$MODEL_FRAGMENT"
source "$TASK_FRAGMENT"
shift 2
check_fragment_paths "$MODEL_FRAGMENT" "$TASK_FRAGMENT"

DATA_ARGS=()
[ -n "${DATA_PATH:-}" ] && DATA_ARGS=(--data-dir "$DATA_PATH")
model_argv
pattern_args "${MODEL_ARGV[@]}" ${TRAIN_ARGS:-} ${COMMON_ARGS:-} ${TASK_ARGS:-} "$@"
ARGS=(--task "$TASK_NAME" "${DATA_ARGS[@]}" --save "$SAVE_PATH" --overwrite
      "${MODEL_ARGV[@]}" ${TRAIN_ARGS:-} ${COMMON_ARGS:-} ${TASK_ARGS:-} "${PATTERN_ARGS[@]}" "$@")
pattern_and_name "${ARGS[@]}"
ARGS=(--experiment-name "$RUN_NAME" "${ARGS[@]}")
echo "[ds_finetune_seq2seq] task $TASK_NAME, pattern $RUN_PATTERN_ID, data ${DATA_PATH:-from the hub}, run $SAVE_PATH/$RUN_NAME"
launch_finetune ds_finetune_seq2seq
