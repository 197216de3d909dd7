# COPA (the more plausible cause or effect of two), multi-token cloze over the two choices; training adds
# a mirrored copy of every example; accuracy.
# The paper's recipe, with the values and variable names of THUDM/GLM's config_tasks/task_copa.sh;
# run by scripts/ds_finetune_superglue.sh MODEL.sh config_tasks/task_copa.sh with DATA_ROOT set to the data folders' parent.
EXPERIMENT_NAME=${MODEL_TYPE}-copa
TASK_NAME=COPA
DATA_PATH="${DATA_ROOT}/COPA"
MAX_SEQ_LEN=256

LR_SINGLE=1e-5
EPOCH_SINGLE=50
XXLARGE_EPOCH=100

TRAIN_ARGS="--lr-decay-style linear \
            --warmup 0.1 \
            --weight-decay 1.0e-1 \
            --pattern-id 0"

COMMON_ARGS="--save-interval 10000 \
             --log-interval 20 \
             --eval-interval 1000 \
             --eval-iters 100"

PATTERN_IDS=(0 1)
PROMPT_IDS=(1 2)

BATCH_SIZE=16
