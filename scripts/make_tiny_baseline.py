#!/usr/bin/env python
"""Write a tiny random RoBERTa, BART or T5 in the Hugging Face layout, for CPU demos and tests of the baselines.

    python scripts/make_tiny_baseline.py --baseline roberta --out checkpoints/roberta-tiny

The directory holds config.json, model.safetensors and the tokenizer files, so finetune_baseline.py loads it by
the same from_pretrained path as roberta-large, bart-large or t5-large.

roberta, bart   the real RoBERTa byte-level BPE (tests/fixtures/tokenizer; roberta-large and bart-large share it)
                and a pretraining model class (RobertaForMaskedLM, BartForConditionalGeneration): like the hub
                checkpoints, no classifier head yet.
t5              a small Unigram vocabulary trained on the project's demo data with T5's special tokens (<pad> 0,
                </s> 1, <unk> 2; </s> closes every text), since T5's own SentencePiece vocabulary is not in the
                repository.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from scripts.make_tiny_checkpoint import REAL_TOKENIZER, demo_corpus  # noqa: E402

# The T5 source prefixes of the demo tasks ("<task>: "), so that their characters are in the small vocabulary.
TASK_NAMES = "ag_news: dbpedia_14: customization:"


def roberta_bpe(tokenizer_class):
    """The RoBERTa BPE from vocab.json/merges.txt, given by the keywords transformers 5 reads (the v4 keywords
    vocab_file/merges_file silently give a tokenizer with only special tokens)."""
    tok = tokenizer_class(vocab=str(REAL_TOKENIZER / "vocab.json"), merges=str(REAL_TOKENIZER / "merges.txt"))
    if len(tok) != 50265 or tok.tokenize(" Sports") != ["ĠSports"]:
        raise RuntimeError(f"{tokenizer_class.__name__} did not read {REAL_TOKENIZER}: {len(tok)} tokens")
    return tok


def tiny_roberta(out: Path, hidden_size: int = 64, num_layers: int = 2, max_positions: int = 130, seed: int = 0) -> Path:
    from transformers import RobertaConfig, RobertaForMaskedLM, RobertaTokenizerFast

    tok = roberta_bpe(RobertaTokenizerFast)
    tok.save_pretrained(out)
    torch.manual_seed(seed)
    config = RobertaConfig(vocab_size=len(tok), hidden_size=hidden_size, num_hidden_layers=num_layers, num_attention_heads=4,
                           intermediate_size=2 * hidden_size, max_position_embeddings=max_positions)
    RobertaForMaskedLM(config).save_pretrained(out)
    return out


def tiny_bart(out: Path, hidden_size: int = 32, num_layers: int = 1, max_positions: int = 128, seed: int = 0) -> Path:
    from transformers import BartConfig, BartForConditionalGeneration, BartTokenizerFast

    tok = roberta_bpe(BartTokenizerFast)
    tok.save_pretrained(out)
    torch.manual_seed(seed)
    config = BartConfig(vocab_size=len(tok), d_model=hidden_size, encoder_layers=num_layers, decoder_layers=num_layers,
                        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=2 * hidden_size,
                        decoder_ffn_dim=2 * hidden_size, max_position_embeddings=max_positions)
    BartForConditionalGeneration(config).save_pretrained(out)
    return out


def tiny_t5(out: Path, hidden_size: int = 32, num_layers: int = 2, vocab_size: int = 1000, seed: int = 0) -> Path:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>",
                                      show_progress=False)
    tok.train_from_iterator(demo_corpus() + [TASK_NAMES] * 20, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    fast.save_pretrained(out)
    torch.manual_seed(seed)
    config = T5Config(vocab_size=len(fast), d_model=hidden_size, d_kv=hidden_size // 4, d_ff=2 * hidden_size,
                      num_layers=num_layers, num_decoder_layers=num_layers, num_heads=4, pad_token_id=0, eos_token_id=1,
                      decoder_start_token_id=0)
    T5ForConditionalGeneration(config).save_pretrained(out)
    return out


BUILDERS = {"roberta": tiny_roberta, "bart": tiny_bart, "t5": tiny_t5}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--baseline", choices=tuple(BUILDERS), required=True)
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    out = BUILDERS[a.baseline](Path(a.out), seed=a.seed)
    print(f"wrote tiny {a.baseline} to {out}")


if __name__ == "__main__":
    main()
