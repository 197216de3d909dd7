"""Every bad input is a clear error naming the file, line, key or value (or an explicit, logged decision), and
nothing is written outside --save. One test per input."""

import json
import shutil
from pathlib import Path

import pytest

from conftest import ROOT
from finetune_glm import main as finetune
from scripts.make_tiny_checkpoint import make_tiny_checkpoint

DEMO = ROOT / "data" / "demo" / "ag_news"


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "glm-tiny", vocab="demo")


@pytest.fixture
def data(tmp_path) -> Path:
    """A copy of the demo data (32 train rows) to break."""
    out = tmp_path / "data"
    out.mkdir()
    for split in ("train", "dev", "test"):
        lines = (DEMO / f"{split}.jsonl").read_text().splitlines()[:32]
        (out / f"{split}.jsonl").write_text("\n".join(lines) + "\n")
    return out


def run(ckpt, save, *extra, data_dir=DEMO, name="r"):
    return finetune(["--task", "ag_news", "--data-dir", str(data_dir), "--load-pretrained", str(ckpt), "--save", str(save),
                     "--experiment-name", name, "--seq-length", "96", "--batch-size", "8", "--epochs", "1",
                     "--num-threads", "1", *map(str, extra)])


def edit_line(path: Path, number: int, change) -> None:
    lines = path.read_text().splitlines()
    record = json.loads(lines[number - 1])
    change(record)
    lines[number - 1] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")


def nothing_outside(save: Path, root: Path) -> None:
    """Only the data copy, the checkpoint and --save exist under the test's folder."""
    assert {p.name for p in root.iterdir()} <= {"data", "runs", "ckpt"}


@pytest.mark.parametrize("split", ["dev", "test"])
def test_a_partly_unlabelled_dev_or_test_split_names_the_row(tiny_ckpt, tmp_path, data, split):
    edit_line(data / f"{split}.jsonl", 7, lambda r: r.pop("label"))
    with pytest.raises(SystemExit, match=rf"{split}.jsonl:7: no label \(1 of 32 {split} examples lack one\)"):
        run(tiny_ckpt, tmp_path / "runs", data_dir=data)
    assert not (tmp_path / "runs" / "r" / "results.json").exists()  # no run was recorded
    nothing_outside(tmp_path / "runs", tmp_path)


def test_an_unlabelled_train_row_is_named_before_training(tiny_ckpt, tmp_path, data):
    edit_line(data / "train.jsonl", 3, lambda r: r.update(label=None))
    with pytest.raises(SystemExit, match=r"train.jsonl:3: no label"):
        run(tiny_ckpt, tmp_path / "runs", data_dir=data)
    assert not (tmp_path / "runs" / "r" / "results.json").exists()  # no run was recorded


def test_an_unlabelled_test_split_is_a_logged_decision(tiny_ckpt, tmp_path, data):
    lines = [json.loads(line) for line in (data / "test.jsonl").read_text().splitlines()]
    (data / "test.jsonl").write_text("".join(json.dumps({"text": r["text"]}) + "\n" for r in lines))
    res = run(tiny_ckpt, tmp_path / "runs", data_dir=data)
    assert res["test"] == {} and "the test split has no labels" in (tmp_path / "runs" / "r" / "log.txt").read_text()
    config = json.loads((tmp_path / "runs" / "r" / "config.json").read_text())
    assert config["data"]["test"]["labelled"] is False
    assert len((tmp_path / "runs" / "r" / "predictions_test.jsonl").read_text().splitlines()) == 32


@pytest.mark.parametrize("split", ["dev", "test"])
def test_an_empty_split_file_is_named_before_training(tiny_ckpt, tmp_path, data, split):
    (data / f"{split}.jsonl").write_text("")
    with pytest.raises(SystemExit, match=rf"{split}.jsonl: the {split} split has no records"):
        run(tiny_ckpt, tmp_path / "runs", data_dir=data)
    assert not (tmp_path / "runs" / "r" / "results.json").exists()  # no run was recorded


def test_non_utf8_data_names_file_and_line(tiny_ckpt, tmp_path, data):
    lines = (data / "train.jsonl").read_bytes().split(b"\n")
    lines[4] = lines[4][:12] + b"\xe9" + lines[4][12:]  # a Latin-1 e-acute
    (data / "train.jsonl").write_bytes(b"\n".join(lines))
    # the driver says it in one line (SystemExit), naming the file and line
    with pytest.raises(SystemExit, match=r"train.jsonl:5: not UTF-8 \(byte 0xe9"):
        run(tiny_ckpt, tmp_path / "runs", data_dir=data)


def broken_checkpoint(tiny_ckpt: Path, tmp_path: Path) -> Path:
    out = tmp_path / "ckpt"
    shutil.copytree(tiny_ckpt, out)
    return out


def test_config_missing_num_attention_heads_is_an_error_not_a_default(tiny_ckpt, tmp_path):
    ckpt = broken_checkpoint(tiny_ckpt, tmp_path)
    config = json.loads((ckpt / "config.json").read_text())
    del config["num_attention_heads"]
    (ckpt / "config.json").write_text(json.dumps(config))
    with pytest.raises(Exception, match=r"config.json: key 'num_attention_heads' is missing"):
        run(ckpt, tmp_path / "runs")


def test_invalid_config_json_names_the_file(tiny_ckpt, tmp_path):
    ckpt = broken_checkpoint(tiny_ckpt, tmp_path)
    (ckpt / "config.json").write_text('{"hidden_size": 64,')
    with pytest.raises(Exception, match=r"ckpt/config.json: not valid JSON"):
        run(ckpt, tmp_path / "runs")


@pytest.mark.parametrize("damage", ["truncated", "garbled"])
def test_a_broken_safetensors_file_names_the_file(tiny_ckpt, tmp_path, damage):
    ckpt = broken_checkpoint(tiny_ckpt, tmp_path)
    weights = ckpt / "model.safetensors"
    raw = weights.read_bytes()
    weights.write_bytes(raw[: len(raw) // 2] if damage == "truncated" else b"\x00garbage" + raw[8:])
    with pytest.raises(Exception, match=r"ckpt/model.safetensors: not a readable safetensors file"):
        run(ckpt, tmp_path / "runs")


def test_load_of_a_run_with_another_head_is_refused(tiny_ckpt, tmp_path):
    run(tiny_ckpt, tmp_path / "runs", "--max-train-examples", "16", name="cloze")
    with pytest.raises(SystemExit, match=r"holds no values for .* parameters this run trains \(head\."):
        run(tiny_ckpt, tmp_path / "runs", "--no-cloze-eval", "--epochs", "0", "--load", tmp_path / "runs" / "cloze",
            name="linear")


@pytest.mark.parametrize("name", ["../outside", "/tmp/abs-run", "a/../../b", "."])
def test_experiment_names_stay_inside_save(tiny_ckpt, tmp_path, name):
    save = tmp_path / "runs" / "inner"
    with pytest.raises(SystemExit, match="must be a relative name inside --save"):
        run(tiny_ckpt, save, name=name)
    assert not (tmp_path / "runs" / "outside").exists() and not Path("/tmp/abs-run").exists()
    assert not save.exists() or not any(save.iterdir())


@pytest.mark.parametrize("name", ["../escape", "/abs"])
def test_sweep_names_stay_inside_the_save_dir(tmp_path, name):
    from analysis.sweep import SpecError, build_sweep

    with pytest.raises(SpecError, match="must be a relative name inside"):
        build_sweep({"name": name, "save_dir": str(tmp_path), "grid": {"lr": [1]}}, "spec.yaml")


def test_a_mistyped_local_checkpoint_path_is_not_a_hub_request(tmp_path, monkeypatch):
    import huggingface_hub

    def no_hub(*a, **k):
        raise AssertionError("the hub was asked")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", no_hub)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "checkpoints").mkdir()
    from finetune_glm import resolve_checkpoint

    for typo in ("checkpoints/glm-tyni", "./glm-tiny", "/nowhere/glm-tiny", "a/b/c"):
        with pytest.raises(SystemExit, match=rf"--load-pretrained '{typo}': no such directory"):
            resolve_checkpoint(typo)


def test_abbreviated_flags_are_refused(tiny_ckpt, tmp_path, capsys):
    with pytest.raises(SystemExit):
        run(tiny_ckpt, tmp_path / "runs", "--warm", "0.1")
    assert "unrecognized arguments: --warm 0.1" in capsys.readouterr().err


def test_a_200000_token_example_is_truncated_by_the_same_rule():
    from benchmarks.bench_truncation import token_by_token
    from tasks.base import truncate

    # Upstream's token-by-token rule, kept exactly: the longer side loses tokens first, ties go to b.
    for parts_a, parts_b, n in [([([1, 2, 3, 4, 5], True), ([9], False)], [([6, 7, 8], True)], 6),
                                ([([1, 2], True), ([3, 4, 5], True)], [([6], True), ([7, 8, 9, 10], True)], 5)]:
        assert truncate(parts_a, parts_b, n) == token_by_token(parts_a, parts_b, n)
    # The length that once ran for minutes (each cut copied its part); the ratio is in benchmarks/bench_truncation.py.
    a, b = truncate([(list(range(200_000)), True), ([1, 2], False)], [(list(range(100_000)), True)], 64)
    assert sum(len(x) for x, _ in a + b) == 64 and a[1] == ([1, 2], False)
