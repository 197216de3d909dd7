#!/usr/bin/env bash
# The CPU runs behind the Results of examples/dbpedia_14 and examples/samsum: the pretrained tiny GLM
# (config_tasks/model_glm_tiny_pretrained.sh) on the demo data, a small grid, two seeds per setting, each prompt,
# GLM's linear head (classification), P-tuning v2, and a tiny random RoBERTa / BART baseline. About five
# minutes per task on one core.
#
#   bash scripts/upstream_pr_demo_runs.sh dbpedia_14|samsum [RUNS_ROOT]     (default RUNS_ROOT: runs/upstream_pr)
#
# Then: python scripts/make_upstream_pr.py --task <task> --runs RUNS_ROOT/<task>/* ... (docs/UPSTREAM_PR.md).
set -euo pipefail
cd "$(dirname "$0")/.."
TASK=${1:?usage: $0 dbpedia_14|samsum [RUNS_ROOT]}
ROOT=${2:-runs/upstream_pr}
PY=${PYTHON:-.venv/bin/python}
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
GLM=checkpoints/glm-tiny-pretrained
BASELINES=${BASELINES:-$ROOT/baselines}
[ -f "$GLM/config.json" ] || $PY scripts/make_pretrained_tiny.py --threads 1
SEEDS=(1 2)
COMMON=(--num-threads 1 --save "$ROOT/$TASK" --overwrite)

run_glm() {  # name, flags...
  local name=$1; shift
  for seed in "${SEEDS[@]}"; do
    $PY finetune_glm.py --load-pretrained "$GLM" --seed "$seed" --experiment-name "${name}-s${seed}" "${COMMON[@]}" "$@" \
      > /dev/null 2>&1 || { echo "run ${name}-s${seed} failed: see $ROOT/$TASK/${name}-s${seed}/log.txt" >&2; exit 1; }
    echo "$ROOT/$TASK/${name}-s${seed}"
  done
}

run_baseline() {  # baseline, name, flags...
  local baseline=$1 name=$2; shift 2
  [ -f "$BASELINES/$baseline-tiny/config.json" ] || $PY scripts/make_tiny_baseline.py --baseline "$baseline" --out "$BASELINES/$baseline-tiny" > /dev/null
  for seed in "${SEEDS[@]}"; do
    $PY finetune_baseline.py --baseline "$baseline" --model-name-or-path "$BASELINES/$baseline-tiny" --seed "$seed" \
      --experiment-name "${name}-s${seed}" "${COMMON[@]}" "$@" > /dev/null 2>&1 \
      || { echo "run ${name}-s${seed} failed: see $ROOT/$TASK/${name}-s${seed}/log.txt" >&2; exit 1; }
    echo "$ROOT/$TASK/${name}-s${seed}"
  done
}

ONLY=${ONLY:-all}   # ONLY=baselines reruns just the baseline runs; ONLY=ptuning_v2 just samsum's P-tuning v2 runs
case "$TASK" in
  dbpedia_14)
    DATA=(--task dbpedia_14 --data-dir data/demo/dbpedia_14 --seq-length 96 --batch-size 16 --epochs 6 --warmup 0.1 --weight-decay 0.1)
    if [ "$ONLY" = all ]; then
      for p in 0 1 2; do
        for lr in 3e-4 1e-3; do run_glm "cloze-p$p-lr$lr" "${DATA[@]}" --pattern-id "$p" --lr "$lr"; done
      done
      for lr in 3e-4 1e-3; do run_glm "linear-lr$lr" "${DATA[@]}" --no-cloze-eval --lr "$lr"; done
      run_glm "ptv2-p0-lr1e-2" "${DATA[@]}" --pattern-id 0 --ptuning-v2 --pre-seq-len 8 --lr 1e-2
    fi
    run_baseline roberta "roberta-lr1e-3" "${DATA[@]}" --lr 1e-3
    ;;
  samsum)
    # Upstream's customization format is one example per line: the runs read the dialogues as the generated
    # converter writes them (turns joined by a space, no prompt), so both trees see the same text.
    FLAT=$ROOT/samsum_data
    $PY examples/samsum/convert_samsum.py --input data/demo/samsum --output "$FLAT" --pattern-id none > /dev/null
    DATA=(--task samsum --data-dir "$FLAT" --src-seq-length 96 --tgt-seq-length 32 --batch-size 16 --epochs 6 --warmup 0.06
          --weight-decay 0.1 --num-beams 1)
    if [ "$ONLY" = all ]; then
      for p in 1 3; do run_glm "gen-p$p-lr1e-3" "${DATA[@]}" --pattern-id "$p" --lr 1e-3; done
    fi
    if [ "$ONLY" = all ] || [ "$ONLY" = ptuning_v2 ]; then  # the same epochs; no linear head for generation
      run_glm "ptv2-p1-lr1e-2" "${DATA[@]}" --pattern-id 1 --ptuning-v2 --pre-seq-len 32 --prefix-projection \
        --prefix-hidden-size 256 --lr 1e-2
    fi
    [ "$ONLY" = ptuning_v2 ] || run_baseline bart "bart-lr1e-3" "${DATA[@]}" --lr 1e-3
    ;;
  *) echo "unknown task $TASK (dbpedia_14 or samsum)" >&2; exit 2 ;;
esac
