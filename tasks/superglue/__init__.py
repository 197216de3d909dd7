"""The eight SuperGLUE tasks of the GLM paper, as THUDM/GLM runs them: processors, every pattern and verbalizer,
the metrics (validation metric first, as upstream's DEFAULT_METRICS) and the paper's hyperparameters from
upstream's config_tasks/task_*.sh.

`TASK_INFO[name]` describes one task (name = upstream's lower-case TASK_NAME). Processors and PVPs are in
`processors.py` and `pvps.py`; metrics over predictions and examples in `evaluate.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from tasks.superglue.processors import (
    PROCESSORS,
    BoolQProcessor,
    CbProcessor,
    CopaProcessor,
    MultiRcProcessor,
    RecordProcessor,
    RteProcessor,
    SuperGlueProcessor,
    WicProcessor,
    WscProcessor,
)  # fmt: skip
from tasks.superglue.pvps import (
    PVPS,
    BoolQPVP,
    CbPVP,
    CopaPVP,
    MultiRcPVP,
    RecordPVP,
    RtePVP,
    WicPVP,
    WscPVP,
)
from tasks.upstream import UpstreamPVP


@dataclass(frozen=True)
class Hyperparameters:
    """The paper's recipe for one task (upstream's task_*.sh run by scripts/finetune_superglue.sh)."""

    seq_length: int  # MAX_SEQ_LEN
    batch_size: int  # BATCH_SIZE (it wins over a --batch-size in TRAIN_ARGS in upstream's script)
    lr: float  # LR_SINGLE
    epochs: int  # EPOCH_SINGLE
    xxlarge_epochs: int  # XXLARGE_EPOCH (upstream's 10B DeepSpeed runs)
    pattern_id: int  # --pattern-id in TRAIN_ARGS
    pattern_ids: tuple[int, ...]  # PATTERN_IDS (the patterns upstream's scripts sweep or ensemble)
    prompt_ids: tuple[int, ...]  # PROMPT_IDS (continuous-prompt lengths swept; empty when the fragment has none)
    data_folder: str  # DATA_PATH below ${DATA_ROOT}
    warmup: float = 0.1
    weight_decay: float = 0.1
    lr_decay_style: str = "linear"
    loss_func: str = "cross_entropy"
    wsc_negative: bool = False
    length_penalty: float = 0.0
    eval_batch_size: int = 16
    log_interval: int = 50
    eval_interval: int = 10000000  # upstream's validation-loss check interval (model selection is per epoch)


@dataclass(frozen=True)
class TaskInfo:
    name: str  # upstream's lower-case task name
    kind: str  # "classification" (one score per label) or "multiple_choice" (one score per candidate), as upstream's
    # CLASSIFICATION_DATASETS / MULTI_CHOICE_DATASETS (which decides the linear-head variant)
    processor: type[SuperGlueProcessor]
    pvp: type[UpstreamPVP]
    patterns: dict[int, str]  # every pattern id -> description
    metrics: tuple[str, ...]  # validation metric first
    hyperparameters: Hyperparameters
    multi_token: bool  # the cloze scores multi-token candidates (packed or one row per candidate)
    variable_candidates: bool  # the number of candidates differs between examples (pad and mask the choice axis)


def _info(name: str, kind: str, processor: type[SuperGlueProcessor], pvp: type[UpstreamPVP], metrics: tuple[str, ...],
          hp: Hyperparameters, multi_token: bool = False, variable: bool = False) -> TaskInfo:  # fmt: skip
    return TaskInfo(name, kind, processor, pvp, dict(pvp.available_patterns), metrics, hp, multi_token, variable)


TASK_INFO: dict[str, TaskInfo] = {
    info.name: info
    for info in (
        _info("rte", "classification", RteProcessor, RtePVP, ("accuracy",),
              Hyperparameters(256, 16, 1e-5, 50, 50, 0, (0, 1, 2, 3), (1, 2, 3), "RTE")),
        _info("cb", "classification", CbProcessor, CbPVP, ("accuracy", "macro_f1"),
              Hyperparameters(256, 16, 1e-5, 50, 100, 3, (0, 1, 2, 3), (1, 2, 3), "CB", eval_interval=1000)),
        _info("boolq", "classification", BoolQProcessor, BoolQPVP, ("accuracy",),
              Hyperparameters(256, 16, 1e-5, 20, 24, 4, (0, 1, 2, 3, 4, 5), (1, 2, 3), "BoolQ")),
        _info("wic", "classification", WicProcessor, WicPVP, ("accuracy",),
              Hyperparameters(256, 16, 1e-5, 30, 40, 1, (0, 1, 2), (1, 2, 3), "WiC")),
        _info("copa", "multiple_choice", CopaProcessor, CopaPVP, ("accuracy",),
              Hyperparameters(256, 16, 1e-5, 50, 100, 0, (0, 1), (1, 2), "COPA", log_interval=20, eval_interval=1000),
              multi_token=True),
        _info("wsc", "classification", WscProcessor, WscPVP, ("accuracy",),
              Hyperparameters(128, 16, 1e-5, 50, 100, 2, (0, 1, 2), (1, 2, 3), "WSC-negative", loss_func="mix",
                              wsc_negative=True, length_penalty=1.0, eval_interval=1000),
              multi_token=True, variable=True),
        _info("multirc", "classification", MultiRcProcessor, MultiRcPVP, ("f1a", "em", "accuracy"),
              Hyperparameters(512, 64, 1e-5, 15, 12, 0, (0, 1, 2), (1, 2, 3), "MultiRC")),
        _info("record", "multiple_choice", RecordProcessor, RecordPVP, ("em", "f1"),
              Hyperparameters(512, 64, 1e-5, 5, 3, 0, (0,), (), "ReCoRD", eval_interval=1000),
              multi_token=True, variable=True),
    )
}  # fmt: skip

__all__ = ["PROCESSORS", "PVPS", "TASK_INFO", "Hyperparameters", "TaskInfo"]
