# WSC on the WSC-negative files (each example lists other noun phrases as candidates): multi-token cloze,
# generative loss on the referent plus cross-entropy over the referent and the candidates (--loss-func mix),
# scores averaged over tokens (--length-penalty 1); training keeps the examples whose label is True; accuracy
# (True when the referent wins).
# The paper's recipe, with the values and variable names of THUDM/GLM's config_tasks/task_wsc.sh;
# run by scripts/ds_finetune_superglue.sh MODEL.sh config_tasks/task_wsc.sh with DATA_ROOT set to the data folders' parent.
TASK_NAME=wsc
EXPERIMENT_NAME=${MODEL_TYPE}-${TASK_NAME}
DATA_PATH="${DATA_ROOT}/WSC-negative"
MAX_SEQ_LEN=128

LR_SINGLE=1e-5
EPOCH_SINGLE=50
XXLARGE_EPOCH=100

TRAIN_ARGS="--lr-decay-style linear \
            --warmup 0.1 \
            --weight-decay 1.0e-1 \
            --loss-func mix \
            --wsc-negative \
            --length-penalty 1 \
            --pattern-id 2"

COMMON_ARGS="--save-interval 10000 \
             --log-interval 50 \
             --eval-interval 1000 \
             --eval-iters 100"

PATTERN_IDS=(0 1 2)
PROMPT_IDS=(1 2 3)

BATCH_SIZE=16
