# dbpedia_14 for THUDM/GLM's scripts/finetune_superglue.sh (examples/dbpedia_14; install.py copies this file to
# config_tasks/). Data: DATA_PATH with train.jsonl, dev.jsonl, test.jsonl (examples/dbpedia_14/get_data.py).
# Hyperparameters: upstream's recipe for its own tasks. This contribution's runs used a tiny model
# (best setting there: lr=0.001, epochs=6, batch_size=16, weight_decay=0.1, warmup=0.1, seq_length=96), which says nothing about glm-roberta-large; tune these with
# upstream's grid scripts.
EXPERIMENT_NAME=${MODEL_TYPE}-dbpedia_14
TASK_NAME=dbpedia_14
DATA_PATH="${DATA_ROOT}/dbpedia_14"
MAX_SEQ_LEN=256

LR_SINGLE=1e-05
EPOCH_SINGLE=${EPOCH_SINGLE:-10}
XXLARGE_EPOCH=10

TRAIN_ARGS="--lr-decay-style linear \
            --warmup 0.1 \
            --weight-decay 0.1 \
            --pattern-id ${PATTERN_ID:-2} ${EXTRA_ARGS:-}"

COMMON_ARGS="--save-interval 10000 \
             --log-interval 50 \
             --eval-interval 10000000 \
             --eval-iters 100"

PATTERN_IDS=(0 1 2)

BATCH_SIZE=16
