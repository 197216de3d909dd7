# DBpedia-14 with promptsource's original-task templates (multi-token category names as answers).
# Template ids: 0 given_a_choice_of_categories, 1 given_a_list_of_category_what_does_the_title_belong_to,
# 3 pick_one_category_for_the_following_text (see --list-prompts).
EXPERIMENT_NAME=${MODEL_TYPE}-ps_dbpedia_14
TASK_NAME=promptsource:dbpedia_14
DATA_PATH=${DATA_PATH:-}
MAX_SEQ_LEN=256
LR_SINGLE=1e-5
EPOCH_SINGLE=2
BATCH_SIZE=16
TRAIN_ARGS="--lr-decay-style linear --warmup 0.1 --weight-decay 0.1"
COMMON_ARGS="--eval-interval 2000 --log-interval 50"
PATTERN_IDS=(0 1 3)
