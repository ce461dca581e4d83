"""Seed ranges of the tiny world. Training never touches development or evaluation seeds.

Instance seeds are split four ways, [lo, hi):
- the reasoner trains on REASONER_SEEDS;
- the teacher trains on TEACHER_SEEDS (the shipped teacher of 0.1 used 500,000-999,999; its
  successor stops at 900,000 so that the development range below is clean);
- DEV_SEEDS are for choosing recipes and defaults (benchmarks/judge.py, benchmarks/tto_sweep.py);
- benchmarks and reports evaluate on seeds from EVAL_SEED_MIN up.
"""

REASONER_SEEDS = (0, 500_000)
TEACHER_SEEDS = (500_000, 900_000)
DEV_SEEDS = (900_000, 1_000_000)
EVAL_SEED_MIN = 1_000_000

# Ranges no benchmark may evaluate on, with the words the refusals and warnings use for them.
RESERVED = (("the tiny reasoner's training", REASONER_SEEDS), ("the tiny teacher's training", TEACHER_SEEDS),
            ("the development", DEV_SEEDS))


def reserved_overlaps(first: int, last: int) -> list[tuple[str, int, int]]:
    """(name, lo, hi) of every reserved range that the seeds first..last overlap."""
    return [(name, lo, hi) for name, (lo, hi) in RESERVED if first < hi and last >= lo]
