# Seq2seq on your own data in THUDM/GLM's customization format: {train,val,test}.source / .target in DATA_PATH,
# one example per line. Hyperparameters are THUDM/GLM's for its customization task (which sets no --weight-decay).
EXPERIMENT_NAME=${MODEL_TYPE}-customization
TASK_NAME=customization
DATA_PATH=${DATA_PATH:-${DATA_ROOT:+${DATA_ROOT}/customization}}

TRAIN_ARGS="--epochs 10 \
            --lr 1e-5 \
            --lr-decay-style linear \
            --warmup 0.06 \
            --label-smoothing 0.1"

COMMON_ARGS="--log-interval 50 \
             --eval-interval 1000 \
             --eval-epoch 2 \
             --validation-metric rougeL"

TASK_ARGS="--src-seq-length 512 \
           --tgt-seq-length 128 \
           --min-tgt-length 55 \
           --length-penalty 0.7 \
           --no-repeat-ngram-size 3 \
           --num-beams 5 \
           --select-topk \
           --eval-batch-size 1"

# 0 upstream "[CLS] source [MASK] </s>", 1 "Input: ... Output: [MASK]", 2 "... Answer: [MASK]", 3 "[MASK] is the answer to: ..."
PATTERN_IDS=(0 1 2 3)
