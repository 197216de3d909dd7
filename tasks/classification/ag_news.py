"""AG News: news topic classification, 4 classes.

Hub: `ag_news`, records {"text": str, "label": int} with label names World, Sports, Business, Sci/Tech;
train (120,000) and test (7,600) splits, no validation split, so dev is a stratified part of train.
"""

from __future__ import annotations

from typing import ClassVar

from tasks.base import PVP, DataProcessor, InputExample, Part
from tasks.data_io import Row


class AgNewsProcessor(DataProcessor):
    hub_name = "ag_news"
    hub_splits: ClassVar[dict[str, str | None]] = {"train": "train", "dev": None, "test": "test"}
    fields = ("text", "label")

    def get_labels(self) -> list[str]:
        return ["World", "Sports", "Business", "Sci/Tech"]

    def create_example(self, row: Row, guid: str, idx: int) -> InputExample:
        return InputExample(guid=guid, text_a=self.text_field(row, "text"), label=self.label_field(row), idx=idx)


class AgNewsPVP(PVP):
    """Patterns 0-2 have one-token label words (checked against the vocabulary when the PVP is built);
    pattern 3 describes each topic in several words and is scored as multi-token blank infilling."""

    available_patterns: ClassVar[dict[int, str]] = {
        0: '"<text> This topic is about [MASK]." -> World | Sports | Business | Technology',
        1: '"[MASK] News: <text>" -> World | Sports | Business | Tech',
        2: '"<text> Question: Which section of the newspaper is this from? Answer: [MASK]." -> world | sports | business | science',
        3: '"<text> This article is about [MASK]." -> world affairs | sports | business and the economy | science and technology (multi-token)',
    }
    VERBALIZERS: ClassVar[dict[int, dict[str, str]]] = {
        0: {"World": " World", "Sports": " Sports", "Business": " Business", "Sci/Tech": " Technology"},
        # The blank opens the text, where words carry no leading space.
        1: {"World": "World", "Sports": "Sports", "Business": "Business", "Sci/Tech": "Tech"},
        2: {"World": " world", "Sports": " sports", "Business": " business", "Sci/Tech": " science"},
        3: {"World": " world affairs", "Sports": " sports", "Business": " business and the economy", "Sci/Tech": " science and technology"},
    }

    @property
    def is_multi_token(self) -> bool:
        return self.pattern_id == 3

    def get_parts(self, example: InputExample) -> tuple[list[Part], list[Part]]:
        text = self.shortenable(example.text_a)
        match self.pattern_id:
            case 0:
                return [text, " This topic is about", [self.mask_id], "."], []
            case 1:
                return [[self.mask_id], " News:", self.shortenable(" " + example.text_a)], []
            case 2:
                return [text, " Question: Which section of the newspaper is this from? Answer:", [self.mask_id], "."], []
            case _:
                return [text, " This article is about", [self.mask_id], "."], []

    def verbalize(self, label: str) -> list[str]:
        return [self.VERBALIZERS[self.pattern_id][label]]
