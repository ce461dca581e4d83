"""Seed ranges of the tiny world. Training never touches evaluation seeds (>= EVAL_SEED_MIN)."""

REASONER_SEEDS = (0, 500_000)  # instance seeds the reasoner is trained on, [lo, hi)
TEACHER_SEEDS = (500_000, 1_000_000)  # instance seeds the teacher's labelled pairs come from
EVAL_SEED_MIN = 1_000_000  # benchmarks and reports use seeds from here on
