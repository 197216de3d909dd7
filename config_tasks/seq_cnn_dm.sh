# CNN/DailyMail 3.0.0 (hub "cnn_dailymail", article -> highlights). Hyperparameters are THUDM/GLM's for its cnn_dm task.
EXPERIMENT_NAME=${MODEL_TYPE}-cnn_dm
TASK_NAME=cnn_dm
DATA_PATH=${DATA_PATH:-${DATA_ROOT:+${DATA_ROOT}/cnn_dm}}   # optional: {train,validation,test}.jsonl or .source/.target; else the hub

TRAIN_ARGS="--epochs 15 \
            --lr 3e-5 \
            --lr-decay-style linear \
            --warmup 0.06 \
            --weight-decay 0.1 \
            --label-smoothing 0.1"

COMMON_ARGS="--log-interval 50 \
             --eval-interval 1000 \
             --eval-epoch 2 \
             --validation-metric rougeL"

TASK_ARGS="--src-seq-length 608 \
           --tgt-seq-length 160 \
           --min-tgt-length 55 \
           --length-penalty 0.7 \
           --no-repeat-ngram-size 3 \
           --num-beams 5 \
           --select-topk \
           --eval-batch-size 4"

# 0 upstream "[CLS] [MASK] Content: article", 1 "... Highlights: [MASK]", 2 "Article: ... Summary: [MASK]",
# 3 "Article: ... The gist ...: [MASK]"
PATTERN_IDS=(0 1 2 3)
