# CommitmentBank (3 labels), single-token cloze; accuracy and macro-F1.
# The paper's recipe, with the values and variable names of THUDM/GLM's config_tasks/task_cb.sh;
# run by scripts/ds_finetune_superglue.sh MODEL.sh config_tasks/task_cb.sh with DATA_ROOT set to the data folders' parent.
EXPERIMENT_NAME=${MODEL_TYPE}-CB
TASK_NAME=CB
DATA_PATH="${DATA_ROOT}/CB"
MAX_SEQ_LEN=256

LR_SINGLE=1e-5
EPOCH_SINGLE=50
XXLARGE_EPOCH=100

TRAIN_ARGS="--lr-decay-style linear \
            --warmup 0.1 \
            --weight-decay 1.0e-1 \
            --pattern-id 3"

COMMON_ARGS="--save-interval 10000 \
             --log-interval 50 \
             --eval-interval 1000 \
             --eval-iters 100"

PATTERN_IDS=(0 1 2 3)
PROMPT_IDS=(1 2 3)

BATCH_SIZE=16
