#!/usr/bin/env python
"""Export a LoRA run: the updates merged into the base weights (an ordinary GLM checkpoint), or the adapter alone in
the `peft` library's format.

    python scripts/export_lora.py runs/RUN --out exported/RUN            # merged: config.json + model.safetensors
    python scripts/export_lora.py runs/RUN --out adapters/RUN --adapter  # adapter_model.safetensors + adapter_config.json

The run's config.json names the base checkpoint and the LoRA settings; its best/model.safetensors holds the trained
adapter. The merged checkpoint loads wherever a GLM checkpoint does (`--load-pretrained`, model.checkpoint.load_glm)
and computes what the adapted model computed. Only the backbone is exported: a linear head's weights stay in the run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from safetensors.torch import load_file  # noqa: E402

from model.checkpoint import load_glm, save_hf  # noqa: E402
from model.peft import LoraConfig, load_tensors  # noqa: E402
from model.peft.lora import merge_lora, save_peft_adapter  # noqa: E402
from training.config import peft_config  # noqa: E402


def lora_backbone(run: Path):
    """The run's base model with its trained LoRA adapter loaded."""
    config_path = run / "config.json"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        args, model_cfg = config["args"], config["model"]
    except (OSError, ValueError, KeyError) as err:
        raise SystemExit(f"{config_path}: not a run's config.json ({type(err).__name__}: {err})") from None
    lora = peft_config(argparse.Namespace(**args))
    if not isinstance(lora, LoraConfig):
        raise SystemExit(f"{run} is not a LoRA run (its method is {config.get('identity', {}).get('method', '?')})")
    backbone = load_glm(args["load_pretrained"], gelu=model_cfg["gelu"], max_sequence_length=model_cfg["max_sequence_length"])
    lora.apply(backbone)
    best = run / "best" / "model.safetensors"
    saved = load_file(str(best))
    adapter = {k.removeprefix("backbone."): v for k, v in saved.items() if ".lora_" in k}
    if not adapter:
        raise SystemExit(f"{best} holds no LoRA parameters")
    load_tensors(backbone, adapter, str(best))
    return backbone, args


def main(argv: list[str] | None = None) -> Path:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path, help="a finished LoRA run directory")
    p.add_argument("--out", type=Path, required=True, help="where to write the export")
    p.add_argument("--adapter", action="store_true", help="write the adapter in peft's format instead of merging")
    a = p.parse_args(argv)
    backbone, args = lora_backbone(a.run)
    if a.adapter:
        save_peft_adapter(backbone, a.out)
    else:
        save_hf(merge_lora(backbone.eval()), a.out, tokenizer_dir=args.get("tokenizer_dir") or args["load_pretrained"])
    print(a.out)
    return a.out


if __name__ == "__main__":
    main()
