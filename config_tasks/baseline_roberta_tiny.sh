# The CPU demo of the baselines: a tiny random RoBERTa (2 layers, hidden 64, RoBERTa's real BPE vocabulary),
# written on first use by scripts/make_tiny_baseline.py in the Hugging Face layout.
MODEL_TYPE="roberta-tiny"
MODEL_PATH=${MODEL_PATH:-checkpoints/roberta-tiny}
MAKE_TINY_BASELINE="--baseline roberta"
BASELINE_ARGS="--baseline roberta --model-name-or-path ${MODEL_PATH}"
