"""promptsource tasks on data as users have it: CSV, parquet, save_to_disk folders, renamed fields and reordered
classes, conditional templates, carved test splits, the metrics templates declare, and the drivers and scripts
around them. The files are small ones written in each data set's Hugging Face schema (data/demo/anydata, by
scripts/make_demo_anydata.py, or written here)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from tasks.data_io import DataError
from tasks.promptsource import make_promptsource_task, task_spec
from tasks.promptsource.schema import SchemaOptions, field_use, parse_field_map, parse_label_names
from tasks.registry import DataOptions, resolve

DEMO = ROOT / "data" / "demo" / "anydata"


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


REVIEWS = [{"text": "A dull and tedious film.", "label": 0}, {"text": "A warm, witty and moving story.", "label": 1},
           {"text": "Flat and lifeless.", "label": 0}, {"text": "Brilliant from start to finish.", "label": 1}]


def rotten(tmp_path: Path, rows: list[dict] | None = None, *, test: list[dict] | None = None, **kwargs):
    rows = rows if rows is not None else REVIEWS
    write_csv(tmp_path / "train.csv", rows)
    write_csv(tmp_path / "test.csv", test if test is not None else rows)
    return make_promptsource_task("rotten_tomatoes", kwargs.pop("tokenizer"), 64, kwargs.pop("prompt", "Movie Expressed Sentiment"),
                                  data_dir=str(tmp_path), **kwargs)


# ------------------------------------------------------------------------------------------ label typing
def test_csv_labels_are_read_as_the_class_ids_they_are(tokenizer, tmp_path):
    task = rotten(tmp_path, tokenizer=tokenizer)
    examples = task.get_test_examples()
    assert [e.label for e in examples] == ["0", "1", "0", "1"]
    assert [e.meta["row"]["label"] for e in examples] == [0, 1, 0, 1]  # ints, as the template indexes with them
    assert task.pvp.get_answers(examples[1]) == [" negative", " positive"]


def test_the_demo_csv_files_read_the_same_as_jsonl(tokenizer, tmp_path):
    for split in ("train", "validation", "test"):
        with (DEMO / "rotten_tomatoes" / f"{split}.csv").open(encoding="utf-8") as f:
            write_jsonl(tmp_path / f"{split}.jsonl", [{"text": r["text"], "label": int(r["label"])} for r in csv.DictReader(f)])
    from_jsonl = make_promptsource_task("rotten_tomatoes", tokenizer, 64, 0, data_dir=str(tmp_path)).get_train_examples()
    from_csv = make_promptsource_task("rotten_tomatoes", tokenizer, 64, 0, data_dir=str(DEMO / "rotten_tomatoes")).get_train_examples()
    assert [(e.text_a, e.label) for e in from_csv] == [(e.text_a, e.label) for e in from_jsonl]


def test_label_names_are_accepted_when_declared(tokenizer, tmp_path):
    named = [dict(r, label=["neg", "pos"][r["label"]]) for r in REVIEWS]
    with pytest.raises(DataError, match=r"train\.csv:2: label 'label' is 'neg', neither an integer id nor a label name.*--label-names"):
        rotten(tmp_path, named, tokenizer=tokenizer).get_train_examples()
    task = rotten(tmp_path, named, tokenizer=tokenizer, schema=SchemaOptions(label_names=parse_label_names(["neg,pos"])))
    assert [e.label for e in task.get_test_examples()] == ["0", "1", "0", "1"]


@pytest.mark.parametrize("value,message", [
    (2, r"train\.csv:4: label label=2 is outside template 'Movie Expressed Sentiment''s 2 answer choices \(0=negative, 1=positive\)"),
    (-1, r"train\.csv:4: the row has no label \(label='-1'\)"),
    ("", r"train\.csv:4: the row has no label \(label=''\)"),
    ("0.5", r"train\.csv:4: label 'label' is '0.5', neither"),
])
def test_bad_labels_are_errors_naming_file_and_line(tokenizer, tmp_path, value, message):
    rows = [dict(r) for r in REVIEWS]
    rows[2]["label"] = value
    with pytest.raises(DataError, match=message):
        rotten(tmp_path, rows, tokenizer=tokenizer).get_train_examples()


def test_a_float_label_in_jsonl_is_an_error(tokenizer, tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [dict(REVIEWS[0], label=1.0)])
    with pytest.raises(DataError, match=r"train\.jsonl:1: label 'label' is the number 1\.0"):
        make_promptsource_task("rotten_tomatoes", tokenizer, 64, 0, data_dir=str(tmp_path)).get_train_examples()


def test_unlabelled_test_rows_are_an_error_not_left_out_of_the_metrics(tokenizer, tmp_path):
    task = rotten(tmp_path, tokenizer=tokenizer, test=[dict(REVIEWS[0]), dict(REVIEWS[1], label=-1)])
    with pytest.raises(DataError, match=r"test\.csv:3: the row has no label.*--test-fraction"):
        task.get_test_examples()


def test_empty_text_is_refused(tokenizer, tmp_path):
    rows = [dict(r) for r in REVIEWS]
    rows[1]["text"] = "   "
    with pytest.raises(DataError, match=r"train\.csv:3: field 'text' is empty"):
        rotten(tmp_path, rows, tokenizer=tokenizer).get_train_examples()


def test_label_fields_are_read_from_the_template():
    from tasks.promptsource import load_templates

    trec = field_use(load_templates("trec")["fine_grained_ABBR"])  # {% if label_coarse == 2 %} ... mapping[label_fine]
    assert trec.integer == {"label_coarse", "label_fine"} and trec.choice_index == set()
    rt = field_use(load_templates("rotten_tomatoes")["Movie Expressed Sentiment"])
    assert rt.reads == {"text", "label"} and rt.choice_index == {"label"}


# ------------------------------------------------------------------------------------------ schema drift
def test_trec_in_todays_hub_schema_is_renamed_and_mapped_by_class_name(tokenizer):
    task = make_promptsource_task("trec", tokenizer, 64, "trec1", data_dir=str(DEMO / "trec"))
    rows = [json.loads(line) for line in (DEMO / "trec" / "train.jsonl").read_text().splitlines()]
    hub_names = ["ABBR", "ENTY", "DESC", "HUM", "LOC", "NUM"]
    words = {"ABBR": "Abbreviation", "ENTY": "Entity", "DESC": "Description", "HUM": "Person", "LOC": "Location", "NUM": "Quantity"}
    for example, row in zip(task.get_train_examples(), rows):
        assert task.pvp.prompt.label_words[int(example.label)] == words[hub_names[row["coarse_label"]]]
    record = task.processor.data_record["schema"]
    assert record["field_map"] == {"coarse_label": "label_coarse"}
    assert record["label_order"]["label_coarse"]["template"] == ["DESC", "ENTY", "ABBR", "HUM", "NUM", "LOC"]


def test_renaming_alone_would_mislabel_so_a_fine_label_template_needs_the_order(tokenizer):
    with pytest.raises(DataError, match=r"reads 'label_fine'.*--template-label-names label_fine="):
        make_promptsource_task("trec", tokenizer, 64, "fine_grained_open", data_dir=str(DEMO / "trec")).get_train_examples()


def test_field_map_and_declared_orders(tokenizer, tmp_path):
    rows = [{"sentence": r["text"], "stars": r["label"]} for r in REVIEWS]
    write_jsonl(tmp_path / "train.jsonl", rows)
    write_jsonl(tmp_path / "test.jsonl", rows)
    schema = SchemaOptions(field_map=parse_field_map(["sentence=text,stars=label"]),
                           label_names=parse_label_names(["label=pos_is_0,neg_is_1"]),
                           template_label_names=parse_label_names(["neg_is_1,pos_is_0"]))
    task = make_promptsource_task("rotten_tomatoes", tokenizer, 64, 0, data_dir=str(tmp_path), schema=schema)
    # the data calls class 0 what the template calls class 1: every label flips
    assert [e.label for e in task.get_test_examples()] == ["1", "0", "1", "0"]
    with pytest.raises(DataError, match=r"--field-map nope=text: the data has no field 'nope'"):
        make_promptsource_task("rotten_tomatoes", tokenizer, 64, 0, data_dir=str(tmp_path),
                               schema=SchemaOptions(field_map=parse_field_map(["nope=text"]))).get_train_examples()
    with pytest.raises(ValueError, match="write OLD=NEW"):
        parse_field_map(["text"])


# ------------------------------------------------------------------------------------------ formats
def test_parquet_keeps_the_data_sets_class_labels(tokenizer, tmp_path):
    from tasks.data_io import split_label_names

    assert split_label_names(DEMO / "financial_phrasebank" / "train.parquet") == {"label": ("negative", "neutral", "positive")}
    task = make_promptsource_task("financial_phrasebank/sentences_allagree", tokenizer, 64, "sentiment",
                                  data_dir=str(DEMO / "financial_phrasebank"), test_fraction=0.2)
    test = task.get_test_examples()
    train = task.get_train_examples()
    assert len(test) == 30 and len(train) + len(task.get_dev_examples()) == 120
    record = task.processor.data_record["test"]
    assert record["fraction"] == 0.2 and record["seed"] == 42 and record["label_counts"]["test"] == {"0": 10, "1": 10, "2": 10}
    again = make_promptsource_task("financial_phrasebank/sentences_allagree", tokenizer, 64, "sentiment",
                                   data_dir=str(DEMO / "financial_phrasebank"), test_fraction=0.2)
    assert [e.guid for e in again.get_test_examples()] == [e.guid for e in test]  # seeded


def test_test_fraction_replaces_an_existing_test_split_and_says_so(tokenizer, tmp_path, caplog):
    unlabelled = [dict(r, label=-1) for r in REVIEWS]  # as hub test splits often are
    task = rotten(tmp_path, REVIEWS * 2, test=unlabelled, tokenizer=tokenizer, test_fraction=0.25)
    with caplog.at_level("WARNING"):
        test = task.get_test_examples()
    assert len(test) == 2 and {e.label for e in test} == {"0", "1"}
    assert task.processor.data_record["test"]["replaces"].endswith("test.csv")
    assert any("test.csv is not used" in m for m in caplog.messages)


def test_save_to_disk_folders_and_skipping_uncovered_rows(tokenizer):
    data = str(DEMO / "hate_speech18")
    with pytest.raises(DataError, match=r"hate_speech18/train row 3: template 'hate_or_noHate_sentiment_analysis' does not "
                                        r"cover this row.*--skip-uncovered.*no other original-task template"):
        make_promptsource_task("hate_speech18", tokenizer, 64, 0, data_dir=data).get_train_examples()
    task = make_promptsource_task("hate_speech18", tokenizer, 64, 0, data_dir=data, skip_uncovered=True)
    train = task.get_train_examples()
    skipped = task.processor.data_record["skipped_uncovered"]["train"]
    assert skipped == {"skipped": 20, "of": 100, "first": skipped["first"]} and skipped["first"][0].endswith("train row 3")
    assert len(train) == 80 and {e.label for e in train} == {"0", "1"}


# ------------------------------------------------------------------------------------------ metrics
def test_metrics_follow_what_the_template_declares():
    assert task_spec("squad", prompt="answer_the_question").metrics == ("squad_f1", "squad_em")
    assert task_spec("super_glue", "copa", prompt="best_option").metrics == ("accuracy",)  # positions: no macro-F1
    assert task_spec("ag_news", prompt="classify").metrics == ("accuracy", "macro_f1")
    stsb = task_spec("glue", "stsb", prompt="rate")
    assert stsb.kind == "generation" and stsb.metrics == ("pearson", "spearman")
    fin = task_spec("financial_phrasebank", "sentences_allagree", prompt="sentiment")
    assert fin.metrics == ("accuracy", "macro_f1") and fin.unsupported_metrics == ("Other",)


def test_text_metrics_squad_and_correlations():
    from tasks.seq2seq.metrics import text_metrics

    squad = text_metrics(("squad_f1", "squad_em"), ["The Oran", "river Calder"], ["Oran", "Calder"])
    assert squad["squad_em"] == 0.5 and squad["squad_f1"] == pytest.approx((1 + 2 / 3) / 2)
    corr = text_metrics(("pearson", "spearman"), ["1.0", "2", "about 3", "no idea"], ["1", "2", "3", "4"])
    assert corr["numeric_rate"] == 0.75 and -1 <= corr["pearson"] <= 1
    assert text_metrics(("spearman",), ["1", "2", "3"], ["10", "20", "30"])["spearman"] == pytest.approx(1.0)


def test_spearman_and_pearson_by_hand():
    from tasks.metrics import pearson_r, spearman_r

    assert pearson_r([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson_r([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert spearman_r([1, 2, 3, 4], [1, 4, 9, 16]) == pytest.approx(1.0)  # monotone, not linear
    assert spearman_r([1, 1, 2], [1, 2, 3]) == pytest.approx(pearson_r([1.5, 1.5, 3], [1, 2, 3]))  # ties share ranks


# ------------------------------------------------------------------------------------------ listing
def test_list_prompts_checks_templates_on_the_data_and_marks_broken_ones(tokenizer, tmp_path):
    rows = [{"text": f"i feel so {w} today", "label": i % 6} for i, w in enumerate(["sad", "glad", "fond", "cross", "scared", "amazed"] * 2)]
    write_jsonl(tmp_path / "train.jsonl", rows)
    entry = resolve("promptsource:emotion")
    listings = entry.check_prompts(entry.prompts(tokenizer), DataOptions(str(tmp_path)), tokenizer)
    status = {p.name: p.status for p in listings}
    assert status["select_emotion_label_from_list"].startswith("BROKEN:") and "\"sadness'\"" in status["select_emotion_label_from_list"]
    assert status["answer_with_class_label"] == "ok on 12 of 12 sample rows"
    assert all(p.fields == ("label", "text") for p in listings)


# ------------------------------------------------------------------------------------------ drivers
def test_driver_reports_bad_data_in_one_line_and_marks_the_run_failed(tmp_path, capsys, glm_tiny):
    import finetune_glm

    write_csv(tmp_path / "train.csv", REVIEWS)
    write_csv(tmp_path / "test.csv", [dict(REVIEWS[0], label=7)])
    with pytest.raises(SystemExit) as exit_:
        finetune_glm.main(["--task", "promptsource:rotten_tomatoes", "--data-dir", str(tmp_path), "--prompt", "0",
                           "--load-pretrained", str(glm_tiny), "--epochs", "0", "--save",
                           str(tmp_path / "runs"), "--experiment-name", "bad", "--num-threads", "1"])
    assert "test.csv:2: label label=7 is outside" in str(exit_.value.code)
    results = json.loads((tmp_path / "runs" / "bad" / "results.json").read_text())
    assert results["status"] == "failed" and "test.csv:2" in results["error"]


def test_prompt_all_runs_every_original_template_named_after_it(tmp_path, glm_tiny):
    import finetune_glm

    out = finetune_glm.main(["--task", "promptsource:hate_speech18", "--data-dir", str(DEMO / "hate_speech18"),
                             "--prompt", "all", "--skip-uncovered", "--load-pretrained", str(glm_tiny),
                             "--epochs", "0", "--seq-length", "64", "--save", str(tmp_path / "runs"),
                             "--experiment-name", "hs-{prompt}", "--num-threads", "1"])
    assert list(out["prompts"]) == ["hate_or_noHate_sentiment_analysis"]
    run = tmp_path / "runs" / "hs-hate_or_noHate_sentiment_analysis"
    config = json.loads((run / "config.json").read_text())
    assert config["identity"]["prompt"]["name"] == "hate_or_noHate_sentiment_analysis"
    assert config["data"]["skipped_uncovered"]["test"] == {"skipped": 6, "of": 30, "first": config["data"]["skipped_uncovered"]["test"]["first"]}
    assert json.loads((run / "results.json").read_text())["status"] == "finished"


def test_prompt_all_is_refused_for_hand_written_tasks():
    import finetune_glm

    with pytest.raises(SystemExit, match="hand-written task"):
        finetune_glm.main(["--task", "ag_news", "--prompt", "all", "--load-pretrained", "x"])


@pytest.mark.slow
def test_ds_script_from_another_directory_with_a_template_name(tmp_path):
    """The fragment paths are found from the repo root when the script is started elsewhere; the run is named
    after the template."""
    env = {**os.environ, "PYTHON": sys.executable, "SAVE_PATH": str(tmp_path / "runs"), "N_GPU": "0",
           "PROMPT": "Reviewer Opinion bad good choices"}
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "ds_finetune_superglue.sh"), "config_tasks/model_glm_tiny.sh",
                           "config_tasks/task_ps_rotten_tomatoes_demo.sh", "--num-threads", "1", "--epochs", "1"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "runs" / "glm-tiny-ps_rotten_tomatoes-demo-Reviewer_Opinion_bad_good_choices"
    assert json.loads((run / "results.json").read_text())["status"] == "finished"


def test_ds_script_names_a_missing_fragment(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "N_GPU": "0"}
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "ds_finetune_superglue.sh"), "config_tasks/model_glm_tiny.sh",
                           "nowhere.sh"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "config fragment nowhere.sh not found" in proc.stderr


# ------------------------------------------------------------------------------------------ demo data
def test_demo_text_files_are_what_the_script_writes(tmp_path):
    from scripts.make_demo_anydata import rotten_tomatoes, squad, trec
    import random

    for name, write, files in (("rotten_tomatoes", rotten_tomatoes, ("train.csv", "validation.csv", "test.csv")),
                               ("trec", trec, ("train.jsonl", "validation.jsonl", "test.jsonl")),
                               ("squad", squad, ("train.jsonl", "validation.jsonl", "test.jsonl"))):
        write(tmp_path / name, random.Random(f"anydata:{name}"))
        for f in files:
            assert (tmp_path / name / f).read_text() == (DEMO / name / f).read_text(), f"{name}/{f}"


def test_schema_flags_are_refused_for_hand_written_tasks():
    import finetune_glm

    with pytest.raises(SystemExit, match="--field-map: options of promptsource tasks"):
        finetune_glm.main(["--task", "ag_news", "--field-map", "a=b", "--load-pretrained", "x"])


def test_train_fraction_is_stratified_seeded_and_recorded():
    from tasks.sampling import TrainSubset

    rows = [{"label": c} for c in "aaaaaaaabb"]
    chosen, record = TrainSubset(fraction=0.5, seed=3).select(rows)
    assert sorted(r["label"] for r in chosen) == list("aaaab")
    assert record == {"kind": "fraction", "fraction": 0.5, "seed": 3, "classes": 2, "of": 10, "size": 5}
    assert TrainSubset(fraction=0.5, seed=3).select(rows)[0] == chosen
    with pytest.raises(ValueError, match="cannot be combined"):
        TrainSubset(first=3, fraction=0.5)


def test_prompt_all_runs_the_other_templates_and_then_reports_the_failed_ones(tmp_path, glm_tiny):
    import finetune_glm

    rows = [{"text": f"i feel so {w} today", "label": i % 6} for i, w in enumerate(["sad", "glad", "fond", "cross", "scared", "amazed"] * 2)]
    for split in ("train", "validation", "test"):
        write_jsonl(tmp_path / f"{split}.jsonl", rows)
    with pytest.raises(SystemExit) as exit_:
        finetune_glm.main(["--task", "promptsource:emotion", "--data-dir", str(tmp_path), "--prompt", "all",
                           "--load-pretrained", str(glm_tiny), "--epochs", "0", "--seq-length", "64",
                           "--save", str(tmp_path / "runs"), "--num-threads", "1"])
    assert "1 of 6 templates failed" in str(exit_.value.code) and "select_emotion_label_from_list" in str(exit_.value.code)
    finished = sorted(p.name for p in (tmp_path / "runs").iterdir()
                      if json.loads((p / "results.json").read_text()).get("status") == "finished")
    assert len(finished) == 5 and all("_ps-" in n for n in finished)


def test_hub_data_brings_its_own_class_labels(tokenizer, monkeypatch):
    """From the hub the ClassLabel names come with the data (here a stand-in for `datasets.load_dataset` holding
    today's TREC schema), so label names in the records map by name too."""
    import datasets

    features = datasets.Features({"text": datasets.Value("string"),
                                  # an order of its own, neither the templates' nor today's hub order
                                  "coarse_label": datasets.ClassLabel(names=["NUM", "LOC", "HUM", "DESC", "ENTY", "ABBR"]),
                                  "fine_label": datasets.Value("int64")})
    rows = [{"text": "What does NASA stand for ?", "coarse_label": 5, "fine_label": 1},
            {"text": "Where is the old harbour ?", "coarse_label": 1, "fine_label": 32}]
    monkeypatch.setattr(datasets, "get_dataset_split_names", lambda name, subset=None: ["train", "test"])
    monkeypatch.setattr(datasets, "load_dataset", lambda name, subset=None, split=None: datasets.Dataset.from_list(rows, features=features))
    task = make_promptsource_task("trec", tokenizer, 64, "trec1", test_fraction=0.0)
    words = [task.pvp.prompt.label_words[int(e.label)] for e in task.get_test_examples()]
    assert words == ["Abbreviation", "Location"]


def test_list_prompts_marks_the_four_choice_template_broken_on_five_option_data(tokenizer, tmp_path):
    fixture = ROOT / "tests" / "fixtures" / "promptsource" / "commonsense_qa.jsonl"
    rows = [json.loads(line) for line in fixture.read_text().splitlines() if line.strip()]
    five = dict(rows[0], answerKey="E")
    write_jsonl(tmp_path / "train.jsonl", [*rows, five])
    entry = resolve("promptsource:commonsense_qa")
    status = {p.name: p.status for p in entry.check_prompts(entry.prompts(tokenizer), DataOptions(str(tmp_path)), tokenizer)}
    assert status["question_to_answer_index"].startswith("BROKEN:") and f"train.jsonl:{len(rows) + 1}" in status["question_to_answer_index"]
    assert status["question_answering"] == f"ok on {len(rows) + 1} of {len(rows) + 1} sample rows"
