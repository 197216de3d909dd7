"""Write the SuperGLUE demo data (deterministic: the same files on every run).

    python scripts/make_demo_superglue.py [--out data/demo/superglue] [--fixtures tests/fixtures/superglue]

data/demo/superglue/<TASK>/{train,val,test}.jsonl   the official SuperGLUE schema of each of the eight tasks
                                                    (test without labels); WSC-negative/ is WSC with candidates
tests/fixtures/superglue/hub/<task>/                the first rows of each demo split in the Hugging Face
                                                    `super_glue/<task>` schema (train, validation, test .jsonl)
tests/fixtures/superglue/fewglue/<TASK>/            a FewGLUE layout: train.jsonl, dev32.jsonl, val.jsonl

The texts are templated sentences written for this project (no text from the real data sets). Each task has a
signal a small model can learn from its own data: a cue in the wording (CB's embedding verb, negation in RTE),
an association that holds across the data set (COPA's topics, the roles of ReCoRD's names, the properties of
WSC's nouns), or overlap between the two texts (BoolQ, MultiRC, WiC's sense words).
Labels are balanced in every split.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEED = 4321
SIZES = {"train": 200, "val": 60, "test": 20}
TRAIN_SIZES = {"WSC": 240}  # cloze training keeps only the True half
NAMES = ["Anna", "Tom", "Lena", "Omar", "Sara", "Paul", "Mia", "Ivan", "Nora", "Leo", "Ruth", "Ben", "Eva", "Karl", "Ines", "Joao"]
PLACES = ["Lisbon", "Oslo", "Lima", "Cairo", "Perth", "Quito", "Dublin", "Hanoi", "Osaka", "Denver", "Nairobi", "Turin"]
DAYS = ["on Monday", "on Tuesday", "last week", "this morning", "on Friday", "in the spring", "yesterday", "at noon"]

Row = dict[str, Any]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------------------------- RTE
RTE_EVENTS = [  # (subject, (verb, its base form), (the opposite verb, its base form), object)
    ("the museum", ("opened", "open"), ("closed", "close"), "a new hall"), ("the team", ("won", "win"), ("lost", "lose"), "the final"),
    ("the company", ("bought", "buy"), ("sold", "sell"), "a factory"), ("the council", ("accepted", "accept"), ("rejected", "reject"), "the plan"),
    ("the bank", ("raised", "raise"), ("cut", "cut"), "its rates"), ("the school", ("hired", "hire"), ("dismissed", "dismiss"), "two teachers"),
    ("the minister", ("praised", "praise"), ("criticised", "criticise"), "the report"),
    ("the airline", ("added", "add"), ("cancelled", "cancel"), "a flight"),
    ("the farmer", ("planted", "plant"), ("harvested", "harvest"), "the wheat"), ("the club", ("signed", "sign"), ("released", "release"), "a striker"),
]  # fmt: skip
RTE_FILLER = ["according to a statement", "officials said", "local reporters wrote", "after a long debate",
              "as many had expected", "to the surprise of some"]  # fmt: skip


def rte(rng: random.Random, label: int) -> Row:
    subject, verb, opposite, obj = rng.choice(RTE_EVENTS)
    if rng.random() < 0.5:
        verb, opposite = opposite, verb
    place, day = rng.choice(PLACES), rng.choice(DAYS)
    premise = f"{_cap(subject)} in {place} {verb[0]} {obj} {day}, {rng.choice(RTE_FILLER)}."
    if label == 0:  # entailment: the premise's event, restated
        hypothesis = rng.choice([f"{_cap(subject)} {verb[0]} {obj}.", f"{_cap(subject)} in {place} {verb[0]} {obj}."])
    elif rng.random() < 0.6:  # not_entailment: negated
        hypothesis = f"{_cap(subject)} in {place} did not {verb[1]} {obj}."
    else:  # not_entailment: the opposite event
        hypothesis = f"{_cap(subject)} {opposite[0]} {obj}."
    return {"premise": premise, "hypothesis": hypothesis, "label": ["entailment", "not_entailment"][label]}


# ---------------------------------------------------------------------------------------------- CB
CB_CLAUSES = ["the train had left", "the shop was closed", "she had finished the book", "the river was frozen",
              "he forgot the keys", "the meeting was moved", "the dog ate the cake", "they sold the house",
              "the parcel arrived", "the bridge was repaired", "the match was cancelled", "the soup was cold"]  # fmt: skip
CB_FRAMES = {  # label -> how the speaker embeds the clause
    0: ["I know that {c}", "it is clear to me that {c}", "I saw that {c}", "I am sure that {c}"],
    1: ["I don't think that {c}", "I doubt that {c}", "it is not true that {c}", "I don't believe that {c}"],
    2: ["I wonder whether {c}", "maybe {c}, or maybe not", "I am not sure whether {c}", "who knows if {c}"],
}


def cb(rng: random.Random, label: int) -> Row:
    clause = rng.choice(CB_CLAUSES)
    a, b = rng.sample(NAMES, 2)
    opener = rng.choice([f"A: Did you talk to {a}? B: Yes.", f"A: What happened in {rng.choice(PLACES)}? B: Well,",
                         f"A: {b} called me. B: Really?", "A: Any news? B: Hmm."])  # fmt: skip
    premise = f"{opener} {_cap(rng.choice(CB_FRAMES[label]).format(c=clause))}."
    return {"premise": premise, "hypothesis": clause, "label": ["entailment", "contradiction", "neutral"][label]}


# ---------------------------------------------------------------------------------------------- BoolQ
BOOLQ_THINGS = [  # (thing, attributes it has, attributes it lacks)
    ("the Selva river", ["long", "deep", "cold"], ["short", "shallow", "warm"]),
    ("the Koru desert", ["dry", "hot", "wide"], ["wet", "cold", "narrow"]),
    ("the Tarn bridge", ["old", "narrow", "stone"], ["new", "wide", "steel"]),
    ("the Mira tower", ["tall", "modern", "glass"], ["short", "ancient", "wooden"]),
    ("the Vela lake", ["salty", "still", "clear"], ["fresh", "rough", "muddy"]),
    ("the Orla forest", ["dense", "green", "quiet"], ["sparse", "brown", "noisy"]),
    ("the Pike mountain", ["steep", "snowy", "high"], ["flat", "bare", "low"]),
    ("the Doma market", ["busy", "large", "open"], ["empty", "small", "closed"]),
]  # fmt: skip


def boolq(rng: random.Random, label: int) -> Row:
    thing, has, lacks = rng.choice(BOOLQ_THINGS)
    shown = rng.sample(has, 2)
    place = rng.choice(PLACES)
    passage = (f"{_cap(thing)} \u2013 {_cap(thing)} is a place near {place}. Visitors describe it as {shown[0]} and "
               f"{shown[1]}, and guides in {place} often mention it.")  # fmt: skip
    asked = rng.choice(shown) if label == 1 else rng.choice(lacks)
    return {"question": f"is {thing.lower()} {asked}", "passage": passage, "label": bool(label)}


# ---------------------------------------------------------------------------------------------- WiC
WIC_WORDS = {  # word -> two senses, each a list of sentence templates
    "bank": (["We sat on the bank of the {r}.", "The river bank near {p} was muddy.", "Fish swam close to the bank."],
             ["The bank lent money to {n}.", "{n} opened an account at the bank.", "The bank raised its fees."]),
    "bat": (["A bat flew out of the cave.", "The bat sleeps during the day.", "{n} saw a bat at night."],
            ["{n} swung the bat hard.", "The cricket bat was made of willow.", "He bought a new bat for the match."]),
    "light": (["Turn on the light, {n}.", "The light in the hall was bright.", "A light shone from the window."],
              ["The box is very light.", "{n} packed a light bag.", "The chair was light enough to carry."]),
    "spring": (["Flowers bloom in the spring.", "{n} visits {p} every spring.", "The spring rain was gentle."],
               ["The spring in the clock broke.", "A metal spring held the door.", "{n} replaced the spring."]),
    "match": (["{n} struck a match to light the candle.", "The match was wet and would not burn.", "Keep the match dry."],
              ["{n} won the match in {p}.", "The match ended in a draw.", "Fans watched the match on Sunday."]),
    "pitch": (["The singer found the right pitch.", "{n} has a perfect pitch.", "The pitch of the note was high."],
              ["The players walked onto the pitch.", "The pitch in {p} was wet.", "Grass covered the pitch."]),
}  # fmt: skip


def wic(rng: random.Random, label: int) -> Row:
    word = rng.choice(sorted(WIC_WORDS))
    senses = WIC_WORDS[word]
    first = rng.randrange(2)
    if label == 1:  # the same sense: two different sentences of it
        s1, s2 = rng.sample(senses[first], 2)
    else:
        s1, s2 = rng.choice(senses[first]), rng.choice(senses[1 - first])
    fill = {"n": rng.choice(NAMES), "p": rng.choice(PLACES), "r": rng.choice(["river", "stream", "canal"])}
    s1, s2 = s1.format(**fill), s2.format(**fill)
    start1, start2 = s1.lower().index(word), s2.lower().index(word)
    return {"word": word, "sentence1": s1, "sentence2": s2, "start1": start1, "end1": start1 + len(word),
            "start2": start2, "end2": start2 + len(word), "version": 1.1, "label": bool(label)}  # fmt: skip


# ---------------------------------------------------------------------------------------------- COPA
COPA_TOPICS = [  # (premises, causes, effects): sentences about one topic
    (["The street was wet.", "The grass was soaked."], ["It had rained all night.", "A storm passed over the town."],
     ["People carried umbrellas.", "The puddles grew deeper."]),
    (["The ice cream melted.", "The room felt very hot."], ["The sun was shining on it.", "The heater was left on."],
     ["Everyone opened the windows.", "The children asked for cold drinks."]),
    (["The glass fell off the table.", "The vase slipped from my hands."], ["The cat pushed it.", "My hands were slippery."],
     ["It broke into pieces.", "Shards covered the floor."]),
    (["The baby started crying.", "The toddler was upset."], ["He was hungry.", "He lost his toy."],
     ["His mother picked him up.", "His father sang him a song."]),
    (["The car would not start.", "The engine made no sound."], ["The battery was dead.", "The tank was empty."],
     ["We called a mechanic.", "We took the bus instead."]),
    (["The lights went out.", "The house went dark."], ["The power line was cut.", "A fuse blew."],
     ["We lit some candles.", "We looked for a flashlight."]),
    (["The runner was exhausted.", "The cyclist could barely stand."], ["She ran a marathon.", "He rode up the mountain."],
     ["She drank a lot of water.", "He lay down on the grass."]),
    (["The bread was stale.", "The milk smelled sour."], ["It was left out for days.", "Nobody put it in the fridge."],
     ["We threw it away.", "We bought a fresh one."]),
    (["The student got a high grade.", "The pupil passed the exam."], ["She studied every evening.", "He practised for weeks."],
     ["Her parents were proud.", "His teacher praised him."]),
    (["The dog barked loudly.", "The puppy growled at the door."], ["A stranger knocked.", "It heard a noise outside."],
     ["The neighbours woke up.", "The owner checked the door."]),
]  # fmt: skip


def copa(rng: random.Random, label: int) -> Row:
    topic, other = rng.sample(range(len(COPA_TOPICS)), 2)
    question = rng.choice(["cause", "effect"])
    slot = 1 if question == "cause" else 2
    right, wrong = rng.choice(COPA_TOPICS[topic][slot]), rng.choice(COPA_TOPICS[other][slot])
    choices = (right, wrong) if label == 0 else (wrong, right)
    return {"premise": rng.choice(COPA_TOPICS[topic][0]), "choice1": choices[0], "choice2": choices[1], "question": question, "label": label}


# ---------------------------------------------------------------------------------------------- WSC
WSC_PAIRS = [("the trophy", "the suitcase"), ("the table", "the door"), ("the box", "the van"), ("the piano", "the hall"),
             ("the statue", "the crate"), ("the boat", "the shed")]  # fmt: skip
# What "it" was tells which noun it is: every noun has its own properties across the data set.
WSC_PROPERTIES = {"the trophy": ["golden", "shiny"], "the suitcase": ["zipped", "packed"], "the table": ["polished", "heavy"],
                  "the door": ["locked", "painted"], "the box": ["taped", "sealed"], "the van": ["parked", "rented"],
                  "the piano": ["tuned", "grand"], "the hall": ["booked", "crowded"], "the statue": ["carved", "bronze"],
                  "the crate": ["nailed", "stacked"], "the boat": ["anchored", "sailing"], "the shed": ["bolted", "wooden"]}  # fmt: skip
WSC_EXTRA = ["the morning", "the workers", "the street", "a plan", "the owner"]


def wsc(rng: random.Random, label: int) -> Row:
    first, second = rng.choice(WSC_PAIRS)
    referent, other = (first, second) if rng.random() < 0.5 else (second, first)
    who = rng.choice(NAMES)
    text = f"{who} said that {first} did not fit into {second} because it was {rng.choice(WSC_PROPERTIES[referent])}."
    words = text.split()
    span1 = referent if label == 1 else other
    span1_index = words.index(span1.split()[0], 0 if span1 == first else words.index("into"))
    candidates = [other if label == 1 else referent, who, *rng.sample(WSC_EXTRA, 2)]  # the WSC-negative noun phrases
    return {"text": text, "target": {"span1_text": span1, "span1_index": span1_index, "span2_text": "it", "span2_index": words.index("it")},
            "label": bool(label), "candidates": [{"text": c} for c in candidates]}  # fmt: skip


# ---------------------------------------------------------------------------------------------- MultiRC
MULTIRC_FACTS = [  # (sentence, question, right answers, wrong answers)
    ("{n} moved to {p} in {y}.", "Where did {n} move in {y}?", ["{p}", "To {p}"], ["{q}", "To {q}"]),
    ("{n} worked as a {job} for ten years.", "What was {n}'s job?", ["A {job}", "{n} was a {job}"], ["A {job2}", "A pilot"]),
    ("{n} had two brothers and a sister.", "How many brothers did {n} have?", ["Two", "Two brothers"], ["Three", "None"]),
    ("On weekends {n} liked to {hobby}.", "What did {n} like to do on weekends?", ["To {hobby}", "{hobby}"], ["To {hobby2}", "Sleep all day"]),
]  # fmt: skip
JOBS, HOBBIES = ["teacher", "baker", "nurse", "farmer", "painter", "driver"], ["swim", "paint", "cook", "hike", "sing", "read"]


def multirc_passage(rng: random.Random, passage_idx: int, counters: dict[str, int], labelled: bool) -> Row:
    n = rng.choice(NAMES)
    p, q = rng.sample(PLACES, 2)
    job, job2 = rng.sample(JOBS, 2)
    hobby, hobby2 = rng.sample(HOBBIES, 2)
    fill = {"n": n, "p": p, "q": q, "y": str(rng.randrange(1990, 2020)), "job": job, "job2": job2, "hobby": hobby, "hobby2": hobby2}
    facts = rng.sample(MULTIRC_FACTS, 3)
    text = "<br>".join(f"Sent {i + 1}: {f[0].format(**fill)}" for i, f in enumerate(facts))
    questions = []
    for fact in facts:
        options = [(a, 1) for a in rng.sample(fact[2], rng.randrange(1, 3))] + [(a, 0) for a in rng.sample(fact[3], rng.randrange(1, 3))]
        rng.shuffle(options)
        answers = []
        for answer, label in options:
            record: Row = {"text": answer.format(**fill), "idx": counters["answer"]}
            if labelled:
                record["label"] = label
            counters["answer"] += 1
            answers.append(record)
        questions.append({"question": fact[1].format(**fill), "answers": answers, "idx": counters["question"]})
        counters["question"] += 1
    return {"idx": passage_idx, "version": 1.1, "passage": {"text": text, "questions": questions}}


# ---------------------------------------------------------------------------------------------- ReCoRD
# Every name has one role across the whole data set, so the role in a query points at its holder.
RECORD_PEOPLE = {"Anna Berg": "coach", "Tom Field": "striker", "Lena Ortiz": "goalkeeper", "Omar Haddad": "captain",
                 "Sara Lind": "referee", "Paul Moreau": "manager", "Mia Costa": "president", "Ivan Petrov": "doctor"}  # fmt: skip
RECORD_CLUBS = ["Benfica", "Porto", "Ajax", "Celtic", "Napoli", "Sevilla"]


def record_passage(rng: random.Random, passage_idx: int, query_idx: int, labelled: bool) -> Row:
    people = rng.sample(sorted(RECORD_PEOPLE), 3)
    club, rival = rng.sample(RECORD_CLUBS, 2)
    place, day = rng.choice(PLACES), rng.choice(DAYS)
    lines = [f"{place} (Sports Desk) {club} beat {rival} {rng.randrange(1, 5)}-{rng.randrange(0, 2)} in {place} {day}."]
    for person in people:
        lines.append(f"{person}, the {RECORD_PEOPLE[person]}, {rng.choice(['spoke to reporters', 'thanked the fans', 'left early', 'stayed calm'])}.")
    surname = people[0].split()[1]
    lines.append(f"Later {surname} said the {RECORD_PEOPLE[people[0]]} job was hard.")
    text = " ".join(lines) + f"\n@highlight\n{club} beat {rival} in {place}\n@highlight\n{people[1]} thanked the fans"
    mentions = [club, rival, place, *people, surname, "Sports Desk"]
    entities = [{"start": i, "end": i + len(m) - 1} for m in dict.fromkeys(mentions) for i in _find_all(text, m)]
    qas = []
    for k, person in enumerate(rng.sample(people, 2)):
        role = RECORD_PEOPLE[person]
        query = rng.choice([f"The {role}, @placeholder, was pleased with the result.", f"@placeholder, who works as the {role}, was in {place}.",
                            f"Reporters asked the {role} @placeholder about the match"])  # fmt: skip
        qa: Row = {"query": query, "idx": query_idx + k}
        if labelled:
            answers = [person] + ([surname] if person == people[0] else [])
            qa["answers"] = [{"start": s, "end": s + len(a) - 1, "text": a} for a in answers for s in _find_all(text, a)[:1]]
        qas.append(qa)
    return {"source": "Demo", "passage": {"text": text, "entities": entities}, "qas": qas, "idx": passage_idx}


def _find_all(text: str, needle: str) -> list[int]:
    found, start = [], 0
    while (i := text.find(needle, start)) >= 0:
        found.append(i)
        start = i + 1
    return found


# ---------------------------------------------------------------------------------------------- writing
FLAT: dict[str, tuple[Callable[[random.Random, int], Row], int]] = {
    "RTE": (rte, 2), "CB": (cb, 3), "BoolQ": (boolq, 2), "WiC": (wic, 2), "COPA": (copa, 2), "WSC": (wsc, 2),
}  # fmt: skip


def flat_split(task: str, rng: random.Random, size: int, labelled: bool) -> list[Row]:
    make, num_labels = FLAT[task]
    rows = []
    for i in range(size):
        row = make(rng, i % num_labels)
        row["idx"] = i
        if not labelled:
            del row["label"]
        rows.append(row)
    rng.shuffle(rows)
    return rows


def demo_splits(seed: int = SEED) -> dict[str, dict[str, list[Row]]]:
    """task folder -> split -> records."""
    out: dict[str, dict[str, list[Row]]] = {}
    for offset, task in enumerate(FLAT):
        rng = random.Random(seed + offset)
        sizes = {**SIZES, "train": TRAIN_SIZES.get(task, SIZES["train"])}
        out[task] = {split: flat_split(task, rng, size, split != "test") for split, size in sizes.items()}
    out["WSC-negative"] = out.pop("WSC")
    out["WSC"] = {split: [{k: v for k, v in r.items() if k != "candidates"} for r in rows] for split, rows in out["WSC-negative"].items()}
    rng = random.Random(seed + 100)
    counters = {"question": 0, "answer": 0}
    out["MultiRC"] = {split: [multirc_passage(rng, i + base, counters, split != "test") for i in range(n)]
                      for (split, n), base in zip({"train": 40, "val": 15, "test": 5}.items(), (0, 1000, 2000))}  # fmt: skip
    rng = random.Random(seed + 200)
    out["ReCoRD"] = {split: [record_passage(rng, i + base, 2 * (i + base), split != "test") for i in range(n)]
                     for (split, n), base in zip({"train": 100, "val": 25, "test": 10}.items(), (0, 1000, 2000))}  # fmt: skip
    return out


# ---------------------------------------------------------------------------------------------- hub schema
HUB_LABELS = {"RTE": ["entailment", "not_entailment"], "CB": ["entailment", "contradiction", "neutral"]}


def to_hub(task: str, row: Row) -> list[Row]:
    """One official record in the Hugging Face super_glue schema (ClassLabel ints, -1 when unlabelled)."""
    label = row.get("label")
    if task in HUB_LABELS:
        return [{"premise": row["premise"], "hypothesis": row["hypothesis"], "idx": row["idx"],
                 "label": -1 if label is None else HUB_LABELS[task].index(label)}]  # fmt: skip
    if task in ("BoolQ", "WiC", "COPA"):
        return [{**row, "label": -1 if label is None else int(label)}]
    if task == "WSC":
        return [{"text": row["text"], **row["target"], "idx": row["idx"], "label": -1 if label is None else int(label)}]
    if task == "MultiRC":
        return [{"paragraph": row["passage"]["text"], "question": q["question"], "answer": a["text"], "label": a.get("label", -1),
                 "idx": {"paragraph": row["idx"], "question": q["idx"], "answer": a["idx"]}}
                for q in row["passage"]["questions"] for a in q["answers"]]  # fmt: skip
    text = row["passage"]["text"]
    entities = sorted({text[e["start"] : e["end"] + 1] for e in row["passage"]["entities"]})
    return [{"passage": text, "query": q["query"], "entities": entities, "answers": sorted({a["text"] for a in q.get("answers", [])}),
             "idx": {"passage": row["idx"], "query": q["idx"]}} for q in row["qas"]]  # fmt: skip


HUB_NAMES = {"RTE": "rte", "CB": "cb", "BoolQ": "boolq", "WiC": "wic", "COPA": "copa", "WSC": "wsc", "MultiRC": "multirc", "ReCoRD": "record"}


def write_jsonl(path: Path, rows: list[Row]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "demo" / "superglue")
    parser.add_argument("--fixtures", type=Path, default=ROOT / "tests" / "fixtures" / "superglue")
    args = parser.parse_args()
    data = demo_splits()
    for task, splits in data.items():
        for split, rows in splits.items():
            write_jsonl(args.out / task / f"{split}.jsonl", rows)
    for task, name in HUB_NAMES.items():  # a few records of each split, converted
        first = 1 if task in ("MultiRC", "ReCoRD") else 3  # a passage there holds several examples
        for split, hub_split in (("train", "train"), ("val", "validation"), ("test", "test")):
            write_jsonl(args.fixtures / "hub" / name / f"{hub_split}.jsonl", [h for r in data[task][split][:first] for h in to_hub(task, r)])
        few = args.fixtures / "fewglue" / task
        write_jsonl(few / "train.jsonl", data[task]["train"][:8])
        write_jsonl(few / "dev32.jsonl", data[task]["val"][:4])
        write_jsonl(few / "val.jsonl", data[task]["val"][4:8])
    print(f"wrote {args.out} and {args.fixtures}")


if __name__ == "__main__":
    main()
