# Sourced by the run scripts: `launch_finetune TAG [DRIVER]` runs DRIVER (default finetune_glm.py) with the
# arguments in the ARGS array. With GPUs (N_GPU, default: all visible) through the deepspeed launcher with DS_CONFIG
# (default config_tasks/ds_config_zero2.json) and GPU_PRECISION_ARGS (unset: --fp16, as upstream; --bf16 on Ampere
# and newer; set but empty: fp32); without GPUs one CPU process, or DeepSpeed on CPU with DEEPSPEED_ON_CPU=1.
# A model fragment with MAKE_TINY_CHECKPOINT gets its checkpoint written on first use, by MAKE_CHECKPOINT_SCRIPT
# (default scripts/make_tiny_checkpoint.py) with those arguments and --out "$CHECKPOINT_PATH".
# PRINT_ONLY=1 prints the command (one argument per line) instead of running it.
# `uses_deepspeed` says whether launch_finetune will go through DeepSpeed (GPUs, or DEEPSPEED_ON_CPU=1).
detect_gpus() {
  if [ -z "${N_GPU:-}" ]; then
    N_GPU=$("$PYTHON" -c "import torch; print(torch.cuda.device_count())")
  fi
}

uses_deepspeed() {
  detect_gpus
  [ "$N_GPU" -gt 0 ] || [ -n "${DEEPSPEED_ON_CPU:-}" ]
}

launch_finetune() {
  local tag=$1 driver=${2:-finetune_glm.py} cmd
  if [ -z "${PRINT_ONLY:-}" ] && [ -n "${MAKE_TINY_CHECKPOINT:-}" ] && [ ! -f "$CHECKPOINT_PATH/config.json" ]; then
    "$PYTHON" "${MAKE_CHECKPOINT_SCRIPT:-scripts/make_tiny_checkpoint.py}" --out "$CHECKPOINT_PATH" $MAKE_TINY_CHECKPOINT
  fi
  detect_gpus
  local ds_config=${DS_CONFIG:-config_tasks/ds_config_zero2.json}
  if [ "$N_GPU" -gt 0 ]; then
    echo "[$tag] $N_GPU GPU(s): deepspeed launcher, $ds_config"
    cmd=("$PYTHON" -m deepspeed.launcher.runner --num_gpus "$N_GPU" --master_port "${MASTER_PORT:-$((29500 + RANDOM % 1000))}"
         "$driver" --deepspeed --deepspeed_config "$ds_config" ${GPU_PRECISION_ARGS---fp16} "${ARGS[@]}")
  elif [ -n "${DEEPSPEED_ON_CPU:-}" ]; then
    echo "[$tag] no GPU: DeepSpeed on CPU (gloo), $ds_config"
    cmd=("$PYTHON" "$driver" --deepspeed --deepspeed_config "$ds_config" "${ARGS[@]}")
  else
    echo "[$tag] no GPU: one CPU process"
    cmd=("$PYTHON" "$driver" "${ARGS[@]}")
  fi
  if [ -n "${PRINT_ONLY:-}" ]; then  # show the command, one argument per line, and run nothing
    printf '%s\n' "${cmd[@]}"
    exit 0
  fi
  exec "${cmd[@]}"
}

# MODEL_ARGS (upstream's one-string form) as the MODEL_ARGV array, keeping CHECKPOINT_PATH and TOKENIZER_PATH whole:
# split on spaces, a checkpoint path holding one would become two arguments (and the second a stray flag value).
model_argv() {
  local rest="${MODEL_ARGS:-}" words=()
  MODEL_ARGV=()
  _keep_whole --load-pretrained "${CHECKPOINT_PATH:-}"
  _keep_whole --tokenizer-dir "${TOKENIZER_PATH:-}"
  read -r -a words <<< "$rest"
  MODEL_ARGV+=(${words[@]+"${words[@]}"})
}

# `_keep_whole FLAG PREFIX` (for model_argv): when `rest` holds "FLAG PREFIX...", the value is PREFIX plus what
# follows it up to the next space (upstream's fragments write "${CHECKPOINT_PATH}/name"), moved to MODEL_ARGV whole.
_keep_whole() {
  local flag=$1 prefix=$2 after value
  [ -n "$prefix" ] && [[ "$rest" == *"$flag $prefix"* ]] || return 0
  after=${rest#*"$flag $prefix"}
  value="$prefix${after%% *}"
  rest=${rest/"$flag $value"/}
  MODEL_ARGV+=("$flag" "$value")
}

# `find_fragment PATH`: a config fragment as given (relative to where the script was started), else relative to
# the repository root; prints its absolute path, or says where it looked and fails.
find_fragment() {
  local f=$1
  if [ -f "$f" ]; then echo "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"
  elif [ -f "$REPO_ROOT/$f" ]; then echo "$REPO_ROOT/$f"
  else echo "config fragment $f not found (looked in $PWD and $REPO_ROOT)" >&2; return 2
  fi
}
