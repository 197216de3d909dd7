# The demo: the project's own small AG News-schema data (data/demo/ag_news) with the tiny GLM, on CPU in minutes.
EXPERIMENT_NAME=${MODEL_TYPE}-ag_news-demo
TASK_NAME=ag_news
DATA_PATH=data/demo/ag_news
MAX_SEQ_LEN=128
LR_SINGLE=2e-3
EPOCH_SINGLE=6
BATCH_SIZE=16
TRAIN_ARGS="--lr-decay-style linear --warmup 0.1 --weight-decay 0.01"
COMMON_ARGS="--log-interval 10"
PATTERN_IDS=(0 1 2 3)
