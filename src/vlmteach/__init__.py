"""vlmteach: video generation models that reason at test time, taught by a vision-language model."""

__version__ = "0.1.0"
