# coding=utf-8
# Data converter for THUDM/GLM (examples/samsum). Python 3.8; written by the GLM prompt fine-tuning toolkit's
# scripts/make_upstream_pr.py from its task `samsum`.

"""samsum -> THUDM/GLM's `customization` files: DIR/{train,val,test}.source and .target, one example per line.

    python examples/samsum/convert_samsum.py --output DATA_PATH --pattern-id 1 [--input DIR]

--input DIR reads DIR/{train,validation,test}.jsonl in the hub's schema; without it the hub's `samsum`
is downloaded (the `datasets` package). The source line is the prompt of --pattern-id around the 'dialogue'
(upstream's customization task then appends [MASK] and </s>); the target line is the 'summary'.
Line breaks inside a text become one space, since a line is an example. --pattern-id none writes the text alone.
"""
import argparse
import json
import os

# pattern id -> (text before the dialogue, text after it); the [MASK] follows, added by upstream's dataset.
PROMPTS = {1: ('', ' Summary:'), 3: ('Summarize the conversation.', ' In short,')}
SPLITS = {"train": "train", "validation": "val", "test": "test"}


def one_line(text):
    return " ".join(part.strip() for part in text.replace("\r\n", "\n").split("\n") if part.strip())


def source_line(text, pattern_id):
    text = one_line(text)
    if pattern_id == "none":
        return text
    before, after = PROMPTS[int(pattern_id)]
    return (before + " " if before else "") + text + after


def records(args, split):
    if args.input:
        path = os.path.join(args.input, split + ".jsonl")
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    import datasets

    return list(datasets.load_dataset('samsum', split=split))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--input", help="directory of train/validation/test .jsonl in the hub schema (default: the hub)")
    parser.add_argument("--output", required=True)
    parser.add_argument("--pattern-id", default="1", choices=[str(p) for p in PROMPTS] + ["none"])
    args = parser.parse_args()
    os.makedirs(args.output, exist_ok=True)
    for split, stem in SPLITS.items():
        rows = records(args, split)
        sources, targets = [], []
        for number, row in enumerate(rows, 1):
            source, target = one_line(row['dialogue']), one_line(row['summary'])
            if not target:
                raise ValueError("{} record {}: empty summary; upstream would train on an empty line".format(split, number))
            sources.append(source_line(source, args.pattern_id))
            targets.append(target)
        for suffix, lines in ((".source", sources), (".target", targets)):
            with open(os.path.join(args.output, stem + suffix), "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
        print("{}: {} examples".format(os.path.join(args.output, stem), len(rows)))


if __name__ == "__main__":
    main()
