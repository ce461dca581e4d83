"""Building blocks of the built-in tiny models: a word tokenizer, transformer blocks, LoRA lifecycle."""

from vlmteach.nn.blocks import Block, TextEncoder, timestep_embedding
from vlmteach.nn.lora import add_lora, drop_lora, lora_parameters, reset_lora
from vlmteach.nn.text import WordTokenizer

__all__ = ["Block", "TextEncoder", "WordTokenizer", "add_lora", "drop_lora", "lora_parameters",
           "reset_lora", "timestep_embedding"]
