#!/usr/bin/env bash
# A baseline on the tasks, data, splits and metrics of the GLM runs:
#   bash scripts/finetune_baseline.sh config_tasks/baseline_roberta_large.sh config_tasks/task_ag_news.sh [extra flags]
#
# The baseline fragment sets MODEL_TYPE, MODEL_PATH and BASELINE_ARGS, and may set LR_BASELINE, EPOCH_BASELINE,
# BATCH_BASELINE (else the task's LR_SINGLE, EPOCH_SINGLE, BATCH_SIZE) and GPU_PRECISION_ARGS. The task fragment
# is the one GLM runs use (config_tasks/task_*.sh). GPUs, DeepSpeed and the CPU fallback work as in
# scripts/ds_finetune_superglue.sh. Extra flags go last to finetune_baseline.py, so they win.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
[ $# -ge 2 ] || { echo "usage: $0 BASELINE.sh TASK.sh [extra finetune_baseline.py flags]" >&2; exit 2; }
source "$1"
source "$2"
shift 2
if [ -n "${TASK_ARGS:-}" ]; then
  echo "$0: $TASK_NAME is a seq2seq fragment; run finetune_baseline.py with its flags directly (docs/BASELINES.md)" >&2
  exit 2
fi

if [ -n "${MAKE_TINY_BASELINE:-}" ] && [ ! -f "$MODEL_PATH/config.json" ]; then
  "$PYTHON" scripts/make_tiny_baseline.py --out "$MODEL_PATH" $MAKE_TINY_BASELINE
fi

DATA_ARGS=()
[ -n "${DATA_PATH:-}" ] && DATA_ARGS=(--data-dir "$DATA_PATH")
ARGS=(--task "$TASK_NAME" "${DATA_ARGS[@]}" --experiment-name "$EXPERIMENT_NAME" --save "${SAVE_PATH:-runs}"
      --seq-length "$MAX_SEQ_LEN" --batch-size "${BATCH_BASELINE:-$BATCH_SIZE}" --epochs "${EPOCH_BASELINE:-$EPOCH_SINGLE}"
      --lr "${LR_BASELINE:-$LR_SINGLE}" --eval-batch-size "${EVAL_BATCH_SIZE:-16}" --overwrite
      $BASELINE_ARGS $TRAIN_ARGS $COMMON_ARGS "$@")

if [ -z "${N_GPU:-}" ]; then
  N_GPU=$("$PYTHON" -c "import torch; print(torch.cuda.device_count())")
fi
DS_CONFIG=${DS_CONFIG:-config_tasks/ds_config_zero2.json}
if [ "$N_GPU" -gt 0 ]; then
  echo "[finetune_baseline] $N_GPU GPU(s): deepspeed launcher, $DS_CONFIG"
  exec "$PYTHON" -m deepspeed.launcher.runner --num_gpus "$N_GPU" --master_port "${MASTER_PORT:-$((29500 + RANDOM % 1000))}" \
    finetune_baseline.py --deepspeed --deepspeed_config "$DS_CONFIG" ${GPU_PRECISION_ARGS---fp16} "${ARGS[@]}"
elif [ -n "${DEEPSPEED_ON_CPU:-}" ]; then
  echo "[finetune_baseline] no GPU: DeepSpeed on CPU (gloo), $DS_CONFIG"
  exec "$PYTHON" finetune_baseline.py --deepspeed --deepspeed_config "$DS_CONFIG" "${ARGS[@]}"
else
  echo "[finetune_baseline] no GPU: one CPU process"
  exec "$PYTHON" finetune_baseline.py "${ARGS[@]}"
fi
