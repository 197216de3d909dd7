# WiC (is a word used in the same sense in two sentences), single-token cloze; accuracy.
# The paper's recipe, with the values and variable names of THUDM/GLM's config_tasks/task_wic.sh;
# run by scripts/ds_finetune_superglue.sh MODEL.sh config_tasks/task_wic.sh with DATA_ROOT set to the data folders' parent.
EXPERIMENT_NAME=${MODEL_TYPE}-wic
TASK_NAME=wic
DATA_PATH="${DATA_ROOT}/WiC"
MAX_SEQ_LEN=256

LR_SINGLE=1e-5
EPOCH_SINGLE=30
XXLARGE_EPOCH=40

TRAIN_ARGS="--lr-decay-style linear \
            --warmup 0.1 \
            --weight-decay 1.0e-1 \
            --pattern-id 1"

COMMON_ARGS="--save-interval 10000 \
             --log-interval 50 \
             --eval-interval 10000000 \
             --eval-iters 100"

PATTERN_IDS=(0 1 2)
PROMPT_IDS=(1 2 3)

BATCH_SIZE=16
