# SAMSum with promptsource's original-task templates as generation prompts (the rendered input + [MASK]);
# hyperparameters as in seq_samsum.sh. Template ids: 0 "Generate a summary for this dialogue",
# 2 "Sum up the following dialogue", 3 "Summarize this dialogue:" (see --list-prompts).
EXPERIMENT_NAME=${MODEL_TYPE}-ps_samsum
TASK_NAME=promptsource:samsum
DATA_PATH=${DATA_PATH:-${DATA_ROOT:+${DATA_ROOT}/samsum}}   # optional: {train,validation,test}.jsonl in the hub schema; else the hub

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

TASK_ARGS="--src-seq-length 512 \
           --tgt-seq-length 64 \
           --min-tgt-length 5 \
           --length-penalty 1. \
           --no-repeat-ngram-size 3 \
           --num-beams 5 \
           --select-topk \
           --eval-batch-size 4"

PATTERN_IDS=(0 2 3)
