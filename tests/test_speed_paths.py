"""Fast paths against the plain ones: fused AdamW, bf16 autocast on CPU (tolerance stated), torch.compile,
and the thread defaults (no oversubscription; a sweep's trials side by side get one thread each)."""

import os

import pytest
import torch

from analysis.runner import make_slots
from model.heads import SingleTokenClozeHead, cloze_loss
from tasks import packing
from test_packing import single_token_samples, tiny
from training.driver import compile_layers, default_threads
from training.optim import build_optimizer


def _steps(model, fused: bool, steps: int = 3) -> dict[str, torch.Tensor]:
    head = SingleTokenClozeHead()
    batch = packing.collate_packed_single_token(single_token_samples(), capacity=40)
    opt = build_optimizer(model, 1e-2, 0.01, fused=fused)
    for _ in range(steps):
        cloze_loss(head(model, batch), batch["labels"]).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def test_fused_adamw_same_update_as_plain():
    try:
        fused = _steps(tiny(), fused=True)
    except RuntimeError as err:  # a torch build without the CPU fused kernel
        pytest.skip(f"fused AdamW unavailable on CPU here: {err}")
    plain = _steps(tiny(), fused=False)
    start = dict(tiny().named_parameters())
    moved = sum(not torch.equal(plain[n], start[n]) for n in plain)
    assert moved == len(plain)  # every parameter was updated, so the comparison means something
    for name in plain:
        a, b = fused[name], plain[name]
        if name.endswith("query_key_value.bias"):
            # The key bias's true gradient is 0 (softmax ignores a shift shared by all keys), so its gradient is
            # rounding noise that Adam's normalisation amplifies; the two kernels agree on it only loosely.
            third = a.shape[0] // 3
            torch.testing.assert_close(a[third : 2 * third], b[third : 2 * third], atol=1e-4, rtol=0, msg=name)
            a, b = torch.cat([a[:third], a[2 * third :]]), torch.cat([b[:third], b[2 * third :]])
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5, msg=name)


# bf16 on CPU: stated tolerance. Scores within 3% of the largest score magnitude (+0.02), the loss within 3%,
# gradients pointing the same way (cosine > 0.99). Measured on this model: 0.5% / 0.001% / 0.99998.
BF16_SCORE_TOL, BF16_LOSS_TOL, BF16_GRAD_COS = 0.03, 0.03, 0.99


def test_bf16_autocast_on_cpu_within_stated_tolerance():
    model, head = tiny(), SingleTokenClozeHead()
    batch = packing.collate_packed_single_token(single_token_samples(n=12), capacity=64)

    def run(dtype):
        model.zero_grad(set_to_none=True)
        ctx = torch.autocast("cpu", dtype=torch.bfloat16) if dtype else torch.autocast("cpu", enabled=False)
        with ctx:
            scores = head(model, batch)
        loss = cloze_loss(scores, batch["labels"])
        loss.backward()
        grad = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
        return scores.detach(), loss.detach(), grad

    s32, l32, g32 = run(None)
    s16, l16, g16 = run(torch.bfloat16)
    assert not torch.equal(s16, s32)  # autocast really ran in bf16
    assert (s16 - s32).abs().max() <= BF16_SCORE_TOL * s32.abs().max() + 0.02
    assert abs(l16 - l32) <= BF16_LOSS_TOL * l32
    assert torch.nn.functional.cosine_similarity(g16, g32, dim=0) > BF16_GRAD_COS


@pytest.mark.slow
def test_compiled_layers_equal_eager():
    """torch.compile on CPU (about 20 s of compilation for this 2-layer model): same scores and gradients."""
    head = SingleTokenClozeHead()
    batch = packing.collate_packed_single_token(single_token_samples(), capacity=40)
    eager, compiled = tiny(), tiny()
    assert compile_layers(compiled) == 2
    assert set(dict(compiled.named_parameters())) == set(dict(eager.named_parameters()))  # names unchanged
    results = []
    for model in (eager, compiled):
        scores = head(model, batch)
        cloze_loss(scores, batch["labels"]).backward()
        results.append((scores.detach(), {n: p.grad for n, p in model.named_parameters()}))
    torch.testing.assert_close(results[1][0], results[0][0], atol=1e-5, rtol=1e-5)
    for name, grad in results[0][1].items():
        torch.testing.assert_close(results[1][1][name], grad, atol=1e-5, rtol=1e-4, msg=name)


def test_thread_defaults(monkeypatch):
    assert default_threads(3) == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert default_threads() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    n = default_threads()
    assert 1 <= n <= len(os.sched_getaffinity(0))


def test_sweep_trials_side_by_side_get_one_thread_each(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    side_by_side = make_slots("0,1", 1)
    assert [s.env()["OMP_NUM_THREADS"] for s in side_by_side] == ["1", "1"]
    assert "OMP_NUM_THREADS" not in make_slots("0", 1)[0].env()  # one trial at a time keeps torch's choice
    assert "OMP_NUM_THREADS" not in make_slots(None, 1)[0].env()
    monkeypatch.setenv("OMP_NUM_THREADS", "4")  # the user's own setting wins
    assert make_slots("0,1", 1)[0].env()["OMP_NUM_THREADS"] == "4"


@pytest.mark.slow
def test_driver_compile_flag_trains_and_keeps_parameter_names(tmp_path):
    """--compile through finetune_glm.py: the run finishes, and best/model.safetensors has the names an eager run
    writes (so --load and the reports read it unchanged)."""
    from safetensors.torch import load_file

    from scripts.make_tiny_checkpoint import make_tiny_checkpoint
    from test_packing import DEMO, _train

    ckpt = make_tiny_checkpoint(tmp_path / "glm-tiny", vocab="demo")
    eager, _, _ = _train(ckpt, tmp_path, "eager")
    compiled, _, _ = _train(ckpt, tmp_path, "compiled", "--compile")
    assert compiled["status"] == eager["status"] == "finished"
    assert DEMO.is_dir()
    names = set(load_file(tmp_path / "compiled" / "best" / "model.safetensors"))
    assert names == set(load_file(tmp_path / "eager" / "best" / "model.safetensors"))


def test_precision_warning_names_the_flag_on_a_cpu_without_the_format(monkeypatch):
    from training import loop

    cpu = torch.device("cpu")
    assert loop.precision_warning(cpu, "fp32") is None
    monkeypatch.setattr(loop, "cpu_computes_natively", lambda precision: False)
    message = loop.precision_warning(cpu, "bf16")
    assert message is not None and "--bf16" in message and "fp32" in message
    assert loop.precision_warning(torch.device("cuda"), "bf16") is None  # GPUs: no probe, nothing to say
    monkeypatch.setattr(loop, "cpu_computes_natively", lambda precision: True)
    assert loop.precision_warning(cpu, "bf16") is None


def test_cpu_precision_probe_matches_onednn():
    from training.loop import cpu_computes_natively

    assert cpu_computes_natively("fp32")
    assert cpu_computes_natively("bf16") == bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def test_bf16_run_on_a_cpu_without_bf16_records_the_warning(tmp_path, monkeypatch):
    """A user asking for --bf16 where it is emulated hears it before the hours go by: logged and in metrics.jsonl."""
    import json

    from scripts.make_tiny_checkpoint import make_tiny_checkpoint
    from test_packing import _train
    from training import loop

    monkeypatch.setattr(loop, "cpu_computes_natively", lambda precision: False)
    ckpt = make_tiny_checkpoint(tmp_path / "glm-tiny", vocab="demo")
    res, losses, _ = _train(ckpt, tmp_path, "bf16", "--bf16", "--max-train-examples", "16")
    assert res["status"] == "finished" and losses
    events = [json.loads(line) for line in (tmp_path / "bf16" / "metrics.jsonl").read_text().splitlines()]
    warnings = [e["message"] for e in events if e["event"] == "warning"]
    assert len(warnings) == 1 and "--bf16" in warnings[0]


def test_sparse_embedding_grads_equal_dense_and_densify():
    """The trainer's CPU path: the tied word embedding's gradient built sparse equals the dense one, whether the
    output projection also reads the weight (full logits) or only the input lookup does (a classifier head)."""
    from training.loop import densify_grads, sparse_embedding_grads

    model = tiny()
    ids = torch.randint(0, 100, (3, 11))
    for logits in (True, False):
        grads = []
        for sparse in (False, True):
            model.zero_grad(set_to_none=True)
            model.word_embeddings.sparse = False
            if sparse:
                assert sparse_embedding_grads(torch.nn.ModuleList([model])) == [model.word_embeddings]
            out = model(ids, sep=4, output_logits=logits)
            (out.logits if logits else out.hidden_states).square().mean().backward()
            grad = model.word_embeddings.weight.grad
            assert grad.is_sparse == (sparse and not logits)  # with logits the projection's dense gradient came first
            densify_grads(model.parameters())
            grads.append(model.word_embeddings.weight.grad)
        assert not grads[1].is_sparse
        torch.testing.assert_close(grads[1], grads[0], atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("head", [[], ["--no-cloze-eval"]])
def test_cpu_run_with_sparse_embedding_grads_trains_as_the_dense_one(tmp_path, monkeypatch, head):
    """A whole CPU fine-tune, cloze head and linear classifier: the same losses and dev metrics as with dense
    embedding gradients."""
    from scripts.make_tiny_checkpoint import make_tiny_checkpoint
    from test_packing import _train
    from training import loop

    ckpt = make_tiny_checkpoint(tmp_path / "glm-tiny", vocab="demo")
    sparse, sparse_losses, _ = _train(ckpt, tmp_path, "sparse", *head)
    monkeypatch.setattr(loop, "sparse_embedding_grads", lambda module: [])
    dense, dense_losses, _ = _train(ckpt, tmp_path, "dense", *head)
    assert sparse["status"] == dense["status"] == "finished" and len(dense_losses) >= 4
    assert sparse_losses == pytest.approx(dense_losses, rel=1e-4, abs=1e-5)
    assert sparse["best"]["dev"] == pytest.approx(dense["best"]["dev"], abs=1e-9)
