"""A sweep spec expanded into trials: each point of the grid, its stable id, and the driver command that runs it.

Spec keys: `name`, `description`, `save_dir`, `command`, `base_args`, `grid`, `zip`, `keep_best`. Grid and base_args keys are
flag dest names (`batch_size`) or flags spelled out (`--deepspeed_config`); values are numbers, strings or
booleans. `true` passes the flag; `false` leaves a store_true flag out and passes `--no-<flag>` for the flags
in NEGATABLE_FLAGS. Format and guarantees: docs/GRID_AND_REPORT.md.
"""

from __future__ import annotations

import os

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

import yaml

from training.rundir import RunDirError, run_path

Scalar = str | int | float | bool

SPEC_KEYS = ("name", "description", "save_dir", "command", "base_args", "grid", "zip", "keep_best")
KEEP_BEST = ("trial", "sweep", "none")
# A zip group's `_label` names its points in trial ids (instead of every key's value) and is passed to no driver.
LABEL = "_label"  # which trials keep best/: every one, the sweep's best setting's, none
DEFAULT_COMMAND = ("{launcher}", "finetune_glm.py", "{base_args}", "{trial_args}",
                   "--experiment-name", "{experiment}", "--save-dir", "{save_dir}")
# Trial-id components in this order (then any other key alphabetically, the seed last), so that an id does
# not depend on how the spec happens to order its keys.
ID_ORDER = {"lr": "lr", "batch_size": "bs", "epochs": "ep", "warmup": "wu", "weight_decay": "wd",
            "pattern_id": "p", "prompt": "pr", "cloze_eval": "cloze"}
# The drivers' boolean flags declared with argparse.BooleanOptionalAction (`--cloze-eval/--no-cloze-eval`,
# default on). For them `false` must be spelled `--no-<flag>`: leaving the flag out keeps the default, and the
# trial recorded as off would silently run with it on. Every other boolean flag is store_true, which rejects
# `--no-<flag>` and is off when left out. tests/test_grid_search.py checks this set against the drivers' --help.
NEGATABLE_FLAGS = frozenset({"cloze_eval", "mask_pad_token"})


class SpecError(ValueError):
    """A sweep spec that cannot be expanded; the message names the file and the key."""


@dataclass(frozen=True)
class Trial:
    """One point of the grid: its id, its swept values by dest name, and the flags that set them."""

    trial_id: str
    params: dict[str, Scalar | None]  # None: a zipped key this trial leaves out (no flag is passed)
    args: tuple[str, ...]

    @property
    def setting(self) -> dict[str, Scalar]:
        """The hyperparameters other than the seed: trials sharing a setting are averaged over seeds."""
        return {k: v for k, v in self.params.items() if k != "seed"}


@dataclass(frozen=True)
class Sweep:
    name: str
    save_dir: Path
    command: tuple[str, ...]
    base_args: tuple[str, ...]
    trials: tuple[Trial, ...]
    keep_best: str = "trial"

    @property
    def folder(self) -> Path:
        return self.save_dir / self.name

    def run_dir(self, trial: Trial) -> Path:
        return self.folder / trial.trial_id

    def command_for(self, trial: Trial, launcher: Sequence[str]) -> list[str]:
        """The driver's argv for a trial: the template with its placeholders filled in."""
        fill = {"{experiment}": f"{self.name}/{trial.trial_id}", "{save_dir}": str(self.save_dir),
                "{run_dir}": str(self.run_dir(trial)),
                **{"{" + k + "}": "" if v is None else str(v) for k, v in trial.params.items()}}
        argv: list[str] = []
        for part in self.command:
            if part == "{launcher}":
                argv += launcher
            elif part == "{base_args}":
                argv += _rooted_args(self.base_args)
            elif part == "{trial_args}":
                argv += _rooted_args(trial.args)
            else:
                # where runs are written stays relative to where the sweep runs, as its own folder does
                output = any(p in part for p in OUTPUT_PLACEHOLDERS)
                for placeholder, value in fill.items():
                    part = part.replace(placeholder, value)
                if part:  # a placeholder of a key the trial leaves out leaves no empty argument
                    argv.append(part if output else _rooted(part))
        return argv


REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT_PLACEHOLDERS = ("{experiment}", "{save_dir}", "{run_dir}")


def _rooted(token: str) -> str:
    """A relative path that exists only under the repository root (the driver, data/demo/..., checkpoints/...)
    made absolute, so a sweep started from another directory runs the same commands."""
    if not token or token.startswith("-") or os.path.isabs(token) or os.path.exists(token):
        return token
    candidate = REPO_ROOT / token
    return str(candidate) if candidate.exists() else token


OUTPUT_FLAGS = ("--save", "--save-dir", "--experiment-name")


def _rooted_args(tokens: Sequence[str]) -> list[str]:
    """_rooted for every token except the values of the flags that say where runs are written."""
    return [t if i and tokens[i - 1] in OUTPUT_FLAGS else _rooted(t) for i, t in enumerate(tokens)]


def dest_and_flag(key: str) -> tuple[str, str]:
    """`batch_size` and `--batch-size` both mean dest `batch_size`; a key spelled as a flag is kept verbatim
    because a few upstream flags (`--deepspeed_config`) use underscores."""
    if key.startswith("--"):
        return key[2:].replace("-", "_"), key
    return key.replace("-", "_"), "--" + key.replace("_", "-")


def to_scalar(value: Any, where: str) -> Scalar:
    """Numbers written as strings become numbers: PyYAML reads `1e-5` as a string, and the trial id and the
    grouping must not depend on how a number was spelled."""
    if isinstance(value, bool | int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise SpecError(f"{where}: {value!r} is not a usable value")
        return value
    if isinstance(value, str) and value:
        for parse in (int, float):
            try:
                number = parse(value)
            except ValueError:
                continue
            if math.isfinite(number):
                return number
        return value
    raise SpecError(f"{where}: expected a number, a non-empty string or a boolean, "
                    f"got {type(value).__name__} {value!r}")


def flag_tokens(dest: str, flag: str, value: Scalar) -> list[str]:
    """The driver tokens that give `dest` the value: `--lr 1e-05`, `--fp16`, `--no-cloze-eval` or nothing."""
    if value is True:
        return [flag]
    if value is False:
        return ["--no-" + flag[2:]] if dest in NEGATABLE_FLAGS else []
    return [flag, str(value)]


def _id_value(value: Scalar) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int | float):
        return str(value)  # the shortest exact spelling: 1e-05, 0.0003
    # "-" separates components and "/" would nest folders: strings keep only letters, digits and "._+".
    return "".join(c if c.isalnum() or c in "._+" else "_" for c in value)


def key_rank(key: str) -> tuple:
    """Sort key for hyperparameter names: the ID_ORDER names first, then the rest alphabetically, seed last."""
    return (key != LABEL, key == "seed", key not in ID_ORDER, list(ID_ORDER).index(key) if key in ID_ORDER else 0, key)


def trial_id(params: Mapping[str, Scalar]) -> str:
    """A short name such as `lr1e-05-bs8-ep3-p0-s1234`, the same whatever order the spec lists its keys."""
    short = {**ID_ORDER, "seed": "s", LABEL: ""}
    return "-".join(f"{short.get(k, k)}{_id_value(params[k])}" for k in sorted(params, key=key_rank))


def _axis_values(values: Any, where: str) -> list[Scalar]:
    items = values if isinstance(values, list) else [values]
    if not items:
        raise SpecError(f"{where}: the list of values is empty")
    scalars = [to_scalar(v, where) for v in items]
    if len(set(map(repr, scalars))) != len(scalars):
        raise SpecError(f"{where}: a value is listed twice: {scalars}")
    return scalars


def parse_set(items: Iterable[str]) -> dict[str, list[Scalar]]:
    """`--set lr=1e-5,2e-5` -> {"lr": [1e-05, 2e-05]}; `true`/`false` become booleans."""
    axes: dict[str, list[Scalar]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key:
            raise SpecError(f"--set {item!r}: expected key=value1,value2,...")
        words = [{"true": True, "false": False}.get(w.strip().lower(), w.strip()) for w in values.split(",")]
        axes[key] = _axis_values(words, f"--set {key}")
    return axes


def load_spec(path: Path) -> dict[str, Any]:
    try:
        spec = yaml.safe_load(path.read_text())  # JSON is YAML too
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the sweep spec ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML/JSON: {exc}") from exc
    if not isinstance(spec, dict):
        raise SpecError(f"{path}: a sweep spec must be a mapping with a 'grid' key")
    unknown = [k for k in spec if k not in SPEC_KEYS]
    if unknown:
        raise SpecError(f"{path}: unknown key {unknown[0]!r} (known keys: {', '.join(SPEC_KEYS)})")
    return spec


def build_sweep(spec: Mapping[str, Any], source: str, *, overrides: Mapping[str, list[Scalar]] | None = None,
                extra_args: Sequence[str] = (), name: str | None = None,
                save_dir: str | None = None) -> Sweep:
    """Expand a spec (plus `--set` axes and extra driver flags) into trials, checking everything that would
    otherwise surface as a confusing failure halfway through a long sweep."""
    sweep_name = name or spec.get("name")
    if not sweep_name or not isinstance(sweep_name, str):
        raise SpecError(f"{source}: the sweep needs a name (spec key 'name' or --name)")
    try:
        run_path(save_dir or spec.get("save_dir") or "runs", sweep_name, what="sweep name")
    except RunDirError as exc:
        raise SpecError(f"{source}: {exc}") from None

    command = spec.get("command", DEFAULT_COMMAND)
    if not isinstance(command, list | tuple) or not all(isinstance(p, str) for p in command):
        raise SpecError(f"{source}: key 'command' must be a list of strings")
    for needed in ("{trial_args}", "{experiment}"):
        if not any(needed in part for part in command):
            raise SpecError(f"{source}: key 'command' lacks {needed}; without it trials would share a run")

    raw_grid = spec.get("grid") or {}
    if not isinstance(raw_grid, dict):
        raise SpecError(f"{source}: key 'grid' must be a mapping of flag -> list of values")
    axes: dict[str, tuple[str, list[Scalar]]] = {}
    for key, values in [*raw_grid.items(), *(overrides or {}).items()]:
        dest, flag = dest_and_flag(str(key))
        axes[dest] = (flag, _axis_values(values, f"{source}: grid key {key!r}"))
    groups = _zip_groups(spec.get("zip"), source, axes, overrides or {})
    if not axes and not groups:
        raise SpecError(f"{source}: the grid is empty; give at least one key under 'grid' or 'zip', or a --set")
    keep_best = spec.get("keep_best", "trial")
    if keep_best not in KEEP_BEST:
        raise SpecError(f"{source}: key 'keep_best' must be one of {', '.join(KEEP_BEST)}, got {keep_best!r}")

    zipped = {dest: flag for group in groups for dest, flag in group[0]}
    every = {**{d: f for d, (f, _) in axes.items()}, **zipped}
    base_args = _base_args(spec.get("base_args"), source, every)
    swept_flags = {spelling for dest, flag in every.items() for spelling in _spellings(dest, flag)}
    overridden = [tok for tok in extra_args if tok.split("=")[0] in swept_flags]
    if overridden:
        raise SpecError(f"{source}: {overridden[0].split('=')[0]} is swept by the grid and also given after "
                        "'--'; the grid's value would win silently")
    # A key the command names as a placeholder ({driver}, {baseline}) is filled in there, not passed as a flag.
    in_command = {d for d in every if any("{" + d + "}" in part for part in command)}
    dests = sorted(axes)
    trials = []
    for combo in product(*(axes[d][1] for d in dests), *(range(len(g[1])) for g in groups)):
        params: dict[str, Scalar | None] = dict(zip(dests, combo[:len(dests)]))
        for (keys, rows), row in zip(groups, combo[len(dests):]):
            params.update({dest: value for (dest, _), value in zip(keys, rows[row])})
        ordered = sorted(params)
        args = tuple(tok for d in ordered if d not in in_command and params[d] is not None and d != LABEL
                     for tok in flag_tokens(d, every[d], params[d]))
        named = {k: v for k, v in params.items() if v is not None}
        for keys, _ in groups:  # a group with a _label is named by it alone in the trial id
            if any(dest == LABEL for dest, _ in keys):
                named = {k: v for k, v in named.items() if k == LABEL or k not in {d for d, _ in keys}}
        trials.append(Trial(trial_id(named), params, args))
    trials.sort(key=lambda t: _order_key(t.params, axes, groups))
    ids = [t.trial_id for t in trials]
    clashes = sorted({i for i in ids if ids.count(i) > 1})
    if clashes:
        raise SpecError(f"{source}: different grid points give the same trial id {clashes[0]!r}; "
                        "rename the string values so that they differ in letters or digits")
    return Sweep(name=sweep_name, save_dir=Path(save_dir or spec.get("save_dir") or "runs"),
                 command=tuple(command), base_args=tuple(override_args(base_args, extra_args)),
                 trials=tuple(trials), keep_best=keep_best)


def _segments(tokens: Sequence[str]) -> list[list[str]]:
    """Tokens cut into flag segments: `--lr 1e-3 --fp16` -> [[--lr, 1e-3], [--fp16]]; `--x=1` is one segment."""
    out: list[list[str]] = []
    for tok in tokens:
        if tok.startswith("--") or not out:
            out.append([tok])
        else:
            out[-1].append(tok)
    return out


def _flag_of(segment: Sequence[str]) -> str:
    flag = segment[0].split("=")[0]
    return "--" + flag[5:] if flag.startswith("--no-") else flag


def override_args(base: Sequence[str], extra: Sequence[str]) -> list[str]:
    """base_args with the flags given after '--' replacing theirs (`--epochs 6` replaces the spec's
    `--epochs 4` instead of following it; `--no-cloze-eval` replaces `--cloze-eval`)."""
    given = {_flag_of(seg) for seg in _segments(extra)}
    kept = [tok for seg in _segments(base) if _flag_of(seg) not in given for tok in seg]
    return [*kept, *extra]


def _zip_groups(raw: Any, source: str, axes: Mapping[str, Any], overrides: Mapping[str, Any]) \
        -> list[tuple[list[tuple[str, str]], list[tuple[Scalar | None, ...]]]]:
    """`zip:` a list of groups, each a mapping of keys to equally long lists: the i-th values of a group's keys
    go together (`baseline: [roberta, bart]` with `model_name_or_path: [R, B]`), and a group is one axis of the
    product. `null` leaves a key out for that point (no flag is passed)."""
    if raw is None:
        return []
    groups = raw if isinstance(raw, list) else [raw]
    out = []
    seen: set[str] = set()
    for number, group in enumerate(groups, start=1):
        where = f"{source}: zip group {number}"
        if not isinstance(group, dict) or not group:
            raise SpecError(f"{where} must be a mapping of flag -> list of values")
        lengths = {k: len(v) if isinstance(v, list) else -1 for k, v in group.items()}
        if any(n < 1 for n in lengths.values()) or len(set(lengths.values())) > 1:
            raise SpecError(f"{where}: every key needs a list of the same length, got "
                            + ", ".join(f"{k}: {n if n >= 0 else 'not a list'}" for k, n in lengths.items()))
        keys = []
        for key in group:
            dest, flag = dest_and_flag(str(key))
            if dest in axes or dest in seen or dest in overrides:
                raise SpecError(f"{where}: key {key!r} is swept twice (in 'grid', --set or another zip group)")
            seen.add(dest)
            keys.append((dest, flag))
        rows = [tuple(None if v is None else to_scalar(v, f"{where} key {k!r}") for k, v in
                      zip(group, values)) for values in zip(*group.values())]
        if len(set(map(repr, rows))) != len(rows):
            raise SpecError(f"{where}: a combination is listed twice: {rows}")
        out.append((keys, rows))
    return out


def _spellings(dest: str, flag: str) -> tuple[str, ...]:
    """The tokens that set a swept dest: `--no-cloze-eval` after '--' overrides a `cloze_eval` axis too."""
    return (flag, "--no-" + flag[2:]) if dest in NEGATABLE_FLAGS else (flag,)


def _order_key(params: Mapping[str, Any], axes: Mapping[str, tuple[str, list[Scalar]]],
               groups: Sequence[tuple[list[tuple[str, str]], list[tuple]]] = ()) -> tuple:
    """Run trials in id-component order with values in the order the spec lists them: all seeds of the first
    setting come first, so an early look at the records already shows a complete mean ± std."""
    zipped = {dest: [row[i] for row in rows] for keys, rows in groups for i, (dest, _) in enumerate(keys)}
    return tuple((axes[k][1] if k in axes else zipped[k]).index(params[k]) for k in sorted(params, key=key_rank)
                 if k != "seed") + ((axes["seed"][1].index(params["seed"]),) if "seed" in axes else ())


def _base_args(raw: Any, source: str, axes: Mapping[str, Any]) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, list):
        if not all(isinstance(tok, str | int | float) and not isinstance(tok, bool) for tok in raw):
            raise SpecError(f"{source}: key 'base_args' as a list must hold command-line tokens (strings)")
        return [str(tok) for tok in raw]
    if not isinstance(raw, dict):
        raise SpecError(f"{source}: key 'base_args' must be a mapping of flag -> value or a list of tokens")
    tokens: list[str] = []
    for key, value in raw.items():
        dest, flag = dest_and_flag(str(key))
        if dest in axes:
            raise SpecError(f"{source}: key {key!r} is both in base_args and in the grid")
        tokens += flag_tokens(dest, flag, to_scalar(value, f"{source}: base_args key {key!r}"))
    return tokens
