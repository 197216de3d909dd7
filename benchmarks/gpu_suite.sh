#!/usr/bin/env bash
# The GPU measurements, one prepared script, under 10 minutes on one GPU (each step has its own time limit):
#   attention kernels for GLM's Part A / Part B mask (SDPA bool / additive, FlexAttention, reference), equality and speed
#   training tokens/s and MFU at glm-roberta-large's shape (24 x 1024), bf16, seq 256 (batch 16) and 512 (batch 8)
#   the same at seq 256 with the layers torch.compile'd
#   peak memory of full fine-tuning at batch 16 x 256, with and without activation checkpointing; P-tuning v2's ratio
#   cached beam-search decoding tokens/s (fp32 and bf16 autocast; bf16 again with the prompt's cache copied per beam)
# Usage: bash benchmarks/gpu_suite.sh [python]     (default: .venv/bin/python if present, else python)
# A step that fails or runs out of time prints FAILED / TIMED OUT with its name; the others still run.
set -u
cd "$(dirname "$0")/.."
PY="${1:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "SKIPPED: no CUDA device (torch.cuda.is_available() is False); nothing was measured"
  exit 0
fi
"$PY" - <<'PYEOF'
import torch
p = torch.cuda.get_device_properties(0)
print(f"device: {torch.cuda.get_device_name(0)}, {p.total_memory / 2**30:.0f} GiB, torch {torch.__version__}, CUDA {torch.version.cuda}")
PYEOF
START=$SECONDS
step() {  # step NAME LIMIT_SECONDS ARGS...
  local name=$1 limit=$2; shift 2
  echo "== $name"
  timeout "$limit" "$PY" benchmarks/bench_gpu.py "$@"
  local rc=$?
  if [ $rc -eq 124 ]; then echo "TIMED OUT: $name (over ${limit} s)"; elif [ $rc -ne 0 ]; then echo "FAILED: $name (exit $rc)"; fi
}
step "attention kernels" 90 attention --seq 512
step "train bf16 seq 256" 90 train --seq 256 --batch 16
step "train bf16 seq 512" 90 train --seq 512 --batch 8
step "peak memory" 100 memory
step "decoding" 110 decode
step "train bf16 seq 256, compiled" 120 train --seq 256 --batch 16 --compile
echo "suite done in $((SECONDS - START)) s"
