#!/usr/bin/env python
"""Write small data sets in the Hugging Face schemas of five promptsource data sets, each in another file
format, for the promptsource demo runs and tests (data/demo/anydata/):

    rotten_tomatoes/       CSV (train.csv, validation.csv, test.csv): text,label with integer labels
    trec/                  jsonl in today's hub schema (coarse_label, fine_label), which the templates predate
    financial_phrasebank/  one parquet file (train.parquet) with the data set's ClassLabel: train only
    hate_speech18/         a save_to_disk folder (train/) whose labels 2 and 3 the only template does not cover
    squad/                 jsonl with nested answers (extractive QA, scored by SQuAD EM/F1)

The texts are templated sentences written for this project (no text from the real data sets): each carries a
few words of its class, so a tiny model can learn them in seconds. Deterministic: the same files every time.

    python scripts/make_demo_anydata.py [--out data/demo/anydata]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SENTIMENT = {
    0: ["dull", "tedious", "clumsy", "lifeless", "boring", "flat", "weak", "tiresome"],
    1: ["moving", "brilliant", "charming", "delightful", "gripping", "warm", "superb", "witty"],
}
FILM_FRAMES = ["The film is {a} and {b} from start to finish.", "A {a} story with a {b} cast.",
               "Its second half feels {a}, and the ending is {b}.", "{A}, {b} and far too long.",
               "The director delivers something {a} and {b}."]

TREC = {  # today's hub ids: 0 ABBR, 1 ENTY, 2 DESC, 3 HUM, 4 LOC, 5 NUM
    0: (["What does {x} stand for ?", "What is the abbreviation of {x} ?", "What is the full form of {x} ?"],
        ["NASA", "UNESCO", "the BBC", "a CPU", "the FBI", "DNA"]),
    1: (["What animal lives in {x} ?", "What color is the flag of {x} ?", "What instrument is played in {x} ?"],
        ["the desert", "Brazil", "the forest", "Norway", "the river", "Kenya"]),
    2: (["Why do people visit {x} ?", "How does {x} work ?", "What is the meaning of {x} ?"],
        ["the museum", "a vaccine", "the tide", "an engine", "the budget", "a rainbow"]),
    3: (["Who invented {x} ?", "Who was the first leader of {x} ?", "Who wrote the book about {x} ?"],
        ["the telephone", "the club", "the radio", "the union", "the printing press", "the league"]),
    4: (["Where is {x} located ?", "In which city is {x} ?", "Where can one find {x} ?"],
        ["the tallest tower", "the old harbour", "the royal palace", "the famous bridge", "the main airport", "the zoo"]),
    5: (["How many people live in {x} ?", "When was {x} built ?", "How much does {x} cost ?"],
        ["the capital", "the stadium", "a ticket", "the castle", "the village", "a stamp"]),
}
TREC_FINE = {0: 1, 1: 7, 2: 26, 3: 29, 4: 32, 5: 38}  # one fine class per coarse class (hub ids)

FINANCE = {  # hub ids: 0 negative, 1 neutral, 2 positive
    0: ["fell", "dropped", "declined", "plunged", "shrank"],
    1: ["was unchanged", "remained stable", "stayed flat", "held steady", "was reported"],
    2: ["rose", "grew", "increased", "jumped", "climbed"],
}
FIRMS = ["the company", "the bank", "the retailer", "the group", "the insurer", "the airline", "the mill", "the brewer"]
FIN_FRAMES = ["Operating profit of {f} {v} in the third quarter .", "Net sales at {f} {v} compared with last year .",
              "The order book of {f} {v} during the period ."]

HATE = {  # hub ids: 0 noHate, 1 hate, 2 idk/skip, 3 relation
    0: ["Thanks for sharing the recipe , {x} looks great .", "I visited {x} last summer and loved it .",
        "Does anyone know when {x} opens again ?"],
    1: ["People like {x} should be thrown out , they are vermin .", "I despise {x} , they are filth and deserve nothing .",
        "Get rid of {x} , every one of them is scum ."],
    2: ["Not sure what to think about {x} .", "Hmm , {x} I guess ."],
    3: ["As I said above about {x} , see the previous post .", "Replying to the comment on {x} ."],
}
HATE_TOPICS = ["the park", "the market", "the newcomers", "the library", "the neighbours", "the station"]

SQUAD_FACTS = [("river", "Oran", "flows through the valley"), ("castle", "Belmont", "stands on the hill"),
               ("bridge", "Calder", "crosses the bay"), ("tower", "Ostend", "overlooks the square"),
               ("lake", "Mirren", "lies north of the town"), ("forest", "Halden", "covers the plateau"),
               ("harbour", "Dunmore", "shelters the fleet"), ("palace", "Verano", "faces the gardens")]


def _sentiment_rows(rng: random.Random, n_per_class: int) -> list[dict]:
    rows = []
    for label, words in SENTIMENT.items():
        for _ in range(n_per_class):
            a, b = rng.sample(words, 2)
            frame = rng.choice(FILM_FRAMES)
            rows.append({"text": frame.format(a=a, b=b, A=a.capitalize()), "label": label})
    rng.shuffle(rows)
    return rows


def rotten_tomatoes(out: Path, rng: random.Random) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", 60), ("validation", 20), ("test", 20)):
        with (out / f"{split}.csv").open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["text", "label"], lineterminator="\n")
            writer.writeheader()
            writer.writerows(_sentiment_rows(rng, n))


def trec(out: Path, rng: random.Random) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", 30), ("validation", 10), ("test", 10)):
        rows = []
        for coarse, (frames, fillers) in TREC.items():
            for _ in range(n):
                rows.append({"text": rng.choice(frames).format(x=rng.choice(fillers)), "coarse_label": coarse,
                             "fine_label": TREC_FINE[coarse]})
        rng.shuffle(rows)
        (out / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def financial_phrasebank(out: Path, rng: random.Random) -> None:
    import datasets

    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for label, verbs in FINANCE.items():
        for _ in range(50):
            rows.append({"sentence": rng.choice(FIN_FRAMES).format(f=rng.choice(FIRMS), v=rng.choice(verbs)), "label": label})
    rng.shuffle(rows)
    features = datasets.Features({"sentence": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["negative", "neutral", "positive"])})
    datasets.Dataset.from_list(rows, features=features).to_parquet(str(out / "train.parquet"))


def hate_speech18(out: Path, rng: random.Random) -> None:
    import datasets

    out.mkdir(parents=True, exist_ok=True)
    features = datasets.Features({"text": datasets.Value("string"), "user_id": datasets.Value("int64"),
                                  "subforum_id": datasets.Value("int64"), "num_contexts": datasets.Value("int64"),
                                  "label": datasets.ClassLabel(names=["noHate", "hate", "idk/skip", "relation"])})
    for split, n in (("train", 40), ("validation", 12), ("test", 12)):
        rows = []
        for label, frames in HATE.items():
            for _ in range(n if label < 2 else n // 4):
                rows.append({"text": rng.choice(frames).format(x=rng.choice(HATE_TOPICS)), "user_id": rng.randrange(1000),
                             "subforum_id": rng.randrange(20), "num_contexts": 0, "label": label})
        rng.shuffle(rows)
        target = out / split
        if target.exists():
            shutil.rmtree(target)
        datasets.Dataset.from_list(rows, features=features).save_to_disk(str(target))


def squad(out: Path, rng: random.Random) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", 48), ("validation", 16), ("test", 16)):
        rows = []
        for i in range(n):
            kind, name, fact = rng.choice(SQUAD_FACTS)
            other_kind, other_name, other_fact = rng.choice([f for f in SQUAD_FACTS if f[0] != kind])
            context = f"The {kind} called {name} {fact} . Nearby , the {other_kind} called {other_name} {other_fact} ."
            question = f"What is the name of the {kind} that {fact} ?"
            rows.append({"id": f"{split}-{i}", "title": "Demo", "context": context, "question": question,
                         "answers": {"text": [name], "answer_start": [context.index(name)]}})
        (out / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(ROOT / "data" / "demo" / "anydata"))
    a = p.parse_args(argv)
    out = Path(a.out)
    for name, write in (("rotten_tomatoes", rotten_tomatoes), ("trec", trec), ("financial_phrasebank", financial_phrasebank),
                        ("hate_speech18", hate_speech18), ("squad", squad)):
        write(out / name, random.Random(f"anydata:{name}"))
        print(f"wrote {out / name}")


if __name__ == "__main__":
    main()
