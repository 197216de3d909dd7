# TREC (coarse classes) through promptsource's templates, on jsonl in today's hub schema (coarse_label,
# fine_label): the templates read label_coarse in the old class order, so the field is renamed and the classes
# are mapped by name (recorded under data.schema in config.json). data/demo/anydata/trec, written by
# scripts/make_demo_anydata.py. Template ids: 14 trec1, 15 trec2, 17 which_category_best_describes.
EXPERIMENT_NAME=${MODEL_TYPE}-ps_trec-demo
TASK_NAME=promptsource:trec
DATA_PATH=data/demo/anydata/trec
MAX_SEQ_LEN=64
LR_SINGLE=2e-3
EPOCH_SINGLE=15
BATCH_SIZE=16
TRAIN_ARGS="--lr-decay-style linear --warmup 0.1 --weight-decay 0.01"
COMMON_ARGS="--log-interval 10"
PATTERN_IDS=(14 15 17)
