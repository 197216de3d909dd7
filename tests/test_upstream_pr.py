"""examples/dbpedia_14 and examples/samsum: what scripts/make_upstream_pr.py writes, checked as upstream would.

- the committed folders are exactly what the generator writes from the committed run records
  (tests/fixtures/upstream_pr/runs: each run's config.json and results.json, copied from the run directories);
- the generated Python compiles and imports under Python 3.8 (upstream's interpreter);
- every README section upstream's examples/README.md asks for is there, with no placeholder, and the Results
  numbers are the results.json numbers (recomputed here independently of the generator);
- the generator refuses placeholders, unfinished runs, and calling a tiny model glm-roberta-large;
- marked `upstream` (needs UPSTREAM_GLM_DIR, a checkout of THUDM/GLM): the folders installed into a copy of that
  checkout by their own install.py, upstream's `tasks/superglue/{dataset,pvp}.py` and its customization dataset
  build the same examples and token ids as the toolkit (tests/upstream_pr_harness.py runs upstream's side).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from glob import glob
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT

from scripts import make_upstream_pr as pr

RUNS = FIXTURES / "upstream_pr" / "runs"
PACKAGES = {"dbpedia_14": ROOT / "examples" / "dbpedia_14", "samsum": ROOT / "examples" / "samsum"}
SECTIONS = ["## Dataset Name", "## Authors", "## Task Description", "## Running Commands", "## Results", "## Reference"]
# Files of THUDM/GLM (commit 4f61ed7) the Running Commands call; the marked test checks them in a real checkout.
UPSTREAM_FILES = {"scripts/finetune_superglue.sh", "scripts/finetune_seq2seq.sh", "config_tasks/model_blocklm_roberta_large.sh"}
PLACEHOLDERS = re.compile(r"TODO|TBD|FIXME|not yet measured|your name|<your|lorem ipsum|\bXXX\b", re.I)


def committed_author(task: str) -> str:
    readme = (PACKAGES[task] / "README.md").read_text(encoding="utf-8")
    authors = readme.split("## Authors", 1)[1].split("##", 1)[0]
    match = re.search(r"^- (.+?), <([^>]+)>", authors, re.M)
    assert match, "the Authors section names nobody"
    return f"{match.group(1)}|{match.group(2)}"


def run_dirs(task: str) -> list[Path]:
    return sorted(p for p in (RUNS / task).iterdir() if p.is_dir())


# ---------------------------------------------------------------------------------------------- generated = committed
@pytest.mark.parametrize("task", sorted(PACKAGES))
def test_committed_folder_is_what_the_generator_writes(task, tmp_path):
    out = tmp_path / task
    code = pr.main(["--task", task, "--runs", *map(str, run_dirs(task)), "--author", committed_author(task), "--out", str(out)])
    assert code == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(p.name for p in PACKAGES[task].iterdir() if p.name != "__pycache__")
    for name in written:
        assert (out / name).read_text(encoding="utf-8") == (PACKAGES[task] / name).read_text(encoding="utf-8"), name


def test_missing_generation_comparisons_are_named(tmp_path):
    """Without its P-tuning v2 runs, the SAMSum README says so (nothing silently absent); with them it names only
    the linear head, which generation has none of."""
    without = [d for d in run_dirs("samsum") if not d.name.startswith("ptv2-")]
    assert len(without) < len(run_dirs("samsum"))
    out = tmp_path / "samsum"
    assert pr.main(["--task", "samsum", "--runs", *map(str, without), "--author", committed_author("samsum"), "--out", str(out)]) == 0
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "Not in this table: GLM's linear head, which does not apply to generation; no P-tuning v2 run (--ptuning-v2)." in readme
    committed = (PACKAGES["samsum"] / "README.md").read_text(encoding="utf-8")
    assert "Not in this table: GLM's linear head, which does not apply to generation.\n" in committed


def test_tiny_model_is_said_on_stdout_and_refused_as_roberta_large(tmp_path, capsys):
    runs = [str(p) for p in run_dirs("dbpedia_14")]
    author = committed_author("dbpedia_14")
    assert pr.main(["--task", "dbpedia_14", "--runs", *runs, "--author", author, "--out", str(tmp_path / "a")]) == 0
    assert "tiny GLM" in capsys.readouterr().out
    code = pr.main(["--task", "dbpedia_14", "--runs", *runs, "--author", author, "--out", str(tmp_path / "b"),
                    "--model-name", "glm-roberta-large"])  # fmt: skip
    assert code == 2 and not (tmp_path / "b").exists()
    assert "glm-roberta-large refused" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- Python 3.8
def python38() -> str | None:
    for candidate in [shutil.which("python3.8"), *sorted(glob(os.path.expanduser("~/.pyenv/versions/3.8*/bin/python3.8")))]:
        if candidate and subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:
            return candidate
    return None


# Stand-ins for the upstream modules the generated code imports, so that Python 3.8 executes every class and
# function definition (a 3.9+ construct in an annotation or default would fail here, not only at training time).
STANDINS = {
    "tasks/__init__.py": "",
    "tasks/superglue/__init__.py": "",
    "tasks/superglue/pvp.py": "class PVP:\n    pass\n",
    "tasks/superglue/dataset.py": "class DataProcessor:\n    def __init__(self, args):\n        self.args = args\n",
    "tasks/data_utils.py": "class InputExample:\n    def __init__(self, **kw):\n        self.__dict__.update(kw)\n",
}


@pytest.mark.skipif(python38() is None, reason="no python3.8 interpreter (upstream's Python) on this machine; "
                    "install one, e.g. `pyenv install 3.8`")  # fmt: skip
@pytest.mark.parametrize("task", sorted(PACKAGES))
def test_generated_code_compiles_and_imports_under_python38(task, tmp_path):
    exe = python38()
    tree = tmp_path / "glm"
    for relative, text in STANDINS.items():
        (tree / relative).parent.mkdir(parents=True, exist_ok=True)
        (tree / relative).write_text(text)
    shutil.copytree(PACKAGES[task], tree / "examples" / task)
    modules = sorted(p.stem for p in PACKAGES[task].glob("*.py"))
    assert modules, task
    script = f"import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module('examples.{task}.' + m)\n"
    done = subprocess.run([exe, "-c", script, *modules], cwd=tree, capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
    assert done.returncode == 0, done.stderr
    compiled = subprocess.run([exe, "-m", "py_compile", *map(str, PACKAGES[task].glob("*.py"))], capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr


def test_install_is_idempotent_and_uninstall_restores(tmp_path):
    tree = tmp_path / "glm"
    originals = {}
    for relative in ("tasks/superglue/dataset.py", "tasks/superglue/pvp.py", "tasks/superglue/finetune.py"):
        (tree / relative).parent.mkdir(parents=True, exist_ok=True)
        originals[relative] = f"# upstream's {relative}\nX = 1\n"
        (tree / relative).write_text(originals[relative])
    (tree / "config_tasks").mkdir()
    install = [sys.executable, str(PACKAGES["dbpedia_14"] / "install.py"), "--glm-dir", str(tree)]
    subprocess.run(install, check=True, capture_output=True)
    once = {r: (tree / r).read_text() for r in originals}
    subprocess.run(install, check=True, capture_output=True)
    assert {r: (tree / r).read_text() for r in originals} == once
    assert 'PROCESSORS["dbpedia_14"] = Dbpedia14Processor' in once["tasks/superglue/dataset.py"]
    assert 'PVPS["dbpedia_14"] = Dbpedia14PVP' in once["tasks/superglue/pvp.py"]
    assert 'DEFAULT_METRICS["dbpedia_14"]' in once["tasks/superglue/finetune.py"]
    assert (tree / "config_tasks" / "task_dbpedia_14.sh").is_file()
    subprocess.run([*install, "--uninstall"], check=True, capture_output=True)
    assert {r: (tree / r).read_text() for r in originals} == originals
    assert not (tree / "config_tasks" / "task_dbpedia_14.sh").exists()


# ---------------------------------------------------------------------------------------------- README
@pytest.mark.parametrize("task", sorted(PACKAGES))
def test_readme_has_every_section_and_no_placeholder(task):
    readme = (PACKAGES[task] / "README.md").read_text(encoding="utf-8")
    positions = [readme.find(s + "\n") for s in SECTIONS]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), "sections missing or out of order"
    assert not PLACEHOLDERS.search(readme), PLACEHOLDERS.search(readme)
    pr.Author.parse(committed_author(task))  # a real name and address, by the generator's own rule
    sections = dict(zip(SECTIONS, [readme[p:] for p in positions]))
    assert "@" in sections["## Reference"] and "du2022glm" in readme
    # A tiny model's numbers are labelled as such and never called glm-roberta-large results.
    results = sections["## Results"].split("## Reference")[0]
    assert "tiny GLM" in results and "They are not glm-roberta-large results" in results
    # Every script or config the commands run is upstream's or ships in (or is installed from) this folder.
    commands = sections["## Running Commands"].split("## Results")[0]
    shipped = {p.name for p in PACKAGES[task].iterdir()}
    for path in re.findall(r"(?:scripts|config_tasks|examples/[\w]+)/[\w./-]+\.(?:sh|py|txt)", commands):
        name = Path(path).name
        assert path in UPSTREAM_FILES or name in shipped, f"{task}: the Running Commands call {path}, which exists nowhere"


def _formatted(value: float, percent: bool) -> str:
    return f"{100 * value:.1f}" if percent else f"{value:.2f}"


@pytest.mark.parametrize("task", sorted(PACKAGES))
def test_results_are_the_run_directories_numbers(task):
    """Recomputed here from results.json and config.json, without the generator's grouping code."""
    percent = task == "dbpedia_14"
    metrics = ["accuracy", "macro_f1"] if percent else ["rouge1", "rouge2", "rougeL"]
    readme = (PACKAGES[task] / "README.md").read_text(encoding="utf-8")
    records = {}
    for d in run_dirs(task):
        results_bytes = (d / "results.json").read_bytes()
        records[d.name] = (json.loads(results_bytes), json.loads((d / "config.json").read_text()), hashlib.sha256(results_bytes).hexdigest())
    # Every run is listed, with its own dev/test numbers and the hash of its results.json.
    rows = {m.group(1): m.groups() for m in re.finditer(r"^\| (\S+) \| [^|]+ \| (\S+) \| (\d+) \| ([\d.]+) \| ([\d.]+|n/a) \| `([0-9a-f]+)` \|$",
                                                      readme, re.M)}  # fmt: skip
    assert set(rows) == set(records)
    for name, (results, config, sha) in records.items():
        _, pattern, seed, dev, test, digest = rows[name]
        assert results["status"] == "finished" and sha.startswith(digest) and int(seed) == config["args"]["seed"]
        assert dev == _formatted(results["best"]["dev"][metrics[0]], percent)
        assert test == _formatted(results["test"][metrics[0]], percent)
    # Each summary row: mean ± std over the runs of its method, pattern and setting; that setting has the best mean dev.
    summary = readme.split("| method | seeds |", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    assert summary
    for line in summary:
        cells = [c.strip() for c in line.strip("|").split("|")]
        label, seeds, values, setting = cells[0], int(cells[1]), cells[2:-1], dict(kv.split("=") for kv in cells[-1].split(", "))
        method = next(m for m, text in pr.METHOD_LABELS.items() if label.split(", pattern")[0] == text)
        pattern = int(label.rsplit(" ", 1)[1]) if ", pattern" in label else None

        def same_group(config, pattern=pattern, method=method):
            return config["identity"]["method"] == method and (pattern is None or config["args"]["pattern_id"] == pattern)

        group = [(r, c) for r, c, _ in records.values() if same_group(c)]
        chosen = [(r, c) for r, c in group if all(str(c["args"][k]) == v for k, v in setting.items())]
        assert len(chosen) == seeds > 0, line
        expected = []
        for split in ("dev", "test"):
            for metric in metrics:
                xs = [(r["best"]["dev"] if split == "dev" else r["test"])[metric] for r, _ in chosen]
                expected.append(f"{_formatted(statistics.fmean(xs), percent)} ± {_formatted(statistics.stdev(xs), percent)}")
        assert values == expected, line
        validation = chosen[0][0]["validation_metric"]
        by_setting: dict[str, list[float]] = {}
        for r, c in group:
            key = json.dumps({k: c["args"][k] for k in setting}, sort_keys=True)
            by_setting.setdefault(key, []).append(r["best"]["dev"][validation])
        assert statistics.fmean(r["best"]["dev"][validation] for r, _ in chosen) == max(map(statistics.fmean, by_setting.values()))


# ---------------------------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("author", ["Your Name|you@host.org", "Jane Roe|jane@example.com", "TODO|a@b.org", "Jane Roe|",
                                    "Jane Roe|<email>", "Jane Roe|jane.roe", "Jane Roe|jane@uni.edu|homepage"])  # fmt: skip
def test_author_placeholders_are_refused(author):
    with pytest.raises(pr.PRError):
        pr.Author.parse(author)


def test_a_real_author_is_accepted():
    assert pr.Author.parse("Jane Roe|jane.roe@uni.edu|https://uni.edu/~jroe") == pr.Author("Jane Roe", "jane.roe@uni.edu", "https://uni.edu/~jroe")


def test_unfinished_runs_and_unconvertible_prompts_are_refused(tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(run_dirs("dbpedia_14")[0], run)
    results = json.loads((run / "results.json").read_text())
    (run / "results.json").write_text(json.dumps({**results, "status": "running"}))
    with pytest.raises(pr.PRError, match="only finished runs"):
        pr.read_run(run)
    with pytest.raises(pr.PRError, match="no --author"):
        pr.build("dbpedia_14", [pr.read_run(run_dirs("dbpedia_14")[0])], [], None, code_only=False)
    # SAMSum's pattern 0 puts [MASK] before the dialogue: upstream's customization input cannot express it.
    with pytest.raises(pr.PRError, match="end in \\[MASK\\]"):
        pr.build("samsum", [], [], None, code_only=True, pattern_ids=[0])
    with pytest.raises(pr.PRError, match="promptsource"):
        pr.build("promptsource:dbpedia_14", [], [], None, code_only=True, pattern_ids=[0])


# ---------------------------------------------------------------------------------------------- inside upstream's tree
UPSTREAM_DIR = os.environ.get("UPSTREAM_GLM_DIR")
needs_upstream = pytest.mark.skipif(not UPSTREAM_DIR, reason="set UPSTREAM_GLM_DIR to a checkout of THUDM/GLM")


@pytest.fixture(scope="module")
def upstream_tree(tmp_path_factory) -> Path:
    """A copy of the checkout with both folders in examples/, installed by their own install.py."""
    tree = tmp_path_factory.mktemp("upstream") / "GLM"
    shutil.copytree(UPSTREAM_DIR, tree, ignore=shutil.ignore_patterns(".git"))
    exe = python38() or sys.executable
    for task, folder in PACKAGES.items():
        shutil.copytree(folder, tree / "examples" / task, ignore=shutil.ignore_patterns("__pycache__"))
        subprocess.run([exe, f"examples/{task}/install.py"], cwd=tree, check=True, capture_output=True)
    return tree


def harness(*args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "upstream_pr_harness.py"), *args], capture_output=True,
                          text=True, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.upstream
@needs_upstream
def test_upstream_tree_has_what_the_commands_call(upstream_tree):
    for path in UPSTREAM_FILES | {"config_tasks/task_dbpedia_14.sh", "config_tasks/seq_samsum.sh"}:
        assert (upstream_tree / path).is_file(), path
    for fragment in ("task_dbpedia_14.sh", "seq_samsum.sh"):
        shown = subprocess.run(["bash", "-c", f"MODEL_TYPE=m DATA_ROOT=/d; source config_tasks/{fragment}; "
                                "echo $TASK_NAME; echo $DATA_PATH"], cwd=upstream_tree, capture_output=True, text=True)  # fmt: skip
        assert shown.returncode == 0 and shown.stdout.split() in (["dbpedia_14", "/d/dbpedia_14"], ["customization", "/d/samsum_p1"])
    # upstream's DEFAULT_METRICS gets the entry (finetune.py imports the training stack, so only the block runs here)
    text = (upstream_tree / "tasks/superglue/finetune.py").read_text()
    block = text.split("# >>> examples/dbpedia_14", 1)[1].split("\n", 1)[1].split("# <<<", 1)[0]
    scope = {"DEFAULT_METRICS": {}, "accuracy_metric": "acc", "f1_macro_metric": "f1"}
    exec(block, scope)  # noqa: S102 - the installed lines, run against stand-ins for upstream's metric functions
    assert scope["DEFAULT_METRICS"] == {"dbpedia_14": [("accuracy", "acc"), ("f1-macro", "f1")]}


@pytest.mark.upstream
@needs_upstream
def test_upstream_builds_the_toolkits_dbpedia_ids(upstream_tree, tokenizer):
    from test_upstream_pvp_golden import _check_multi_token

    from tasks.base import InputExample, PromptTooLongError
    from tasks.classification.dbpedia import DbpediaProcessor, DbpediaPVP
    from tasks.layout import encode_candidate_rows

    data = ROOT / "data" / "demo" / "dbpedia_14"
    renders = [f"{p}:{n}" for p in (0, 1, 2) for n in (256, 40)]  # 40 tokens cut the abstracts
    upstream = harness("classification", str(upstream_tree), "dbpedia_14", str(data), "dev", "8", *renders)
    processor = DbpediaProcessor()
    assert upstream["labels"] == processor.get_labels() and upstream["available_patterns"] == [0, 1, 2]
    ours = processor.get_dev_examples(data)[:8]
    assert [(e["guid"], e["text_a"], e["text_b"], e["label"], e["idx"]) for e in upstream["examples"]] == \
        [(e.guid, e.text_a, e.text_b, e.label, e.idx) for e in ours]  # fmt: skip
    checked = 0
    for render in upstream["renders"]:
        assert render["multi_token"]
        pvp = DbpediaPVP(tokenizer, processor.get_labels(), render["seq_length"], pattern_id=render["pattern_id"])
        for example, sample in zip(ours, render["samples"]):
            if "error" in sample:
                with pytest.raises(PromptTooLongError):
                    encode_candidate_rows(pvp, example)
                continue
            _check_multi_token(pvp, InputExample(example.guid, example.text_a, example.text_b, example.label, idx=example.idx),
                               sample, "dbpedia_14", "dev", "cross_entropy")  # fmt: skip
            checked += 1
    assert checked >= 40


@pytest.mark.upstream
@needs_upstream
@pytest.mark.parametrize("pattern_id", [1, 3])
def test_upstream_builds_the_toolkits_samsum_ids(upstream_tree, tokenizer, pattern_id, tmp_path):
    from tasks.seq2seq.datasets import SAMSUM_PROMPTS, SamsumProcessor

    converter = upstream_tree / "examples" / "samsum" / "convert_samsum.py"
    demo = ROOT / "data" / "demo" / "samsum"
    for name, pid in (("prompted", str(pattern_id)), ("plain", "none")):
        subprocess.run([python38() or sys.executable, str(converter), "--input", str(demo), "--output", str(tmp_path / name),
                        "--pattern-id", pid], check=True, capture_output=True)  # fmt: skip
    src_len, tgt_len = 96, 32
    prompt = SAMSUM_PROMPTS[pattern_id]()
    ours_all = SamsumProcessor().get_train_examples(tmp_path / "plain")  # what the toolkit's runs read
    for split in ("train", "dev"):
        upstream = harness("customization", str(upstream_tree), str(tmp_path / "prompted"), split, "8", str(src_len), str(tgt_len))
        ours = ours_all if split == "train" else SamsumProcessor().get_dev_examples(tmp_path / "plain")
        assert len(upstream["samples"]) == 8
        for example, sample in zip(ours, upstream["samples"]):
            encoded = prompt.encode_example(tokenizer, example, src_len=src_len, tgt_len=tgt_len)
            assert encoded.source_ids == sample["source_ids"], example.guid
            assert sample["position_ids"] == list(range(len(encoded.source_ids)))
            if split == "train":
                assert encoded.target_ids == sample["target_ids"], example.guid
                assert sample["input_after_sop"] == [tokenizer.sop_id, *encoded.target_ids[:-1]]


def test_demo_samsum_is_what_its_script_writes(tmp_path, monkeypatch):
    from scripts import make_demo_samsum

    monkeypatch.setattr(sys, "argv", ["make_demo_samsum.py", "--out", str(tmp_path)])
    make_demo_samsum.main()
    for split in ("train", "validation", "test"):
        assert (tmp_path / f"{split}.jsonl").read_bytes() == (ROOT / "data" / "demo" / "samsum" / f"{split}.jsonl").read_bytes()
    first = json.loads((tmp_path / "train.jsonl").read_text().splitlines()[0])
    assert "\r\n" in first["dialogue"] and first["summary"].split(" and ")[0] == first["dialogue"].split(":")[0]
