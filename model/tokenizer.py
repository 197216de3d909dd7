"""The glm-roberta-large tokenizer: RoBERTa byte-level BPE plus GLM's piece tokens.

Built with the `tokenizers` library straight from a checkpoint directory's `vocab.json` and `merges.txt`
(no `trust_remote_code`, no transformers-5 keyword traps). Token ids:

    <s> 0 (cls)   </s> 2 (eos = pad = sep)   <unk> 3   <mask> 50264 (RoBERTa's)
    <|startofpiece|> 50265 (sop)   <|endofpiece|> 50266 (eop)   [MASK] 50267 in the HF port's vocabulary

The id that "[MASK]" in text maps to is a named choice: 50264 is what the original GLM fine-tuning code uses
(the default here), 50267 is what the Hugging Face tokenizer produces. Which one the real checkpoint was
trained with can be checked with `scripts/check_checkpoint.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers


_SOP, _EOP, _MASK = "<|startofpiece|>", "<|endofpiece|>", "[MASK]"
# GLM's task masks: [gMASK] (one long span at the end, generation) and [sMASK] (whole sentences). Upstream's
# vocabulary has them only with --task-mask; glm-roberta-large was pretrained without, so its files lack them.
# A vocabulary gets them by listing them in added_tokens.json (ids right after the existing tokens).
TASK_MASKS = ("[gMASK]", "[sMASK]")


class TokenizerFilesError(FileNotFoundError):
    pass


@dataclass(frozen=True)
class Encoding:
    """HF-style encoding of one text (used to compare with the HF port's outputs)."""

    input_ids: list[int]
    attention_mask: list[int]


class GLMTokenizer:
    """Byte-level BPE with GLM's special tokens; `encode` adds nothing and never prepends a space.

    The ids are read from the files, so the same class serves the real vocabulary and the project's small demo
    vocabulary (scripts/make_tiny_checkpoint.py), whose specials sit at other ids.
    """

    def __init__(self, backend: Tokenizer, mask: str | int = "original"):
        self._backend = backend
        ids = {name: backend.token_to_id(name) for name in ("<s>", "</s>", "<unk>", "<mask>", _SOP, _EOP, _MASK)}
        absent = [name for name, i in ids.items() if i is None]
        if absent:
            raise ValueError(f"tokenizer vocabulary lacks {absent}: not a glm-roberta-large style vocabulary")
        self.cls_id = ids["<s>"]
        self.eos_id = self.pad_id = self.sep_id = ids["</s>"]
        self.unk_id = ids["<unk>"]
        self.sop_id, self.eop_id = ids[_SOP], ids[_EOP]
        # None when the vocabulary has no such token (the real glm-roberta-large files); users of them check.
        self.gmask_id, self.smask_id = (backend.token_to_id(name) for name in TASK_MASKS)
        original, hf = ids["<mask>"], ids[_MASK]
        if mask in ("original", original):
            self.mask_id, self.mask_convention = original, "original"
        elif mask in ("hf", hf):
            self.mask_id, self.mask_convention = hf, "hf"
        else:
            raise ValueError(
                f"mask_id must be 'original' ({original}, RoBERTa's <mask>, what GLM's fine-tuning code uses) or "
                f"'hf' ({hf}, the HF port's [MASK]), got {mask!r}"
            )
        # The backend always maps "[MASK]" in text to its added id; the original convention renames it.
        self._hf_mask = hf
        # Embedding rows: the token count rounded up to a multiple of 128 (50268 -> 50304 for the real vocab).
        self.vocab_size = -(-len(self) // 128) * 128

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dir(cls, path: str | Path, mask_id: str | int = "original") -> "GLMTokenizer":
        """Build from a directory holding vocab.json and merges.txt (a checkpoint directory or tokenizer folder).

        `mask_id`: "original" (50264 for the real vocabulary; the default) or "hf" (50267); the numbers work too.
        """
        path = Path(path)
        vocab, merges = path / "vocab.json", path / "merges.txt"
        for f in (vocab, merges):
            if not f.is_file():
                raise TokenizerFilesError(
                    f"{f} not found: a glm-roberta-large tokenizer needs vocab.json and merges.txt in {path} "
                    "(the files of the checkpoint on the hub, or `scripts/make_tiny_checkpoint.py` output)"
                )
        backend = Tokenizer(models.BPE.from_file(str(vocab), str(merges)))
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        backend.decoder = decoders.ByteLevel()
        # Specials already in vocab.json keep their ids; the others are appended in this order (50265, 50266, 50267
        # for the real vocabulary), matching added_tokens.json.
        backend.add_special_tokens(
            [
                AddedToken("<s>", special=True, normalized=False),
                AddedToken("</s>", special=True, normalized=False),
                AddedToken("<unk>", special=True, normalized=False),
                # The HF port's slow tokenizer strips whitespace on both sides of these two.
                AddedToken(_SOP, lstrip=True, rstrip=True, special=True, normalized=False),
                AddedToken(_EOP, lstrip=True, rstrip=True, special=True, normalized=False),
                # [MASK] absorbs the whitespace before it, keeps what follows.
                AddedToken(_MASK, lstrip=True, special=True, normalized=False),
            ]
        )
        added = path / "added_tokens.json"
        listed = json.loads(added.read_text()) if added.is_file() else {}
        task_masks = sorted((idx, name) for name, idx in listed.items() if name in TASK_MASKS)
        if task_masks:  # appended in id order, so they land on the listed ids (checked below)
            backend.add_special_tokens([AddedToken(name, special=True, normalized=False) for _, name in task_masks])
        for name, idx in listed.items():
            if backend.token_to_id(name) != idx:
                raise ValueError(f"{added}: token {name!r} has id {idx}, but the vocabulary gives {backend.token_to_id(name)}")
        return cls(backend, mask=mask_id)

    # ------------------------------------------------------------------ basic API
    def __len__(self) -> int:
        return self._backend.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        """BPE ids of `text`, no special tokens added, no prefix space; "[MASK]" becomes `self.mask_id`."""
        ids = self._backend.encode(text, add_special_tokens=False).ids
        if self.mask_id != self._hf_mask:
            ids = [self.mask_id if i == self._hf_mask else i for i in ids]
        return ids

    def tokenize(self, text: str) -> list[str]:
        return self.convert_ids_to_tokens(self._backend.encode(text, add_special_tokens=False).ids)

    def convert_ids_to_tokens(self, ids: list[int]) -> list[str]:
        return [self._backend.id_to_token(i) or f"<{i}>" for i in ids]

    def token_to_id(self, token: str) -> int | None:
        return self._backend.token_to_id(token)

    def decode(self, ids: list[int], skip_special: bool = True) -> str:
        """Text of `ids`; with skip_special, cls/eos/pad/sop/eop and padding rows are dropped."""
        special = {self.cls_id, self.eos_id, self.sop_id, self.eop_id, self._backend.token_to_id("<pad>")}
        ids = [int(i) for i in ids if int(i) < len(self) and not (skip_special and int(i) in special)]
        return self._backend.decode(ids, skip_special_tokens=False)

    def single_token_id(self, word: str) -> int:
        """The id of `word` if it is exactly one BPE token (e.g. " Yes"); a clear error otherwise."""
        ids = self.encode(word)
        if len(ids) != 1:
            raise ValueError(
                f"verbalizer {word!r} is {len(ids)} BPE tokens {self.convert_ids_to_tokens(ids)}, but a single-token "
                "cloze needs exactly one; choose another word or use a multi-token verbalizer"
            )
        return ids[0]

    # ------------------------------------------------------------------ HF-port-compatible encoding
    def hf_encode(self, text: str, text_pair: str | None = None, max_length: int | None = None) -> Encoding:
        """What the HF port's `tokenizer(text, text_pair)` returns: `<s> A </s>` or `<s> A </s></s> B </s>`,
        truncated from the left (the port's truncation_side) when `max_length` is given."""
        a = self.encode(text)
        b = self.encode(text_pair) if text_pair is not None else None
        n_special = 2 if b is None else 4
        if max_length is not None:
            budget = max_length - n_special
            if b is None:
                a = a[max(0, len(a) - budget) :]
            else:  # longest-first, one token at a time, from the left
                while len(a) + len(b) > budget:
                    if len(a) > len(b):
                        a = a[1:]
                    else:
                        b = b[1:]
        ids = [self.cls_id, *a, self.eos_id] if b is None else [self.cls_id, *a, self.eos_id, self.eos_id, *b, self.eos_id]
        return Encoding(ids, [1] * len(ids))

    def hf_batch_encode(self, texts: list[str], padding: bool = True) -> Encoding:
        """Right-padded batch with pad id 2 and a 0/1 attention mask (lists of lists)."""
        encs = [self.hf_encode(t) for t in texts]
        width = max(len(e.input_ids) for e in encs) if padding else None
        ids, att = [], []
        for e in encs:
            pad = (width - len(e.input_ids)) if width else 0
            ids.append(e.input_ids + [self.pad_id] * pad)
            att.append(e.attention_mask + [0] * pad)
        return Encoding(ids, att)  # type: ignore[arg-type]
