#!/usr/bin/env bash
# Classification fine-tuning, THUDM/GLM style:
#   bash scripts/ds_finetune_superglue.sh config_tasks/model_glm_roberta_large.sh config_tasks/task_ag_news.sh [extra flags]
#
# The model fragment sets MODEL_TYPE, MODEL_ARGS and CHECKPOINT_PATH; the task fragment sets EXPERIMENT_NAME,
# TASK_NAME, DATA_PATH, MAX_SEQ_LEN, LR_SINGLE, EPOCH_SINGLE, BATCH_SIZE, TRAIN_ARGS, COMMON_ARGS, PATTERN_IDS.
# With GPUs (N_GPU, default: all visible) the run goes through the deepspeed launcher with DS_CONFIG (default
# config_tasks/ds_config_zero2.json); without GPUs it runs as one CPU process (DEEPSPEED_ON_CPU=1 still uses
# DeepSpeed, on CPU). On GPUs GPU_PRECISION_ARGS (default --fp16, as upstream; --bf16 on Ampere and newer) is added.
# PATTERN_ID picks the pattern (default: the first of PATTERN_IDS). Extra flags are appended
# last, so they win.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
[ $# -ge 2 ] || { echo "usage: $0 MODEL.sh TASK.sh [extra finetune_glm.py flags]" >&2; exit 2; }
source "$1"
source "$2"
shift 2

if [ -n "${MAKE_TINY_CHECKPOINT:-}" ] && [ ! -f "$CHECKPOINT_PATH/config.json" ]; then
  "$PYTHON" scripts/make_tiny_checkpoint.py --out "$CHECKPOINT_PATH" $MAKE_TINY_CHECKPOINT
fi

PATTERN_ID=${PATTERN_ID:-${PATTERN_IDS[0]:-0}}
RUN_NAME=${EXPERIMENT_NAME}-p${PATTERN_ID}
DATA_ARGS=()
[ -n "${DATA_PATH:-}" ] && DATA_ARGS=(--data-dir "$DATA_PATH")
ARGS=(--task "$TASK_NAME" "${DATA_ARGS[@]}" --experiment-name "$RUN_NAME" --save "${SAVE_PATH:-runs}"
      --seq-length "$MAX_SEQ_LEN" --pattern-id "$PATTERN_ID" --batch-size "$BATCH_SIZE" --epochs "$EPOCH_SINGLE"
      --lr "$LR_SINGLE" --eval-batch-size "${EVAL_BATCH_SIZE:-16}" --overwrite
      $MODEL_ARGS $TRAIN_ARGS $COMMON_ARGS "$@")

if [ -z "${N_GPU:-}" ]; then
  N_GPU=$("$PYTHON" -c "import torch; print(torch.cuda.device_count())")
fi
DS_CONFIG=${DS_CONFIG:-config_tasks/ds_config_zero2.json}
if [ "$N_GPU" -gt 0 ]; then
  echo "[ds_finetune] $N_GPU GPU(s): deepspeed launcher, $DS_CONFIG"
  exec "$PYTHON" -m deepspeed.launcher.runner --num_gpus "$N_GPU" --master_port "${MASTER_PORT:-$((29500 + RANDOM % 1000))}" \
    finetune_glm.py --deepspeed --deepspeed_config "$DS_CONFIG" ${GPU_PRECISION_ARGS:---fp16} "${ARGS[@]}"
elif [ -n "${DEEPSPEED_ON_CPU:-}" ]; then
  echo "[ds_finetune] no GPU: DeepSpeed on CPU (gloo), $DS_CONFIG"
  exec "$PYTHON" finetune_glm.py --deepspeed --deepspeed_config "$DS_CONFIG" "${ARGS[@]}"
else
  echo "[ds_finetune] no GPU: one CPU process"
  exec "$PYTHON" finetune_glm.py "${ARGS[@]}"
fi
