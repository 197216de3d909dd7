# hate_speech18 through promptsource's only original-task template, which covers the rows labelled noHate or
# hate ({% if label in [0, 1] %}); the others are skipped, counted and recorded (--skip-uncovered). Data: a
# save_to_disk folder per split, data/demo/anydata/hate_speech18, written by scripts/make_demo_anydata.py.
EXPERIMENT_NAME=${MODEL_TYPE}-ps_hate_speech18-demo
TASK_NAME=promptsource:hate_speech18
DATA_PATH=data/demo/anydata/hate_speech18
MAX_SEQ_LEN=64
LR_SINGLE=2e-3
EPOCH_SINGLE=6
BATCH_SIZE=16
TRAIN_ARGS="--lr-decay-style linear --warmup 0.1 --weight-decay 0.01 --skip-uncovered"
COMMON_ARGS="--log-interval 10"
PATTERN_IDS=(0 0 0)  # one template; three entries keep the fragment shape the other tasks have
