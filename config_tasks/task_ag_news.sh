# AG News topic classification (4 classes) as blank infilling. Data: the hub's "ag_news" (DATA_PATH unset) or a
# directory with train/test .jsonl or .csv in its schema (text, label). No validation split: 10% of train,
# stratified and seeded, becomes dev (recorded in config.json).
EXPERIMENT_NAME=${MODEL_TYPE}-ag_news
TASK_NAME=ag_news
DATA_PATH=${DATA_PATH:-}
MAX_SEQ_LEN=256
LR_SINGLE=1e-5
EPOCH_SINGLE=3
BATCH_SIZE=16
TRAIN_ARGS="--lr-decay-style linear --warmup 0.1 --weight-decay 0.1"
COMMON_ARGS="--eval-interval 1000 --log-interval 50"
PATTERN_IDS=(0 1 2 3)
