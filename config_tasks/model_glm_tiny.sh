# The embedded default: a tiny random GLM (2 layers, hidden 64) with a small BPE vocabulary trained on the
# project's demo data, written on first use by scripts/make_tiny_checkpoint.py in the real HF layout.
MODEL_TYPE="glm-tiny"
CHECKPOINT_PATH=${CHECKPOINT_PATH:-checkpoints/glm-tiny}
MAKE_TINY_CHECKPOINT="--vocab demo"
MODEL_ARGS="--load-pretrained ${CHECKPOINT_PATH}"
