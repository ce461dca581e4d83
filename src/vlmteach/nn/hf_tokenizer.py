"""An offline Hugging Face tokenizer built in memory, for tiny random-config models (tests, `doctor
--tiny`, cost benchmarks): real backends load their own tokenizer from disk; nothing is downloaded."""

from __future__ import annotations

import string

from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

# Words the built-in task prompts and teacher queries use most; anything else splits into characters.
_WORDS = """the a an of to in on and or is are be it its each every all one two three move moves moved
ball object objects star stars marker markers colour color red green blue yellow purple orange pink
cyan white black grey gray brown maze wall walls path grid cell cells key door light lights sort
puzzle tile tiles rotate rotation gravity count video frame frames first last final end start goal
does do did yes no without through along with into from at by same never only reach reaches reached
final position positions keep keeps stay stays left right up down shortest obstacle obstacles""".split()  # noqa: SIM905


def word_tokenizer(special: list[str] | tuple[str, ...] = (), pad: str = "<pad>", eos: str = "</s>",
                   unk: str = "<unk>") -> PreTrainedTokenizerFast:
    """A word-level tokenizer over common English words, single characters and the `special` tokens
    (added as special tokens, so they are never split)."""
    vocab: dict[str, int] = {}
    for tok in [pad, eos, unk, *_WORDS, *string.ascii_letters, *string.digits, *string.punctuation]:
        vocab.setdefault(tok, len(vocab))
    for word in ("Yes", "No"):
        vocab.setdefault(word, len(vocab))
    backend = Tokenizer(models.WordLevel(vocab, unk_token=unk))
    backend.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token=pad, eos_token=eos, unk_token=unk)
    if special:
        tok.add_special_tokens({"additional_special_tokens": list(special)})
    return tok
