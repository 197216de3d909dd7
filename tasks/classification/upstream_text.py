"""THUDM/GLM's other classification tasks, as its `tasks/superglue/{dataset,pvp}.py` define them: `agnews`,
`yahoo`, `yelp-polarity`, `yelp-full`, with upstream's data files, labels, all their patterns and verbalizers.

These are upstream's tasks next to the toolkit's own (`ag_news` in ag_news.py reads the hub schema and has its
own patterns); a run with one of these names renders exactly what upstream renders (tests/test_upstream_pvp_golden.py).

Data (`data_dir`), headerless csv as in the released archives (ag_news_csv, yahoo_answers_csv, yelp_review_*_csv):
    agnews          train.csv, test.csv   rows: label ("1".."4"), title, description
    yahoo           train.csv, test.csv   rows: label ("1".."10"), question title, question body, best answer
    yelp-polarity   train.csv, test.csv   rows: label ("1" negative, "2" positive), review
    yelp-full       train.csv, test.csv   rows: label ("1".."5" stars), review
As upstream: dev is test.csv (these releases have no dev split) and there is no separate test split; a literal
backslash in the text becomes a space ("\\n" first, in Yahoo and Yelp), then punctuation is standardised.
Labels are names: "1" is the first class, never an index.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from tasks.base import DataProcessor, InputExample, Part
from tasks.data_io import DataError, MissingSplitError, Row, read_headerless_csv
from tasks.upstream import UpstreamPVP, label_name, standardize_punctuation


class UpstreamCsvProcessor(DataProcessor):
    """Headerless train.csv (train) and test.csv (dev) in `data_dir`; no hub copy in this layout."""

    task: ClassVar[str]
    columns: ClassVar[tuple[str, ...]]
    num_labels: ClassVar[int]
    SPLIT_FILES: ClassVar[dict[str, str]] = {"train": "train.csv", "dev": "test.csv"}
    has_test_split: ClassVar[bool] = False  # test.csv is the dev split (training.build records an empty test split)

    def __init__(self, dev_fraction: float = 0.1, seed: int = 42):
        super().__init__(dev_fraction, seed)
        self._cache: dict[tuple[str, str], list[InputExample]] = {}

    def get_labels(self) -> list[str]:
        return [str(i) for i in range(1, self.num_labels + 1)]

    def get_train_examples(self, data_dir: str | Path | None = None) -> list[InputExample]:
        return self._split(data_dir, "train")

    def get_dev_examples(self, data_dir: str | Path | None = None) -> list[InputExample]:
        return self._split(data_dir, "dev")

    def get_test_examples(self, data_dir: str | Path | None = None) -> list[InputExample]:
        raise MissingSplitError(
            f"{self.task} has no test split in upstream's layout: test.csv is the dev split (as in THUDM/GLM); "
            "evaluate on dev, or use the toolkit's own task with a separate dev split"
        )

    def texts(self, row: Row) -> tuple[str, str | None]:
        raise NotImplementedError

    def _split(self, data_dir: str | Path | None, split: str) -> list[InputExample]:
        if data_dir is None:
            raise DataError(f"{self.task} reads upstream's csv files: pass --data-dir with train.csv and test.csv")
        key = (str(data_dir), split)
        if key not in self._cache:
            path = Path(data_dir) / self.SPLIT_FILES[split]
            if not path.is_file():
                raise MissingSplitError(f"{self.task} {split} split not found: expected {path} (headerless csv: {', '.join(self.columns)})")
            rows = read_headerless_csv(path, self.columns)
            if not rows:
                raise DataError(f"{path} has no records")
            examples = []
            for i, row in enumerate(rows):
                text_a, text_b = self.texts(row)
                examples.append(InputExample(f"{split}-{i}", text_a, text_b, label_name(row, self.get_labels(), row.fields["label"]), idx=i))
            self.data_record[split] = {"from": str(path), "size": len(examples)}
            self._cache[key] = examples
        return self._cache[key]


def _clean(text: str, newlines: bool) -> str:
    """Upstream's cleaning: the csv releases escape newlines as a literal backslash-n."""
    if newlines:
        text = text.replace("\\n", " ")
    return standardize_punctuation(text.replace("\\", " "))


def _nonempty(row: Row, text: str, what: str) -> str:
    if not text.strip():
        raise DataError(f"{row.where}: the {what} is empty; every example needs text")
    return text


def _optional(text: str) -> str | None:
    """An empty second text renders as no tokens, exactly as upstream's empty part; None says so."""
    return text if text.strip() else None


class AgnewsProcessor(UpstreamCsvProcessor):
    task = "agnews"
    columns = ("label", "title", "description")
    num_labels = 4

    def texts(self, row: Row) -> tuple[str, str | None]:
        return _nonempty(row, _clean(row.fields["title"], False), "title"), _optional(_clean(row.fields["description"], False))


class YahooProcessor(UpstreamCsvProcessor):
    task = "yahoo"
    columns = ("label", "question_title", "question_body", "answer")
    num_labels = 10

    def texts(self, row: Row) -> tuple[str, str | None]:
        question = " ".join([_clean(row.fields["question_title"], True), _clean(row.fields["question_body"], True)])
        return _nonempty(row, question, "question"), _optional(_clean(row.fields["answer"], True))


class YelpPolarityProcessor(UpstreamCsvProcessor):
    task = "yelp-polarity"
    columns = ("label", "review")
    num_labels = 2

    def texts(self, row: Row) -> tuple[str, str | None]:
        return _nonempty(row, _clean(row.fields["review"], True), "review"), None


class YelpFullProcessor(YelpPolarityProcessor):
    task = "yelp-full"
    num_labels = 5


# ---------------------------------------------------------------------------------------------- PVPs
def _short(text: str) -> tuple[str, bool]:
    return text, True


class _TopicPVP(UpstreamPVP):
    """AG News and Yahoo share six shapes; a = text_a*, b = text_b*, both without an added space."""

    SECOND: ClassVar[str]  # the word of pattern 1
    VERBALIZER: ClassVar[dict[str, str]]

    def get_parts(self, example: InputExample) -> tuple[list[Part], list[Part]]:
        a, b = _short(example.text_a), _short(example.text_b or "")
        mask = [self.mask_id]
        match self.pattern_id:
            case 0:
                return [mask, ":", a, b], []
            case 1:
                return [mask, self.SECOND, a, b], []
            case 2:
                return [a, "(", mask, ")", b], []
            case 3:
                return [a, b, "(", mask, ")"], []
            case 4:
                return ["[ Category:", mask, "]", a, b], []
            case _:
                return [mask, "-", a, b], []

    def verbalize(self, label: str) -> list[str]:
        return [self.VERBALIZER[label]]


def _topic_patterns(second: str, words: str) -> dict[int, str]:
    return {0: f"[MASK]: a* b*  -> {words}", 1: f"[MASK]{second} a* b*  -> {words}", 2: f"a*( [MASK] ) b*  -> {words}",
            3: f"a* b*( [MASK] )  -> {words}", 4: f"[ Category: [MASK] ] a* b*  -> {words}", 5: f"[MASK]- a* b*  -> {words}"}  # fmt: skip


class AgnewsPVP(_TopicPVP):
    """a = title, b = description."""

    SECOND = " News:"
    VERBALIZER: ClassVar[dict[str, str]] = {"1": " World", "2": " Sports", "3": " Business", "4": " Tech"}
    available_patterns: ClassVar[dict[int, str]] = _topic_patterns(SECOND, "World / Sports / Business / Tech")


class YahooPVP(_TopicPVP):
    """a = question title and body, b = answer."""

    SECOND = " Question:"
    VERBALIZER: ClassVar[dict[str, str]] = {
        "1": " Society", "2": " Science", "3": " Health", "4": " Education", "5": " Computer", "6": " Sports",
        "7": " Business", "8": " Entertainment", "9": " Relationship", "10": " Politics",
    }  # fmt: skip
    available_patterns: ClassVar[dict[int, str]] = _topic_patterns(SECOND, "Society / Science / ... / Politics")


class YelpPolarityPVP(UpstreamPVP):
    """text = the review."""

    VERBALIZER: ClassVar[dict[str, str]] = {"1": " bad", "2": " good"}
    WORDS: ClassVar[str] = "bad / good"
    available_patterns: ClassVar[dict[int, str]] = {
        0: f"It was [MASK]. text*  -> {WORDS}",
        1: f"text*. All in all, it was [MASK].  -> {WORDS}",
        2: f"Just [MASK]! ‖ text*  -> {WORDS}",
        3: f"text* ‖ In summary, the restaurant is [MASK].  -> {WORDS}",
    }

    def get_parts(self, example: InputExample) -> tuple[list[Part], list[Part]]:
        text = _short(example.text_a)
        mask = [self.mask_id]
        match self.pattern_id:
            case 0:
                return ["It was", mask, ".", text], []
            case 1:
                return [text, ". All in all, it was", mask, "."], []
            case 2:
                return ["Just", mask, "!"], [text]
            case _:
                return [text], [" In summary, the restaurant is", mask, "."]

    def verbalize(self, label: str) -> list[str]:
        return [self.VERBALIZER[label]]


_FIVE_STARS = "terrible / bad / okay / good / great"


class YelpFullPVP(YelpPolarityPVP):
    VERBALIZER: ClassVar[dict[str, str]] = {"1": " terrible", "2": " bad", "3": " okay", "4": " good", "5": " great"}
    WORDS: ClassVar[str] = _FIVE_STARS
    available_patterns: ClassVar[dict[int, str]] = {
        i: d.replace(YelpPolarityPVP.WORDS, _FIVE_STARS) for i, d in YelpPolarityPVP.available_patterns.items()
    }


PROCESSORS: dict[str, type[UpstreamCsvProcessor]] = {
    "agnews": AgnewsProcessor, "yahoo": YahooProcessor, "yelp-polarity": YelpPolarityProcessor, "yelp-full": YelpFullProcessor,
}  # fmt: skip
PVPS: dict[str, type[UpstreamPVP]] = {
    "agnews": AgnewsPVP, "yahoo": YahooPVP, "yelp-polarity": YelpPolarityPVP, "yelp-full": YelpFullPVP,
}  # fmt: skip
# Upstream's DEFAULT_METRICS has no entry for these four (its superglue driver stops on them); accuracy is what its
# accuracy_metric would compute, macro-F1 is reported next to it as for the toolkit's own ag_news.
DEFAULT_METRICS: dict[str, tuple[str, ...]] = {task: ("accuracy", "macro_f1") for task in PROCESSORS}
