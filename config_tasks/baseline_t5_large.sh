# T5-large (738M; 24+24 layers, hidden 1024) as text to text (method t5): classification scores each label's text
# by its log-likelihood, seq2seq generates. MODEL_PATH: a local Hugging Face model directory (with tokenizer.json),
# or the hub name (needs network access).
MODEL_TYPE="t5-large"
MODEL_PATH=${MODEL_PATH:-google-t5/t5-large}
BASELINE_ARGS="--baseline t5 --model-name-or-path ${MODEL_PATH}"
# T5 was pretrained in bfloat16 and overflows in fp16; GPU_PRECISION_ARGS= (empty) trains in fp32 where the GPU
# has no bf16.
GPU_PRECISION_ARGS=${GPU_PRECISION_ARGS---bf16}
# Text-to-text fine-tuning of T5 takes a larger step than the encoders' 1e-5 of the task fragments.
LR_BASELINE=${LR_BASELINE:-1e-4}
