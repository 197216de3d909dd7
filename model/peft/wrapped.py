"""The shape every PEFT wrapper of a GLMModel shares: the backbone inside, and the attributes heads and decoding
read from a GLMModel (config, word_embeddings, transformer) passed through, so a wrapped model stands wherever
a GLMModel does."""

from __future__ import annotations

from torch import nn

from model.glm import GLMConfig, GLMModel


class WrappedGLM(nn.Module):
    def __init__(self, backbone: GLMModel):
        super().__init__()
        self.backbone = backbone

    @property
    def config(self) -> GLMConfig:
        return self.backbone.config

    @property
    def word_embeddings(self) -> nn.Embedding:
        return self.backbone.word_embeddings

    @property
    def transformer(self) -> nn.Module:
        return self.backbone.transformer
