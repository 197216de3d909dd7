# coding=utf-8
# Data acquisition for THUDM/GLM (examples/dbpedia_14). Python 3.8; written by the GLM prompt fine-tuning toolkit's
# scripts/make_upstream_pr.py from its task `dbpedia_14`.

"""Write train.jsonl, dev.jsonl and test.jsonl for examples/dbpedia_14 from the Hugging Face hub's `dbpedia_14`.

    python examples/dbpedia_14/get_data.py --out DATA_PATH [--dev-fraction 0.1] [--seed 42]

The hub has no validation split: dev is a stratified share of train (--dev-fraction of every label, chosen with --seed), and train keeps the rest.
"""
import argparse
import json
import os
import random
from collections import defaultdict

FIELDS = ['label', 'title', 'content']


def write(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps({k: row[k] for k in FIELDS}, ensure_ascii=False) + "\n")
    print("{}: {} records".format(path, len(rows)))


def stratified(rows, fraction, seed):
    by_label = defaultdict(list)
    for i, row in enumerate(rows):
        by_label[row["label"]].append(i)
    rng = random.Random(seed)
    held = set()
    for label in sorted(by_label):
        indices = by_label[label]
        rng.shuffle(indices)
        held.update(indices[:max(1, int(round(fraction * len(indices))))])
    return [r for i, r in enumerate(rows) if i not in held], [r for i, r in enumerate(rows) if i in held]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--out", required=True)
    parser.add_argument("--dev-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    import datasets

    data = datasets.load_dataset('dbpedia_14')
    os.makedirs(args.out, exist_ok=True)
    train = list(data["train"])
    train, dev = stratified(train, args.dev_fraction, args.seed)
    write(os.path.join(args.out, "train.jsonl"), train)
    write(os.path.join(args.out, "dev.jsonl"), dev)
    write(os.path.join(args.out, "test.jsonl"), list(data["test"]))


if __name__ == "__main__":
    main()
