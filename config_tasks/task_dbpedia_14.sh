# DBpedia-14 ontology classification (14 classes; several label words are multi-token). Data: the hub's
# "dbpedia_14" or DATA_PATH with train/test .jsonl in its schema (title, content, label).
EXPERIMENT_NAME=${MODEL_TYPE}-dbpedia_14
TASK_NAME=dbpedia_14
DATA_PATH=${DATA_PATH:-}
MAX_SEQ_LEN=256
LR_SINGLE=1e-5
EPOCH_SINGLE=2
BATCH_SIZE=16
TRAIN_ARGS="--lr-decay-style linear --warmup 0.1 --weight-decay 0.1"
COMMON_ARGS="--eval-interval 2000 --log-interval 50"
PATTERN_IDS=(0 1 2)
