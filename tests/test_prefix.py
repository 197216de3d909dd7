"""P-tuning v2 prefixes: plumbing equals GLM's own key/value cache; only prefixes train; they can fit data."""

import torch

from model.glm import GLMConfig, GLMModel, PrefixProvider
from model.heads import SingleTokenClozeHead, cloze_loss
from model.peft.prefix import PrefixEncoder, PrefixTunedGLM

CFG = GLMConfig(num_layers=2, hidden_size=32, num_attention_heads=4, vocab_size=96, max_sequence_length=64,
                embedding_dropout_prob=0.0, attention_dropout_prob=0.0, output_dropout_prob=0.0)


class FixedPrefix(PrefixProvider):
    def __init__(self, cache):
        self.cache, self.length = cache, cache[0][0].shape[2]

    def key_values(self, batch):
        return [(k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1)) for k, v in self.cache]


@torch.no_grad()
def test_prefix_equals_cached_context():
    """Prefixes equal to the cached keys/values of a real context give exactly the outputs of that cache."""
    torch.manual_seed(0)
    model = GLMModel(CFG).eval()
    context = torch.randint(0, 96, (1, 5))
    cache = model(context, use_cache=True, sep=5).past_key_values  # per layer [1, N, 5, D]
    x = torch.randint(0, 96, (3, 7))
    pos = torch.stack([torch.arange(5, 12).expand(3, 7), torch.zeros(3, 7, dtype=torch.long)], dim=1)
    sep = torch.tensor([0, 3, 7])
    with_cache = model(x, pos, sep=sep, past_key_values=[(k.expand(3, -1, -1, -1), v.expand(3, -1, -1, -1)) for k, v in cache])
    with_prefix = model(x, pos, sep=sep, prefix=FixedPrefix(cache), use_cache=True)
    torch.testing.assert_close(with_prefix.logits, with_cache.logits, atol=1e-6, rtol=0)
    assert with_prefix.past_key_values[0][0].shape[2] == 7  # returned caches hold real positions only


@torch.no_grad()
def test_incremental_decoding_with_prefix():
    torch.manual_seed(0)
    model = PrefixTunedGLM(GLMModel(CFG), PrefixEncoder(CFG, 4, dropout=0.0)).eval()
    ids = torch.randint(0, 96, (2, 9))
    full = model(ids, sep=5).logits
    first = model(ids[:, :5], sep=5, use_cache=True)
    cache, steps = first.past_key_values, []
    for t in range(5, 9):
        out = model(ids[:, t : t + 1], torch.tensor([[[t], [0]]]).expand(2, 2, 1), past_key_values=cache, use_cache=True)
        cache = out.past_key_values
        steps.append(out.logits)
    torch.testing.assert_close(torch.cat(steps, 1), full[:, 5:], atol=1e-5, rtol=0)


def test_only_prefixes_train_and_they_steer_the_output():
    """The frozen random model prefers no label; trained prefixes alone make it answer label 2."""
    torch.manual_seed(0)
    backbone = GLMModel(CFG)
    with torch.no_grad():  # label-word rows of a trained model's size; at init (std 0.02) the logits cannot move far
        backbone.word_embeddings.weight[10:14].normal_(0.0, 1.0)
    frozen = {k: v.clone() for k, v in backbone.state_dict().items()}
    model = PrefixTunedGLM(backbone, PrefixEncoder(CFG, 8, projection=True, projection_hidden=64, dropout=0.0))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(n.startswith("prefix.") for n in trainable)
    ids = torch.randint(3, 90, (8, 10))
    ids[:, -1] = 95  # the sop slot
    pos = torch.stack([torch.arange(10).expand(8, 10), torch.zeros(8, 10, dtype=torch.long)], dim=1)
    batch = {"input_ids": ids, "position_ids": pos, "sep": torch.full((8,), 9),
             "verbalizer_ids": torch.tensor([[10, 11, 12, 13]]).expand(8, 4), "labels": torch.full((8,), 2)}
    head = SingleTokenClozeHead()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.05)
    first = None
    for _ in range(150):
        loss = cloze_loss(head(model, batch), batch["labels"])
        first = first if first is not None else loss.item()
        loss.backward()
        opt.step()
        opt.zero_grad()
    assert first > 1.0 and loss.item() < 0.1, (first, loss.item())
    assert all(torch.equal(frozen[k], v) for k, v in backbone.state_dict().items())
