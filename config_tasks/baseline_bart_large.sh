# BART-large (406M; 12+12 layers, hidden 1024; RoBERTa's BPE vocabulary). Classification: a linear head on the
# decoder's last </s> (BartForSequenceClassification, method bart_linear); seq2seq: generation (method bart).
# MODEL_PATH: a local Hugging Face model directory, or the hub name (needs network access).
MODEL_TYPE="bart-large"
MODEL_PATH=${MODEL_PATH:-facebook/bart-large}
BASELINE_ARGS="--baseline bart --model-name-or-path ${MODEL_PATH}"
