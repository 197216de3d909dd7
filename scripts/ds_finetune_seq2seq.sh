#!/usr/bin/env bash
# Generation fine-tuning, THUDM/GLM style:
#   bash scripts/ds_finetune_seq2seq.sh config_tasks/model_glm_roberta_large.sh config_tasks/seq_samsum.sh [extra flags]
#
# The model fragment sets MODEL_TYPE, MODEL_ARGS, CHECKPOINT_PATH; the seq fragment sets EXPERIMENT_NAME,
# TASK_NAME, DATA_PATH, TRAIN_ARGS, COMMON_ARGS, TASK_ARGS and PATTERN_IDS. PATTERN_ID picks the prompt
# (default: the first of PATTERN_IDS); PROMPT names a promptsource template (or "all"). Fragments are found from
# the current directory or the repository root. Extra flags come last and win. GPUs, DeepSpeed and precision:
# scripts/launch.sh.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/launch.sh"
[ $# -ge 2 ] || { echo "usage: $0 MODEL.sh SEQ_TASK.sh [extra finetune_glm.py flags]" >&2; exit 2; }
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
      "${PROMPT_ARGS[@]}" --overwrite $MODEL_ARGS $TRAIN_ARGS $COMMON_ARGS $TASK_ARGS "$@")
launch_finetune ds_finetune_seq2seq
