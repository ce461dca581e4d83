"""Training scripts of the built-in tiny world (reasoner, teacher); they reproduce the shipped weights."""
