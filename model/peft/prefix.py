"""P-tuning v2: trainable per-layer key/value prefixes on a frozen GLM.

Every layer's attention sees P extra key/value positions before the real ones; every query may attend to them.
Only the prefix parameters (and a task head, if any) are trained. Composition, not modification: the backbone
receives the prefix through GLMModel.forward's `prefix` argument (the PrefixProvider protocol in model/glm.py).
"""

from __future__ import annotations

from torch import Tensor, nn

from model.glm import GLMConfig, GLMModel, PrefixProvider

from .wrapped import WrappedGLM


class PrefixEncoder(nn.Module, PrefixProvider):
    """Produces, for each layer, prefix keys and values of shape [B, N, P, D].

    Without projection the prefixes are free parameters [P, L * 2 * H]. With projection (the reparameterisation
    that stabilises training) they are computed as MLP(Embedding[P, H]) with a tanh hidden layer of
    `projection_hidden` units, output L * 2 * H.
    """

    def __init__(self, cfg: GLMConfig, length: int, projection: bool = False, projection_hidden: int = 512, dropout: float = 0.1):
        super().__init__()
        if length < 1:
            raise ValueError(f"prefix length must be >= 1, got {length}")
        self.length = length
        self.n_layers, self.n_heads, self.head_size = cfg.num_layers, cfg.num_attention_heads, cfg.head_size
        width = cfg.num_layers * 2 * cfg.hidden_size
        self.projection = projection
        if projection:
            self.embedding = nn.Embedding(length, cfg.hidden_size)
            self.mlp = nn.Sequential(nn.Linear(cfg.hidden_size, projection_hidden), nn.Tanh(), nn.Linear(projection_hidden, width))
        else:
            self.embedding = nn.Embedding(length, width)
        nn.init.normal_(self.embedding.weight, std=cfg.initializer_range)
        self.dropout = nn.Dropout(dropout)

    def all_layers(self) -> Tensor:
        """[L, 2, N, P, D]: every layer's keys and values."""
        x = self.embedding.weight  # [P, H] or [P, L*2*H]
        if self.projection:
            x = self.mlp(x)  # [P, L*2*H]
        x = self.dropout(x)
        x = x.view(self.length, self.n_layers, 2, self.n_heads, self.head_size)  # [P, L, 2, N, D]
        return x.permute(1, 2, 3, 0, 4)  # [L, 2, N, P, D]

    def key_values(self, batch: int) -> list[tuple[Tensor, Tensor]]:
        layers = self.all_layers()  # [L, 2, N, P, D]
        return [(kv[0].unsqueeze(0).expand(batch, -1, -1, -1), kv[1].unsqueeze(0).expand(batch, -1, -1, -1)) for kv in layers]


class PrefixTunedGLM(WrappedGLM):
    """A frozen GLMModel plus a PrefixEncoder, with GLMModel's call signature (heads use it unchanged)."""

    def __init__(self, backbone: GLMModel, prefix: PrefixEncoder):
        super().__init__(backbone)
        self.prefix = prefix
        backbone.requires_grad_(False)

    def forward(self, input_ids: Tensor, position_ids: Tensor | None = None, **kwargs):
        if kwargs.get("mems") is not None:
            raise ValueError("GLM-style mems are not combined with prefixes; use past_key_values")
        return self.backbone(input_ids, position_ids, prefix=self.prefix, **kwargs)
