# samsum for THUDM/GLM's scripts/finetune_seq2seq.sh through its `customization` task (examples/samsum;
# install.py copies this file to config_tasks/). Data: DATA_PATH written by
# examples/samsum/convert_samsum.py --pattern-id N (the prompt is in the source lines).
# Hyperparameters: upstream's recipe for its own tasks. This contribution's runs used a tiny model
# (best setting there: lr=0.001, epochs=6, batch_size=16, weight_decay=0.1, warmup=0.06, src_seq_length=96, tgt_seq_length=32, num_beams=1), which says nothing about glm-roberta-large; tune these with
# upstream's grid scripts.
EXPERIMENT_NAME=${MODEL_TYPE}-samsum
TASK_NAME=customization
DATA_PATH="${DATA_ROOT}/samsum_p${PATTERN_ID:-1}"

EPOCH_SINGLE=${EPOCH_SINGLE:-10}
BATCH_SINGLE=8
LR_SINGLE=1e-05

TRAIN_ARGS="--lr-decay-style linear \
            --warmup 0.06 \
            --weight-decay 0.1 \
            --label-smoothing 0.1"

COMMON_ARGS="--save-interval 10000 \
             --log-interval 50 \
             --eval-interval 1000 \
             --eval-iters 100 \
             --eval-epoch 2"

TASK_ARGS="--src-seq-length 512 \
           --tgt-seq-length 64 \
           --min-tgt-length 5 \
           --length-penalty 1. \
           --no-repeat-ngram-size 3 \
           --num-beams 5 \
           --select-topk \
           --eval-batch-size 4 ${EXTRA_ARGS:-}"

PATTERN_IDS=(1 3)
