# The project's demo: data/demo/seq2seq ("Convert: red fox seven" -> "7 red foxes"), customization format.
# Short sources and targets, so small budgets; greedy decoding (the mapping has one right answer).
EXPERIMENT_NAME=${MODEL_TYPE}-seq-demo
TASK_NAME=customization
DATA_PATH="data/demo/seq2seq"

TRAIN_ARGS="--epochs 10 \
            --lr 1e-5 \
            --batch-size 16 \
            --lr-decay-style linear \
            --warmup 0.06 \
            --weight-decay 0.1 \
            --label-smoothing 0.1"

COMMON_ARGS="--log-interval 10 \
             --eval-epoch 2 \
             --validation-metric rougeL"

TASK_ARGS="--src-seq-length 32 \
           --tgt-seq-length 8 \
           --min-tgt-length 0 \
           --length-penalty 1.0 \
           --no-repeat-ngram-size 0 \
           --num-beams 1 \
           --select-topk \
           --eval-batch-size 16"

PATTERN_IDS=(0 1 2 3)
