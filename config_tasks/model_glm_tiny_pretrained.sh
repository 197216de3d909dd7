# A tiny GLM pretrained with GLM's blank-infilling objective (2 layers, hidden 64, the demo vocabulary) on the
# project's generated English corpus, so prompts and zero-shot mean something offline. Written on first use by
# scripts/make_pretrained_tiny.py in the real HF layout (about three minutes on one CPU core); docs/PRETRAINING.md.
MODEL_TYPE="glm-tiny-pretrained"
CHECKPOINT_PATH=${CHECKPOINT_PATH:-checkpoints/glm-tiny-pretrained}
MAKE_CHECKPOINT_SCRIPT=scripts/make_pretrained_tiny.py
MAKE_TINY_CHECKPOINT="--threads 1"
MODEL_ARGS="--load-pretrained ${CHECKPOINT_PATH}"
