#!/usr/bin/env python
"""Write the project's generated English pretraining corpus: one document per line, deterministic (a fixed seed).

    python scripts/make_pretrain_corpus.py --out corpus.txt [--documents 8000]

Why generated: the toolkit must make a small pretrained GLM offline, and no English corpus can be downloaded here.
A corpus built from the demo tasks' own topic vocabularies gives a tiny model, in minutes on a CPU, the two things
prompts rely on: the words of the demo texts, and text in which those words appear together with the names of
their topics. What it contains:

    news      short reports on one of the four AG News topics, built from the same topic words as the demo data
              (scripts/make_demo_data.py NEWS_WORDS) in sentence templates of their own; most name their topic the
              way newspapers and web pages do: a section header ("Sports News: ..."), a closing line ("This topic is
              about Business.", "Filed under world affairs."), a question and answer about the section, a desk line
    entities  encyclopedia-style descriptions from the DBpedia demo's class words, most naming the entity's class
              ("Category: village.", "Kalomer is a company.")
    counts    sentences about coloured animals with their number written as a word and as digits (the seq2seq demo's
              vocabulary)
    general   a few common sentences

The sentence templates differ from the demo data's, and no demo text occurs in the corpus (a test checks); what
transfers to the demo tasks is the association of topic words with topic names, as it would from real text. The
topic names include the words the demo prompts use as verbalizers, so zero-shot cloze prompts have something to
find; docs/PRETRAINING.md says what that means for the zero-shot figures.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.make_demo_data import DAYS, ENTITY_WORDS, NEWS_WORDS, PLACES, _name  # noqa: E402
from scripts.make_demo_seq2seq import ANIMALS, COLOURS, NUMBERS  # noqa: E402
from tasks.classification.dbpedia import _NAMES as CLASS_NAMES  # noqa: E402  the demo's class names

SEED = 20240901

# ---------------------------------------------------------------------------------------------- news
NEWS_SENTENCES = [
    "Officials said the {a} would be discussed again {when}.",
    "The {a} was the main subject of reports from {place} on {day}.",
    "Many readers wrote in about the {a} and the {b}.",
    "In {place}, the {a} and the {b} remained in the news {when}.",
    "Analysts in {place} expect more news on the {a} {when}.",
    "A spokesperson described the {a} as important for the {b}.",
    "There was fresh attention on the {a} in {place} on {day}.",
    "The report from {place} mentioned the {a}, the {b} and the {c}.",
    "Few expected the {a} to matter so much for the {b}.",
    "On {day} the {a} came up again, this time together with the {b}.",
    "People in {place} talked about the {a} all week.",
    "Details about the {a} are still coming in from {place}.",
    "Questions about the {b} followed the news on the {a}.",
    "The {a} and the {c} were linked in a statement on {day}.",
]
WHEN = ["next week", "later this month", "in the coming days", "soon", "after the weekend", "before the end of the year"]
# How pages name a report's topic, per AG News class (0 World, 1 Sports, 2 Business, 3 Sci/Tech).
HEADERS = {0: ["World", "International"], 1: ["Sports"], 2: ["Business"], 3: ["Tech", "Technology", "Science"]}
TOPICS = {0: ["World"], 1: ["Sports"], 2: ["Business"], 3: ["Technology", "Science"]}
SECTIONS = {0: ["world", "international"], 1: ["sports"], 2: ["business"], 3: ["science", "technology"]}
SUBJECTS = {0: ["world affairs", "international news", "world politics"], 1: ["sports"],
            2: ["business and the economy", "the economy", "business"], 3: ["science and technology", "technology", "science"]}


def _news_body(rng: random.Random, label: int) -> str:
    sentences = []
    for template in rng.sample(NEWS_SENTENCES, rng.randint(1, 2)):
        a, b, c = rng.sample(NEWS_WORDS[label], 3)
        sentences.append(template.format(a=a, b=b, c=c, place=rng.choice(PLACES), day=rng.choice(DAYS), when=rng.choice(WHEN)))
    return " ".join(s[0].upper() + s[1:] for s in sentences)


def news(rng: random.Random) -> str:
    """A report that usually names its topic twice: an opening header or desk line, and a closing line."""
    label = rng.randrange(4)
    body = _news_body(rng, label)
    opening = rng.choice([
        f"{rng.choice(HEADERS[label])} News: ",
        f"From the {rng.choice(SECTIONS[label])} desk: ",
        f"{rng.choice(HEADERS[label])}: ",
        "",
    ])
    closing = rng.choice([
        f" This topic is about {rng.choice(TOPICS[label])}.",
        f" This article is about {rng.choice(SUBJECTS[label])}.",
        f" Question: Which section of the newspaper is this from? Answer: {rng.choice(SECTIONS[label])}.",
        f" Filed under {rng.choice(SUBJECTS[label])}.",
        f" More {rng.choice(SECTIONS[label])} news tomorrow.",
        "",
    ])
    return opening + body + closing


# ---------------------------------------------------------------------------------------------- entities
ENTITY_SENTENCES = [
    "{title} is often mentioned for its {a}.",
    "Accounts of {title} describe the {a} and the {b}.",
    "Since {year}, {title} has been associated with {a}.",
    "Visitors and writers remember {title} for the {a}.",
    "The {a} and the {b} are the best known facts about {title}.",
]


def entity(rng: random.Random) -> str:
    label = rng.randrange(len(CLASS_NAMES))
    title, name = _name(rng), CLASS_NAMES[label]
    sentences = []
    for template in rng.sample(ENTITY_SENTENCES, 2):
        a, b = rng.sample(ENTITY_WORDS[label], 2)
        sentences.append(template.format(title=title, a=a, b=b, year=rng.randint(1850, 2015)))
    body = " ".join(sentences)
    article = "an" if name[0] in "aeiou" else "a"
    form = rng.randrange(4)
    if form == 0:
        return f"{title}. {body} Category: {name}."
    if form == 1:
        return f"{body} {title} is {article} {name}."
    if form == 2:
        return f"{name[0].upper() + name[1:]}: {title}. {body}"
    return body


# ---------------------------------------------------------------------------------------------- counts, general
def counts(rng: random.Random) -> str:
    colour, animal, number = rng.choice(COLOURS), rng.choice(list(ANIMALS)), rng.choice(NUMBERS)
    count = NUMBERS.index(number) + 1
    noun = animal if count == 1 else ANIMALS[animal]
    verb = "was" if count == 1 else "were"
    return (f"There {verb} {number} {colour} {noun} near the farm on {rng.choice(DAYS)}. "
            f"The farmer counted {count} {colour} {noun} in all.")


GENERAL = [
    "The weather was mild and the streets were quiet.", "She read the paper before breakfast.",
    "The meeting started late but ended on time.", "Most people agreed that the idea was good.",
    "The new road will open next year.", "He said the answer was yes.", "They said the answer was no.",
    "It was a great day for the city.", "It was a terrible week for the team.", "The film was good and the music was great.",
]


def general(rng: random.Random) -> str:
    return " ".join(rng.sample(GENERAL, 3))


KINDS = [(news, 0.75), (entity, 0.15), (counts, 0.05), (general, 0.05)]


def make_corpus(documents: int = 8000, seed: int = SEED) -> list[str]:
    rng = random.Random(seed)
    makers, weights = zip(*KINDS)
    return [rng.choices(makers, weights=weights)[0](rng) for _ in range(documents)]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="the corpus file to write (one document per line)")
    p.add_argument("--documents", type=int, default=8000)
    p.add_argument("--seed", type=int, default=SEED)
    a = p.parse_args(argv)
    docs = make_corpus(a.documents, a.seed)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text("".join(d + "\n" for d in docs), encoding="utf-8")
    print(f"wrote {len(docs)} documents to {a.out}")


if __name__ == "__main__":
    main()
