"""The baseline families (RoBERTa, BART, T5): which checkpoints, classes and run labels, and loading them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import (
    AutoConfig,
    AutoTokenizer,
    BartForConditionalGeneration,
    BartForSequenceClassification,
    PretrainedConfig,
    PreTrainedModel,
    RobertaForSequenceClassification,
    T5ForConditionalGeneration,
)

from tasks.sampling import TrainSubset


# ---------------------------------------------------------------------------------------------- the baselines
@dataclass(frozen=True)
class Baseline:
    """One baseline family: which checkpoints it takes, which classes it builds, what its runs are called."""

    name: str
    default_model: str  # hub name of the size comparable with glm-roberta-large (335M)
    model_type: str  # config.json model_type a checkpoint must have
    classifier: type[PreTrainedModel] | None  # a linear head over the encoder (None: text to text)
    generator: type[PreTrainedModel] | None  # an encoder-decoder LM (None: cannot generate)
    classification_method: str
    seq2seq_method: str | None
    dropout_fields: tuple[str, ...]  # config attributes that --hidden-dropout sets
    source_prefix: str = ""  # default text before every input; "{task}" is replaced by the task name

    def method(self, family: str) -> str:
        if family == "classification":
            return self.classification_method
        if self.seq2seq_method is None:
            raise SystemExit(f"--baseline {self.name} is an encoder with a linear head: it classifies, it cannot generate "
                             f"text for a seq2seq task; use --baseline bart or --baseline t5")
        return self.seq2seq_method

    def max_input_tokens(self, config: PretrainedConfig) -> int | None:
        """Longest input the checkpoint's position table holds (None: relative positions, no table)."""
        if self.model_type == "roberta":  # RoBERTa's positions start after the padding index
            return config.max_position_embeddings - config.pad_token_id - 1
        if self.model_type == "bart":
            return config.max_position_embeddings
        return None


BASELINES: dict[str, Baseline] = {
    "roberta": Baseline("roberta", "FacebookAI/roberta-large", "roberta", RobertaForSequenceClassification, None,
                        "roberta_linear", None, ("hidden_dropout_prob", "attention_probs_dropout_prob")),
    "bart": Baseline("bart", "facebook/bart-large", "bart", BartForSequenceClassification, BartForConditionalGeneration,
                     "bart_linear", "bart", ("dropout", "attention_dropout", "activation_dropout")),
    "t5": Baseline("t5", "google-t5/t5-large", "t5", None, T5ForConditionalGeneration, "t5", "t5", ("dropout_rate",),
                   source_prefix="{task}: "),
}


@dataclass(frozen=True)
class BaselineSpec:
    """What the baseline driver resolved from its flags."""

    baseline: Baseline
    model_name_or_path: str
    task: str
    family: str  # "classification" | "seq2seq"
    data_dir: str | None
    seq_length: int  # classification input tokens
    dev_fraction: float
    data_seed: int
    max_train_examples: int
    few_shot: int
    source_prefix: str
    hidden_dropout: float | None
    output_dropout: float | None
    checkpoint_activations: bool
    length_penalty: float
    # seq2seq only
    src_seq_length: int
    tgt_seq_length: int
    min_tgt_length: int
    num_beams: int
    no_repeat_ngram_size: int
    label_smoothing: float
    eval_max_examples: int
    use_cache: bool
    # SuperGLUE tasks only
    few_superglue: bool = False
    loss_func: str = "cross_entropy"
    train_fraction: float = 0.0  # a stratified share of train (0: all)
    test_fraction: float = 0.0  # > 0: carve a test split out of train
    # promptsource tasks: the template whose rendered input (and target) the baseline reads
    prompt: int | str | None = None
    allow_non_original: bool = False

    @property
    def train_subset(self) -> TrainSubset:
        return TrainSubset(first=self.max_train_examples, per_class=self.few_shot, seed=self.data_seed,
                           fraction=self.train_fraction)

    @property
    def method(self) -> str:
        return self.baseline.method(self.family)




# ---------------------------------------------------------------------------------------------- loading
def load_pretrained(spec: BaselineSpec, labels: Sequence[str] | None) -> tuple[PreTrainedModel, Any]:
    """Model and tokenizer from a local directory or the hub. With `labels`, a baseline with a linear head gets a
    new head of that size. A hub failure says how to pass a local directory; a checkpoint of another
    architecture, or a length the position table cannot hold, is an error before anything is trained."""
    b, name = spec.baseline, spec.model_name_or_path
    try:
        config = AutoConfig.from_pretrained(name)
        tokenizer = AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as err:
        if Path(name).is_dir():
            raise SystemExit(f"--model-name-or-path {name}: not a Hugging Face model directory "
                             f"({type(err).__name__}: {err}); it needs config.json, the weights and the tokenizer files") from None
        raise SystemExit(
            f"--model-name-or-path {name!r} is not a local directory and could not be fetched from the hub "
            f"({type(err).__name__}). Where the hub is reachable, download it (e.g. `hf download {name} --local-dir DIR`) "
            f"and pass --model-name-or-path DIR."
        ) from None
    if config.model_type != b.model_type:
        raise SystemExit(f"--baseline {b.name} needs a {b.model_type} checkpoint, but {name} is a {config.model_type!r} model")
    if tokenizer.pad_token_id is None:
        raise SystemExit(f"the tokenizer of {name} has no padding token; batches cannot be formed")
    limit = b.max_input_tokens(config)
    longest = spec.src_seq_length if spec.family == "seq2seq" else spec.seq_length
    if limit is not None and longest > limit:
        flag = "--src-seq-length" if spec.family == "seq2seq" else "--seq-length"
        raise SystemExit(f"{flag} {longest} is longer than the {limit} positions of {name}")
    if spec.hidden_dropout is not None:
        for field in b.dropout_fields:
            setattr(config, field, spec.hidden_dropout)
    if spec.output_dropout is not None:
        if b.classifier is None or spec.family != "classification":
            raise SystemExit(f"--output-dropout sets a classifier head's dropout; the {spec.method} method has no such head")
        config.classifier_dropout = spec.output_dropout
    if labels is not None and b.classifier is not None:
        config.id2label = dict(enumerate(labels))
        config.label2id = {label: i for i, label in enumerate(labels)}
        model = b.classifier.from_pretrained(name, config=config)
    else:
        model = b.generator.from_pretrained(name, config=config)
    if spec.checkpoint_activations:
        model.gradient_checkpointing_enable()
    return model, tokenizer
