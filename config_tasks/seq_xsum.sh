# XSum (hub "xsum": document -> summary). Hyperparameters are THUDM/GLM's for its xsum task.
EXPERIMENT_NAME=${MODEL_TYPE}-xsum
TASK_NAME=xsum
DATA_PATH=${DATA_PATH:-${DATA_ROOT:+${DATA_ROOT}/xsum}}   # optional: {train,validation,test}.jsonl or .source/.target; else the hub

TRAIN_ARGS="--epochs 6 \
            --lr 1e-5 \
            --lr-decay-style linear \
            --warmup 0.06 \
            --weight-decay 0.1 \
            --label-smoothing 0.1"

COMMON_ARGS="--log-interval 50 \
             --eval-interval 1000 \
             --eval-epoch 2 \
             --validation-metric rougeL"

TASK_ARGS="--src-seq-length 608 \
           --tgt-seq-length 60 \
           --min-tgt-length 10 \
           --length-penalty 1. \
           --no-repeat-ngram-size 3 \
           --num-beams 6 \
           --select-topk \
           --eval-batch-size 1"

# 0 upstream "[CLS] [MASK] Content: document", 1 "... In one sentence: [MASK]", 2 "Article: ... The gist ...: [MASK]",
# 3 "Article: ... Summary: [MASK]"
PATTERN_IDS=(0 1 2 3)
