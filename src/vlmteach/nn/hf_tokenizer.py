"""An offline Hugging Face tokenizer built in memory, for tiny random-config models (tests, `doctor
--tiny`, cost benchmarks): real backends load their own tokenizer from disk; nothing is downloaded."""

from __future__ import annotations

from collections.abc import Sequence

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast


def byte_tokenizer(special: Sequence[str], eos: str, pad: str, words: Sequence[str] = ()) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer that encodes any text: the 256 byte tokens, whole-word merges for
    `words` (each becomes a single token) and the `special` tokens (never split), wrapped as a
    transformers fast tokenizer."""
    vocab = {ch: i for i, ch in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    merges: list[tuple[str, str]] = []
    for word in words:  # left-to-right merges: W+o -> Wo, Wo+r -> Wor, ...
        for i in range(2, len(word) + 1):
            pair = (word[: i - 1], word[i - 1])
            if word[:i] not in vocab:
                merges.append(pair)
                vocab[word[:i]] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in special])
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=eos, pad_token=pad)
