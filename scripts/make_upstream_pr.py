"""Write `examples/<dataset>/` for a pull request to THUDM/GLM: code in upstream's own API and Python 3.8, the
config fragment its launch scripts read, and a README whose Results come from this toolkit's run directories.

    python scripts/make_upstream_pr.py --task dbpedia_14 --runs runs/upstream_pr/dbpedia_14/* \\
        --author "Name|name@host.org|https://homepage" --out examples/dbpedia_14

Classification (a hand-written cloze task of tasks/registry.py) gets
    dataset.py        a DataProcessor(args) for train.jsonl / dev.jsonl / test.jsonl in the hub's schema
    pvp.py            a PVP with every pattern the runs used (`available_patterns()` a staticmethod, as upstream's)
    get_data.py       data acquisition from the hub into that layout
    task_<name>.sh    the fragment for upstream's scripts/finetune_superglue.sh (install.py copies it to config_tasks/)
Generation (a hand-written seq2seq task) gets
    convert_<name>.py the hub or local jsonl -> upstream's `customization` files, with the prompt of a pattern
    seq_<name>.sh     the fragment for upstream's scripts/finetune_seq2seq.sh (task `customization`)
Both get install.py (a classification task's PROCESSORS / PVPS / DEFAULT_METRICS entries appended, marked, to
upstream's tasks/superglue/{dataset,pvp,finetune}.py; the fragment copied to config_tasks/), README.md (every section upstream's examples/README.md asks for) and requirements.txt.

The code is produced from the toolkit's task by rendering: each pattern's parts are read off the toolkit's PVP on
probe texts and written out as Python 3.8 expressions; a part the generator cannot express is an error naming the
pattern and part (nothing is guessed). Results: each run directory must be finished; runs are grouped by method
and prompt, the best setting per group is the one with the best mean dev score over seeds, and dev/test are
reported as mean ± sample std over the seeds of that setting, with every run listed (name, command, sha256 of its
results.json). Runs of any model other than glm-roberta-large are labelled with what the model is, in the README
and on stdout; `--model-name glm-roberta-large` is refused unless the runs' model has its shape.

`--code-only` writes the code without README/Results (used to convert data before there are runs).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shlex
import statistics
import string
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tasks.base import PVP, InputExample  # noqa: E402
from tasks.data_io import Row  # noqa: E402
from tasks.registry import ClozeTask, GenerationTask, resolve  # noqa: E402
from training.rundir import load_run  # noqa: E402

UPSTREAM = "THUDM/GLM"
# glm-roberta-large's shape (GLM_FACTS / upstream's model_blocklm_roberta_large.sh); anything else is labelled.
ROBERTA_LARGE_SHAPE = {"num_layers": 24, "hidden_size": 1024, "num_attention_heads": 16}


class PRError(ValueError):
    """Input the generator refuses; the message says what to change."""


# ---------------------------------------------------------------------------------------------- authors
_PLACEHOLDER_WORDS = re.compile(r"\b(todo|tbd|fixme|xxx+|your[ _-]?name|first[ _-]?last|name[ _-]?surname|anonymous|"
                                r"author|someone|changeme|lorem)\b", re.I)
_RESERVED_HOSTS = {"example.com", "example.org", "example.net", "email.com", "domain.com", "mail.com"}


@dataclass(frozen=True)
class Author:
    name: str
    email: str
    homepage: str | None = None

    @classmethod
    def parse(cls, text: str) -> "Author":
        """`NAME|EMAIL[|HOMEPAGE]`; placeholders are refused."""
        fields = [f.strip() for f in text.split("|")]
        if len(fields) not in (2, 3) or not all(fields):
            raise PRError(f"--author {text!r}: expected 'NAME|EMAIL' or 'NAME|EMAIL|HOMEPAGE', each non-empty")
        name, email, homepage = fields[0], fields[1], fields[2] if len(fields) == 3 else None
        for value in filter(None, (name, email, homepage)):
            if _PLACEHOLDER_WORDS.search(value) or re.search(r"[<>\[\]{}]|\.\.\.", value):
                raise PRError(f"--author {text!r}: {value!r} looks like a placeholder; give the contributor's real details")
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[A-Za-z0-9-]+", email):
            raise PRError(f"--author {text!r}: {email!r} is not an email address")
        if email.split("@")[1].lower() in _RESERVED_HOSTS:
            raise PRError(f"--author {text!r}: {email!r} is a placeholder address; give the contributor's real email")
        if homepage and not re.fullmatch(r"https?://[^\s/]+\.[^\s]+", homepage):
            raise PRError(f"--author {text!r}: homepage {homepage!r} is not an http(s) URL")
        return cls(name, email, homepage)


# ---------------------------------------------------------------------------------------------- runs
@dataclass
class Run:
    name: str
    path: Path
    method: str
    family: str
    pattern_id: int | None
    seed: int
    setting: dict[str, Any]  # the hyperparameters that define a grid point (not the seed)
    dev: dict[str, float]
    test: dict[str, float] | None
    validation_metric: str
    model: str
    model_shape: dict[str, Any]
    command: str
    sha256: str


CLASSIFICATION_KEYS = ("lr", "epochs", "batch_size", "weight_decay", "warmup", "seq_length")
GENERATION_KEYS = ("lr", "epochs", "batch_size", "weight_decay", "warmup", "src_seq_length", "tgt_seq_length", "num_beams")
METHOD_LABELS = {
    "cloze": "GLM, cloze (prompt + verbalizer)",
    "classifier": "GLM, linear head (no prompt)",
    "ptuning_v2": "GLM, P-tuning v2 (frozen GLM, trained prefixes)",
    "seq2seq": "GLM, blank infilling generation",
    "seq2seq_ptuning_v2": "GLM, P-tuning v2 generation (frozen GLM, trained prefixes)",
    "roberta_linear": "RoBERTa, linear head",
    "bart_linear": "BART, linear head",
    "bart": "BART, seq2seq",
    "t5": "T5, text to text",
}


FAMILY_NAMES = {"roberta": "RoBERTa", "bart": "BART", "t5": "T5"}


def _command(argv: list[str]) -> str:
    """The run's command line as a user types it: the interpreter path dropped, paths inside the project relative."""
    if argv and Path(argv[0]).name.startswith("python"):
        argv = ["python", *argv[1:]]
    root = str(ROOT) + "/"
    return " ".join(shlex.quote(a[len(root):] if a.startswith(root) else a) for a in argv)


def _shape(model_cfg: dict[str, Any]) -> dict[str, Any]:
    """Layers, width and heads from config.json's `model`: GLM's own keys, or a Hugging Face config (baselines)."""
    def first(*keys: str) -> Any:
        return next((model_cfg[k] for k in keys if model_cfg.get(k) is not None), None)

    return {"num_layers": first("num_layers", "num_hidden_layers", "encoder_layers"),
            "hidden_size": first("hidden_size", "d_model"),
            "num_attention_heads": first("num_attention_heads", "encoder_attention_heads")}  # fmt: skip


def read_run(path: Path) -> Run:
    result = load_run(path)
    if result.status != "finished":
        raise PRError(f"{path}: status {result.status!r}; only finished runs go into Results ({result.error or 'rerun it'})")
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    args = result.args
    identity = config.get("identity") or {}
    method = str(identity.get("method") or args.get("method") or "unknown")
    family = str(identity.get("family") or "glm")
    kind = identity.get("kind") or "classification"
    model = args.get("load_pretrained") or args.get("model_name_or_path") or "unknown"
    uses_pattern = family == "glm" and (identity.get("head") == "cloze" or kind == "generation")
    keys = CLASSIFICATION_KEYS if kind == "classification" else GENERATION_KEYS
    if identity.get("peft") not in (None, "none"):
        keys = (*keys, "pre_seq_len")
    dev = {k: float(v) for k, v in result.dev.items()}
    test = {k: float(v) for k, v in (result.test or {}).items()} or None
    return Run(
        name=path.name, path=path, method=method, family=family, pattern_id=args.get("pattern_id") if uses_pattern else None,
        seed=int(args.get("seed", 0)), setting={k: args[k] for k in keys if args.get(k) is not None},
        dev=dev, test=test, validation_metric=result.validation_metric or next(iter(dev)), model=str(model),
        model_shape=_shape(config.get("model") or {}), command=_command(config.get("command") or []),
        sha256=hashlib.sha256((path / "results.json").read_bytes()).hexdigest(),
    )  # fmt: skip


def is_roberta_large(run: Run) -> bool:
    """glm-roberta-large's shape for a GLM run; the size class of glm-roberta-large (24 x 1024) for a baseline."""
    return all(run.model_shape.get(k) == v for k, v in ROBERTA_LARGE_SHAPE.items())


def describe_model(run: Run) -> str:
    s = run.model_shape
    if is_roberta_large(run):
        return f"glm-roberta-large ({run.model})" if run.family == "glm" else f"{run.family}-large size ({run.model})"
    what = "GLM" if run.family == "glm" else "random " + FAMILY_NAMES.get(run.family, run.family)
    return f"a tiny {what} ({s.get('num_layers')} layers, hidden size {s.get('hidden_size')}; {run.model})"


@dataclass
class Group:
    method: str
    pattern_id: int | None
    setting: dict[str, Any]
    runs: list[Run]

    @property
    def label(self) -> str:
        base = METHOD_LABELS.get(self.method, self.method)
        return base + (f", pattern {self.pattern_id}" if self.pattern_id is not None else "")


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def best_groups(runs: list[Run]) -> tuple[list[Group], list[Group]]:
    """(the best setting of every method/pattern, every setting), by mean dev of the validation metric."""
    by_setting: dict[tuple, Group] = {}
    for run in runs:
        key = (run.method, run.pattern_id, json.dumps(run.setting, sort_keys=True))
        by_setting.setdefault(key, Group(run.method, run.pattern_id, run.setting, [])).runs.append(run)
    best: dict[tuple, Group] = {}
    for group in by_setting.values():
        metric = group.runs[0].validation_metric
        score = statistics.fmean(r.dev[metric] for r in group.runs)
        key = (group.method, group.pattern_id)
        if key not in best or score > statistics.fmean(r.dev[metric] for r in best[key].runs):
            best[key] = group
    order = sorted(best, key=lambda k: (list(METHOD_LABELS).index(k[0]) if k[0] in METHOD_LABELS else 99, k[1] or 0))
    return [best[k] for k in order], list(by_setting.values())


# ---------------------------------------------------------------------------------------------- code: probing
PROBE_A = "Qzv Wxk."  # upper first letter, final punctuation: every transformation a pattern applies shows
PROBE_B = "Jfu Yrp!"


def _transforms(text: str, source: str) -> list[tuple[str, str]]:
    """(rendered text, Python 3.8 expression) for what a pattern may do to an example's text, longest first."""
    strip = text.rstrip(string.punctuation)
    low = text[:1].lower() + text[1:]
    low_strip = strip[:1].lower() + strip[1:]
    return [(text, source), (low, f"self.lowercase_first({source})"), (strip, f"self.remove_final_punc({source})"),
            (low_strip, f"self.lowercase_first(self.remove_final_punc({source}))")]  # fmt: skip


def part_expression(part: Any, mask_id: int, where: str) -> str:
    if isinstance(part, list):
        if part == [mask_id]:
            return "[self.mask]"
        raise PRError(f"{where}: a part of literal token ids {part} other than the mask cannot be written for upstream")
    text, short = (part, False) if isinstance(part, str) else part
    expr = None
    for probe, source in ((PROBE_A, "example.text_a"), (PROBE_B, '(example.text_b or "")')):
        for rendered, code in _transforms(probe, source):
            i = text.find(rendered)
            if i >= 0:
                before, after = text[:i], text[i + len(rendered):]
                if PROBE_A[:3] in before + after or PROBE_B[:3] in before + after:
                    raise PRError(f"{where}: part {text!r} mixes both texts; split it into one part per text")
                pieces = [repr(before)] if before else []
                pieces.append(code)
                if after:
                    pieces.append(repr(after))
                expr = " + ".join(pieces)
                break
        if expr:
            break
    if expr is None:
        if PROBE_A[:3].lower() in text.lower() or PROBE_B[:3].lower() in text.lower():
            raise PRError(f"{where}: part {text!r} transforms the example's text in a way the generator cannot write")
        expr = repr(text)
    return f"self.shortenable({expr})" if short else expr


@dataclass
class PatternCode:
    pattern_id: int
    description: str
    parts_a: list[str]
    parts_b: list[str]
    verbalizer: dict[str, str]
    multi_token: bool


def probe_patterns(entry: ClozeTask, pattern_ids: list[int], tokenizer: Any) -> list[PatternCode]:
    labels = entry.processor_class().get_labels()
    out = []
    for pid in pattern_ids:
        pvp: PVP = entry.pvp(pid, tokenizer, labels, 512)
        example = InputExample("probe-0", PROBE_A, PROBE_B, label=labels[0])
        parts_a, parts_b = pvp.get_parts(example)
        where = f"{entry.name} pattern {pid}"
        verbalizer = {}
        for label in labels:
            words = pvp.verbalize(label)
            verbalizer[label] = words[0]
        out.append(PatternCode(
            pid, entry.pvp_class.available_patterns[pid],
            [part_expression(p, tokenizer.mask_id, f"{where}, part a{i}") for i, p in enumerate(parts_a)],
            [part_expression(p, tokenizer.mask_id, f"{where}, part b{i}") for i, p in enumerate(parts_b)],
            verbalizer, bool(pvp.is_multi_token),
        ))  # fmt: skip
    return out


@dataclass
class ProcessorCode:
    labels: list[str]
    fields: tuple[str, ...]
    text_a: str  # field name
    text_b: str | None
    strip: bool


def probe_processor(entry: ClozeTask) -> ProcessorCode:
    processor = entry.processor_class()
    labels = processor.get_labels()
    fields = tuple(processor.fields)
    values = {f: f"  {f}Probe{i} text  " for i, f in enumerate(fields) if f != "label"}
    example = processor.create_example(Row({**values, "label": 0}, "probe:1"), "train-0", 0)
    if example.label != labels[0]:
        raise PRError(f"{entry.name}: the processor does not read the label as an index into get_labels()")

    def field_of(text: str | None) -> tuple[str | None, bool]:
        if text is None:
            return None, True
        for f, v in values.items():
            if text == v.strip():
                return f, True
            if text == v:
                return f, False
        raise PRError(f"{entry.name}: the processor builds a text ({text!r}) that is not one record field; "
                      "write its DataProcessor by hand")

    a, strip_a = field_of(example.text_a)
    b, strip_b = field_of(example.text_b)
    if a is None or strip_a != strip_b:
        raise PRError(f"{entry.name}: unsupported processor shape (text_a from {a}, stripping differs)")
    return ProcessorCode(labels, fields, a, b, strip_a)


# ---------------------------------------------------------------------------------------------- code: templates
HEADER = '''# coding=utf-8
# {what} for THUDM/GLM (examples/{name}). Python 3.8; written by the GLM prompt fine-tuning toolkit's
# scripts/make_upstream_pr.py from its task `{task}`.
'''


def render_pvp(name: str, cls: str, patterns: list[PatternCode]) -> str:
    lines = [HEADER.format(what="Pattern-verbalizer pairs", name=name, task=name),
             "from typing import Dict, List", "", "from tasks.superglue.pvp import PVP", "", "",
             f"class {cls}(PVP):",
             f'    """{name}: one pattern per id; text_a and text_b as dataset.py builds them."""', "",
             "    PATTERNS = {"]  # fmt: skip
    for p in patterns:
        lines.append(f"        {p.pattern_id}: {p.description!r},")
    lines += ["    }", "    VERBALIZERS = {  # type: Dict[int, Dict[str, str]]"]
    for p in patterns:
        lines.append(f"        {p.pattern_id}: {{")
        lines += [f"            {label!r}: {word!r}," for label, word in p.verbalizer.items()]
        lines.append("        },")
    lines += ["    }", f"    MULTI_TOKEN = {{{', '.join(f'{p.pattern_id}: {p.multi_token}' for p in patterns)}}}", "",
              "    @staticmethod", "    def available_patterns():", f"        return {[p.pattern_id for p in patterns]!r}", "",
              "    @property", "    def is_multi_token(self):",
              "        # Several label words take more than one token: every candidate is scored by blank infilling.",
              "        return self.MULTI_TOKEN[self.pattern_id]", "",
              "    def get_parts(self, example):"]  # fmt: skip
    for i, p in enumerate(patterns):
        keyword = "if" if i == 0 else "elif"
        lines.append(f"        {keyword} self.pattern_id == {p.pattern_id}:")
        lines.append(f"            return [{', '.join(p.parts_a)}], [{', '.join(p.parts_b)}]")
    lines += ['        raise ValueError("no pattern {} (available: {})".format(self.pattern_id, self.available_patterns()))', "",
              "    def verbalize(self, label) -> List[str]:", "        return [self.VERBALIZERS[self.pattern_id][label]]", ""]  # fmt: skip
    return "\n".join(lines)


def render_dataset(name: str, cls: str, proc: ProcessorCode, hub: str) -> str:
    strip = ".strip()" if proc.strip else ""
    text_b = f"record[{proc.text_b!r}]{strip}" if proc.text_b else "None"
    return HEADER.format(what="Data processor", name=name, task=name) + f'''
import json
import os

from tasks.data_utils import InputExample
from tasks.superglue.dataset import DataProcessor

LABELS = {proc.labels!r}


class {cls}(DataProcessor):
    """{name} in DATA_PATH: train.jsonl, dev.jsonl, test.jsonl (get_data.py writes them from the hub's `{hub}`).

    One JSON object per line with the hub's fields {", ".join(proc.fields)}; "label" is the class index (0..{len(proc.labels) - 1})
    or the class name. text_a = {proc.text_a}, text_b = {proc.text_b}.
    """

    def get_train_examples(self, data_dir):
        return self._create_examples(os.path.join(data_dir, "train.jsonl"), "train")

    def get_dev_examples(self, data_dir, for_train=False):
        return self._create_examples(os.path.join(data_dir, "dev.jsonl"), "dev")

    def get_test_examples(self, data_dir):
        return self._create_examples(os.path.join(data_dir, "test.jsonl"), "test")

    def get_labels(self):
        return list(LABELS)

    @staticmethod
    def _label(value, where):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if value is None or value == -1:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(LABELS):
            return LABELS[value]
        if value in LABELS:
            return value
        raise ValueError("{{}}: label {{!r}} is not one of 0..{{}} or {{}}".format(where, value, len(LABELS) - 1, LABELS))

    def _create_examples(self, path, set_type):
        if not os.path.isfile(path):
            raise FileNotFoundError("{{}} not found: run examples/{name}/get_data.py --out DATA_PATH".format(path))
        examples = []
        with open(path, encoding="utf-8") as f:
            for line_number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                where = "{{}}:{{}}".format(path, line_number)
                record = json.loads(line)
                text_a, text_b = record[{proc.text_a!r}]{strip}, {text_b}
                if not text_a or (text_b is not None and not text_b):
                    raise ValueError("{{}}: empty text; every example needs text".format(where))
                idx = len(examples)
                examples.append(InputExample(guid="{{}}-{{}}".format(set_type, idx), text_a=text_a, text_b=text_b,
                                             label=self._label(record.get("label"), where), idx=idx))
        return examples
'''


INSTALL = HEADER + '''
"""Register examples/{name} in a THUDM/GLM checkout, or undo it.

    python examples/{name}/install.py [--glm-dir .] [--uninstall]

Appends a marked block to {targets} and copies {fragments} to config_tasks/. Running it twice changes nothing;
--uninstall removes exactly what it added.
"""
import argparse
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "{name}"
BEGIN = "# >>> examples/{{}} (registered by examples/{{}}/install.py)".format(NAME, NAME)
END = "# <<< examples/{{}}".format(NAME)
BLOCKS = {blocks!r}
FRAGMENTS = {fragment_list!r}


def _without_block(text):
    if BEGIN not in text:
        return text
    head, rest = text.split(BEGIN, 1)
    if END not in rest:
        raise SystemExit("a block of examples/{{}} has no end marker; restore the file from git".format(NAME))
    return head.rstrip("\\n") + "\\n" + rest.split(END, 1)[1].lstrip("\\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--glm-dir", default=".", help="the THUDM/GLM checkout (default: the working directory)")
    parser.add_argument("--uninstall", action="store_true")
    args = parser.parse_args()
    for relative, block in BLOCKS.items():
        path = os.path.join(args.glm_dir, relative)
        if not os.path.isfile(path):
            raise SystemExit("{{}} not found: --glm-dir must be a THUDM/GLM checkout".format(path))
        with open(path, encoding="utf-8") as f:
            text = _without_block(f.read())
        if not args.uninstall:
            text = text.rstrip("\\n") + "\\n\\n" + BEGIN + "\\n" + block + "\\n" + END + "\\n"
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print(("removed from " if args.uninstall else "registered in ") + relative)
    for fragment in FRAGMENTS:
        target = os.path.join(args.glm_dir, "config_tasks", fragment)
        if args.uninstall:
            if os.path.exists(target):
                os.remove(target)
        else:
            shutil.copyfile(os.path.join(HERE, fragment), target)
        print(("removed " if args.uninstall else "copied ") + "config_tasks/" + fragment)


if __name__ == "__main__":
    main()
'''


def render_install(name: str, blocks: dict[str, str], fragments: list[str]) -> str:
    return INSTALL.format(what="Install step", name=name, task=name, blocks=blocks, fragment_list=fragments,
                          targets=", ".join(blocks) or "no upstream file", fragments=", ".join(fragments))


def classification_blocks(name: str, proc_cls: str, pvp_cls: str, metrics: list[tuple[str, str]]) -> dict[str, str]:
    metric_list = ", ".join(f'("{label}", {func})' for label, func in metrics)
    return {
        "tasks/superglue/dataset.py": f"from examples.{name}.dataset import {proc_cls}  # noqa: E402\n"
                                      f'PROCESSORS["{name}"] = {proc_cls}',
        "tasks/superglue/pvp.py": f"from examples.{name}.pvp import {pvp_cls}  # noqa: E402\nPVPS[\"{name}\"] = {pvp_cls}",
        "tasks/superglue/finetune.py": f'DEFAULT_METRICS["{name}"] = [{metric_list}]',
    }  # fmt: skip


def render_get_data(name: str, hub: str, subset: str | None, fields: tuple[str, ...], has_dev: bool) -> str:
    subset_arg = f", {subset!r}" if subset else ""
    return HEADER.format(what="Data acquisition", name=name, task=name) + f'''
"""Write train.jsonl, dev.jsonl and test.jsonl for examples/{name} from the Hugging Face hub's `{hub}`.

    python examples/{name}/get_data.py --out DATA_PATH [--dev-fraction 0.1] [--seed 42]

{"The hub's validation split is dev." if has_dev else "The hub has no validation split: dev is a stratified share of train (--dev-fraction of every label, chosen with --seed), and train keeps the rest."}
"""
import argparse
import json
import os
import random
from collections import defaultdict

FIELDS = {list(fields)!r}


def write(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps({{k: row[k] for k in FIELDS}}, ensure_ascii=False) + "\\n")
    print("{{}}: {{}} records".format(path, len(rows)))


def stratified(rows, fraction, seed):
    by_label = defaultdict(list)
    for i, row in enumerate(rows):
        by_label[row["label"]].append(i)
    rng = random.Random(seed)
    held = set()
    for label in sorted(by_label):
        indices = by_label[label]
        rng.shuffle(indices)
        held.update(indices[:max(1, int(round(fraction * len(indices))))])
    return [r for i, r in enumerate(rows) if i not in held], [r for i, r in enumerate(rows) if i in held]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--out", required=True)
    parser.add_argument("--dev-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    import datasets

    data = datasets.load_dataset({hub!r}{subset_arg})
    os.makedirs(args.out, exist_ok=True)
    train = list(data["train"])
    {"dev = list(data['validation'])" if has_dev else "train, dev = stratified(train, args.dev_fraction, args.seed)"}
    write(os.path.join(args.out, "train.jsonl"), train)
    write(os.path.join(args.out, "dev.jsonl"), dev)
    write(os.path.join(args.out, "test.jsonl"), list(data["test"]))


if __name__ == "__main__":
    main()
'''


# Upstream's recipe for its own tasks (task_rte.sh, seq_customization.sh), used in a fragment when the runs come from
# a small model whose best setting says nothing about glm-roberta-large.
CLASSIFICATION_RECIPE = {"lr": 1e-5, "epochs": 10, "batch_size": 16, "weight_decay": 0.1, "warmup": 0.1, "seq_length": 256}
GENERATION_RECIPE = {"lr": 1e-5, "epochs": 10, "batch_size": 8, "weight_decay": 0.1, "warmup": 0.06, "src_seq_length": 512,
                     "tgt_seq_length": 64, "num_beams": 5}  # fmt: skip


def _fragment_setting(best: Group, tiny: bool, recipe: dict[str, Any]) -> tuple[dict[str, Any], str]:
    if tiny:
        tried = ", ".join(f"{k}={v}" for k, v in best.setting.items())
        return recipe, ("# Hyperparameters: upstream's recipe for its own tasks. This contribution's runs used a tiny model\n"
                        f"# (best setting there: {tried}), which says nothing about glm-roberta-large; tune these with\n"
                        "# upstream's grid scripts.\n")  # fmt: skip
    return best.setting, "# Hyperparameters: the best setting of this contribution's runs (README, Results).\n"


def render_task_fragment(name: str, best: Group, patterns: list[int], tiny: bool) -> str:
    s, note = _fragment_setting(best, tiny, CLASSIFICATION_RECIPE)
    return f"""# {name} for THUDM/GLM's scripts/finetune_superglue.sh (examples/{name}; install.py copies this file to
# config_tasks/). Data: DATA_PATH with train.jsonl, dev.jsonl, test.jsonl (examples/{name}/get_data.py).
{note}EXPERIMENT_NAME=${{MODEL_TYPE}}-{name}
TASK_NAME={name}
DATA_PATH="${{DATA_ROOT}}/{name}"
MAX_SEQ_LEN={s.get("seq_length", 256)}

LR_SINGLE={s.get("lr", 1e-5)}
EPOCH_SINGLE=${{EPOCH_SINGLE:-{s.get("epochs", 10)}}}
XXLARGE_EPOCH={s.get("epochs", 10)}

TRAIN_ARGS="--lr-decay-style linear \\
            --warmup {s.get("warmup", 0.1)} \\
            --weight-decay {s.get("weight_decay", 0.1)} \\
            --pattern-id ${{PATTERN_ID:-{best.pattern_id if best.pattern_id is not None else patterns[0]}}} ${{EXTRA_ARGS:-}}"

COMMON_ARGS="--save-interval 10000 \\
             --log-interval 50 \\
             --eval-interval 10000000 \\
             --eval-iters 100"

PATTERN_IDS=({" ".join(str(p) for p in patterns)})

BATCH_SIZE={s.get("batch_size", 16)}
"""


# ---------------------------------------------------------------------------------------------- generation code
@dataclass
class Seq2SeqPattern:
    pattern_id: int
    name: str
    template: str
    before: str
    after: str


def generation_patterns(entry: GenerationTask, pattern_ids: list[int]) -> list[Seq2SeqPattern]:
    out = []
    for pid in pattern_ids:
        prompt = entry.prompt(pid)
        before, text, after = prompt.source_text("")
        where = f"{entry.name} pattern {pid} ({prompt.name}: {prompt.template!r})"
        if not after.endswith("[MASK]") or after.count("[MASK]") != 1:
            raise PRError(f"{where}: upstream's customization task puts [MASK] after the whole source line; only "
                          "prompts that end in [MASK] can be converted. Use another pattern for the runs.")
        if not prompt.add_eos:
            raise PRError(f"{where}: upstream's customization input closes the source with </s>; this prompt does not")
        after = after[: -len("[MASK]")].rstrip(" ")
        out.append(Seq2SeqPattern(pid, prompt.name, prompt.template, before, after))
    return out


def render_converter(name: str, entry: GenerationTask, patterns: list[Seq2SeqPattern]) -> str:
    processor = entry.processor_class
    prompts = {p.pattern_id: (p.before, p.after) for p in patterns}
    return HEADER.format(what="Data converter", name=name, task=name) + f'''
"""{name} -> THUDM/GLM's `customization` files: DIR/{{train,val,test}}.source and .target, one example per line.

    python examples/{name}/convert_{name}.py --output DATA_PATH --pattern-id {patterns[0].pattern_id} [--input DIR]

--input DIR reads DIR/{{train,validation,test}}.jsonl in the hub's schema; without it the hub's `{processor.hub_name}`
is downloaded (the `datasets` package). The source line is the prompt of --pattern-id around the {processor.source_field!r}
(upstream's customization task then appends [MASK] and </s>); the target line is the {processor.target_field!r}.
Line breaks inside a text become one space, since a line is an example. --pattern-id none writes the text alone.
"""
import argparse
import json
import os

# pattern id -> (text before the {processor.source_field}, text after it); the [MASK] follows, added by upstream's dataset.
PROMPTS = {prompts!r}
SPLITS = {{"train": "train", "validation": "val", "test": "test"}}


def one_line(text):
    return " ".join(part.strip() for part in text.replace("\\r\\n", "\\n").split("\\n") if part.strip())


def source_line(text, pattern_id):
    text = one_line(text)
    if pattern_id == "none":
        return text
    before, after = PROMPTS[int(pattern_id)]
    return (before + " " if before else "") + text + after


def records(args, split):
    if args.input:
        path = os.path.join(args.input, split + ".jsonl")
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    import datasets

    return list(datasets.load_dataset({processor.hub_name!r}, split=split))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--input", help="directory of train/validation/test .jsonl in the hub schema (default: the hub)")
    parser.add_argument("--output", required=True)
    parser.add_argument("--pattern-id", default="{patterns[0].pattern_id}", choices=[str(p) for p in PROMPTS] + ["none"])
    args = parser.parse_args()
    os.makedirs(args.output, exist_ok=True)
    for split, stem in SPLITS.items():
        rows = records(args, split)
        sources, targets = [], []
        for number, row in enumerate(rows, 1):
            source, target = one_line(row[{processor.source_field!r}]), one_line(row[{processor.target_field!r}])
            if not target:
                raise ValueError("{{}} record {{}}: empty {processor.target_field}; upstream would train on an empty line".format(split, number))
            sources.append(source_line(source, args.pattern_id))
            targets.append(target)
        for suffix, lines in ((".source", sources), (".target", targets)):
            with open(os.path.join(args.output, stem + suffix), "w", encoding="utf-8") as f:
                f.write("\\n".join(lines) + "\\n")
        print("{{}}: {{}} examples".format(os.path.join(args.output, stem), len(rows)))


if __name__ == "__main__":
    main()
'''


def render_seq_fragment(name: str, best: Group, patterns: list[int], tiny: bool) -> str:
    s, note = _fragment_setting(best, tiny, GENERATION_RECIPE)
    return f"""# {name} for THUDM/GLM's scripts/finetune_seq2seq.sh through its `customization` task (examples/{name};
# install.py copies this file to config_tasks/). Data: DATA_PATH written by
# examples/{name}/convert_{name}.py --pattern-id N (the prompt is in the source lines).
{note}EXPERIMENT_NAME=${{MODEL_TYPE}}-{name}
TASK_NAME=customization
DATA_PATH="${{DATA_ROOT}}/{name}_p${{PATTERN_ID:-{best.pattern_id}}}"

EPOCH_SINGLE=${{EPOCH_SINGLE:-{s.get("epochs", 10)}}}
BATCH_SINGLE={s.get("batch_size", 16)}
LR_SINGLE={s.get("lr", 1e-5)}

TRAIN_ARGS="--lr-decay-style linear \\
            --warmup {s.get("warmup", 0.06)} \\
            --weight-decay {s.get("weight_decay", 0.1)} \\
            --label-smoothing 0.1"

COMMON_ARGS="--save-interval 10000 \\
             --log-interval 50 \\
             --eval-interval 1000 \\
             --eval-iters 100 \\
             --eval-epoch 2"

TASK_ARGS="--src-seq-length {s.get("src_seq_length", 512)} \\
           --tgt-seq-length {s.get("tgt_seq_length", 64)} \\
           --min-tgt-length 5 \\
           --length-penalty 1. \\
           --no-repeat-ngram-size 3 \\
           --num-beams {s.get("num_beams", 5)} \\
           --select-topk \\
           --eval-batch-size 4 ${{EXTRA_ARGS:-}}"

PATTERN_IDS=({" ".join(str(p) for p in patterns)})
"""


# ---------------------------------------------------------------------------------------------- README
def fmt(value: float, percent: bool) -> str:
    return f"{100 * value:.1f}" if percent else f"{value:.2f}"


def results_section(best: list[Group], every: list[Group], metrics: list[str], percent: bool, tiny: bool,
                    model_line: str, task: str) -> list[str]:  # fmt: skip
    unit = " (in %)" if percent else ""
    lines = ["## Results", ""]
    if tiny:
        lines += [f"**These numbers come from {model_line}, trained on the toolkit's small demo data on a CPU. They "
                  "are not glm-roberta-large results** and only show that the code, prompts and commands work end to "
                  "end; replace them with the runs of the Running Commands on glm-roberta-large before relying on "
                  "them.", ""]  # fmt: skip
    else:
        lines += [f"Model: {model_line}.", ""]
    lines += [f"Mean ± sample standard deviation over seeds{unit}, at each method's best setting (the highest mean dev "
              f"{best[0].runs[0].validation_metric}); test at the checkpoint chosen on dev.", ""]  # fmt: skip
    header = ["method", "seeds", *[f"dev {m}" for m in metrics], *[f"test {m}" for m in metrics], "best setting"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for g in best:
        cells = [g.label, str(len(g.runs))]
        for split in ("dev", "test"):
            for m in metrics:
                values = [getattr(r, split)[m] for r in g.runs if getattr(r, split) and m in getattr(r, split)]
                if len(values) != len(g.runs):
                    cells.append("n/a")
                    continue
                mu, sd = mean_std(values)
                cells.append(f"{fmt(mu, percent)} ± {fmt(sd, percent)}")
        cells.append(", ".join(f"{k}={v}" for k, v in g.setting.items()))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Every run (provenance: the toolkit's run directory, its command, and the sha256 of its results.json):", "",
              "| run | method | pattern | seed | dev " + metrics[0] + " | test " + metrics[0] + " | results.json sha256 |",
              "|---|---|---|---|---|---|---|"]  # fmt: skip
    for g in every:
        for r in sorted(g.runs, key=lambda r: r.name):
            test = fmt(r.test[metrics[0]], percent) if r.test and metrics[0] in r.test else "n/a"
            lines.append(f"| {r.name} | {METHOD_LABELS.get(r.method, r.method)} | "
                         f"{'-' if r.pattern_id is None else r.pattern_id} | {r.seed} | {fmt(r.dev[metrics[0]], percent)} | "
                         f"{test} | `{r.sha256[:16]}` |")  # fmt: skip
    lines += ["", "<details><summary>Commands of the runs (the toolkit, GLM prompt fine-tuning)</summary>", "", "```"]
    for g in every:
        lines += [r.command for r in sorted(g.runs, key=lambda r: r.name)]
    lines += ["```", "", "</details>", ""]
    return lines


def readme(name: str, title: str, authors: list[Author], description: list[str], commands: list[str],
           results: list[str], references: list[str]) -> str:  # fmt: skip
    author_lines = [f"- {a.name}, <{a.email}>" + (f", {a.homepage}" if a.homepage else "") for a in authors]
    return "\n".join([f"# {title}", "", "## Dataset Name", "", *description[:1], "", "## Authors", "", *author_lines, "",
                      "## Task Description", "", *description[1:], "", "## Running Commands", "", *commands,
                      *results, "## Reference", "", "```bibtex", *references, "```", ""])  # fmt: skip


GLM_BIB = """@inproceedings{du2022glm,
  title={GLM: General Language Model Pretraining with Autoregressive Blank Infilling},
  author={Du, Zhengxiao and Qian, Yujie and Liu, Xiao and Ding, Ming and Qiu, Jiezhong and Yang, Zhilin and Tang, Jie},
  booktitle={Proceedings of the 60th Annual Meeting of the Association for Computational Linguistics},
  year={2022}
}"""
BIBS = {
    "dbpedia_14": """@inproceedings{zhang2015character,
  title={Character-level Convolutional Networks for Text Classification},
  author={Zhang, Xiang and Zhao, Junbo and LeCun, Yann},
  booktitle={Advances in Neural Information Processing Systems},
  year={2015}
}
@article{lehmann2015dbpedia,
  title={DBpedia -- A large-scale, multilingual knowledge base extracted from Wikipedia},
  author={Lehmann, Jens and Isele, Robert and Jakob, Max and others},
  journal={Semantic Web},
  volume={6},
  number={2},
  year={2015}
}""",
    "samsum": """@inproceedings{gliwa2019samsum,
  title={SAMSum Corpus: A Human-annotated Dialogue Dataset for Abstractive Summarization},
  author={Gliwa, Bogdan and Mochol, Iwona and Biesek, Maciej and Wawer, Aleksander},
  booktitle={Proceedings of the 2nd Workshop on New Frontiers in Summarization},
  year={2019}
}""",
}
COMPARISON_BIBS = {
    "roberta_linear": """@article{liu2019roberta,
  title={RoBERTa: A Robustly Optimized BERT Pretraining Approach},
  author={Liu, Yinhan and Ott, Myle and Goyal, Naman and others},
  journal={arXiv preprint arXiv:1907.11692},
  year={2019}
}""",
    "ptuning_v2": """@inproceedings{liu2022ptuning,
  title={P-Tuning: Prompt Tuning Can Be Comparable to Fine-tuning Across Scales and Tasks},
  author={Liu, Xiao and Ji, Kaixuan and Fu, Yicheng and Tam, Weng and Du, Zhengxiao and Yang, Zhilin and Tang, Jie},
  booktitle={Proceedings of the 60th Annual Meeting of the Association for Computational Linguistics (Short Papers)},
  year={2022}
}""",
    "bart": """@inproceedings{lewis2020bart,
  title={BART: Denoising Sequence-to-Sequence Pre-training for Natural Language Generation, Translation, and Comprehension},
  author={Lewis, Mike and Liu, Yinhan and Goyal, Naman and others},
  booktitle={Proceedings of the 58th Annual Meeting of the Association for Computational Linguistics},
  year={2020}
}""",
}

DESCRIPTIONS = {
    "dbpedia_14": ("DBpedia-14 (`dbpedia_14` on the Hugging Face hub): the ontology class of a Wikipedia entity from its "
                   "title and abstract; 14 classes, 560,000 train and 70,000 test records.",
                   "DBpedia ontology classification as blank infilling: the title and abstract around a `[MASK]` that the "
                   "class name fills. Most class names take several tokens (\" educational institution\", \" means of "
                   "transportation\"), so every pattern is scored as multi-token blank infilling: each class name is a "
                   "candidate, scored by its summed log-probability after `<|startofpiece|>`, and trained with cross "
                   "entropy over the 14 candidates (upstream's multi-token cloze, the path its COPA and WSC take)."),
    "samsum": ("SAMSum (`samsum` on the Hugging Face hub): about 16,000 messenger-style dialogues with human-written "
               "summaries (14,732 train / 818 validation / 819 test).",
               "Dialogue summarisation as blank infilling: the dialogue inside a prompt, followed by `[MASK]`; the summary "
               "is generated after `<|startofpiece|>` until `<|endofpiece|>`. Upstream's `customization` task reads "
               "the converted files, so no upstream code changes: the prompt is written into the source lines by the "
               "converter. Metrics: ROUGE-1/2/L."),
}


# ---------------------------------------------------------------------------------------------- main
@dataclass
class Package:
    files: dict[str, str]
    warnings: list[str]


def _pascal(name: str) -> str:
    return "".join(w.capitalize() for w in re.split(r"[^A-Za-z0-9]", name) if w)


def build(task: str, runs: list[Run], authors: list[Author], model_name: str | None, code_only: bool,
          pattern_ids: list[int] | None = None) -> Package:  # fmt: skip
    entry = resolve(task)
    name = entry.name
    warnings: list[str] = []
    if not code_only:
        if not runs:
            raise PRError("no run directories given (--runs); Results are filled only from runs")
        if not authors:
            raise PRError("no --author given: upstream's README needs the contributors' names and emails")
        other = sorted({r.name for r in runs if resolve(_run_task(r)).name != name})
        if other:
            raise PRError(f"runs {', '.join(other)} are not runs of task {name!r}")
    tiny = bool(runs) and not all(is_roberta_large(r) for r in runs)
    glm_runs = [r for r in runs if r.family == "glm"]
    if model_name == "glm-roberta-large" and tiny:
        small = next(r for r in runs if not is_roberta_large(r))
        raise PRError(f"--model-name glm-roberta-large refused: run {small.name} used {describe_model(small)}")
    if tiny:
        warnings.append("the runs come from " + "; ".join(sorted({describe_model(r) for r in glm_runs or runs}))
                        + ": the README labels its Results as such, not as glm-roberta-large results")
    used = pattern_ids or sorted({r.pattern_id for r in runs if r.pattern_id is not None})
    if not used:
        raise PRError("no pattern ids: give runs of the cloze/generation methods or --pattern-ids")
    files: dict[str, str] = {}
    tokenizer = _tokenizer(runs)
    cls = _pascal(name)
    if isinstance(entry, ClozeTask):
        patterns = probe_patterns(entry, used, tokenizer)
        proc = probe_processor(entry)
        metrics = [("accuracy", "accuracy_metric"), ("f1-macro", "f1_macro_metric")]
        files["pvp.py"] = render_pvp(name, f"{cls}PVP", patterns)
        files["dataset.py"] = render_dataset(name, f"{cls}Processor", proc, entry.processor_class.hub_name)
        files["get_data.py"] = render_get_data(name, entry.processor_class.hub_name, entry.processor_class.hub_subset,
                                               proc.fields, entry.processor_class.hub_splits.get("dev") is not None)  # fmt: skip
        fragment = f"task_{name}.sh"
        blocks = classification_blocks(name, f"{cls}Processor", f"{cls}PVP", metrics)
    elif isinstance(entry, GenerationTask):
        gen = generation_patterns(entry, used)
        files[f"convert_{name}.py"] = render_converter(name, entry, gen)
        fragment = f"seq_{name}.sh"
        blocks = {}
    else:
        raise PRError(f"task {name!r} is a {type(entry).__name__}: the generator writes hand-written cloze and "
                      "generation tasks (a promptsource template renders from the whole record with Jinja, which "
                      "upstream's PVP cannot run); port it to a hand-written task first")
    files["install.py"] = render_install(name, blocks, [fragment])
    files["requirements.txt"] = _requirements(isinstance(entry, GenerationTask))
    if code_only:
        return Package(files, warnings)
    best, every = best_groups(runs)
    glm_best = [g for g in best if g.method in ("cloze", "seq2seq")] or best
    top = max(glm_best, key=lambda g: statistics.fmean(r.dev[g.runs[0].validation_metric] for r in g.runs))
    if isinstance(entry, ClozeTask):
        files[fragment] = render_task_fragment(name, top, used, tiny)
        commands = _classification_commands(name, top.pattern_id if top.pattern_id is not None else used[0])
        metric_names, percent = ["accuracy", "macro_f1"], True
    else:
        files[fragment] = render_seq_fragment(name, top, used, tiny)
        commands = _generation_commands(name, gen)
        metric_names, percent = ["rouge1", "rouge2", "rougeL"], False
    model_line = "; ".join(sorted({describe_model(r) for r in glm_runs or runs}))
    baselines = sorted({describe_model(r) for r in runs if r.family != "glm"})
    if baselines:
        model_line += "; baselines: " + "; ".join(baselines)
    results = results_section(best, every, metric_names, percent, tiny, model_line, name)
    methods = {r.method for r in runs}
    if isinstance(entry, GenerationTask):
        dirs = sorted({str(json.loads((r.path / "config.json").read_text(encoding="utf-8"))["args"].get("data_dir")) for r in runs})
        results += [f"The runs read {', '.join(f'`{d}`' for d in dirs)}: `convert_{name}.py --pattern-id none` output (the text "
                    "on one line, no prompt; the toolkit adds the prompt of its --pattern-id itself), so the toolkit and "
                    "upstream's customization task see the same text.", ""]  # fmt: skip
    results += _not_run(isinstance(entry, ClozeTask), methods, {r.family for r in runs})
    results += _known_differences(isinstance(entry, ClozeTask))
    cited = sorted({{"bart_linear": "bart", "seq2seq_ptuning_v2": "ptuning_v2"}.get(m, m) for m in methods})
    refs = [BIBS[name], GLM_BIB, *[COMPARISON_BIBS[m] for m in cited if m in COMPARISON_BIBS]]
    title = {"dbpedia_14": "DBpedia-14", "samsum": "SAMSum"}.get(name, name)
    description = [DESCRIPTIONS[name][0], DESCRIPTIONS[name][1], "", *_pattern_table(entry, used)]
    files["README.md"] = readme(name, title, authors, description, commands, results, refs)
    return Package(files, warnings)


def _run_task(run: Run) -> str:
    return str(json.loads((run.path / "config.json").read_text(encoding="utf-8"))["args"]["task"])


def _tokenizer(runs: list[Run]) -> Any:
    """The tokenizer the probes use to tell single- from multi-token patterns: the runs' GLM checkpoint, else the
    toolkit's copy of the RoBERTa vocabulary (upstream's own)."""
    from model.tokenizer import GLMTokenizer

    for run in runs:
        path = Path(run.model)
        if not path.is_absolute():
            path = ROOT / path
        if (path / "vocab.json").is_file() and run.family == "glm":
            return GLMTokenizer.from_dir(path)
    return GLMTokenizer.from_dir(ROOT / "tests" / "fixtures" / "tokenizer")


def _requirements(generation: bool) -> str:
    lines = ["# On top of THUDM/GLM's own environment (its requirements.txt: torch, apex, deepspeed, ...), Python 3.8.",
             "datasets>=2.0  # the data download (get_data.py / convert script)"]
    if generation:
        lines.append("rouge_score  # upstream's seq2seq evaluation of the customization task")
    else:
        lines.append("scikit-learn  # f1_macro_metric in upstream's tasks/eval_utils.py")
    return "\n".join(lines) + "\n"


def _pattern_table(entry: Any, used: list[int]) -> list[str]:
    lines = ["| pattern id | prompt |", "|---|---|"]
    for pid in used:
        if isinstance(entry, ClozeTask):
            text = entry.pvp_class.available_patterns[pid]
        else:
            text = entry.prompt(pid).template
        lines.append(f"| {pid} | `{text}` |")
    return lines


def _classification_commands(name: str, pattern_id: int) -> list[str]:
    return [f"Run from the root of a THUDM/GLM checkout with this folder at `examples/{name}`. Set `DATA_ROOT`, "
            "`CHECKPOINT_PATH` and `SAVE_PATH` at the top of `scripts/finetune_superglue.sh`, as for upstream's own tasks.",
            "", "```bash",
            "export DATA_ROOT=/data/glm SAVE_PATH=/checkpoints/glm-finetune   # the values set in scripts/finetune_superglue.sh",
            f"pip install -r examples/{name}/requirements.txt",
            f"# 1. data: train/dev/test .jsonl in DATA_ROOT/{name} (no data files are part of this folder)",
            f"python examples/{name}/get_data.py --out $DATA_ROOT/{name}",
            f"# 2. register the processor, PVP and metrics, copy config_tasks/task_{name}.sh",
            f"python examples/{name}/install.py",
            "# 3. training (the dev split chooses the best epoch; the test split is predicted at the end)",
            f"PATTERN_ID={pattern_id} bash scripts/finetune_superglue.sh config_tasks/model_blocklm_roberta_large.sh config_tasks/task_{name}.sh",
            "# 4. inference with the fine-tuned checkpoint (no training epochs): predictions and test_results.json",
            f"#    (the training run's name is blocklm-roberta-large-{name}- plus the date it appended, MM-DD-HH-MM)",
            f"EPOCH_SINGLE=0 EXTRA_ARGS=\"--load $SAVE_PATH/blocklm-roberta-large-{name}-MM-DD-HH-MM/best\" \\",
            f"  bash scripts/finetune_superglue.sh config_tasks/model_blocklm_roberta_large.sh config_tasks/task_{name}.sh",
            f"# undo step 2: python examples/{name}/install.py --uninstall",
            "```", ""]  # fmt: skip


def _generation_commands(name: str, patterns: list[Seq2SeqPattern]) -> list[str]:
    first = patterns[0].pattern_id
    return [f"Run from the root of a THUDM/GLM checkout with this folder at `examples/{name}`. Set `DATA_ROOT`, "
            "`CHECKPOINT_PATH` and `SAVE_PATH` at the top of `scripts/finetune_seq2seq.sh`, as for upstream's own tasks.",
            "", "```bash",
            "export DATA_ROOT=/data/glm SAVE_PATH=/checkpoints/glm-finetune   # the values set in scripts/finetune_seq2seq.sh",
            f"pip install -r examples/{name}/requirements.txt",
            f"# 1. data + preprocessing: the customization files with the prompt of pattern {first}",
            f"python examples/{name}/convert_{name}.py --output $DATA_ROOT/{name}_p{first} --pattern-id {first}",
            f"# 2. copy config_tasks/seq_{name}.sh",
            f"python examples/{name}/install.py",
            "# 3. training and evaluation (ROUGE on val each --eval-epoch; test decoded at the end)",
            f"PATTERN_ID={first} bash scripts/finetune_seq2seq.sh config_tasks/model_blocklm_roberta_large.sh config_tasks/seq_{name}.sh",
            "# 4. inference with the fine-tuned checkpoint (no training epochs): test summaries and test_results.json",
            f"EPOCH_SINGLE=0 EXTRA_ARGS=\"--load $SAVE_PATH/blocklm-roberta-large-{name}/best\" PATTERN_ID={first} \\",
            f"  bash scripts/finetune_seq2seq.sh config_tasks/model_blocklm_roberta_large.sh config_tasks/seq_{name}.sh",
            "```", ""]  # fmt: skip


def _not_run(classification: bool, methods: set[str], families: set[str]) -> list[str]:
    """Say which of the comparisons upstream's README asks for are missing, and why (nothing silently absent)."""
    missing = []
    if classification:
        for method, why in (("cloze", "no cloze run"), ("classifier", "no linear-head run (--no-cloze-eval)"),
                            ("ptuning_v2", "no P-tuning v2 run (--ptuning-v2)")):  # fmt: skip
            if method not in methods:
                missing.append(why)
    else:
        missing.append("GLM's linear head, which does not apply to generation")
        if "seq2seq_ptuning_v2" not in methods:
            missing.append("no P-tuning v2 run (--ptuning-v2)")
    if families == {"glm"}:
        missing.append("no baseline run (finetune_baseline.py)")
    return (["Not in this table: " + "; ".join(missing) + ".", ""] if missing else [])


def _known_differences(classification: bool) -> list[str]:
    if classification:
        return ["How these numbers carry over to upstream's code: upstream's accuracy_metric reports percent (so does "
                "this table). The token ids upstream's PVP builds from this folder's code equal the toolkit's for every "
                "candidate of an example that fits the sequence length; when the context must be cut, upstream cuts it "
                "separately for each candidate and the toolkit once for the longest, so the rows of shorter candidates "
                "may keep a few more context tokens upstream.", ""]  # fmt: skip
    return ["How these numbers carry over to upstream's code: the source and target ids upstream's customization dataset "
            "builds from the converted files equal the toolkit's for a source that fits --src-seq-length; a longer source "
            "is cut at its start by upstream and at its end by the toolkit. ROUGE here is the toolkit's (rouge-score with "
            "stemming, 0-100); upstream's evaluation is its own.", ""]  # fmt: skip


def write_package(package: Package, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for relative, text in package.files.items():
        (out / relative).write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", required=True, help="a hand-written task of the toolkit (tasks/registry.py)")
    parser.add_argument("--runs", nargs="*", default=[], type=Path, help="finished run directories of that task")
    parser.add_argument("--author", action="append", default=[], help="NAME|EMAIL[|HOMEPAGE], once per author")
    parser.add_argument("--out", type=Path, required=True, help="the folder to write, examples/<hub id>")
    parser.add_argument("--model-name", help="what the README calls the model; refused if the runs' model differs")
    parser.add_argument("--pattern-ids", type=int, nargs="*", help="with --code-only: the patterns to write")
    parser.add_argument("--code-only", action="store_true", help="write the code, no README (no runs needed)")
    args = parser.parse_args(argv)
    try:
        authors = [Author.parse(a) for a in args.author]
        runs = [read_run(p) for p in sorted(args.runs)]
        package = build(args.task, runs, authors, args.model_name, args.code_only, args.pattern_ids)
    except (PRError, ValueError) as e:
        print(f"make_upstream_pr: {e}", file=sys.stderr)
        return 2
    write_package(package, args.out)
    for w in package.warnings:
        print(f"note: {w}")
    print(f"wrote {args.out}: {', '.join(sorted(package.files))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
