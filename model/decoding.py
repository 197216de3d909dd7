"""Batched greedy and beam-search decoding for GLM's blank infilling, with the incremental key/value cache.

Shape legend: B batch, K beams, P prompt length (source + [sop]), t tokens generated so far, V vocabulary rows.

The prompt is what a seq2seq layout gives at evaluation: `input_ids` [B, P] ending with `<|startofpiece|>`,
`position_ids` [B, 2, P] and a boolean `attention_mask` [B, 1, P, P]. Step 0 runs the whole prompt once and keeps
each layer's keys and values. Every later step feeds only the token chosen last, at position
(mask position, block position of [sop] + t), i.e. the [sop] row's position with the block counter moved on, so the
first generated token is at block 2 as in training. A generated token reads what the [sop] row reads in the
prompt (the last row of `attention_mask`; source padding stays invisible when the layout hides it) plus every
generated token up to itself.

`use_cache=False` recomputes the whole sequence at every step with the equivalent full mask. It exists to prove
the cache right (the two give the same tokens) and to measure what the cache saves.

Beam search follows the conventions THUDM/GLM took over from Hugging Face's beam scorer:
* log-softmax scores plus the running beam score; at the start only beam 0 is live (the others at -1e9);
* the 2*K best (beam, token) candidates by top-k; a candidate ending in `<|endofpiece|>` among the first K becomes a
  finished hypothesis (eop excluded), scored sum_logprob / length**length_penalty with length = generated tokens
  (at least 1); the best K other candidates continue;
* a batch element is done when it holds K hypotheses and none of its live beams could still beat the worst of them
  (best candidate score / current length**length_penalty, the `do_early_stopping=False` rule); decoding stops when
  every element is done or after `max_length` tokens, and then the live beams join the hypotheses;
* `min_length` forbids eop until that many tokens exist; `no_repeat_ngram_size` forbids a token that would repeat an
  n-gram of the generated tokens (the prompt is not looked at).
Transformers' own `generate` cannot drive this: it would need GLM's two-row positions and the prompt-derived mask
threaded through every step, which is all this file does besides the scorer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .glm import BeamKVCache, GLMModel, KVCache, StaticKVCache, reorder_cache
from .heads import check_scores

EOP_ID = 50266  # <|endofpiece|>
PAD_ID = 2  # </s>, fed to finished rows


@dataclass(frozen=True)
class GenerationConfig:
    """Decoding settings, named after THUDM/GLM's flags (--tgt-seq-length is `max_length`)."""

    max_length: int  # generated tokens at most, eop included
    min_length: int = 0  # eop is forbidden while fewer tokens than this were generated
    num_beams: int = 1  # 1 = greedy
    length_penalty: float = 1.0
    no_repeat_ngram_size: int = 0  # 0 = off
    eop_id: int = EOP_ID
    pad_id: int = PAD_ID
    use_cache: bool = True
    share_prompt_cache: bool = True  # beam search: the prompt's keys/values once per prompt (BeamKVCache); False
    # keeps a copy per beam (a StaticKVCache), the same tokens, for comparison (benchmarks/bench_decoding.py)

    def __post_init__(self) -> None:
        if self.max_length < 1 or self.num_beams < 1 or self.min_length < 0 or self.no_repeat_ngram_size < 0:
            raise ValueError(f"invalid generation settings: {self}")


def _project(model: GLMModel, hidden: Tensor) -> Tensor:
    """Logits of the last position only: [B, L, H] -> [B, V] (the tied output projection).

    Computed as (W h^T)^T: with the few rows of a decoding step this orientation streams the [V, H] table once and
    runs close to the memory bound on CPU, about 1.4x faster than F.linear's (benchmarks/bench_roofline.py)."""
    return check_scores((model.word_embeddings.weight @ hidden[:, -1].transpose(0, 1)).transpose(0, 1), "next-token logits")


class _Runner:
    """Holds what the next step needs for every row and moves it when beams are reordered."""

    def __init__(self, model: GLMModel, input_ids: Tensor, position_ids: Tensor, attention_mask: Tensor):
        if attention_mask.dtype != torch.bool or attention_mask.dim() != 4:
            raise ValueError(f"attention_mask must be [B, 1, P, P] bool, got {attention_mask.dtype} {tuple(attention_mask.shape)}")
        self.model = model
        self.visible = attention_mask[:, 0, -1, :]  # [B, P]: prompt columns the [sop] row (and all later rows) read
        self.mask_position = position_ids[:, 0, -1]  # [B]
        self.first_block = position_ids[:, 1, -1]  # [B], 1 for a GLM seq2seq prompt
        self.steps = 0

    def _next_position(self) -> Tensor:
        return torch.stack([self.mask_position, self.first_block + self.steps], dim=1).unsqueeze(-1)  # [B, 2, 1]

    def reorder(self, index: Tensor) -> None:
        self.visible = self.visible.index_select(0, index)
        self.mask_position = self.mask_position.index_select(0, index)
        self.first_block = self.first_block.index_select(0, index)

    def expand(self, beams: int) -> None:
        """Row b becomes rows b*K .. b*K+K-1 (beam search's start)."""
        self.reorder(self._expansion(beams))

    def _expansion(self, beams: int) -> Tensor:
        return torch.arange(len(self.visible), device=self.visible.device).repeat_interleave(beams)  # [B*K]


class _CachedRunner(_Runner):
    """Greedy: the prompt's cache moves into a StaticKVCache (room for `max_new` more positions) at the first step,
    so later steps write in place and allocate nothing. Beam search: `expand` puts it in a BeamKVCache, which keeps
    the prompt's positions once per prompt and the generated ones (room for `max_new`) per beam."""

    def __init__(self, model: GLMModel, input_ids: Tensor, position_ids: Tensor, attention_mask: Tensor, max_new: int,
                 share_prompt: bool = True):
        super().__init__(model, input_ids, position_ids, attention_mask)
        out = model(input_ids, position_ids, attention_mask=attention_mask, use_cache=True, output_logits=False)
        self.cache: KVCache | StaticKVCache | BeamKVCache = out.past_key_values  # type: ignore[assignment]
        self.max_new, self.share_prompt = max_new, share_prompt
        self.logits = _project(model, out.hidden_states)  # [B, V]

    def expand(self, beams: int) -> None:
        if not self.share_prompt:
            return super().expand(beams)  # the prompt's cache copied per beam, a StaticKVCache at the first step
        _Runner.reorder(self, self._expansion(beams))  # the rows' positions and masks; the prompt's cache is not copied
        self.cache = BeamKVCache(self.cache, beams, capacity=self.max_new)

    def reorder(self, index: Tensor) -> None:
        super().reorder(index)
        self.cache = reorder_cache(self.cache, index)

    def step(self, tokens: Tensor) -> Tensor:
        """Feed one token per row [B]; logits of the following token [B, V]."""
        self.steps += 1
        if not isinstance(self.cache, (StaticKVCache, BeamKVCache)):
            self.cache = StaticKVCache(self.cache, self.visible.shape[1] + self.max_new)
        ones = torch.ones(len(tokens), self.steps, dtype=torch.bool, device=tokens.device)
        row = torch.cat([self.visible, ones], dim=1)  # [B, P + t]
        out = self.model(tokens.unsqueeze(1), self._next_position(), attention_mask=row[:, None, None, :],
                         past_key_values=self.cache, use_cache=True, output_logits=False)
        self.cache = out.past_key_values  # type: ignore[assignment]
        return _project(self.model, out.hidden_states)


class _RecomputingRunner(_Runner):
    def __init__(self, model: GLMModel, input_ids: Tensor, position_ids: Tensor, attention_mask: Tensor):
        super().__init__(model, input_ids, position_ids, attention_mask)
        self.input_ids, self.position_ids, self.prompt_mask = input_ids, position_ids, attention_mask
        self.logits = self._forward()

    def reorder(self, index: Tensor) -> None:
        super().reorder(index)
        self.input_ids = self.input_ids.index_select(0, index)
        self.position_ids = self.position_ids.index_select(0, index)
        self.prompt_mask = self.prompt_mask.index_select(0, index)

    def _forward(self) -> Tensor:
        b, p = self.prompt_mask.shape[0], self.prompt_mask.shape[-1]
        total = self.input_ids.shape[1]
        mask = torch.zeros(b, 1, total, total, dtype=torch.bool, device=self.input_ids.device)  # [B, 1, P+t, P+t]
        mask[:, :, :p, :p] = self.prompt_mask
        mask[:, :, p:, :p] = self.visible[:, None, None, :]
        mask[:, :, p:, p:] = torch.ones(total - p, total - p, dtype=torch.bool, device=mask.device).tril()
        out = self.model(self.input_ids, self.position_ids, attention_mask=mask, output_logits=False)
        return _project(self.model, out.hidden_states)

    def step(self, tokens: Tensor) -> Tensor:
        self.steps += 1
        self.input_ids = torch.cat([self.input_ids, tokens.unsqueeze(1)], dim=1)  # [B, P + t]
        self.position_ids = torch.cat([self.position_ids, self._next_position()], dim=2)  # [B, 2, P + t]
        return self._forward()


def _banned_ngram_tokens(sequence: list[int], n: int) -> list[int]:
    """Tokens that would complete an n-gram already present in `sequence`."""
    if n == 0 or len(sequence) + 1 < n:
        return []
    prefix = sequence[len(sequence) - (n - 1) :]
    return [sequence[i + n - 1] for i in range(len(sequence) - n + 1) if sequence[i : i + n - 1] == prefix]


def _constrain(scores: Tensor, sequences: list[list[int]], generated: int, config: GenerationConfig) -> Tensor:
    """Apply min_length and no_repeat_ngram_size to scores [R, V] of rows with these generated tokens
    (`generated` of them in every live row), in place: callers pass a tensor of their own."""
    if generated < config.min_length:
        scores[:, config.eop_id] = float("-inf")
    if config.no_repeat_ngram_size:
        for row, seq in enumerate(sequences):
            banned = _banned_ngram_tokens(seq, config.no_repeat_ngram_size)
            if banned:
                scores[row, banned] = float("-inf")
    return scores


@torch.no_grad()
def generate(model: GLMModel, input_ids: Tensor, position_ids: Tensor, attention_mask: Tensor,
             config: GenerationConfig) -> list[list[int]]:
    """Generated token ids per batch row, `<|endofpiece|>` and anything after it removed.

    The model must be in eval mode (dropout would make the tokens random and cached/uncached disagree).
    """
    if model.training:
        raise ValueError("generate() needs model.eval(): dropout is active")
    runner = (_CachedRunner(model, input_ids, position_ids, attention_mask, config.max_length, config.share_prompt_cache)
              if config.use_cache
              else _RecomputingRunner(model, input_ids, position_ids, attention_mask))
    if config.num_beams == 1:
        return _greedy(runner, config)
    return _beam_search(runner, config)


def _greedy(runner: _Runner, config: GenerationConfig) -> list[list[int]]:
    batch = runner.logits.shape[0]
    sequences: list[list[int]] = [[] for _ in range(batch)]
    finished = torch.zeros(batch, dtype=torch.bool, device=runner.logits.device)
    logits = runner.logits  # [B, V]
    for step in range(config.max_length):
        tokens = _constrain(logits.float().clone(), sequences, step, config).argmax(dim=-1)  # [B]
        tokens = tokens.masked_fill(finished, config.pad_id)
        for row, token in enumerate(tokens.tolist()):
            if not finished[row]:
                sequences[row].append(token)
        finished |= tokens == config.eop_id
        if bool(finished.all()) or step == config.max_length - 1:
            break
        logits = runner.step(tokens)
    return [seq[:-1] if seq and seq[-1] == config.eop_id else seq for seq in sequences]


class _Hypotheses:
    """The best `size` finished hypotheses of one batch element."""

    def __init__(self, size: int, length_penalty: float):
        self.size, self.length_penalty = size, length_penalty
        self.items: list[tuple[float, list[int]]] = []

    def score(self, sum_logprob: float, length: int) -> float:
        return sum_logprob / max(length, 1) ** self.length_penalty

    def add(self, tokens: list[int], sum_logprob: float) -> None:
        score = self.score(sum_logprob, len(tokens))
        if len(self.items) == self.size and score <= min(s for s, _ in self.items):
            return  # no better than the worst kept one (ties keep the earlier hypothesis)
        self.items.append((score, tokens))
        if len(self.items) > self.size:
            self.items.remove(min(self.items, key=lambda item: item[0]))

    def is_done(self, best_sum_logprob: float, length: int) -> bool:
        if len(self.items) < self.size:
            return False
        return min(s for s, _ in self.items) >= self.score(best_sum_logprob, length)

    def best(self) -> list[int]:
        return max(self.items, key=lambda item: item[0])[1]


def _beam_search(runner: _Runner, config: GenerationConfig) -> list[list[int]]:
    k = config.num_beams
    batch, vocab = runner.logits.shape
    device = runner.logits.device
    runner.expand(k)  # beams of element b are rows b*K..b*K+K-1
    logits = runner.logits.repeat_interleave(k, dim=0)  # [B*K, V]
    beam_scores = torch.zeros(batch, k, device=device)
    beam_scores[:, 1:] = -1e9  # identical beams at the start: only beam 0 may expand
    beam_scores = beam_scores.view(-1)  # [B*K]
    sequences: list[list[int]] = [[] for _ in range(batch * k)]
    hypotheses = [_Hypotheses(k, config.length_penalty) for _ in range(batch)]
    done = [False] * batch
    for step in range(config.max_length):
        logprobs = _constrain(F.log_softmax(logits.float(), dim=-1), sequences, step, config)  # [B*K, V]
        scores = (logprobs + beam_scores.unsqueeze(1)).view(batch, k * vocab)  # [B*K, V] -> [B, K*V]
        top_scores, top_index = scores.topk(2 * k, dim=1)  # [B, 2K], best first
        next_scores, next_tokens, next_rows = [], [], []
        for b in range(batch):
            if done[b]:
                next_scores += [0.0] * k
                next_tokens += [config.pad_id] * k
                next_rows += [b * k] * k
                continue
            chosen = 0
            for rank, (score, index) in enumerate(zip(top_scores[b].tolist(), top_index[b].tolist())):
                row, token = b * k + index // vocab, index % vocab
                if token == config.eop_id:
                    if rank < k:
                        hypotheses[b].add(sequences[row], score)
                    continue
                next_scores.append(score)
                next_tokens.append(token)
                next_rows.append(row)
                chosen += 1
                if chosen == k:
                    break
            done[b] = hypotheses[b].is_done(top_scores[b].max().item(), step)
        if all(done):
            break
        rows = torch.tensor(next_rows, device=device)
        beam_scores = torch.tensor(next_scores, device=device)
        tokens = torch.tensor(next_tokens, device=device)
        sequences = [sequences[r] + [t] for r, t in zip(next_rows, next_tokens)]
        if step == config.max_length - 1:
            break
        runner.reorder(rows)
        logits = runner.step(tokens)
    for b in range(batch):
        if not done[b]:
            for row in range(b * k, (b + 1) * k):
                hypotheses[b].add(sequences[row], beam_scores[row].item())
    return [h.best() for h in hypotheses]
