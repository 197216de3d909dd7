# SAMSum dialogue summarisation (hub "samsum": dialogue -> summary). THUDM/GLM has no SAMSum config: the
# schedule and decoding follow its XSum recipe (short abstractive summaries); dialogues fit in 512 tokens and
# summaries (one to three sentences) in 64.
EXPERIMENT_NAME=${MODEL_TYPE}-samsum
TASK_NAME=samsum
DATA_PATH=${DATA_PATH:-${DATA_ROOT:+${DATA_ROOT}/samsum}}   # optional: {train,validation,test}.jsonl or .source/.target; else the hub

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

# 0 upstream "[CLS] [MASK] Content: dialogue", 1 "... Summary: [MASK]", 2 "[MASK] That is what happened in this chat: ...",
# 3 "Summarize the conversation. ... In short, [MASK]"
PATTERN_IDS=(0 1 2 3)
