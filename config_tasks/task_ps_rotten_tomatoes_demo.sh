# Rotten Tomatoes through promptsource's templates, on CSV files in the hub schema (text,label with integer
# labels as text): data/demo/anydata/rotten_tomatoes, written by scripts/make_demo_anydata.py. Tiny GLM, CPU.
# Template ids (--list-prompts): 0 Movie Expressed Sentiment, 5 Reviewer Opinion bad good choices, 8 Text
# Expressed Sentiment; PROMPT=all runs every original-task template.
EXPERIMENT_NAME=${MODEL_TYPE}-ps_rotten_tomatoes-demo
TASK_NAME=promptsource:rotten_tomatoes
DATA_PATH=data/demo/anydata/rotten_tomatoes
MAX_SEQ_LEN=64
LR_SINGLE=2e-3
EPOCH_SINGLE=6
BATCH_SIZE=16
TRAIN_ARGS="--lr-decay-style linear --warmup 0.1 --weight-decay 0.01"
COMMON_ARGS="--log-interval 10"
PATTERN_IDS=(0 5 8)
