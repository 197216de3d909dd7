# The demo: the project's own rewrite data (data/demo/seq2seq, "Convert: red fox seven" -> "7 red foxes") with the
# tiny GLM on CPU (the values tests/test_seq2seq_learning.py trains with: dev ROUGE-L reaches 99-100).
# Short sources and targets, so small budgets; greedy decoding (the mapping has one right answer).
EXPERIMENT_NAME=${MODEL_TYPE}-seq-demo
TASK_NAME=customization
DATA_PATH="data/demo/seq2seq"

TRAIN_ARGS="--epochs 15 \
            --lr 5e-3 \
            --batch-size 16 \
            --lr-decay-style linear \
            --warmup 0.06 \
            --weight-decay 0.01 \
            --label-smoothing 0.1"

COMMON_ARGS="--log-interval 10 \
             --eval-epoch 5 \
             --validation-metric rougeL"

TASK_ARGS="--src-seq-length 32 \
           --tgt-seq-length 8 \
           --min-tgt-length 0 \
           --length-penalty 1.0 \
           --no-repeat-ngram-size 0 \
           --num-beams 1 \
           --select-topk \
           --eval-batch-size 50"

PATTERN_IDS=(0 1 2 3)
