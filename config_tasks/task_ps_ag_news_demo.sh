# promptsource AG News templates on the project's demo data with the tiny GLM (CPU, seconds per prompt).
EXPERIMENT_NAME=${MODEL_TYPE}-ps_ag_news-demo
TASK_NAME=promptsource:ag_news
DATA_PATH=data/demo/ag_news
MAX_SEQ_LEN=96
LR_SINGLE=2e-3
EPOCH_SINGLE=6
BATCH_SIZE=16
TRAIN_ARGS="--lr-decay-style linear --warmup 0.1 --weight-decay 0.01"
COMMON_ARGS="--log-interval 10"
PATTERN_IDS=(0 1 5)
