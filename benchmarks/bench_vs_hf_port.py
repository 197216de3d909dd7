#!/usr/bin/env python
"""This toolkit's GLM against the Hugging Face hub port of GLM, side by side, same weights, same inputs.

    python benchmarks/bench_vs_hf_port.py --port-dir DIR --port-python PY
        DIR  the hub repository's remote code: modeling_glm.py, configuration_glm.py, tokenization_glm.py
             (e.g. a download of THUDM/glm-roberta-large without the weights)
        PY   a Python that has torch and transformers 4.33 (the port does not run on later transformers);
             default: this Python

Three workloads (random weights written once and loaded by both):
    train   one training step's forward + backward: full-vocabulary LM loss on a GLM Part A / Part B batch,
            fp32, train mode (dropout 0.1, and again with dropout 0); ours as its trainer runs on CPU (the tied
            word embedding's gradient built sparse)
    score   multiple-choice scoring: a context and its candidates packed in one row (both implementations pack),
            summed candidate log-probabilities, eval mode, at 4 and 14 candidates
    beam    beam search, 4 beams, a fixed number of new tokens (eop forbidden until then, so both do the same
            steps); ours uses its key/value cache, the port its own generate under transformers 4.33

Before any timing, each workload's outputs are compared (logits, candidate scores, generated tokens) and the
benchmark stops if they differ. The port runs in a worker process (its Python); the two implementations are
timed alternately, round by round, after a warm-up of each; medians and minimums are printed with the ratio.
With no port directory, missing files or a Python without transformers 4.33, the benchmark prints SKIPPED and
the reason, and exits 0. Only ratios carry across machines.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT_FILES = ("modeling_glm.py", "configuration_glm.py", "tokenization_glm.py")
SOP, EOP, MASK, PAD = 50265, 50266, 50264, 2


# ---------------------------------------------------------------------------------------------- inputs (both sides)
def make_inputs(kind: str, a: argparse.Namespace, seed: int = 0) -> dict:
    """Tensors of one workload, in the port's layout; ours is derived from the same tensors."""
    import torch

    g = torch.Generator().manual_seed(seed)
    if kind == "train":
        b, t = a.train_batch, a.train_seq
        ids = torch.randint(10, 50000, (b, t), generator=g)
        sep = torch.tensor([t // 2 + 7 * i for i in range(b)])
        pos = torch.stack([torch.arange(t).expand(b, t), (torch.arange(t) >= sep.view(-1, 1)).long().cumsum(1)], dim=1)
        targets = torch.randint(10, 50000, (b, t), generator=g)
        return {"input_ids": ids, "position_ids": pos, "sep": sep, "targets": targets}
    if kind.startswith("score"):
        from tasks import layout

        n_cand = int(kind[len("score"):])

        class Ids:
            cls_id, eos_id, pad_id, sop_id, eop_id, mask_id = 0, 2, 2, SOP, EOP, MASK

        samples = []
        for _ in range(a.score_batch):
            ctx = torch.randint(10, 50000, (a.score_context - 2,), generator=g).tolist()
            ctx[len(ctx) // 2] = MASK
            answers = [torch.randint(10, 50000, (int(torch.randint(1, 6, (1,), generator=g)),), generator=g).tolist() + [EOP]
                       for _ in range(n_cand)]
            samples.append(layout.build_packed(ctx, [], answers, Ids, 0))
        batch = layout.collate_packed(samples)
        index = batch["candidate_index"]
        choice_ids = [[batch["target_ids"][r][index[r] == c] for c in range(n_cand)] for r in range(len(samples))]
        choice_indices = [[(index[r] == c).nonzero().squeeze(1) for c in range(n_cand)] for r in range(len(samples))]
        return {**batch, "choice_ids": choice_ids, "choice_indices": choice_indices}
    if kind == "beam":
        b, src, gen = a.beam_batch, a.beam_source, a.new_tokens + 1
        ids = torch.randint(10, 50000, (b, src), generator=g)
        ids[:, -1] = MASK
        prompt = torch.cat([ids, torch.full((b, 1), SOP)], dim=1)  # [B, src + 1]
        pos = torch.zeros(b, 2, src + gen, dtype=torch.long)
        pos[:, 0, :src] = torch.arange(src)
        pos[:, 0, src:] = src - 1  # the [MASK] position
        pos[:, 1, src:] = torch.arange(1, gen + 1)
        mask = torch.zeros(b, 1, src + gen, src + gen, dtype=torch.long)
        mask[:, :, :, :src] = 1
        mask[:, :, src:, src:] = torch.ones(gen, gen, dtype=torch.long).tril()
        return {"input_ids": prompt, "position_ids": pos, "generation_attention_mask": mask}
    raise ValueError(kind)


# ---------------------------------------------------------------------------------------------- the port (worker)
def worker(port_dir: str) -> None:
    """Runs in the port's Python: commands on stdin, one JSON line each; answers on stdout."""
    import importlib
    import shutil

    import torch
    import transformers

    pkg_root = Path(tempfile.mkdtemp())
    pkg = pkg_root / "hf_glm_port"
    pkg.mkdir()
    for name in PORT_FILES:
        shutil.copy(Path(port_dir) / name, pkg / name)
    (pkg / "__init__.py").write_text("")
    sys.path.insert(0, str(pkg_root))
    modeling = importlib.import_module("hf_glm_port.modeling_glm")
    configuration = importlib.import_module("hf_glm_port.configuration_glm")
    models: dict = {}
    inputs: dict = {}

    def answer(**kw):
        print(json.dumps(kw), flush=True)

    answer(ready=True, transformers=transformers.__version__, torch=torch.__version__)
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "load":
            cfg = configuration.GLMConfig(**cmd["config"])
            state = torch.load(cmd["weights"])
            for name, cls in (("lm", modeling.GLMForConditionalGeneration), ("mc", modeling.GLMForMultipleChoice)):
                m = cls(cfg)
                missing, unexpected = m.load_state_dict({f"glm.{k}": v for k, v in state.items()}, strict=False)
                if missing or unexpected:
                    answer(error=f"weights do not fit the port's {cls.__name__}: missing {missing}, unexpected {unexpected}")
                    break
                models[name] = m
            else:
                answer(ok=True)
        elif op == "inputs":
            inputs.update(torch.load(cmd["path"]))
            answer(ok=True)
        elif op == "run":
            kind, out_path = cmd["kind"], cmd.get("output")
            torch.manual_seed(0)
            start = time.perf_counter()
            out = _port_run(models, inputs[kind], kind, cmd.get("dropout", 0.1), cmd["new_tokens"], cmd["beams"])
            seconds = time.perf_counter() - start
            if out_path:
                torch.save(out, out_path)
            answer(seconds=seconds)
        elif op == "quit":
            return


def _port_run(models: dict, x: dict, kind: str, dropout: float, new_tokens: int, beams: int):
    import torch

    if kind.startswith("train"):
        m = models["lm"]
        if kind == "train_check":
            m.eval()
            with torch.no_grad():
                return m(x["input_ids"], x["position_ids"], x["sep"]).logits
        m.train()
        for mod in m.modules():
            if isinstance(mod, torch.nn.Dropout):
                mod.p = dropout
        logits = m(x["input_ids"], x["position_ids"], x["sep"]).logits
        loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), x["targets"].view(-1))
        loss.backward()
        m.zero_grad(set_to_none=True)
        return loss.detach()
    if kind.startswith("score"):
        m = models["mc"].eval()
        with torch.no_grad():
            return m(input_ids=x["input_ids"], position_ids=x["position_ids"], attention_mask=x["attention_mask"].long(),
                     choice_ids=x["choice_ids"], choice_indices=x["choice_indices"]).logits
    m = models["lm"].eval()
    with torch.no_grad():
        out = m.generate(input_ids=x["input_ids"], position_ids=x["position_ids"],
                         generation_attention_mask=x["generation_attention_mask"], max_new_tokens=new_tokens,
                         min_new_tokens=new_tokens, num_beams=beams, eos_token_id=EOP, pad_token_id=PAD,
                         do_sample=False, early_stopping=False, length_penalty=1.0)
    return out[:, x["input_ids"].shape[1]:]


class Port:
    def __init__(self, python: str, port_dir: str):
        self.proc = subprocess.Popen([python, __file__, "--worker", "--port-dir", port_dir], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(ROOT))
        self.hello = self._read()

    def _read(self) -> dict:
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the port's worker stopped: {self.proc.stderr.read()[-3000:]}")
            if line.startswith("{"):
                reply = json.loads(line)
                if "error" in reply:
                    raise RuntimeError(reply["error"])
                return reply

    def ask(self, **cmd) -> dict:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        try:
            self.ask(op="quit")
        except (RuntimeError, BrokenPipeError, ValueError):
            pass
        self.proc.wait(timeout=30)


def port_missing(port_dir: str | None, python: str) -> str | None:
    """Why the port cannot run here, or None."""
    if not port_dir:
        return "no --port-dir given (the hub repository's modeling_glm.py, configuration_glm.py, tokenization_glm.py)"
    missing = [f for f in PORT_FILES if not (Path(port_dir) / f).is_file()]
    if missing:
        return f"{port_dir} lacks {', '.join(missing)}"
    probe = subprocess.run([python, "-c", "import transformers, torch; print(transformers.__version__)"],
                           capture_output=True, text=True)
    if probe.returncode:
        return f"{python} cannot import transformers and torch: {probe.stderr.strip().splitlines()[-1:]}"
    version = probe.stdout.strip().splitlines()[-1]
    if not version.startswith("4.33"):
        return f"{python} has transformers {version}; the port needs 4.33 (give --port-python a Python that has it)"
    return None


# ---------------------------------------------------------------------------------------------- ours
def our_run(model, x: dict, kind: str, dropout: float, new_tokens: int, beams: int):
    import torch

    from model.decoding import GenerationConfig, generate
    from model.heads import MultiTokenClozeHead
    from training.loop import sparse_embedding_grads

    if kind.startswith("train"):
        if kind == "train_check":
            model.eval()
            with torch.no_grad():
                return model(x["input_ids"], x["position_ids"], sep=x["sep"]).logits
        model.train()
        for mod in model.modules():
            if isinstance(mod, torch.nn.Dropout):
                mod.p = dropout
        for layer in model.transformer.layers:
            layer.attention.attention_dropout = dropout
        sparse_embedding_grads(model)  # as the trainer builds the tied embedding's gradient on CPU
        logits = model(x["input_ids"], x["position_ids"], sep=x["sep"]).logits
        loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), x["targets"].view(-1))
        loss.backward()
        model.zero_grad(set_to_none=True)
        return loss.detach()
    if kind.startswith("score"):
        model.eval()
        with torch.no_grad():
            return MultiTokenClozeHead()(model, x)
    model.eval()
    p = x["input_ids"].shape[1]
    mask = x["generation_attention_mask"][:, :, :p, :p].bool()
    out = generate(model, x["input_ids"], x["position_ids"][:, :, :p], mask,
                   GenerationConfig(max_length=new_tokens, min_length=new_tokens, num_beams=beams, eop_id=EOP, pad_id=PAD))
    return torch.tensor(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port-dir", help="directory with the hub port's modeling_glm.py, configuration_glm.py, tokenization_glm.py")
    p.add_argument("--port-python", default=sys.executable, help="a Python with transformers 4.33 (default: this one)")
    p.add_argument("--train-layers", type=int, default=2, help="training-step model depth (width 1024, 16 heads)")
    p.add_argument("--train-batch", type=int, default=2)
    p.add_argument("--train-seq", type=int, default=256)
    p.add_argument("--layers", type=int, default=6, help="scoring / decoding model depth")
    p.add_argument("--hidden", type=int, default=512, help="scoring / decoding model width")
    p.add_argument("--score-batch", type=int, default=4)
    p.add_argument("--score-context", type=int, default=128)
    p.add_argument("--beam-batch", type=int, default=2)
    p.add_argument("--beam-source", type=int, default=128)
    p.add_argument("--beams", type=int, default=4)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--only", nargs="*", choices=("train", "score", "beam"), help="run only these workloads")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        worker(a.port_dir)
        return
    reason = port_missing(a.port_dir, a.port_python)
    if reason:
        print(f"SKIPPED: {reason}")
        return

    sys.path.insert(0, str(ROOT))
    import torch

    from model.glm import GLMConfig, GLMModel

    port = Port(a.port_python, a.port_dir)
    print(f"ours: torch {torch.__version__}; the port: transformers {port.hello['transformers']}, torch {port.hello['torch']}; "
          f"{torch.get_num_threads()} threads each, run alternately")
    wanted = a.only or ["train", "score", "beam"]
    tmp = Path(tempfile.mkdtemp())
    try:
        shapes = []
        if "train" in wanted:
            shapes.append(("train", GLMConfig(num_layers=a.train_layers, hidden_size=1024, num_attention_heads=16,
                                              max_sequence_length=512, gelu="erf"), ["train"]))
        small = GLMConfig(num_layers=a.layers, hidden_size=a.hidden, num_attention_heads=a.hidden // 64,
                          max_sequence_length=max(512, a.beam_source + a.new_tokens + 2), gelu="erf")
        kinds = (["score4", "score14"] if "score" in wanted else []) + (["beam"] if "beam" in wanted else [])
        if kinds:
            shapes.append(("small", small, kinds))
        for _, cfg, kinds in shapes:
            torch.manual_seed(0)
            ours = GLMModel(cfg)
            weights = tmp / "weights.pt"
            torch.save(ours.state_dict(), weights)
            hf = {k: v for k, v in cfg.to_hf_dict().items() if k not in ("gelu", "layernorm_epsilon", "architectures", "torch_dtype")}
            port.ask(op="load", weights=str(weights), config={**hf, "output_predict": True})
            inputs = {k: make_inputs(k, a) for k in kinds}
            if "train" in kinds:
                inputs["train_check"] = inputs["train"]  # the same batch, compared in eval mode
            torch.save(inputs, tmp / "inputs.pt")
            port.ask(op="inputs", path=str(tmp / "inputs.pt"))
            shape = f"{cfg.num_layers} layers x {cfg.hidden_size}"
            for kind in kinds:
                check_equal(port, ours, inputs, kind, a, tmp)
                settings = [(kind, 0.1), (kind, 0.0)] if kind == "train" else [(kind, 0.0)]
                for kind_, dropout in settings:
                    report(port, ours, inputs, kind_, dropout, a, shape)
    finally:
        port.close()


def check_equal(port: Port, ours, inputs: dict, kind: str, a, tmp: Path) -> None:
    """The two implementations' outputs on the workload's inputs (eval mode for the training batch: logits)."""
    import torch

    check = "train_check" if kind == "train" else kind
    port.ask(op="run", kind=check, output=str(tmp / "out.pt"), new_tokens=a.new_tokens, beams=a.beams)
    theirs = torch.load(tmp / "out.pt")
    mine = our_run(ours, inputs[check], check, 0.0, a.new_tokens, a.beams)
    if check == "beam":
        if not torch.equal(mine, theirs):
            raise SystemExit(f"beam search: different tokens\nours {mine.tolist()}\nport {theirs.tolist()}")
        print(f"beam: the same {tuple(mine.shape)} tokens from both")
        return
    diff = (mine.float() - theirs.float()).abs().max().item()
    scale = theirs.float().abs().max().item()
    if not diff <= 1e-4 * max(scale, 1.0):
        raise SystemExit(f"{check}: outputs differ by {diff:.3g} (scale {scale:.3g})")
    print(f"{kind}: outputs equal (largest difference {diff:.1e}, largest value {scale:.2g})")


def report(port: Port, ours, inputs: dict, kind: str, dropout: float, a, shape: str) -> None:
    x = inputs[kind]

    def run_port() -> float:
        return port.ask(op="run", kind=kind, dropout=dropout, new_tokens=a.new_tokens, beams=a.beams)["seconds"]

    def run_ours() -> float:
        start = time.perf_counter()
        our_run(ours, x, kind, dropout, a.new_tokens, a.beams)
        return time.perf_counter() - start

    run_ours(), run_port()  # warm-up
    mine, theirs = [], []
    for r in range(a.rounds):
        first, second = (run_ours, run_port) if r % 2 == 0 else (run_port, run_ours)
        t1, t2 = first(), second()
        (mine if first is run_ours else theirs).append(t1)
        (theirs if first is run_ours else mine).append(t2)
    label = {"train": f"training step, {shape}, batch {a.train_batch} x {a.train_seq}, fp32, dropout {dropout}",
             "score4": f"multiple choice, {shape}, batch {a.score_batch}, context {a.score_context}, 4 candidates",
             "score14": f"multiple choice, {shape}, batch {a.score_batch}, context {a.score_context}, 14 candidates",
             "beam": f"beam search, {shape}, {a.beams} beams x {a.beam_batch} prompts, source {a.beam_source}, "
                     f"{a.new_tokens} new tokens"}[kind]
    med_m, med_t = statistics.median(mine), statistics.median(theirs)
    print(f"{label}: ours {med_m:.3f} s (min {min(mine):.3f}), port {med_t:.3f} s (min {min(theirs):.3f}); "
          f"ours is {med_t / med_m:.2f}x the port's speed (median), {min(theirs) / min(mine):.2f}x (minimum)", flush=True)


if __name__ == "__main__":
    main()
