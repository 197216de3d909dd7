# Sourced by ds_finetune_superglue.sh and ds_finetune_seq2seq.sh: what they do with config fragments, the same
# way for the toolkit's own fragments and THUDM/GLM's (docs/UPSTREAM.md).
#
# fragment_defaults MODEL.sh   before the fragments are sourced: the variables upstream's launch scripts set
#   DATA_ROOT        folder holding the tasks' data folders (fragments use "${DATA_ROOT}/RTE"); default: data
#   SAVE_PATH        folder of run directories; default: runs
#   CHECKPOINT_PATH  for a model fragment that names "${CHECKPOINT_PATH}/<model>" (upstream's): the folder holding
#                    checkpoint directories, default: checkpoints. The toolkit's own model fragments take it as the
#                    checkpoint directory itself and have their own default.
# check_fragment_paths MODEL.sh TASK.sh   after sourcing: a data or checkpoint path that does not exist stops the
#   run with a message naming the variable, its value and the fragment.
# pattern_args FRAGMENT_ARGS...   sets PATTERN_ARGS: PROMPT (a promptsource template name or id, or "all"), else
#   PATTERN_ID (a number, or a template name), else nothing when the fragment's arguments hold a --pattern-id
#   (upstream's fragments choose it in TRAIN_ARGS), else the first of PATTERN_IDS.
# pattern_and_name ARGS...   sets RUN_PATTERN_ID and RUN_NAME from the prompt the driver will use (the last
#   --pattern-id or --prompt given, as argparse takes it): "${EXPERIMENT_NAME}-p<id>", or for a template
#   "${EXPERIMENT_NAME}-{prompt}", which the driver replaces with the template's name.

fragment_defaults() {
  DATA_ROOT=${DATA_ROOT-data}
  SAVE_PATH=${SAVE_PATH:-runs}
  if [ -z "${CHECKPOINT_PATH:-}" ] && grep -q '\${\?CHECKPOINT_PATH}\?/' "$1"; then
    CHECKPOINT_PATH=checkpoints
    CHECKPOINT_PATH_DEFAULTED=1
  fi
}

_fragment_error() {
  echo "error: $*" >&2
  exit 2
}

check_fragment_paths() {
  local model=$1 task=$2 load=""
  if [ -n "${DATA_PATH:-}" ] && [ ! -e "$DATA_PATH" ]; then
    _fragment_error "DATA_PATH=$DATA_PATH (set by $task${DATA_ROOT:+ from DATA_ROOT=$DATA_ROOT}) does not exist." \
      "Set DATA_ROOT to the folder that holds the task's data folder (e.g. DATA_ROOT=/data/superglue for /data/superglue/RTE)," \
      "or DATA_PATH to the data folder itself; for a task the hub has, DATA_ROOT= (empty) with the toolkit's own fragments reads the hub."
  fi
  local words=($MODEL_ARGS) i
  for ((i = 0; i < ${#words[@]}; i++)); do
    [ "${words[$i]}" = "--load-pretrained" ] && load=${words[$((i + 1))]:-}
  done
  if [ -n "$load" ] && [ -z "${MAKE_TINY_CHECKPOINT:-}" ] && [ ! -e "$load" ] && [ -n "${CHECKPOINT_PATH:-}" ] \
     && [ "${load#"$CHECKPOINT_PATH"/}" != "$load" ]; then
    _fragment_error "the checkpoint $load (--load-pretrained in $model) does not exist: CHECKPOINT_PATH=$CHECKPOINT_PATH" \
      "${CHECKPOINT_PATH_DEFAULTED:+(the default) }must be the folder holding ${load#"$CHECKPOINT_PATH"/}," \
      "e.g. CHECKPOINT_PATH=/models for /models/${load#"$CHECKPOINT_PATH"/}."
  fi
}

pattern_args() {
  PATTERN_ARGS=()
  if [ -n "${PROMPT:-}" ]; then
    PATTERN_ARGS=(--prompt "$PROMPT")
  elif [[ "${PATTERN_ID:-}" =~ ^[0-9]+$ ]]; then
    PATTERN_ARGS=(--pattern-id "$PATTERN_ID")
  elif [ -n "${PATTERN_ID:-}" ]; then
    PATTERN_ARGS=(--prompt "$PATTERN_ID")  # a template name given as PATTERN_ID
  elif ! has_pattern_id "$@"; then
    PATTERN_ARGS=(--pattern-id "${PATTERN_IDS[0]:-0}")
  fi
}

pattern_and_name() {
  local i args=("$@") template=""
  RUN_PATTERN_ID=0
  for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[$i]}" in
      --pattern-id) RUN_PATTERN_ID=${args[$((i + 1))]:-0} template="" ;;
      --pattern-id=*) RUN_PATTERN_ID=${args[$i]#--pattern-id=} template="" ;;
      --prompt) RUN_PATTERN_ID=${args[$((i + 1))]:-} template=1 ;;
      --prompt=*) RUN_PATTERN_ID=${args[$i]#--prompt=} template=1 ;;
    esac
  done
  RUN_NAME="${EXPERIMENT_NAME}-${template:+"{prompt}"}"
  [ -n "$template" ] || RUN_NAME+="p${RUN_PATTERN_ID}"
}

# True when a --pattern-id is among the arguments (a fragment's own choice).
has_pattern_id() {
  local a
  for a in "$@"; do
    case "$a" in --pattern-id | --pattern-id=*) return 0 ;; esac
  done
  return 1
}
