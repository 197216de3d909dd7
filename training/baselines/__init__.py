"""Baselines of similar size to glm-roberta-large, trained by the same loop on the same data, splits and metrics.

    roberta   RoBERTa with a linear head on <s> (RobertaForSequenceClassification); classification only.
              method "roberta_linear".
    bart      classification: BartForSequenceClassification, a linear head on the decoder's last </s> (the
              BART paper's recipe), method "bart_linear"; generation: BartForConditionalGeneration, method "bart".
    t5        text to text (T5ForConditionalGeneration), method "t5". Generation as is; classification generates
              the label's text: every label's text is scored by its log-likelihood given the input and the best
              one is the prediction, so there is no free-form output to parse and accuracy/F1 are well defined.

Everything here is glue between a Hugging Face model and the project's pieces: processors and their splits
(`training.build.load_splits`), metrics (`tasks.metrics`, `tasks.seq2seq.metrics`), the evaluator
and prediction rows of GLM's classification runs (`training.cloze.ClassificationTask`) and `training.loop`'s
contract: module(batch) -> (scores or None, loss).
"""

from .build import build_baseline, label_text, prepare_task, source_text, task_family
from .families import BASELINES, Baseline, BaselineSpec, load_pretrained
from .modules import (
           IGNORE_INDEX,
           LabelTextScorer,
           LinearClassifier,
           Seq2SeqLM,
           pad_inputs,
)

__all__ = ["BASELINES", "IGNORE_INDEX", "Baseline", "BaselineSpec", "LabelTextScorer", "LinearClassifier", "Seq2SeqLM",
           "build_baseline", "label_text", "load_pretrained", "pad_inputs", "prepare_task", "source_text", "task_family"]
