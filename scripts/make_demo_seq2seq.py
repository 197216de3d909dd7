"""Write the seq2seq demo data set: a small, exactly learnable rewrite in THUDM/GLM's customization format.

    source  "Convert: red fox seven"   ->   target  "7 red foxes"

The number word becomes digits and moves to the front, the colour is copied, the animal is made plural (singular
for one). Every word is seen many times in training while most (colour, animal, number) triples of dev and test
are new, so a model has to learn the rule rather than memorise pairs. The output is deterministic (a fixed seed).

    python scripts/make_demo_seq2seq.py [--out data/demo/seq2seq]
"""

from __future__ import annotations

import argparse
import itertools
import random
from pathlib import Path

COLOURS = ["red", "blue", "green", "yellow", "black", "white", "brown", "grey", "purple", "orange"]
ANIMALS = {
    "cat": "cats", "dog": "dogs", "fox": "foxes", "horse": "horses", "mouse": "mice",
    "sheep": "sheep", "goose": "geese", "wolf": "wolves", "rabbit": "rabbits", "duck": "ducks",
}
NUMBERS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
           "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]
SIZES = {"train": 300, "val": 50, "test": 50}
SEED = 20240611


def rewrite(colour: str, animal: str, number: str) -> tuple[str, str]:
    """The (source, target) pair of one triple."""
    count = NUMBERS.index(number) + 1
    noun = animal if count == 1 else ANIMALS[animal]
    return f"Convert: {colour} {animal} {number}", f"{count} {colour} {noun}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/demo/seq2seq"))
    out: Path = parser.parse_args().out
    triples = list(itertools.product(COLOURS, ANIMALS, NUMBERS))
    random.Random(SEED).shuffle(triples)
    out.mkdir(parents=True, exist_ok=True)
    start = 0
    for split, size in SIZES.items():
        pairs = [rewrite(*t) for t in triples[start : start + size]]
        start += size
        (out / f"{split}.source").write_text("".join(s + "\n" for s, _ in pairs), encoding="utf-8")
        (out / f"{split}.target").write_text("".join(t + "\n" for _, t in pairs), encoding="utf-8")
    print(f"wrote {', '.join(f'{s} {n}' for s, n in SIZES.items())} examples to {out}")


if __name__ == "__main__":
    main()
