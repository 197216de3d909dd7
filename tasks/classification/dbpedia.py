"""DBpedia-14: ontology class of a Wikipedia entity from its title and abstract, 14 classes.

Hub: `dbpedia_14`, records {"label": int, "title": str, "content": str}; train (560,000) and test (70,000)
splits, no validation split, so dev is a stratified part of train. Most class names take several BPE tokens
(" educational institution", " means of transportation"), so every pattern is scored as multi-token blank
infilling.
"""

from __future__ import annotations

from typing import ClassVar

from tasks.base import PVP, DataProcessor, InputExample, Part
from tasks.data_io import Row

LABELS = [
    "Company", "EducationalInstitution", "Artist", "Athlete", "OfficeHolder", "MeanOfTransportation", "Building",
    "NaturalPlace", "Village", "Animal", "Plant", "Album", "Film", "WrittenWork",
]  # fmt: skip

_NAMES = [
    "company", "educational institution", "artist", "athlete", "office holder", "means of transportation", "building",
    "natural place", "village", "animal", "plant", "album", "film", "written work",
]  # fmt: skip


class DbpediaProcessor(DataProcessor):
    hub_name = "dbpedia_14"
    hub_splits: ClassVar[dict[str, str | None]] = {"train": "train", "dev": None, "test": "test"}
    fields = ("label", "title", "content")

    def get_labels(self) -> list[str]:
        return list(LABELS)

    def create_example(self, row: Row, guid: str, idx: int) -> InputExample:
        return InputExample(
            guid=guid, text_a=self.text_field(row, "title"), text_b=self.text_field(row, "content"), label=self.label_field(row), idx=idx
        )


class DbpediaPVP(PVP):
    """text_a = title, text_b = content. Both are shortenable; truncation cuts the longer (the content) first."""

    available_patterns: ClassVar[dict[int, str]] = {
        0: '"<title>. <content> Category: [MASK]." -> company | educational institution | ... | written work',
        1: '"<content> <title> is [MASK]." -> a company | an educational institution | ... | a written work',
        2: '"[MASK]: <title>. <content>" -> Company | Educational institution | ... | Written work (answer first)',
    }
    VERBALIZERS: ClassVar[dict[int, dict[str, str]]] = {
        0: {label: " " + name for label, name in zip(LABELS, _NAMES)},
        1: {label: (" an " if name[0] in "aeiou" else " a ") + name for label, name in zip(LABELS, _NAMES)},
        # The blank opens the text, where words carry no leading space.
        2: {label: name[0].upper() + name[1:] for label, name in zip(LABELS, _NAMES)},
    }

    @property
    def is_multi_token(self) -> bool:
        return True

    def get_parts(self, example: InputExample) -> tuple[list[Part], list[Part]]:
        title, content = example.text_a, example.text_b or ""
        match self.pattern_id:
            case 0:
                return [self.shortenable(self.remove_final_punc(title)), "."], [
                    self.shortenable(" " + content), " Category:", [self.mask_id], "."
                ]
            case 1:
                return [self.shortenable(content)], [self.shortenable(" " + self.remove_final_punc(title)), " is", [self.mask_id], "."]
            case _:
                return [[self.mask_id], ":", self.shortenable(" " + self.remove_final_punc(title)), "."], [self.shortenable(" " + content)]

    def verbalize(self, label: str) -> list[str]:
        return [self.VERBALIZERS[self.pattern_id][label]]
