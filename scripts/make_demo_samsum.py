"""Write the SAMSum demo data set: short messenger dialogues with one-sentence summaries, in the hub's schema.

    {"id": "train-0", "dialogue": "Mia: are we still on for dinner on Friday?\\r\\nLeo: yes, 7 pm at the cafe?\\r\\n...",
     "summary": "Mia and Leo will have dinner at 7 pm at the cafe on Friday."}

As in the real SAMSum (`samsum` on the hub), turns are `Name: text` separated by "\\r\\n". The summary names the
two speakers and restates the plan the dialogue agrees on (activity, time, place, day), so a model that learns
to copy those slots into the summary frame scores high ROUGE; every slot value is seen in training while most
combinations of dev and test are new. The texts are templated sentences written for this project (no text from
the real data set). Deterministic (a fixed seed).

    python scripts/make_demo_samsum.py [--out data/demo/samsum]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

NAMES = ["Mia", "Leo", "Anna", "Tom", "Sara", "Ben", "Kate", "Omar"]
ACTIVITIES = {"dinner": "have dinner", "coffee": "get coffee", "the movie": "see the movie", "lunch": "have lunch",
              "the game": "watch the game", "a walk": "go for a walk"}  # fmt: skip
PLACES = ["cafe", "station", "park", "library", "mall", "office"]
TIMES = ["6 pm", "7 pm", "noon", "9 am", "5 pm", "8 pm"]
DAYS = ["Friday", "Monday", "Sunday", "Tuesday"]
OPENINGS = ["are we still on for {activity} on {day}?", "do you want to do {activity} on {day}?"]
REPLIES = ["yes, {time} at the {place}?", "sure, {time} at the {place}?"]
CLOSINGS = [["perfect, see you there"], ["great", "I'll bring the tickets"], ["ok, see you then"]]
SIZES = {"train": 160, "validation": 30, "test": 30}
SEED = 20261203


def dialogue(rng: random.Random) -> tuple[str, str]:
    first, second = rng.sample(NAMES, 2)
    activity = rng.choice(sorted(ACTIVITIES))
    time, place, day = rng.choice(TIMES), rng.choice(PLACES), rng.choice(DAYS)
    slots = {"activity": activity, "time": time, "place": place, "day": day}
    turns = [f"{first}: {rng.choice(OPENINGS).format(**slots)}", f"{second}: {rng.choice(REPLIES).format(**slots)}"]
    for i, text in enumerate(rng.choice(CLOSINGS)):
        turns.append(f"{first if i % 2 == 0 else second}: {text}")
    summary = f"{first} and {second} will {ACTIVITIES[activity]} at {time} at the {place} on {day}."
    return "\r\n".join(turns), summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/demo/samsum"))
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    for split, size in SIZES.items():
        lines = []
        for i in range(size):
            text, summary = dialogue(rng)
            lines.append(json.dumps({"id": f"{split}-{i}", "dialogue": text, "summary": summary}, ensure_ascii=False))
        (out / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{out / f'{split}.jsonl'}: {size} dialogues")


if __name__ == "__main__":
    main()
