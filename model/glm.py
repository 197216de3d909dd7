"""GLM (General Language Model) as used by glm-roberta-large, in one file, read top to bottom.

Shape legend
    B  batch            L  query length (tokens fed in this call)     M  cached length (memory / past keys)
    K  key length M+L   H  hidden size      N  attention heads        D  head size H/N
    V  vocabulary rows (50304 for glm-roberta-large, padding rows included)

The state-dict keys are exactly those of the released checkpoints (`word_embeddings.weight`,
`transformer.layers.{i}.attention.query_key_value.weight`, ...), so weights load without renaming.

Attention inputs are explicit and named, where the original code overloads one `attention_mask` argument:
    sep             int or [B]: Part A = key columns < sep (bidirectional), the rest causal.
    attention_mask  [B, 1, L, K] bool, True = may attend (packed candidates, HF-style layouts).
    padding_mask    [B, K] bool, True = real token; removes padded keys from every row.
With none of them: causal (sep = 0), as the HF port's default. With only `padding_mask`: bidirectional over
real keys (the HF port's 2-D mask convention).
"""

from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass, fields
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

KVCache = list[tuple[Tensor, Tensor]]  # per layer: keys, values [B, N, M, D]


class StaticKVCache:
    """Keys and values in buffers allocated once, [B, N, C, D] per layer (C = capacity), written in place.

    Growing a list-of-tuples cache concatenates every layer's keys and values at every decoding step: fresh
    multi-megabyte tensors each time (allocation, page faults, a full copy), which was 60% of a cached 6 x 512
    beam-search step on a 2-core CPU (benchmarks/bench_roofline.py). Here a step writes its new positions into the
    next free columns and attention reads the first `length` columns as views. Beam reordering gathers into a
    second set of buffers and swaps, so nothing is allocated after construction.

    Pass it as `past_key_values`; the model appends the fed positions and returns the same object.
    """

    def __init__(self, cache: KVCache, capacity: int):
        k0 = cache[0][0]
        b, n, m, d = k0.shape
        if capacity < m:
            raise ValueError(f"capacity {capacity} is smaller than the {m} cached positions")
        self.capacity, self.length = capacity, m

        def buffers() -> list[Tensor]:
            return [k0.new_empty(b, n, capacity, d) for _ in range(2 * len(cache))]

        self._buffers, self._spare = buffers(), buffers()
        for i, (k, v) in enumerate(cache):
            self._buffers[2 * i][:, :, :m].copy_(k)
            self._buffers[2 * i + 1][:, :, :m].copy_(v)

    def __len__(self) -> int:
        return len(self._buffers) // 2

    def __getitem__(self, layer: int) -> tuple[Tensor, Tensor]:
        """Layer `layer`'s keys and values so far, as views [B, N, length, D]."""
        return self._buffers[2 * layer][:, :, : self.length], self._buffers[2 * layer + 1][:, :, : self.length]

    def extend(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Write L new positions [B, N, L, D] after the cached ones; views of all of them [B, N, length + L, D].
        `length` moves on once every layer has written (`advance`)."""
        end = self.length + k.shape[2]
        if end > self.capacity:
            raise ValueError(f"the key/value cache holds {self.capacity} positions; {end} were asked for")
        keys, values = self._buffers[2 * layer], self._buffers[2 * layer + 1]
        keys[:, :, self.length : end].copy_(k)
        values[:, :, self.length : end].copy_(v)
        return keys[:, :, :end], values[:, :, :end]

    def advance(self, n: int) -> None:
        self.length += n

    def reorder(self, index: Tensor) -> StaticKVCache:
        """Keep batch rows `index` [B] (beam search), in place."""
        if len(index) != self._buffers[0].shape[0]:
            raise ValueError(f"a static cache keeps its batch size {self._buffers[0].shape[0]}; got {len(index)} rows")
        for src, dst in zip(self._buffers, self._spare):
            torch.index_select(src, 0, index, out=dst)
        self._buffers, self._spare = self._spare, self._buffers
        return self

    def slot(self, layer: int, prefix: tuple[Tensor, Tensor] | None) -> _CacheSlot:
        return _CacheSlot(self, layer, prefix)


class BeamKVCache:
    """Beam search's cache: the prompt's keys and values once per prompt, [B, N, P, D] per layer, and the generated
    positions once per beam in a StaticKVCache [B*K, N, C, D] (rows b*K .. b*K+K-1 are prompt b's beams).

    Every beam of a prompt has the same prompt positions. Holding them once per beam costs K times their memory,
    and every beam reorder copies the whole prompt again: that copy was 3.8 ms of a 29 ms step (6 x 512, 2 prompts
    x 4 beams, source 128; 2-core CPU). Here a reorder moves the generated positions alone, and a step reads each
    prompt's keys and values once for all its beams (attention runs as matrix products over the two parts with one
    softmax; `_BeamSlot.attend`). Inference only, like StaticKVCache.
    """

    def __init__(self, prompt: KVCache, beams: int, capacity: int):
        k0 = prompt[0][0]
        b, n, _, d = k0.shape
        self.beams = beams
        self.prompt = [(k.contiguous(), v.contiguous()) for k, v in prompt]  # [B, N, P, D]
        none = k0.new_empty(b * beams, n, 0, d)
        self.generated = StaticKVCache([(none, none)] * len(prompt), capacity)  # [B*K, N, C, D]
        self._groups = torch.arange(b * beams, device=k0.device) // beams  # [B*K]: each row's prompt
        self._bias: tuple[Tensor, Tensor] | None = None  # (mask, its bias) of the current forward call

    def __len__(self) -> int:
        return len(self.prompt)

    @property
    def length(self) -> int:
        """Positions cached per row: the prompt's and the generated ones."""
        return self.prompt[0][0].shape[2] + self.generated.length

    def advance(self, n: int) -> None:
        self.generated.advance(n)

    def reorder(self, index: Tensor) -> BeamKVCache:
        """Keep rows `index` [B*K] (beam search), in place; a row may only take the place of a beam of its own prompt."""
        if len(index) != len(self._groups) or not torch.equal(index // self.beams, self._groups):
            raise ValueError(f"a beam cache reorders beams within their prompt ({self.beams} beams per prompt); "
                             f"got rows {index.tolist()}")
        self.generated.reorder(index)
        return self

    def slot(self, layer: int, prefix: tuple[Tensor, Tensor] | None) -> _BeamSlot:
        return _BeamSlot(self, layer, prefix)

    def bias(self, mask: Tensor) -> Tensor:
        """The fp32 score bias of `mask` [R|1, 1, L, C] (0 visible, the fp32 minimum hidden) in the beams-side-by-side
        layout [B, 1, K*L, C]; made once per forward call: every layer gets the same mask object."""
        if self._bias is None or self._bias[0] is not mask:
            rows, length, columns = len(self._groups), mask.shape[-2], mask.shape[-1]
            hidden = ~mask.expand(rows, 1, length, columns)
            bias = torch.zeros(hidden.shape, dtype=torch.float32, device=mask.device).masked_fill_(hidden, torch.finfo(torch.float32).min)
            # [R, 1, L, C] is [B, K, 1, L, C] in memory, i.e. [B, 1, K*L, C]: a view
            self._bias = (mask, bias.view(rows // self.beams, 1, self.beams * length, columns))
        return self._bias[1]


@dataclass(frozen=True)
class GLMConfig:
    """Architecture hyperparameters. Field names follow the HF port's config.json."""

    num_layers: int = 24
    hidden_size: int = 1024
    num_attention_heads: int = 16
    vocab_size: int = 50304
    max_sequence_length: int = 512
    embedding_dropout_prob: float = 0.1
    attention_dropout_prob: float = 0.1
    output_dropout_prob: float = 0.1
    attention_scale: float = 1.0
    initializer_range: float = 0.02
    # The original training code used the tanh GELU; the HF port uses the exact erf GELU.
    gelu: Literal["tanh", "erf"] = "tanh"
    checkpoint_activations: bool = False
    layernorm_epsilon: float = 1e-5

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not divisible by num_attention_heads {self.num_attention_heads}")
        if self.gelu not in ("tanh", "erf"):
            raise ValueError(f"gelu must be 'tanh' or 'erf', got {self.gelu!r}")
        if self.attention_scale != 1.0:
            raise NotImplementedError("attention_scale != 1.0 (only used by a 1.25-scale GLM variant) is not supported")

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads

    # HF config.json <-> GLMConfig. Unknown HF fields (auto_map, pool_token, ...) are kept by the caller.
    @classmethod
    def from_hf_dict(cls, d: dict, **overrides) -> "GLMConfig":
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        if "num_hidden_layers" in d and "num_layers" not in d:
            kw["num_layers"] = d["num_hidden_layers"]
        if not d.get("block_position_encoding", True):
            raise NotImplementedError("checkpoints without block_position_encoding are not GLM blank-infilling models")
        if d.get("relative_encoding", False):
            raise NotImplementedError("the Transformer-XL relative-encoding variant is not supported")
        kw.update(overrides)
        return cls(**kw)

    def to_hf_dict(self) -> dict:
        d = asdict(self)
        d.update(
            architectures=["GLMModel"],
            model_type="glm",
            block_position_encoding=True,
            relative_encoding=False,
            output_predict=True,
            parallel_output=True,
            pool_token="cls",
            checkpoint_num_layers=1,
            spell_func="lstm",
            spell_length=None,
            torch_dtype="float32",
        )
        return d


def gelu_tanh_reference(x: Tensor) -> Tensor:
    """The original GLM code's GELU, in its exact operation order (it differs from torch's tanh GELU by ~1e-7)."""
    return 0.5 * x * (1.0 + torch.tanh(0.7978845608028654 * x * (1.0 + 0.044715 * x * x)))


class _GeluTanh(torch.autograd.Function):
    """`gelu_tanh_reference`'s forward op for op (bit-equal: same operations, same order, written in place), with the
    tanh GELU's analytic derivative as one fused kernel for backward (`aten.gelu_backward`, the derivative of the
    same function; it differs from autograd's chain rule through the nine operations by rounding, ~2e-7 relative).

    Autograd through the nine elementwise operations saves seven tensors the size of the MLP's 4H activation and
    runs a dozen passes backward: at 2 x 256 x 4096 (fp32) 56 MiB saved per layer against 8 MiB here (the input
    alone), and 19.6 against 12.3 ms forward + backward on a 2-core CPU."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        inner = (0.044715 * x).mul_(x).add_(1.0)  # 1 + 0.044715 * x * x
        u = (0.7978845608028654 * x).mul_(inner)
        return (0.5 * x).mul_(u.tanh_().add_(1.0))

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return torch.ops.aten.gelu_backward(grad, x, approximate="tanh")


def gelu_tanh(x: Tensor) -> Tensor:
    """The original GLM code's GELU (`gelu_tanh_reference`, bit-equal) with a fused backward."""
    return _GeluTanh.apply(x)


class _KeepMask(torch.autograd.Function):
    """x * keep / (1 - p) with `keep` a bool mask saved for backward (1 byte per element)."""

    @staticmethod
    def forward(ctx, x: Tensor, keep: Tensor, scale: float) -> Tensor:
        ctx.save_for_backward(keep)
        ctx.scale = scale
        return x.mul(keep).mul_(scale)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (keep,) = ctx.saved_tensors
        return grad.mul(keep).mul_(ctx.scale), None, None


def keep_mask(shape: torch.Size, p: float, device: torch.device, generator: torch.Generator | None = None) -> Tensor:
    """A bool mask, True with probability 1 - p (to within 2^-15), from 16-bit slices of random 64-bit integers.

    Why not `bernoulli_` or `rand_like(x) >= p`: on a CPU both draw one float per element; `random_()` on int64
    fills 4 elements' worth of bits per draw (the mask comes about 5x faster, the whole dropout forward + backward
    about 2x: benchmarks/bench_cpu_kernels.py). `random_()` leaves an int64's sign bit at 0, so the slice holding
    it has 15 random bits and gets its own threshold.
    """
    n = math.prod(shape)
    words = torch.empty((n + 3) // 4, dtype=torch.int64, device=device).random_(generator=generator)
    slices = words.view(torch.int16).view(-1, 4)
    low = min(-32768 + round(p * 65536), 32767)  # the three full slices: uniform on [-32768, 32767]
    high = min(round(p * 32768), 32767)  # the sign bit's slice: uniform on [0, 32767]
    order = [low, low, low, high] if sys.byteorder == "little" else [high, low, low, low]
    threshold = torch.tensor(order, dtype=torch.int16, device=device)
    return (slices >= threshold).view(-1)[:n].view(shape)


def inverted_dropout(x: Tensor, p: float, training: bool = True) -> Tensor:
    """Inverted dropout, as F.dropout (another random stream). On CUDA (a fused kernel) and outside training it is
    F.dropout itself."""
    if not training or p == 0.0 or p >= 1.0 or x.device.type != "cpu":
        return F.dropout(x, p, training)
    return _KeepMask.apply(x, keep_mask(x.shape, p, x.device), 1.0 / (1.0 - p))


class Dropout(nn.Dropout):
    """nn.Dropout with the CPU mask of `inverted_dropout` above."""

    def forward(self, x: Tensor) -> Tensor:
        return inverted_dropout(x, self.p, self.training)


def sdpa_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor, dropout: float) -> Tensor:
    """Fused kernel. q [B, N, L, D], k/v [B, N, K, D], mask [B|1, 1, L, K] bool -> [B, N, L, D].

    With dropout on a CPU, SDPA has no fused kernel and falls back to the plain formulation with a float mask
    from bernoulli_; the reference formulation below with `inverted_dropout` does the same work with a cheaper
    mask (44 vs 56 ms at 2 x 16 heads x 256 x 256, forward + backward, 2-core CPU)."""
    if dropout > 0.0 and q.device.type == "cpu":
        return naive_attention(q, k, v, mask, dropout)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)


def naive_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor, dropout: float) -> Tensor:
    """The original formulation, kept as a reference for tests and benchmarks: scores = Q (K^T / sqrt(D)), masked
    entries set to -65504 (not -inf), softmax in the compute dtype, dropout on the probabilities."""
    scores = q @ (k.transpose(-1, -2) / math.sqrt(q.shape[-1]))  # [B, N, L, K]
    m = mask.to(scores.dtype)
    scores = scores * m - 65504.0 * (1.0 - m)
    probs = inverted_dropout(scores.softmax(dim=-1), dropout)
    return probs @ v  # [B, N, L, D]


class SelfAttention(nn.Module):
    """Fused QKV projection; its output rows are [Q | K | V], heads contiguous inside each third."""

    kernel = staticmethod(sdpa_attention)  # swap for `naive_attention` to compare (tests, benchmarks)

    def __init__(self, cfg: GLMConfig):
        super().__init__()
        self.n_heads, self.head_size = cfg.num_attention_heads, cfg.head_size
        self.query_key_value = nn.Linear(cfg.hidden_size, 3 * cfg.hidden_size)
        self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.attention_dropout = cfg.attention_dropout_prob
        self.output_dropout = Dropout(cfg.output_dropout_prob)

    def _heads(self, x: Tensor) -> Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.n_heads, self.head_size).transpose(1, 2)  # [B, T, H] -> [B, N, T, D]

    def forward(self, x: Tensor, mask: Tensor, mem: Tensor | None, past: tuple[Tensor, Tensor] | _CacheSlot | _BeamSlot | None):
        # x: [B, L, H] (already layer-normed); mem: [B, M, H] layer-normed memory; mask: [B|1, 1, L, K] bool.
        length = x.shape[1]
        source = x if mem is None else torch.cat([mem, x], dim=1)  # [B, M+L, H]
        q, k, v = self.query_key_value(source).chunk(3, dim=-1)  # each [B, M+L, H]
        q = self._heads(q[:, -length:])  # [B, N, L, D]: only the new positions ask
        k, v = self._heads(k), self._heads(v)  # [B, N, M+L, D]
        if isinstance(past, _BeamSlot):
            out = past.attend(q, k, v, mask)  # [B, N, L, D]; the slot holds the keys and values
        else:
            if isinstance(past, _CacheSlot):
                k, v = past.extend(k, v)  # [B, N, K, D], written in place
            elif past is not None:
                k = torch.cat([past[0], k], dim=2)  # [B, N, K, D]
                v = torch.cat([past[1], v], dim=2)
            out = self.kernel(q, k, v, mask, self.attention_dropout if self.training else 0.0)  # [B, N, L, D]
        out = out.transpose(1, 2).reshape(x.shape[0], length, -1)  # [B, N, L, D] -> [B, L, H]
        return self.output_dropout(self.dense(out)), (k, v)


class MLP(nn.Module):
    def __init__(self, cfg: GLMConfig):
        super().__init__()
        self.dense_h_to_4h = nn.Linear(cfg.hidden_size, 4 * cfg.hidden_size)
        self.dense_4h_to_h = nn.Linear(4 * cfg.hidden_size, cfg.hidden_size)
        self.dropout = Dropout(cfg.output_dropout_prob)
        self.act = gelu_tanh if cfg.gelu == "tanh" else F.gelu

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.dense_4h_to_h(self.act(self.dense_h_to_4h(x))))


class GLMBlock(nn.Module):
    """Pre-LN transformer layer: x + Attn(LN1(x)), then + MLP(LN2(.)). Memory goes through LN1 too."""

    def __init__(self, cfg: GLMConfig):
        super().__init__()
        self.input_layernorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layernorm_epsilon)
        self.attention = SelfAttention(cfg)
        self.post_attention_layernorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layernorm_epsilon)
        self.mlp = MLP(cfg)

    def forward(self, x: Tensor, mask: Tensor, mem: Tensor | None = None,
                past: tuple[Tensor, Tensor] | _CacheSlot | _BeamSlot | None = None):
        mem_normed = None if mem is None else self.input_layernorm(mem)
        attn, present = self.attention(self.input_layernorm(x), mask, mem_normed, past)
        x = x + attn
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, present


class GLMTransformer(nn.Module):
    """Position tables, the layer stack and the final LayerNorm (the `transformer.` key prefix)."""

    def __init__(self, cfg: GLMConfig):
        super().__init__()
        self.cfg = cfg
        # max_sequence_length + 1 rows: position max_seq is used by Part B tokens of a full-length Part A.
        self.position_embeddings = nn.Embedding(cfg.max_sequence_length + 1, cfg.hidden_size)
        self.block_position_embeddings = nn.Embedding(cfg.max_sequence_length + 1, cfg.hidden_size)
        self.embedding_dropout = Dropout(cfg.embedding_dropout_prob)
        self.layers = nn.ModuleList(GLMBlock(cfg) for _ in range(cfg.num_layers))
        self.final_layernorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layernorm_epsilon)


@dataclass
class GLMOutput:
    logits: Tensor | None  # [B, L, V]
    hidden_states: Tensor  # [B, L, H], after the final LayerNorm
    past_key_values: KVCache | None = None  # per layer, keys/values over all K positions
    mems: list[Tensor] | None = None  # num_layers + 1 tensors [B, M+L, H]: the input of every layer, and the last output


def build_attention_mask(
    batch: int,
    length: int,
    mem_length: int,
    device: torch.device,
    sep: int | Tensor | None = None,
    attention_mask: Tensor | None = None,
    padding_mask: Tensor | None = None,
) -> Tensor:
    """The boolean mask [B|1, 1, L, M+L] (True = may attend) from the named inputs; see the module docstring.

    Memory / cached columns are always visible under `sep` (GLM's rule); with an explicit `attention_mask` the
    caller decides, and only its last M+L columns are used.
    """
    keys = mem_length + length
    if attention_mask is not None:
        if attention_mask.dim() != 4:
            raise ValueError(f"attention_mask must be [B, 1, L, K] bool, got shape {tuple(attention_mask.shape)}")
        mask = attention_mask[..., -keys:].bool()
    else:
        if sep is None:
            # HF conventions: a padding mask alone means bidirectional over real keys; nothing means causal.
            sep = length if padding_mask is not None else 0
        sep_t = torch.as_tensor(sep, device=device).reshape(-1, 1, 1, 1)  # [B|1, 1, 1, 1]
        rows = torch.arange(length, device=device).view(1, 1, length, 1)  # query index within this chunk
        cols = torch.arange(length, device=device).view(1, 1, 1, length)
        current = (cols <= rows) | (cols < sep_t)  # [B|1, 1, L, L]
        if mem_length:
            memory = torch.ones(current.shape[0], 1, length, mem_length, dtype=torch.bool, device=device)
            current = torch.cat([memory, current], dim=-1)  # [B|1, 1, L, M+L]
        mask = current
    if padding_mask is not None:
        if padding_mask.shape[-1] != keys:
            raise ValueError(f"padding_mask covers {padding_mask.shape[-1]} keys, expected M+L = {keys}")
        mask = mask & padding_mask.bool().view(batch, 1, 1, keys)
    return mask


class GLMModel(nn.Module):
    """The GLM backbone with the tied output projection (logits = h @ word_embeddings.weight^T, no bias)."""

    def __init__(self, cfg: GLMConfig):
        super().__init__()
        self.config = cfg
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.transformer = GLMTransformer(cfg)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The original initialisation: N(0, 0.02); output projections scaled by 1/sqrt(2 L); biases 0, LN (1, 0)."""
        std = self.config.initializer_range
        out_std = std / math.sqrt(2.0 * self.config.num_layers)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif "layernorm" in name:
                nn.init.ones_(p)
            elif name.endswith(("attention.dense.weight", "dense_4h_to_h.weight")):
                nn.init.normal_(p, 0.0, out_std)
            else:
                nn.init.normal_(p, 0.0, std)

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(
        self,
        input_ids: Tensor,
        position_ids: Tensor | None = None,
        *,
        sep: int | Tensor | None = None,
        attention_mask: Tensor | None = None,
        padding_mask: Tensor | None = None,
        past_key_values: KVCache | StaticKVCache | BeamKVCache | None = None,
        use_cache: bool = False,
        mems: list[Tensor] | None = None,
        return_mems: bool = False,
        output_logits: bool = True,
        prefix: "PrefixProvider | None" = None,
        inputs_embeds: Tensor | None = None,
    ) -> GLMOutput:
        b, length = input_ids.shape  # [B, L]
        if past_key_values is not None and mems is not None:
            raise ValueError("pass either past_key_values or mems, not both")
        static = past_key_values if isinstance(past_key_values, (StaticKVCache, BeamKVCache)) else None
        if static is not None and self.training and torch.is_grad_enabled():
            raise ValueError(f"a {type(static).__name__} is for inference: it is written in place")
        if static is not None:
            mem_length = static.length
        else:
            mem_length = past_key_values[0][0].shape[2] if past_key_values is not None else mems[0].shape[1] if mems is not None else 0
        if position_ids is None:
            pos = torch.arange(mem_length, mem_length + length, device=input_ids.device)
            position_ids = torch.stack([pos, torch.zeros_like(pos)]).unsqueeze(0)  # [1, 2, L]
        if position_ids.dim() != 3 or position_ids.shape[1] != 2:
            raise ValueError(f"position_ids must be [B, 2, L] (position, block position), got {tuple(position_ids.shape)}")
        too_far = int(position_ids.max())
        if too_far >= self.transformer.position_embeddings.num_embeddings:
            raise ValueError(
                f"position id {too_far} exceeds the position table ({self.transformer.position_embeddings.num_embeddings} rows); "
                "load the checkpoint with a larger max_sequence_length so the tables are extended"
            )

        tr = self.transformer
        # inputs_embeds [B, L, H]: word embeddings the caller computed (continuous prompts write into them)
        x = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds  # [B, L, H]
        x = x + tr.position_embeddings(position_ids[:, 0]) + tr.block_position_embeddings(position_ids[:, 1])
        x = tr.embedding_dropout(x)

        mask = build_attention_mask(b, length, mem_length, input_ids.device, sep, attention_mask, padding_mask)
        prefix_kv = None
        if prefix is not None:
            prefix_kv = prefix.key_values(b)  # per layer ([B, N, P, D], [B, N, P, D])
            visible = torch.ones(*mask.shape[:-1], prefix.length, dtype=torch.bool, device=mask.device)
            mask = torch.cat([visible, mask], dim=-1)  # [B|1, 1, L, P+K]: prefixes are visible to every row

        new_mems: list[Tensor] = [x] if return_mems else []
        presents: KVCache = []
        checkpointing = self.config.checkpoint_activations and self.training and torch.is_grad_enabled()
        for i, layer in enumerate(tr.layers):
            mem = mems[i] if mems is not None else None
            if static is not None:
                past = static.slot(i, prefix_kv[i] if prefix_kv is not None else None)
            else:
                past = past_key_values[i] if past_key_values is not None else None
                if prefix_kv is not None:
                    pk, pv = prefix_kv[i]
                    past = (pk, pv) if past is None else (torch.cat([pk, past[0]], dim=2), torch.cat([pv, past[1]], dim=2))
            if checkpointing:
                # Every tensor input goes through the checkpoint call explicitly, masks included.
                x, present = checkpoint(layer, x, mask, mem, past, use_reentrant=False)
            else:
                x, present = layer(x, mask, mem, past)
            if use_cache and static is None:
                # drop the prefix positions: a returned cache holds real positions only  [B, N, K, D]
                presents.append(present if prefix is None else (present[0][:, :, prefix.length :], present[1][:, :, prefix.length :]))
            if return_mems:
                new_mems.append(x)
        if static is not None:
            static.advance(length)
        hidden = tr.final_layernorm(x)  # [B, L, H]
        logits = F.linear(hidden, self.word_embeddings.weight) if output_logits else None  # [B, L, V]
        if return_mems and mems is not None:
            new_mems = [torch.cat([m, n], dim=1) for m, n in zip(mems, new_mems)]  # [B, M+L, H]
        return GLMOutput(
            logits=logits,
            hidden_states=hidden,
            past_key_values=(static if static is not None else presents) if use_cache else None,
            mems=new_mems if return_mems else None,
        )


class PrefixProvider:
    """Protocol for extra per-layer key/value positions that every query may read (P-tuning v2 and other
    prefix methods, model/peft/); the model knows nothing about how they are made.

    `length` is the number of prefix positions P; `key_values(B)` returns, per layer, the keys and values
    [B, N, P, D] to put before the real ones. Every query attends to them; caches returned with use_cache stay
    prefix-free, so decoding code needs no special case.
    """

    length: int

    def key_values(self, batch: int) -> list[tuple[Tensor, Tensor]]:
        raise NotImplementedError


class _CacheSlot:
    """One layer's view of a StaticKVCache for one forward call; prefix keys/values (P-tuning v2), when there are
    any, go in front of the cached ones (the cache itself stays prefix-free)."""

    def __init__(self, cache: StaticKVCache, layer: int, prefix: tuple[Tensor, Tensor] | None):
        self.cache, self.layer, self.prefix = cache, layer, prefix

    def extend(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        k, v = self.cache.extend(self.layer, k, v)
        if self.prefix is None:
            return k, v
        return torch.cat([self.prefix[0], k], dim=2), torch.cat([self.prefix[1], v], dim=2)


class _BeamSlot:
    """One layer's view of a BeamKVCache for one forward call: it stores the new positions and computes attention."""

    def __init__(self, cache: BeamKVCache, layer: int, prefix: tuple[Tensor, Tensor] | None):
        self.cache, self.layer, self.prefix = cache, layer, prefix

    def attend(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor) -> Tensor:
        """q/k/v [R, N, L, D] of the fed positions (R = B*K rows), mask [R|1, 1, L, X + P + T] bool with columns
        [prefix X | prompt P | generated T, the fed ones included] -> [R, N, L, D].

        The scores and softmax of the other kernels, with a prompt's beams side by side as query rows: scores
        [B, N, K*L, X + P + T], where the prompt part is one product of [B, N, K*L, D] with the prompt's keys
        [B, N, P, D] and the rest each row's own product with its prefix and generated keys."""
        own_k, own_v = self.cache.generated.extend(self.layer, k, v)  # [R, N, T, D]
        x = 0
        if self.prefix is not None:
            x = self.prefix[0].shape[2]
            own_k, own_v = torch.cat([self.prefix[0], own_k], dim=2), torch.cat([self.prefix[1], own_v], dim=2)
        prompt_k, prompt_v = self.cache.prompt[self.layer]  # [B, N, P, D]
        rows, n, length, d = q.shape
        b, beams, p = prompt_k.shape[0], self.cache.beams, prompt_k.shape[2]

        def by_prompt(t: Tensor) -> Tensor:  # [R, N, L, *] -> [B, N, K*L, *]
            return t.reshape(b, beams, n, length, -1).transpose(1, 2).reshape(b, n, beams * length, -1)

        def by_row(t: Tensor) -> Tensor:  # [B, N, K*L, *] -> [R, N, L, *]
            return t.reshape(b, n, beams, length, -1).transpose(1, 2).reshape(rows, n, length, -1)

        q = q * (1.0 / math.sqrt(d))
        on_prompt = by_prompt(q) @ prompt_k.transpose(-1, -2)  # [B, N, K*L, P]
        on_own = by_prompt(q @ own_k.transpose(-1, -2))  # [B, N, K*L, X + T]
        scores = torch.cat([on_own[..., :x], on_prompt, on_own[..., x:]], dim=-1)  # the mask's column order
        probs = torch.add(scores, self.cache.bias(mask)).softmax(dim=-1).to(v.dtype)  # softmax in fp32
        own_probs = torch.cat([probs[..., :x], probs[..., x + p :]], dim=-1)
        return by_row(probs[..., x : x + p] @ prompt_v) + by_row(own_probs) @ own_v  # [R, N, L, D]


def reorder_cache(cache: KVCache | StaticKVCache | BeamKVCache, index: Tensor) -> KVCache | StaticKVCache | BeamKVCache:
    """Select batch rows of a cache (beam search): index [B'] -> every tensor [B', N, M, D]."""
    if isinstance(cache, (StaticKVCache, BeamKVCache)):
        return cache.reorder(index)
    return [(k.index_select(0, index), v.index_select(0, index)) for k, v in cache]
