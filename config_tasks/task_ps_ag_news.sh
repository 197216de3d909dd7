# AG News with promptsource's original-task templates as GLM cloze prompts (multi-token answer choices).
# Template ids (see `python finetune_glm.py --task promptsource:ag_news --list-prompts`): 0 classify,
# 1 classify_question_first, 5 which_section. PATTERN_ID picks one; the ds script passes it as --pattern-id.
EXPERIMENT_NAME=${MODEL_TYPE}-ps_ag_news
TASK_NAME=promptsource:ag_news
DATA_PATH=${DATA_PATH:-}
MAX_SEQ_LEN=256
LR_SINGLE=1e-5
EPOCH_SINGLE=3
BATCH_SIZE=16
TRAIN_ARGS="--lr-decay-style linear --warmup 0.1 --weight-decay 0.1"
COMMON_ARGS="--eval-interval 1000 --log-interval 50"
PATTERN_IDS=(0 1 5)
