# Gigaword headlines (hub "gigaword", document -> summary). Hyperparameters are THUDM/GLM's for its gigaword task.
EXPERIMENT_NAME=${MODEL_TYPE}-gigaword
TASK_NAME=gigaword
DATA_PATH=${DATA_PATH:-${DATA_ROOT:+${DATA_ROOT}/gigaword}}   # optional: {train,validation,test}.jsonl or .source/.target; else the hub

TRAIN_ARGS="--epochs 10 \
            --lr 3e-5 \
            --lr-decay-style linear \
            --warmup 0.06 \
            --weight-decay 0.1 \
            --label-smoothing 0.1"

COMMON_ARGS="--log-interval 50 \
             --eval-interval 1000 \
             --eval-epoch 2 \
             --validation-metric rougeL"

TASK_ARGS="--src-seq-length 192 \
           --tgt-seq-length 32 \
           --min-tgt-length 0 \
           --length-penalty 0.6 \
           --no-repeat-ngram-size 3 \
           --num-beams 5 \
           --select-topk \
           --eval-batch-size 4"

# 0 upstream "[CLS] [MASK] Content: document", 1 "... Headline: [MASK]", 2 "Write a headline ... Headline: [MASK]",
# 3 "... In one sentence: [MASK]"
PATTERN_IDS=(0 1 2 3)
