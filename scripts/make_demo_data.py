"""Write the small demo data sets under data/demo/ (deterministic: the same files on every run).

    python scripts/make_demo_data.py [--out data/demo]

data/demo/ag_news/{train,dev,test}.jsonl      AG News schema {"text", "label"}, 4 classes, 400/100/100
data/demo/dbpedia_14/{train,dev,test}.jsonl   DBpedia-14 schema {"label", "title", "content"}, 14 classes, 280/70/70

The texts are templated sentences written for this project. Every example carries two or three topic words
of its class inside class-neutral templates and filler; one in ten also carries a word of another class. So
there is a signal a small model can learn, but not a single fixed token to latch onto. Classes are balanced
in every split.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from pathlib import Path

SEED = 1234

# ---------------------------------------------------------------------------------------------- AG News
NEWS_WORDS = {
    0: ["parliament", "minister", "embassy", "election", "treaty", "diplomats", "border talks", "refugees", "summit",
        "ceasefire", "president", "coalition government", "sanctions", "ambassador", "referendum", "rebels",
        "peacekeepers", "foreign ministry", "prime minister", "opposition leader"],
    1: ["coach", "tournament", "striker", "championship", "goalkeeper", "playoffs", "stadium", "midfielder",
        "marathon", "quarterback", "gold medal", "league title", "referee", "semifinal", "olympic team", "tennis",
        "cyclist", "home run", "world cup", "transfer window"],
    2: ["shares", "profits", "investors", "quarterly earnings", "merger", "stock market", "revenue", "retailer",
        "interest rates", "central bank", "dividend", "acquisition", "shareholders", "inflation", "exports",
        "bond yields", "airline stocks", "oil prices", "chief executive", "sales forecast"],
    3: ["software", "researchers", "satellite", "processor", "internet", "telescope", "laboratory", "smartphone",
        "genome", "algorithm", "web browser", "spacecraft", "microchip", "scientists", "robot", "database",
        "broadband", "laptop", "virus scanner", "physicists"],
}  # fmt: skip

NEWS_TEMPLATES = [
    "{A} and {b} were the focus on {day}, {filler}.",
    "Reports on {day} said the {a} could change the outlook for {b}, {filler}.",
    "{A}: new details emerged about {b} and {c} in {place}, {filler}.",
    "In {place}, attention turned to the {a} after news about {b}; {filler}.",
    "{A} made headlines again as {b} and {c} drew comment in {place}.",
    "A week of news about {a} ended on {day} with questions over {b}, {filler}.",
    "Observers in {place} followed the {a} closely, and {b} was also discussed, {filler}.",
    "The latest on {a}: {b} and {c}, according to a statement from {place}.",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
PLACES = ["Lisbon", "Nairobi", "Osaka", "Toronto", "Lima", "Oslo", "Cairo", "Perth", "Denver", "Hanoi", "Dublin", "Quito"]
FILLERS = [
    "with more details expected later",
    "though few figures were given",
    "as people waited for an update",
    "according to people familiar with the matter",
    "while the full report is due next week",
    "and reaction was mixed",
]


def _news(rng: random.Random, label: int) -> dict[str, object]:
    words = rng.sample(NEWS_WORDS[label], 3)
    if rng.random() < 0.1:  # one distractor from another class
        words[rng.randrange(1, 3)] = rng.choice(NEWS_WORDS[rng.choice([c for c in NEWS_WORDS if c != label])])
    template = rng.choice(NEWS_TEMPLATES)
    a, b, c = words
    text = template.format(
        A=a[0].upper() + a[1:], a=a, b=b, c=c, day=rng.choice(DAYS), place=rng.choice(PLACES), filler=rng.choice(FILLERS)
    )
    return {"text": text, "label": label}


# ---------------------------------------------------------------------------------------------- DBpedia-14
ENTITY_WORDS = {
    0: ["company", "headquartered", "subsidiary", "manufacturer", "employees", "founded a firm", "products"],
    1: ["university", "students", "campus", "college", "faculty", "school district", "curriculum"],
    2: ["painter", "singer", "exhibition", "songwriter", "gallery", "sculptor", "recorded songs"],
    3: ["footballer", "played as a defender", "scored goals", "olympics", "professional career", "sprinter", "club"],
    4: ["served", "senator", "was elected", "governor", "minister", "term in office", "mayor"],
    5: ["ship", "locomotive", "aircraft", "was launched", "engine", "vessel", "car model"],
    6: ["built", "tower", "church", "architect", "historic building", "floors", "hotel"],
    7: ["mountain", "river", "lake", "elevation", "glacier", "valley", "summit ridge"],
    8: ["village", "population", "district", "municipality", "census", "rural commune", "gmina"],
    9: ["species", "moth", "family of", "snail", "beetle", "bird", "frog"],
    10: ["flowering", "shrub", "leaves", "orchid", "herb", "petals", "grass"],
    11: ["album", "tracks", "studio", "band", "record label", "debut record", "live recording"],
    12: ["film", "directed", "starring", "drama", "comedy", "screenplay", "documentary"],
    13: ["novel", "published", "author", "book", "magazine", "chapters", "poetry collection"],
}  # fmt: skip

ENTITY_TEMPLATES = [
    "{title} is known for its {a}. Sources mention the {b} and the {c}.",
    "{title} ({year}) is linked with {a}; later accounts describe {b} and {c}.",
    "The {a} of {title} is noted in records from {year}, together with {b}.",
    "{title} appears in a {year} survey under {a}, {b} and {c}.",
    "Records of {title} from {year} list {a} and {b}.",
]
SYLLABLES = ["ka", "lo", "mer", "vin", "sa", "tor", "bel", "na", "dri", "os", "pel", "qua", "ren", "ti", "zo", "har"]


def _name(rng: random.Random) -> str:
    words = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize() for _ in range(rng.randint(1, 2))]
    return " ".join(words)


def _entity(rng: random.Random, label: int) -> dict[str, object]:
    words = rng.sample(ENTITY_WORDS[label], 3)
    if rng.random() < 0.1:
        words[rng.randrange(1, 3)] = rng.choice(ENTITY_WORDS[rng.choice([c for c in ENTITY_WORDS if c != label])])
    title = _name(rng)
    a, b, c = words
    content = rng.choice(ENTITY_TEMPLATES).format(title=title, a=a, b=b, c=c, year=rng.randint(1850, 2015))
    return {"label": label, "title": title, "content": content}


# ---------------------------------------------------------------------------------------------- writing
def _balanced(rng: random.Random, make: Callable[[random.Random, int], dict[str, object]], labels: list[int], per_label: int, seen: set[str]) -> list[dict[str, object]]:
    """per_label records of every label, none repeating a text already in `seen`; shuffled."""
    records = []
    for label in labels:
        made = 0
        while made < per_label:
            record = make(rng, label)
            key = json.dumps(record, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            records.append(record)
            made += 1
    rng.shuffle(records)
    return records


def _write(path: Path, records: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "data" / "demo")
    args = parser.parse_args()

    rng = random.Random(SEED)
    seen: set[str] = set()
    for split, per_label in (("train", 100), ("dev", 25), ("test", 25)):
        _write(args.out / "ag_news" / f"{split}.jsonl", _balanced(rng, _news, list(NEWS_WORDS), per_label, seen))
    seen.clear()
    for split, per_label in (("train", 20), ("dev", 5), ("test", 5)):
        _write(args.out / "dbpedia_14" / f"{split}.jsonl", _balanced(rng, _entity, list(ENTITY_WORDS), per_label, seen))


if __name__ == "__main__":
    main()
