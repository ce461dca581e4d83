"""A word-level tokenizer with a fixed vocabulary, stored in a model's JSON config.

The tiny models read prompts and questions word by word: colours and object names are whole words,
so a vocabulary of a few hundred words covers the built-in tasks; anything else maps to <unk>.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import torch

PAD, UNK, CLS = "<pad>", "<unk>", "<cls>"
_WORD = re.compile(r"[a-z]+|\d+")


def words(text: str) -> list[str]:
    """Lower-cased words and numbers of a text; punctuation is dropped."""
    return _WORD.findall(text.lower())


class WordTokenizer:
    """Maps text to a fixed-length tensor of word ids (0 = padding)."""

    def __init__(self, vocab: list[str], max_len: int):
        if vocab[:3] != [PAD, UNK, CLS]:
            raise ValueError(f"vocabulary must start with {[PAD, UNK, CLS]}, got {vocab[:3]}")
        self.vocab = list(vocab)
        self.max_len = max_len
        self._ids = {w: i for i, w in enumerate(self.vocab)}

    @classmethod
    def build(cls, texts: Iterable[str], max_len: int) -> WordTokenizer:
        """A tokenizer whose vocabulary is every word of `texts`, sorted for reproducibility."""
        seen = sorted({w for t in texts for w in words(t)})
        return cls([PAD, UNK, CLS, *seen], max_len)

    def encode(self, texts: list[str]) -> torch.Tensor:
        """(B, L) long tensor: a <cls> token, then the words (truncated to max_len), then padding up
        to the longest text of the batch (padding is masked, so the length changes no result)."""
        rows = [([self._ids[CLS]] + [self._ids.get(w, self._ids[UNK]) for w in words(t)])[: self.max_len]
                for t in texts]
        out = torch.zeros(len(texts), max(map(len, rows), default=1), dtype=torch.long)
        for i, ids in enumerate(rows):
            out[i, : len(ids)] = torch.tensor(ids)
        return out

    def unknown_words(self, text: str) -> list[str]:
        return [w for w in words(text) if w not in self._ids]
