"""The baselines end to end, offline, on tiny random RoBERTa / BART / T5 models built here and saved in the Hugging
Face layout, so the production path (from_pretrained of a local directory) is what runs. A tiny GLM run on the
same data is the reference for the run-directory format and the data splits."""

import json
import shutil
from pathlib import Path

import pytest
import torch
from transformers import (
    BartConfig,
    BartForConditionalGeneration,
    BartTokenizerFast,
    PreTrainedTokenizerFast,
    RobertaConfig,
    RobertaForMaskedLM,
    RobertaTokenizerFast,
    T5Config,
    T5ForConditionalGeneration,
)

from conftest import ROOT, TOKENIZER_DIR
from finetune_baseline import BASELINE_NAMES
from finetune_baseline import build_parser as baseline_parser
from finetune_baseline import main as finetune_baseline
from finetune_glm import build_parser as glm_parser
from finetune_glm import main as finetune_glm
from scripts.make_tiny_checkpoint import demo_corpus, make_tiny_checkpoint
from training.baselines import BASELINES, IGNORE_INDEX, LabelTextScorer, Seq2SeqLM, label_text, pad_inputs

DEMO = ROOT / "data" / "demo" / "ag_news"
RUN_FILES = ["best/model.safetensors", "config.json", "log.txt", "metrics.jsonl", "predictions_dev.jsonl",
             "predictions_test.jsonl", "results.json"]
# finetune_glm.py flags about GLM itself or its prompts; every other flag of it a baseline run records too.
GLM_ONLY_ARGS = {"pattern_id", "prompt", "allow_non_original", "list_prompts", "cloze_eval", "multi_token_layout",
                 "ptuning_v2", "pre_seq_len", "prefix_projection", "prefix_hidden_size", "load_pretrained",
                 "tokenizer_dir", "mask_id", "gelu", "max_position_embeddings"}


# ---------------------------------------------------------------------------------------------- tiny models
def roberta_bpe(cls):
    """The real RoBERTa byte-level BPE (the vocabulary glm-roberta-large shares with roberta-large and BART)."""
    tok = cls(vocab=str(TOKENIZER_DIR / "vocab.json"), merges=str(TOKENIZER_DIR / "merges.txt"))
    assert len(tok) == 50265 and tok.tokenize(" Sports") == ["ĠSports"]  # not the empty tokenizer of a wrong keyword
    return tok


def tiny_roberta(out: Path) -> Path:
    tok = roberta_bpe(RobertaTokenizerFast)
    tok.save_pretrained(out)
    torch.manual_seed(0)
    config = RobertaConfig(vocab_size=len(tok), hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                           intermediate_size=128, max_position_embeddings=130)
    RobertaForMaskedLM(config).save_pretrained(out)  # a pretraining checkpoint, as on the hub: no classifier yet
    return out


def tiny_bart(out: Path) -> Path:
    tok = roberta_bpe(BartTokenizerFast)
    tok.save_pretrained(out)
    torch.manual_seed(0)
    config = BartConfig(vocab_size=len(tok), d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=128)
    BartForConditionalGeneration(config).save_pretrained(out)
    return out


def tiny_t5(out: Path) -> Path:
    """A Unigram tokenizer trained on the demo data with T5's specials (<pad> 0, </s> 1, <unk> 2; </s> closes every
    text) and a T5 with two layers each side."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=1000, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>",
                                      show_progress=False)
    tok.train_from_iterator(demo_corpus() + ["ag_news: dbpedia_14: customization:"] * 20, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    assert fast("Sports").input_ids[-1] == fast.eos_token_id and len(fast) > 100
    fast.save_pretrained(out)
    torch.manual_seed(0)
    config = T5Config(vocab_size=len(fast), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=4,
                      pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    T5ForConditionalGeneration(config).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {"roberta": tiny_roberta(root / "roberta"), "bart": tiny_bart(root / "bart"), "t5": tiny_t5(root / "t5")}


# ---------------------------------------------------------------------------------------------- runs
COMMON = ["--task", "ag_news", "--data-dir", str(DEMO), "--seq-length", "96", "--batch-size", "16", "--warmup", "0.1",
          "--log-interval", "1"]


def baseline_run(models, save: Path, name: str, baseline: str, *extra) -> dict:
    return finetune_baseline(["--baseline", baseline, "--model-name-or-path", str(models[baseline]), "--save", str(save),
                              "--experiment-name", name, *COMMON, *map(str, extra)])


@pytest.fixture(scope="module")
def glm_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("glm")
    ckpt = make_tiny_checkpoint(root / "glm-tiny", vocab="demo")
    finetune_glm(["--load-pretrained", str(ckpt), "--save", str(root), "--experiment-name", "glm", *COMMON,
                  "--epochs", "1", "--lr", "1e-3", "--max-train-examples", "32"])
    return root / "glm"


@pytest.fixture(scope="module")
def runs(models, tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    """RoBERTa trained to learn the demo task; BART and T5 for one short epoch (their plumbing)."""
    save = tmp_path_factory.mktemp("runs")
    return {
        "roberta": (save / "roberta", baseline_run(models, save, "roberta", "roberta", "--epochs", 5, "--lr", 2e-3)),
        "bart": (save / "bart", baseline_run(models, save, "bart", "bart", "--epochs", 1, "--lr", 1e-3, "--max-train-examples", 48)),
        "t5": (save / "t5", baseline_run(models, save, "t5", "t5", "--epochs", 1, "--lr", 1e-3, "--max-train-examples", 48)),
    }


def read_json(path: Path):
    return json.loads(path.read_text())


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def files(run_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file())


# ---------------------------------------------------------------------------------------------- tests
def test_tiny_roberta_learns_the_demo_task(runs):
    run_dir, res = runs["roberta"]
    assert res["status"] == "finished"
    assert res["best"]["dev"]["accuracy"] >= 0.9, res
    assert res["test"]["accuracy"] >= 0.85, res
    losses = [e["loss"] for e in read_lines(run_dir / "metrics.jsonl") if e["event"] == "train"]
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("baseline, method", [("roberta", "roberta_linear"), ("bart", "bart_linear"), ("t5", "t5")])
def test_run_directory_has_the_glm_run_format(runs, glm_dir, baseline, method):
    run_dir, res = runs[baseline]
    assert files(run_dir) == files(glm_dir) == RUN_FILES
    cfg, glm_cfg = read_json(run_dir / "config.json"), read_json(glm_dir / "config.json")
    assert list(cfg) == list(glm_cfg)
    assert set(glm_cfg["args"]) - GLM_ONLY_ARGS <= set(cfg["args"])
    assert cfg["args"]["method"] == method and cfg["args"]["baseline"] == baseline
    assert cfg["model"]["model_type"] == baseline
    data, glm_data = dict(cfg["data"]), dict(glm_cfg["data"])
    sizes, glm_sizes = data.pop("sizes"), glm_data.pop("sizes")
    assert data == glm_data  # the same split files and split records
    assert sizes["dev"] == glm_sizes["dev"] and sizes["test"] == glm_sizes["test"]  # train: --max-train-examples differs

    results, glm_results = read_json(run_dir / "results.json"), read_json(glm_dir / "results.json")
    assert results == res
    assert list(results) == list(glm_results)
    assert list(results["best"]) == list(glm_results["best"])
    assert list(results["best"]["dev"]) == list(glm_results["best"]["dev"]) == ["accuracy", "macro_f1"]
    assert list(results["test"]) == list(glm_results["test"])

    def event_kinds(path: Path) -> set[frozenset[str]]:  # the keys of each kind of line (train, dev eval, test eval)
        return {frozenset(e) for e in read_lines(path)}

    assert event_kinds(run_dir / "metrics.jsonl") == event_kinds(glm_dir / "metrics.jsonl")

    for split in ("dev", "test"):
        rows, glm_rows = read_lines(run_dir / f"predictions_{split}.jsonl"), read_lines(glm_dir / f"predictions_{split}.jsonl")
        assert [r["guid"] for r in rows] == [r["guid"] for r in glm_rows]  # the same examples in the same order
        assert [r["label"] for r in rows] == [r["label"] for r in glm_rows]
        assert set(rows[0]) == set(glm_rows[0]) and len(rows[0]["scores"]) == 4
        accuracy = sum(r["label"] == r["prediction"] for r in rows) / len(rows)
        assert accuracy == pytest.approx(results["best"]["dev"]["accuracy"] if split == "dev" else results["test"]["accuracy"])


def test_same_stratified_dev_split_as_glm(models, glm_dir, tmp_path):
    """Without a dev file both drivers hold out the same seeded, stratified part of train."""
    data = tmp_path / "data"
    data.mkdir()
    for split in ("train", "test"):
        shutil.copy(DEMO / f"{split}.jsonl", data / f"{split}.jsonl")
    split_args = ["--task", "ag_news", "--data-dir", str(data), "--epochs", "0", "--dev-fraction", "0.2", "--data-seed", "5",
                  "--save", str(tmp_path), "--seq-length", "96"]
    finetune_glm(["--load-pretrained", str(glm_dir.parent / "glm-tiny"), "--experiment-name", "glm", *split_args])
    finetune_baseline(["--baseline", "t5", "--model-name-or-path", str(models["t5"]), "--experiment-name", "t5", *split_args])
    glm_cfg, cfg = read_json(tmp_path / "glm" / "config.json"), read_json(tmp_path / "t5" / "config.json")
    assert cfg["data"] == glm_cfg["data"] and cfg["data"]["sizes"] == {"train": 320, "dev": 80, "test": 100}
    guids = [r["guid"] for r in read_lines(tmp_path / "t5" / "predictions_dev.jsonl")]
    assert guids == [r["guid"] for r in read_lines(tmp_path / "glm" / "predictions_dev.jsonl")]
    assert len(guids) == 80 and all(g.startswith("train-") for g in guids)


def test_epochs_zero_with_load_reproduces_best_dev(models, runs, tmp_path):
    run_dir, res = runs["roberta"]
    again = baseline_run(models, tmp_path, "eval", "roberta", "--epochs", 0, "--load", run_dir)
    assert again["best"]["dev"] == res["best"]["dev"] and again["test"] == res["test"]


def test_label_text_scores_are_hf_log_likelihoods(models):
    """Scoring every label text with one shared encoder pass equals HF's own loss on each (input, label text)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(models["t5"])
    model = T5ForConditionalGeneration.from_pretrained(models["t5"]).eval()
    texts = [label_text(label) for label in ("World", "Sports", "Business", "Sci/Tech")]
    targets = [tok(text_target=t).input_ids for t in texts]
    width = max(map(len, targets))
    candidates = torch.tensor([t + [IGNORE_INDEX] * (width - len(t)) for t in targets])
    sources = [tok("ag_news: The team won the game on Sunday.").input_ids, tok("ag_news: Shares rose.").input_ids]
    batch = {**pad_inputs(sources, tok.pad_token_id), "labels": torch.tensor([1, 2])}
    scorer = LabelTextScorer(model, candidates).eval()
    with torch.no_grad():
        scores, loss = scorer(batch)
        for i, src in enumerate(sources):
            for j, target in enumerate(targets):
                hf = model(input_ids=torch.tensor([src]), labels=torch.tensor([target])).loss  # mean over tokens
                assert scores[i, j].item() == pytest.approx(-hf.item() * len(target), abs=1e-4)
        gold = [targets[1], targets[2]]
        expected = -(scores[0, 1] + scores[1, 2]) / sum(map(len, gold))
        assert loss.item() == pytest.approx(expected.item(), abs=1e-5)
    # training mode decodes the gold texts only; without dropout its loss is the same number
    no_dropout = T5ForConditionalGeneration.from_pretrained(models["t5"], dropout_rate=0.0)
    _, train_loss = LabelTextScorer(no_dropout, candidates).train()(batch)
    assert train_loss.item() == pytest.approx(loss.item(), abs=1e-5)
    assert label_text("EducationalInstitution") == "Educational Institution" and label_text("Sci/Tech") == "Sci/Tech"


@pytest.mark.parametrize("baseline", ["bart", "t5"])
def test_seq2seq_loss_is_hf_loss_without_smoothing(models, baseline):
    from transformers import AutoTokenizer

    cls = {"bart": BartForConditionalGeneration, "t5": T5ForConditionalGeneration}[baseline]
    tok = AutoTokenizer.from_pretrained(models[baseline])
    model = cls.from_pretrained(models[baseline]).eval()
    sources = [tok("Convert: red fox seven").input_ids, tok("The team won the game").input_ids]
    targets = [tok(text_target="7 red foxes").input_ids, tok(text_target="won").input_ids]
    width = max(map(len, targets))
    labels = torch.tensor([t + [IGNORE_INDEX] * (width - len(t)) for t in targets])
    batch = {**pad_inputs(sources, tok.pad_token_id), "labels": labels}
    with torch.no_grad():
        _, loss = Seq2SeqLM(model)(batch)
        hf = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels)
        _, smoothed = Seq2SeqLM(model, label_smoothing=0.1)(batch)
    assert loss.item() == pytest.approx(hf.loss.item(), abs=1e-5)
    # GLM's smoothing: (1 - eps) * NLL + eps * mean over the vocabulary of -log p, averaged over target tokens
    logp, real = hf.logits.log_softmax(-1), labels != IGNORE_INDEX
    nll = -logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)[real].mean()
    assert smoothed.item() == pytest.approx((0.9 * nll + 0.1 * -logp.mean(-1)[real].mean()).item(), abs=1e-5)


def test_seq2seq_baselines_end_to_end(models, tmp_path):
    pytest.importorskip("tasks.seq2seq.datasets")
    data = ROOT / "data" / "demo" / "seq2seq"
    for baseline in ("t5", "bart"):
        res = finetune_baseline(["--baseline", baseline, "--model-name-or-path", str(models[baseline]), "--task", "customization",
                                 "--data-dir", str(data), "--save", str(tmp_path), "--experiment-name", baseline,
                                 "--src-seq-length", "16", "--tgt-seq-length", "8", "--epochs", "1", "--lr", "1e-3",
                                 "--batch-size", "16", "--max-train-examples", "64", "--eval-max-examples", "10"])
        assert res["status"] == "finished" and list(res["test"])[0] == "rougeL"
        cfg = read_json(tmp_path / baseline / "config.json")
        assert cfg["args"]["method"] == baseline
        assert len(read_lines(tmp_path / baseline / "predictions_dev.jsonl")) == 10
        rows = read_lines(tmp_path / baseline / "predictions_test.jsonl")
        assert [r["guid"] for r in rows] == [f"test-{i}" for i in range(50)] and {"label", "prediction"} <= set(rows[0])


# ---------------------------------------------------------------------------------------------- flags and errors
def test_baseline_flags_match_the_glm_driver():
    """A flag both drivers have has the same default there, so equal command lines mean equal settings."""
    glm = {a.dest: a for a in glm_parser()._actions}
    own = {a.dest: a for a in baseline_parser()._actions}
    shared = set(glm) & set(own) - {"help", "output_dropout"}  # the head's dropout: the checkpoint's by default
    assert {"task", "data_dir", "seq_length", "lr", "batch_size", "epochs", "warmup", "weight_decay", "lr_decay_style",
            "seed", "experiment_name", "save", "fp16", "bf16", "eval_batch_size", "max_train_examples"} <= shared
    assert {d: own[d].default for d in shared} == {d: glm[d].default for d in shared}
    assert {d: own[d].option_strings for d in shared} == {d: glm[d].option_strings for d in shared}
    assert BASELINE_NAMES == tuple(BASELINES)


def test_unknown_baseline(capsys):
    with pytest.raises(SystemExit):
        finetune_baseline(["--baseline", "gpt2", "--task", "ag_news"])
    assert "invalid choice: 'gpt2'" in capsys.readouterr().err


def test_roberta_cannot_generate():
    with pytest.raises(SystemExit, match="cannot generate.*--baseline bart or --baseline t5"):
        BASELINES["roberta"].method("seq2seq")


def test_seq2seq_task_with_roberta_stops_before_writing(tmp_path):
    pytest.importorskip("tasks.seq2seq.datasets")
    with pytest.raises(SystemExit, match="cannot generate"):
        finetune_baseline(["--baseline", "roberta", "--task", "samsum", "--save", str(tmp_path)])
    assert not any(tmp_path.iterdir())


def test_unknown_task(tmp_path):
    with pytest.raises(SystemExit, match="unknown task 'nope'; available: .*ag_news"):
        finetune_baseline(["--baseline", "t5", "--task", "nope", "--save", str(tmp_path)])


def test_hub_name_offline_says_how_to_pass_a_directory(tmp_path):
    with pytest.raises(SystemExit, match=r"not a local directory .*--model-name-or-path DIR"):
        finetune_baseline(["--baseline", "roberta", "--task", "ag_news", "--data-dir", str(DEMO), "--save", str(tmp_path),
                           "--model-name-or-path", "no-such-org/no-such-model"])


@pytest.mark.parametrize("baseline, model, extra, message", [
    ("roberta", "t5", [], "needs a roberta checkpoint, but .* is a 't5' model"),
    ("roberta", "roberta", ["--seq-length", "200"], "--seq-length 200 is longer than the 128 positions"),
    ("t5", "t5", ["--output-dropout", "0.1"], "the t5 method has no such head"),
])
def test_bad_model_settings(models, tmp_path, baseline, model, extra, message):
    with pytest.raises(SystemExit, match=message):
        finetune_baseline(["--baseline", baseline, "--model-name-or-path", str(models[model]), "--task", "ag_news",
                           "--data-dir", str(DEMO), "--save", str(tmp_path), *extra])
