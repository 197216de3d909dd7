"""Run THUDM/GLM's own code on a contribution installed into its tree, and print what it builds as JSON.

    python tests/upstream_pr_harness.py classification GLM_DIR TASK DATA_DIR SPLIT N PATTERN:LENGTH ...
    python tests/upstream_pr_harness.py customization GLM_DIR DATA_DIR SPLIT N SRC_LEN TGT_LEN

Run in a process of its own (tests/test_upstream_pr.py does): upstream's `tasks` package shadows the toolkit's.
Upstream's modules import training-only packages at module level; those are replaced by empty stand-ins, as for
the golden renders (tests/fixtures/upstream_pvp/make_golden.py, whose helpers this reuses). Everything that builds
examples and token ids is upstream's code: its processors/PVP registry with the contribution registered by the
contribution's own install.py, `PVP.encode`, `CustomizationDataset.__getitem__`, and its GPT2BPETokenizer on the
RoBERTa vocabulary.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "upstream_pvp"))
import make_golden  # noqa: E402

# The seq2seq dataset module also imports unidecode (used by datasets other than customization).
EXTRA_STUBS = {"unidecode": {"unidecode": lambda text: text}}


def setup(glm_dir: Path):
    for name, attrs in EXTRA_STUBS.items():
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        sys.modules[name] = module
    tokenizer_class, dataset, pvp = make_golden.import_upstream(glm_dir)
    with tempfile.TemporaryDirectory() as workdir:
        tokenizer = make_golden.make_tokenizer(tokenizer_class, Path(workdir))
    return tokenizer, dataset, pvp


def classification(glm_dir: Path, task: str, data_dir: str, split: str, n: int, renders: list[str]) -> dict:
    tokenizer, dataset, pvp = setup(glm_dir)
    args = make_golden.upstream_args(task, "cross_entropy")
    processor = dataset.PROCESSORS[task](args)
    read = {"train": processor.get_train_examples, "dev": processor.get_dev_examples, "test": processor.get_test_examples}
    examples = read[split](data_dir)[:n]
    out = {"labels": processor.get_labels(), "examples": [make_golden.example_record(e) for e in examples],
           "available_patterns": list(pvp.PVPS[task].available_patterns()), "renders": []}  # fmt: skip
    for spec in renders:
        pattern_id, length = (int(v) for v in spec.split(":"))
        multi = pvp.PVPS[task](args, None, processor.get_labels(), length, pattern_id=pattern_id).is_multi_token
        samples = make_golden.render(pvp.PVPS[task], args, tokenizer, processor.get_labels(), length, pattern_id, split, examples)
        out["renders"].append({"pattern_id": pattern_id, "seq_length": length, "multi_token": multi, "samples": samples})
    return out


def customization(glm_dir: Path, data_dir: str, split: str, n: int, src_len: int, tgt_len: int) -> dict:
    tokenizer, _, _ = setup(glm_dir)
    from tasks.seq2seq.dataset import CustomizationDataset

    args = types.SimpleNamespace(task="customization", data_dir=data_dir, src_seq_length=src_len, tgt_seq_length=tgt_len,
                                 mask_pad_token=False, no_block_position=False, task_mask=False)  # fmt: skip
    data = CustomizationDataset(args, split, tokenizer)
    mask_id = tokenizer.get_command("MASK").Id
    samples = []
    for i in range(min(n, len(data))):
        sample = data[i]
        text = sample["text"].tolist()
        mask = text.index(mask_id)
        source = text[: mask + 2]  # upstream's source is [CLS] tokens [MASK] </s>, then padding
        record = {"guid": data.example_list[i].guid, "source_ids": source,
                  "position_ids": sample["position_id"][0][: len(source)].tolist()}  # fmt: skip
        if split == "train":
            n_target = int(sample["loss_mask"].sum())
            record["target_ids"] = sample["target"][src_len : src_len + n_target].tolist()
            record["input_after_sop"] = text[src_len : src_len + n_target]
        samples.append(record)
    return {"samples": samples}


def main() -> None:
    kind, glm_dir = sys.argv[1], Path(sys.argv[2]).resolve()
    os.chdir(glm_dir)
    if kind == "classification":
        task, data_dir, split, n = sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
        result = classification(glm_dir, task, data_dir, split, n, sys.argv[7:])
    else:
        data_dir, split, n, src_len, tgt_len = sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
        result = customization(glm_dir, data_dir, split, n, src_len, tgt_len)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
