# Financial PhraseBank (sentences_allagree) through promptsource's templates, on one parquet file with the data
# set's ClassLabel (negative, neutral, positive). The data set has a train split only: a stratified 20% becomes
# test (--test-fraction) and 10% of the rest dev, seeded and recorded in config.json. The templates also declare
# the metric "Other", which is reported as unsupported. data/demo/anydata/financial_phrasebank, written by
# scripts/make_demo_anydata.py. Template ids: 4 sentiment, 0 bullish_neutral_bearish, 7 share_price_option.
EXPERIMENT_NAME=${MODEL_TYPE}-ps_financial_phrasebank-demo
TASK_NAME=promptsource:financial_phrasebank/sentences_allagree
DATA_PATH=data/demo/anydata/financial_phrasebank
MAX_SEQ_LEN=64
LR_SINGLE=2e-3
EPOCH_SINGLE=15
BATCH_SIZE=16
TRAIN_ARGS="--lr-decay-style linear --warmup 0.1 --weight-decay 0.01 --test-fraction 0.2"
COMMON_ARGS="--log-interval 10"
PATTERN_IDS=(4 0 7)
