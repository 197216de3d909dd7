# ReCoRD (which entity of the passage fills the query's @placeholder), multi-token cloze over a variable
# number of entities (training: the answer and up to 9 others); EM and F1. Upstream's COMMON_ARGS also name the
# DeepSpeed JSON of its 10B model (config_blocklm_10B_record.json), which is not part of this recipe.
# The paper's recipe, with the values and variable names of THUDM/GLM's config_tasks/task_record.sh;
# run by scripts/ds_finetune_superglue.sh MODEL.sh config_tasks/task_record.sh with DATA_ROOT set to the data folders' parent.
EXPERIMENT_NAME=${MODEL_TYPE}-record
TASK_NAME=ReCoRD
DATA_PATH="${DATA_ROOT}/ReCoRD"
MAX_SEQ_LEN=512

LR_SINGLE=1e-5
EPOCH_SINGLE=5
XXLARGE_EPOCH=3

TRAIN_ARGS="--lr-decay-style linear \
            --warmup 0.1 \
            --weight-decay 1.0e-1 \
            --pattern-id 0"

COMMON_ARGS="--save-interval 10000 \
             --log-interval 50 \
             --eval-interval 1000 \
             --eval-iters 100"

PATTERN_IDS=(0)

BATCH_SIZE=64
