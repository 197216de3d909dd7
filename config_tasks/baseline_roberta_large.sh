# RoBERTa-large (355M; 24 layers, hidden 1024; the BPE vocabulary glm-roberta-large shares) with a linear head on
# <s>: method roberta_linear, classification tasks only. MODEL_PATH: a local Hugging Face model directory
# (config.json, weights, vocab.json/merges.txt or tokenizer.json), or the hub name (needs network access).
MODEL_TYPE="roberta-large"
MODEL_PATH=${MODEL_PATH:-FacebookAI/roberta-large}
BASELINE_ARGS="--baseline roberta --model-name-or-path ${MODEL_PATH}"
