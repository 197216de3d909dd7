# SQuAD through promptsource's original-task templates as GLM generation prompts, scored by the metric they
# declare (SQuAD exact match and token F1 of the generated answer against the rendered one), on jsonl in the
# hub schema (nested answers): data/demo/anydata/squad, written by scripts/make_demo_anydata.py. Tiny GLM, CPU.
# Template ids: 2 answer_the_question, 0 answer_given_context_and_question, 1 answer_question_given_context.
EXPERIMENT_NAME=${MODEL_TYPE}-ps_squad-demo
TASK_NAME=promptsource:squad
DATA_PATH=data/demo/anydata/squad
TRAIN_ARGS="--epochs 40 --batch-size 8 --lr 2e-3 --lr-decay-style linear --warmup 0.1 --weight-decay 0.01 --label-smoothing 0.0"
COMMON_ARGS="--log-interval 10 --eval-epoch 10 --validation-metric squad_f1"
TASK_ARGS="--src-seq-length 96 --tgt-seq-length 8 --min-tgt-length 1 --length-penalty 1.0 --no-repeat-ngram-size 0 --num-beams 1 --select-topk --eval-batch-size 16"
PATTERN_IDS=(2 0 1)
