#!/usr/bin/env bash
# Generation fine-tuning, THUDM/GLM style:
#   bash scripts/ds_finetune_seq2seq.sh config_tasks/model_glm_roberta_large.sh config_tasks/seq_samsum.sh [extra flags]
#
# The model fragment sets MODEL_TYPE, MODEL_ARGS, CHECKPOINT_PATH; the seq fragment sets EXPERIMENT_NAME,
# TASK_NAME, DATA_PATH, TRAIN_ARGS, COMMON_ARGS, TASK_ARGS and PATTERN_IDS. PATTERN_ID picks the prompt
# (default: the first of PATTERN_IDS). Extra flags come last and win. GPUs, DeepSpeed and precision:
# scripts/launch.sh.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/launch.sh"
cd "$REPO_ROOT"
[ $# -ge 2 ] || { echo "usage: $0 MODEL.sh SEQ_TASK.sh [extra finetune_glm.py flags]" >&2; exit 2; }
source "$1"
source "$2"
shift 2

PATTERN_ID=${PATTERN_ID:-${PATTERN_IDS[0]:-0}}
DATA_ARGS=()
[ -n "${DATA_PATH:-}" ] && DATA_ARGS=(--data-dir "$DATA_PATH")
model_argv
ARGS=(--task "$TASK_NAME" "${DATA_ARGS[@]}" --experiment-name "${EXPERIMENT_NAME}-p${PATTERN_ID}" --save "${SAVE_PATH:-runs}"
      --pattern-id "$PATTERN_ID" --overwrite "${MODEL_ARGV[@]}" $TRAIN_ARGS $COMMON_ARGS $TASK_ARGS "$@")
launch_finetune ds_finetune_seq2seq
