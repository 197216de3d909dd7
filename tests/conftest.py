"""Shared fixtures. Tests run offline: no hub, no dataset downloads."""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402
import torch  # noqa: E402

# Tiny models run fastest on one thread, and results then do not depend on the machine's core count.
torch.set_num_threads(1)

FIXTURES = ROOT / "tests" / "fixtures"
GOLDEN = FIXTURES / "golden"
TOKENIZER_DIR = FIXTURES / "tokenizer"


@pytest.fixture(scope="session")
def tokenizer():
    """The real glm-roberta-large tokenizer with the original [MASK] id (50264)."""
    from model.tokenizer import GLMTokenizer

    return GLMTokenizer.from_dir(TOKENIZER_DIR)


@pytest.fixture(scope="session")
def hf_tokenizer():
    """The same vocabulary in the HF port's convention ([MASK] = 50267), as the goldens were made."""
    from model.tokenizer import GLMTokenizer

    return GLMTokenizer.from_dir(TOKENIZER_DIR, mask_id=50267)


@pytest.fixture(scope="session")
def pretrained_tiny() -> Path:
    """The tiny GLM pretrained with the blank-infilling objective (scripts/make_pretrained_tiny.py).

    Built once into checkpoints/glm-tiny-pretrained (about 3-4 minutes on one core), exactly as the README's
    first run builds it, and reused afterwards; learning tests of prompts, zero-shot and PEFT need its weights.
    """
    from scripts.make_pretrained_tiny import make_pretrained_tiny

    out = ROOT / "checkpoints" / "glm-tiny-pretrained"
    if not (out / "pretraining.json").is_file():
        make_pretrained_tiny(out)
    return out


@pytest.fixture(scope="session")
def glm_tiny(tmp_path_factory) -> Path:
    """A tiny random GLM with the demo vocabulary, as config_tasks/model_glm_tiny.sh builds it on first use, written
    here so tests never depend on a checkpoints/ folder left by an earlier run."""
    from scripts.make_tiny_checkpoint import make_tiny_checkpoint

    return make_tiny_checkpoint(tmp_path_factory.mktemp("glm-tiny") / "glm-tiny", vocab="demo")
