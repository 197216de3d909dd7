#!/usr/bin/env bash
# Generation fine-tuning, THUDM/GLM style:
#   bash scripts/ds_finetune_seq2seq.sh config_tasks/model_glm_roberta_large.sh config_tasks/seq_samsum.sh [extra flags]
#
# The model fragment sets MODEL_TYPE, MODEL_ARGS, CHECKPOINT_PATH; the seq fragment sets EXPERIMENT_NAME,
# TASK_NAME, DATA_PATH, TRAIN_ARGS, COMMON_ARGS, TASK_ARGS and PATTERN_IDS. Launching as in
# ds_finetune_superglue.sh: the deepspeed launcher with GPUs (N_GPU, DS_CONFIG, GPU_PRECISION_ARGS), one CPU
# process without. PATTERN_ID picks the prompt (default: the first of PATTERN_IDS). Extra flags come last and win.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
[ $# -ge 2 ] || { echo "usage: $0 MODEL.sh SEQ_TASK.sh [extra finetune_glm.py flags]" >&2; exit 2; }
source "$1"
source "$2"
shift 2

if [ -n "${MAKE_TINY_CHECKPOINT:-}" ] && [ ! -f "$CHECKPOINT_PATH/config.json" ]; then
  "$PYTHON" scripts/make_tiny_checkpoint.py --out "$CHECKPOINT_PATH" $MAKE_TINY_CHECKPOINT
fi

PATTERN_ID=${PATTERN_ID:-${PATTERN_IDS[0]:-0}}
DATA_ARGS=()
[ -n "${DATA_PATH:-}" ] && DATA_ARGS=(--data-dir "$DATA_PATH")
ARGS=(--task "$TASK_NAME" "${DATA_ARGS[@]}" --experiment-name "${EXPERIMENT_NAME}-p${PATTERN_ID}" --save "${SAVE_PATH:-runs}"
      --pattern-id "$PATTERN_ID" --overwrite $MODEL_ARGS $TRAIN_ARGS $COMMON_ARGS $TASK_ARGS "$@")

if [ -z "${N_GPU:-}" ]; then
  N_GPU=$("$PYTHON" -c "import torch; print(torch.cuda.device_count())")
fi
DS_CONFIG=${DS_CONFIG:-config_tasks/ds_config_zero2.json}
if [ "$N_GPU" -gt 0 ]; then
  echo "[ds_finetune_seq2seq] $N_GPU GPU(s): deepspeed launcher, $DS_CONFIG"
  exec "$PYTHON" -m deepspeed.launcher.runner --num_gpus "$N_GPU" --master_port "${MASTER_PORT:-$((29500 + RANDOM % 1000))}" \
    finetune_glm.py --deepspeed --deepspeed_config "$DS_CONFIG" ${GPU_PRECISION_ARGS:---fp16} "${ARGS[@]}"
elif [ -n "${DEEPSPEED_ON_CPU:-}" ]; then
  echo "[ds_finetune_seq2seq] no GPU: DeepSpeed on CPU (gloo), $DS_CONFIG"
  exec "$PYTHON" finetune_glm.py --deepspeed --deepspeed_config "$DS_CONFIG" "${ARGS[@]}"
else
  echo "[ds_finetune_seq2seq] no GPU: one CPU process"
  exec "$PYTHON" finetune_glm.py "${ARGS[@]}"
fi
