"""SuperGLUE pattern-verbalizer pairs: every pattern id and verbalizer of THUDM/GLM's `tasks/superglue/pvp.py`
for the eight tasks, rendering the same token ids (tests/test_upstream_pvp_golden.py checks them against renders
made by upstream's own code).

Notation in the pattern descriptions: `‖` separates parts_a from parts_b, `*` marks what truncation may cut,
[MASK] is the blank. Upstream's continuous-prompt slots are left out (they are empty without
--continuous-prompt, which is how the paper's runs were made).

Single-token tasks (label words): RTE, CB, BoolQ, WiC, MultiRC. Multi-token tasks (each candidate is scored as
the sum of its tokens' log-probabilities, end-of-piece included): COPA (2 choices), WSC (the referent plus, with
the WSC-negative files, a variable number of other noun phrases), ReCoRD (a variable number of entities).
"""

from __future__ import annotations

import string
from typing import ClassVar

from tasks.base import InputExample, Part
from tasks.upstream import UpstreamPVP


def _short(text: str) -> tuple[str, bool]:
    return text, True


def _no_final_punctuation(text: str) -> str:
    return text.rstrip(string.punctuation)


class RtePVP(UpstreamPVP):
    """text_a = premise (p), text_b = hypothesis (h, final punctuation removed)."""

    available_patterns: ClassVar[dict[int, str]] = {
        0: '"h*" ? ‖ [MASK], "p*"  -> Yes / No',
        1: 'h*? ‖ [MASK], p*  -> Yes / No',
        2: '"h*" ? ‖ [MASK]. "p*"  -> Yes / No',
        3: 'h*? ‖ [MASK]. p*  -> Yes / No',
        4: 'p* question: h* True or False? answer: [MASK]  -> true / false',
    }
    VERBALIZER: ClassVar[dict[str, str]] = {"entailment": " Yes", "not_entailment": " No"}

    def get_parts(self, example: InputExample) -> tuple[list[Part], list[Part]]:
        premise, hypothesis = example.text_a, _no_final_punctuation(example.text_b or "")
        mask = [self.mask_id]
        # None = a continuous-prompt slot (upstream's places); dropped unless --continuous-prompt fills it
        match self.pattern_id:
            case 0:
                return [None, '"', _short(hypothesis), '" ?'], [None, mask, ",", None, ' "', _short(premise), '"']
            case 1:
                return [None, _short(hypothesis), "?"], [None, mask, ",", None, _short(" " + premise)]
            case 2:
                return [None, '"', _short(hypothesis), '" ?'], [None, mask, '. "', None, _short(premise), '"']
            case 3:
                return [None, _short(hypothesis), "?"], [None, mask, ".", None, _short(" " + premise)]
            case _:
                return [None, _short(premise), None, " question:", _short(" " + hypothesis), " True or False?", None,
                        " answer:", mask], []

    def verbalize(self, label: str) -> list[str]:
        if self.pattern_id == 4:
            return [" true" if label == "entailment" else " false"]
        return [self.VERBALIZER[label]]


class CbPVP(RtePVP):
    """RTE's patterns 0-3 with a third answer; pattern 4 asks "true, false or neither?" (and, as upstream, keeps
    the hypothesis' final punctuation there)."""

    available_patterns: ClassVar[dict[int, str]] = {
        **{i: d.replace("Yes / No", "Yes / No / Maybe") for i, d in RtePVP.available_patterns.items() if i < 4},
        4: 'p* question: h* true, false or neither? answer: [MASK]  -> true / false / neither',
    }
    VERBALIZER: ClassVar[dict[str, str]] = {"entailment": " Yes", "contradiction": " No", "neutral": " Maybe"}
    PATTERN_4: ClassVar[dict[str, str]] = {"entailment": " true", "contradiction": " false", "neutral": " neither"}

    def get_parts(self, example: InputExample) -> tuple[list[Part], list[Part]]:
        if self.pattern_id == 4:
            return [_short(example.text_a), " question:", _short(" " + (example.text_b or "")), " true, false or neither?",
                    " answer:", [self.mask_id]], []  # fmt: skip
        return super().get_parts(example)

    def verbalize(self, label: str) -> list[str]:
        return [self.PATTERN_4[label] if self.pattern_id == 4 else self.VERBALIZER[label]]


class BoolQPVP(UpstreamPVP):
    """text_a = passage (p), text_b = question (q). Even ids answer No / Yes, odd ids false / true."""

    available_patterns: ClassVar[dict[int, str]] = {
        0: "p* Question: q*? Answer: [MASK].  -> No / Yes",
        1: "p* Question: q*? Answer: [MASK].  -> false / true",
        2: "p* Based on the previous passage, q*? [MASK].  -> No / Yes",
        3: "p* Based on the previous passage, q*? [MASK].  -> false / true",
        4: "Based on the following passage q*? [MASK]. p*  -> No / Yes",
        5: "Based on the following passage q*? [MASK]. p*  -> false / true",
    }

    def get_parts(self, example: InputExample) -> tuple[list[Part], list[Part]]:
        passage, question = example.text_a, example.text_b or ""
        mask = [self.mask_id]
        if self.pattern_id < 2:
            return [_short(passage), " Question:", _short(" " + question), "? Answer:", mask, "."], []
        if self.pattern_id < 4:
            return [_short(passage), " Based on the previous passage,", _short(" " + question), "?", mask, "."], []
        return ["Based on the following passage", _short(" " + question), "?", mask, ".", _short(" " + passage)], []

    def verbalize(self, label: str) -> list[str]:
        yes, no = (" Yes", " No") if self.pattern_id % 2 == 0 else (" true", " false")
        return [yes if label == "true" else no]


class WicPVP(UpstreamPVP):
    """text_a = sentence 1 (s1), text_b = sentence 2 (s2), meta["word"] = w."""

    available_patterns: ClassVar[dict[int, str]] = {
        0: '"s1" / "s2"* Similar sense of "w"? [MASK].  -> No / Yes',
        1: "s1* s2* Does w have the same meaning in both sentences? [MASK]  -> No / Yes",
        2: 'w . Sense (1) (a) "s1*" ( [MASK] ) "s2"  -> 2 / b',
    }

    def get_parts(self, example: InputExample) -> tuple[list[Part], list[Part]]:
        s1, s2, word = example.text_a, example.text_b or "", example.meta["word"]
        mask = [self.mask_id]
        match self.pattern_id:
            case 0:
                return [_short('"' + s1 + '" / "' + s2 + '"'), ' Similar sense of "' + word + '"?', mask, "."], []
            case 1:
                return [_short(s1), _short(" " + s2), " Does " + word + " have the same meaning in both sentences?", mask], []
            case _:
                return [word, " .", ' Sense (1) (a) "', _short(s1), '"', " (", mask, ') "', s2, '"'], []

    def verbalize(self, label: str) -> list[str]:
        if self.pattern_id == 2:
            return ["b" if label == "true" else "2"]
        return [" Yes" if label == "true" else " No"]


class MultiRcPVP(UpstreamPVP):
    """text_a = passage (p, final punctuation removed), text_b = question (q, likewise), meta["answer"] = a."""

    available_patterns: ClassVar[dict[int, str]] = {
        0: "p*. Question: q? Is it a? [MASK].  -> No / Yes",
        1: 'p*. Question: q? Is the correct answer "a"? [MASK].  -> No / Yes',
        2: 'p*. Based on the previous passage, q? Is "a" a correct answer? [MASK].  -> No / Yes',
        3: "p* q- [ [MASK] ] a  -> False / True",
        4: "p*. Question: q? a? [MASK].  -> No / Yes",
    }

    def get_parts(self, example: InputExample) -> tuple[list[Part], list[Part]]:
        passage = _short(_no_final_punctuation(example.text_a.rstrip()))
        question = _no_final_punctuation((example.text_b or "").rstrip())
        answer = example.meta["answer"]
        mask = [self.mask_id]
        match self.pattern_id:
            case 0:
                return [passage, ".", " Question:", " " + question + "?", " Is it", " " + answer, "?", mask, "."], []
            case 1:
                return [passage, ".", " Question:", " " + question, "?", ' Is the correct answer "', answer, '"?', mask, "."], []
            case 2:
                return [passage, ". Based on the previous passage,", " " + question, "?", ' Is "', answer, '" a correct answer?', mask, "."], []
            case 3:
                return [passage, " " + question, "- [", mask, "]", answer], []
            case _:
                return [passage, ".", " Question:", " " + question, "?", " " + answer, "?", mask, "."], []

    def verbalize(self, label: str) -> list[str]:
        if self.pattern_id == 3:
            return [" True" if label == "1" else " False"]
        return [" Yes" if label == "1" else " No"]


class CopaPVP(UpstreamPVP):
    """text_a = premise, meta choice1 / choice2 / question. The answers are the two choices, first letter lowered
    and final punctuation removed, after a space; the premise ends in " because" (cause) or ", so" (effect).

    Upstream's get_parts has a pattern 2, which its `available_patterns` leaves out and whose `encode` scores the
    connective instead of the choices, with a different context per choice; it is not offered here."""

    available_patterns: ClassVar[dict[int, str]] = {
        0: '"c1" or "c2"? premise* because|, so [MASK].  -> " " + choice (multi-token)',
        1: "c1 or c2? premise* because|, so [MASK].  -> \" \" + choice (multi-token)",
    }

    @property
    def is_multi_token(self) -> bool:
        return True

    def verbalize(self, label: str) -> list[str]:
        return []

    def _choice(self, example: InputExample, key: str) -> str:
        return _no_final_punctuation(self.lowercase_first(example.meta[key]))

    def get_answers(self, example: InputExample) -> list[str]:
        return [" " + self._choice(example, "choice1"), " " + self._choice(example, "choice2")]

    def get_parts(self, example: InputExample) -> tuple[list[Part], list[Part]]:
        premise = _short(_no_final_punctuation(" " + example.text_a))
        c1, c2 = self._choice(example, "choice1"), self._choice(example, "choice2")
        joiner = " because" if example.meta["question"] == "cause" else ", so"
        if self.pattern_id == 0:
            return ['"', c1, '" or "', c2, '"?', premise, joiner, [self.mask_id], "."], []
        return [c1, " or", " " + c2, "?", premise, joiner, [self.mask_id], "."], []


class WscPVP(UpstreamPVP):
    """text_a = the text, meta span1_text (the referent to fill in), span2_text / span2_index (the pronoun,
    marked *pronoun* in the text), and with the WSC-negative files meta["candidates"].

    Answers: " " + span1_text first, then " " + each candidate. `label_index` is 0 (the first answer) for an
    example whose label is True, and -1 for one whose label is False (span1 is wrong, and no candidate is known
    to be right): upstream trains on True examples only and predicts True exactly when the first answer wins."""

    available_patterns: ClassVar[dict[int, str]] = {
        0: "text* The pronoun '*p*' refers to [MASK].  -> \" \" + noun phrase (multi-token)",
        1: "text* In the previous sentence, the pronoun '*p*' refers to [MASK].  -> \" \" + noun phrase (multi-token)",
        2: "text* Question: In the passage above, what does the pronoun '*p*' refer to? Answer: [MASK].  -> \" \" + noun phrase (multi-token)",
    }

    @property
    def is_multi_token(self) -> bool:
        return True

    def verbalize(self, label: str) -> list[str]:
        return []

    def get_answers(self, example: InputExample) -> list[str]:
        return [" " + example.meta["span1_text"], *(" " + c for c in example.meta.get("candidates", []))]

    def label_index(self, example: InputExample) -> int:
        return 0 if example.label == "True" else -1

    def get_parts(self, example: InputExample) -> tuple[list[Part], list[Part]]:
        pronoun, index = example.meta["span2_text"], example.meta["span2_index"]
        words = example.text_a.split()
        words[index] = "*" + words[index] + "*"
        text = _short(" ".join(words))
        mask = [self.mask_id]
        match self.pattern_id:
            case 0:
                return [text, " The pronoun '*" + pronoun + "*' refers to", mask, "."], []
            case 1:
                return [text, " In the previous sentence, the pronoun '*" + pronoun + "*' refers to", mask, "."], []
            case _:
                return [text, " Question: In the passage above, what does the pronoun '*" + pronoun + "*' refer to?", " Answer:", mask, "."], []


class RecordPVP(UpstreamPVP):
    """text_a = passage, text_b = query with "@placeholder", meta["candidates"] the entities to score.
    `label_index` is the first candidate that is a gold answer (0 for training examples), -1 when there is none."""

    available_patterns: ClassVar[dict[int, str]] = {
        0: 'passage* query-before-@placeholder [MASK] query-after  -> " " + entity (multi-token)',
    }

    @property
    def is_multi_token(self) -> bool:
        return True

    def verbalize(self, label: str) -> list[str]:
        return []

    def get_answers(self, example: InputExample) -> list[str]:
        return [" " + c for c in example.meta["candidates"]]

    def label_index(self, example: InputExample) -> int:
        gold = set(example.meta.get("answers", []))
        return next((i for i, c in enumerate(example.meta["candidates"]) if c in gold), -1)

    def get_parts(self, example: InputExample) -> tuple[list[Part], list[Part]]:
        before, after = (example.text_b or "").split("@placeholder")
        return [_short(example.text_a), " " + before.rstrip(), [self.mask_id], after], []


PVPS: dict[str, type[UpstreamPVP]] = {
    "rte": RtePVP, "cb": CbPVP, "boolq": BoolQPVP, "wic": WicPVP, "copa": CopaPVP, "wsc": WscPVP, "multirc": MultiRcPVP, "record": RecordPVP,
}  # fmt: skip
