"""A tiny GLM learns the demo rewrite ("Convert: red fox seven" -> "7 red foxes") through the seq2seq layout,
the label-smoothed loss and greedy decoding: dev ROUGE-L >= 80 (0-100 scale).

The training loop here is a minimal AdamW loop written for this test, not the project's training code. To keep it
to seconds, the model's vocabulary is only the token ids the demo data uses (a lookup table maps real ids to rows
and back); everything else (the real tokenizer, the prompt, layout, loss, decoding, metric) is the production path.
"""

import pytest
import torch

from conftest import ROOT
from model.decoding import GenerationConfig, generate
from model.glm import GLMConfig, GLMModel
from tasks.seq2seq.datasets import SEQ2SEQ_PROCESSORS, get_prompt
from tasks.seq2seq.layout import Seq2SeqLayoutConfig, collate_eval, collate_train
from tasks.seq2seq.loss import seq2seq_loss
from tasks.seq2seq.metrics import rouge

DATA = ROOT / "data" / "demo" / "seq2seq"
LAYOUT = Seq2SeqLayoutConfig(src_len=16, tgt_len=8)


@pytest.fixture
def one_thread():
    """Tiny matrices: one thread is fastest, and several oversubscribe a shared 2-core machine badly."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_tiny_glm_learns_the_demo_mapping(tokenizer, one_thread):
    torch.manual_seed(0)
    processor, prompt = SEQ2SEQ_PROCESSORS["customization"](), get_prompt("customization", 0)

    def encode(examples):
        return [prompt.encode(tokenizer, e.source, e.target, src_len=LAYOUT.src_len, tgt_len=LAYOUT.tgt_len,
                              guid=e.guid) for e in examples]

    train, dev_examples = encode(processor.get_train_examples(DATA)), processor.get_dev_examples(DATA)
    dev = encode(dev_examples)
    used = sorted({i for e in train + dev for i in e.source_ids + e.target_ids} | {tokenizer.sop_id, tokenizer.pad_id})
    to_row = torch.zeros(tokenizer.vocab_size, dtype=torch.long)
    to_row[torch.tensor(used)] = torch.arange(len(used))

    cfg = GLMConfig(num_layers=1, hidden_size=64, num_attention_heads=4, vocab_size=len(used), max_sequence_length=32,
                    embedding_dropout_prob=0.0, attention_dropout_prob=0.0, output_dropout_prob=0.0)
    model = GLMModel(cfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.01)
    dev_batch = collate_eval(dev, tokenizer, LAYOUT)
    decoding = GenerationConfig(max_length=LAYOUT.tgt_len, eop_id=int(to_row[tokenizer.eop_id]),
                                pad_id=int(to_row[tokenizer.pad_id]))
    references = [e.target for e in dev_examples]

    def dev_rouge_l() -> float:
        model.eval()
        rows = generate(model, to_row[dev_batch.input_ids], dev_batch.position_ids, dev_batch.attention_mask, decoding)
        predictions = [tokenizer.decode([used[r] for r in row]).strip() for row in rows]
        return rouge(predictions, references)["rougeL"]

    scores = [dev_rouge_l()]  # before training
    for epoch in range(12):
        model.train()
        for start in range(0, len(train), 16):
            batch = collate_train([train[i] for i in torch.randperm(len(train))[:16].tolist()], tokenizer, LAYOUT)
            out = model(to_row[batch.input_ids], batch.position_ids, attention_mask=batch.attention_mask)
            s = batch.source_width  # only the target block carries loss
            loss = seq2seq_loss(out.logits[:, s:], to_row[batch.target_ids[:, s:]], batch.loss_mask[:, s:], 0.1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if epoch >= 3:
            scores.append(dev_rouge_l())
            if scores[-1] >= 80.0:
                break
    assert scores[0] < 20.0, f"untrained dev ROUGE-L {scores[0]}: the data leaks the answer"
    assert scores[-1] >= 80.0, f"dev ROUGE-L before training, then per epoch from epoch 4: {scores}"
