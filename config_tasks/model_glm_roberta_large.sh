# glm-roberta-large (335M; 24 layers, hidden 1024, 16 heads; RoBERTa vocabulary).
# CHECKPOINT_PATH: a local checkpoint directory, in the Hugging Face layout (config.json, pytorch_model.bin or
# model.safetensors, vocab.json, merges.txt, added_tokens.json) or the original GLM layout
# (latest_checkpointed_iteration.txt + <tag>/mp_rank_00_model_states.pt; then also set TOKENIZER_PATH).
# Unset, the hub name is used and downloaded (needs network access and huggingface_hub).
MODEL_TYPE="glm-roberta-large"
CHECKPOINT_PATH=${CHECKPOINT_PATH:-THUDM/glm-roberta-large}
# --gelu tanh: the activation the weights were trained with (the HF port computes erf; see docs).
# --mask-id original: [MASK] = 50264 as in GLM's fine-tuning code; confirm with scripts/check_checkpoint.py.
MODEL_ARGS="--load-pretrained ${CHECKPOINT_PATH} --gelu tanh --mask-id original --checkpoint-activations${TOKENIZER_PATH:+ --tokenizer-dir ${TOKENIZER_PATH}}"
