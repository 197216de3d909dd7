"""P-tuning (v1) and prompt tuning: continuous prompt vectors written into the input word embeddings.

The task's pattern marks where prompt tokens go (`tasks.base.PVP`: `None` slots in a pattern, and/or
`prefix_prompt` tokens right after [CLS]); the rendered ids hold a placeholder id there. `ContinuousPromptGLM`
looks the other ids up as usual and writes the prompt encoder's vectors, in order, over the placeholders. With
the backbone frozen this is prompt tuning (Lester et al.); trained jointly it is P-tuning v1, as THUDM/GLM's
`--continuous-prompt`. Nothing deeper changes: there are no per-layer prefixes (that is P-tuning v2, prefix.py).

Prompt encoders (`--prompt-func`, as THUDM/GLM's PromptSpell): `lstm` = a 2-layer bidirectional LSTM over the
prompt embeddings followed by Linear(2H, H), ReLU, Linear(H, H); `mlp` = Linear(H, H), ReLU, Linear(H, H);
`none` = the embeddings themselves.
"""

from __future__ import annotations

from torch import Tensor, nn

from model.glm import GLMModel

from .wrapped import WrappedGLM

PROMPT_FUNCS = ("lstm", "mlp", "none")


class PromptEncoder(nn.Module):
    """forward() -> [S, H]: the S prompt vectors (no input: the same for every example)."""

    def __init__(self, hidden_size: int, length: int, func: str = "lstm", initializer_range: float = 0.02):
        super().__init__()
        if length < 1:
            raise ValueError(f"a continuous prompt needs at least one token, got {length}")
        if func not in PROMPT_FUNCS:
            raise ValueError(f"prompt function must be one of {', '.join(PROMPT_FUNCS)}, got {func!r}")
        self.length, self.func = length, func
        self.embedding = nn.Embedding(length, hidden_size)
        nn.init.normal_(self.embedding.weight, std=initializer_range)
        if func == "lstm":
            self.lstm = nn.LSTM(hidden_size, hidden_size, num_layers=2, bidirectional=True, batch_first=True)
            self.mlp = nn.Sequential(nn.Linear(2 * hidden_size, hidden_size), nn.ReLU(), nn.Linear(hidden_size, hidden_size))
        elif func == "mlp":
            self.mlp = nn.Sequential(nn.Linear(hidden_size, hidden_size), nn.ReLU(), nn.Linear(hidden_size, hidden_size))

    def forward(self) -> Tensor:
        x = self.embedding.weight  # [S, H]
        if self.func == "lstm":
            x = self.mlp(self.lstm(x.unsqueeze(0))[0].squeeze(0))  # [1, S, H] -> [1, S, 2H] -> [S, H]
        elif self.func == "mlp":
            x = self.mlp(x)
        return x


class ContinuousPromptGLM(WrappedGLM):
    """A GLMModel whose placeholder positions get the prompt encoder's vectors; GLMModel's call signature.

    Every row that holds placeholders must hold exactly S of them (one rendered pattern per row); rows fed without
    placeholders (decoding steps after the first) pass through unchanged.
    """

    def __init__(self, backbone: GLMModel, encoder: PromptEncoder, placeholder_id: int, freeze_backbone: bool):
        super().__init__(backbone)
        self.prompt = encoder
        self.placeholder_id = placeholder_id
        if freeze_backbone:
            backbone.requires_grad_(False)

    def forward(self, input_ids: Tensor, position_ids: Tensor | None = None, **kwargs):
        slots = input_ids == self.placeholder_id  # [B, L]
        if not bool(slots.any()):
            return self.backbone(input_ids, position_ids, **kwargs)
        per_row = slots.sum(dim=1)
        if bool((per_row != self.prompt.length).any()):
            raise ValueError(f"rows hold {sorted(set(per_row.tolist()))} prompt placeholders (id {self.placeholder_id}), "
                             f"the prompt has {self.prompt.length} tokens: the pattern and the prompt length disagree")
        embeds = self.backbone.word_embeddings(input_ids.masked_fill(slots, 0))  # [B, L, H]
        prompt = self.prompt().to(embeds.dtype)  # [S, H]
        prompts = prompt.repeat(input_ids.shape[0], 1)  # [B*S, H]: masked positions are filled row by row, in order
        embeds = embeds.masked_scatter(slots.unsqueeze(-1).expand_as(embeds), prompts)
        return self.backbone(input_ids, position_ids, inputs_embeds=embeds, **kwargs)
