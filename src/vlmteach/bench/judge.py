"""How well a teacher judges *within* an instance: what best-of-N and test-time optimization use.

A teacher's accuracy on pairs drawn across instances can be high while it cannot rank two attempts
at the same instance: the family and the scene predict most labels. Here every figure compares
videos of one instance only:
- `rho`: Spearman correlation, over the reasoner's N samples of an instance, between the teacher's
  weighted loss (negated) and the true score; averaged over instances whose samples differ in score;
- `rho_wide`: `rho` over the instances whose samples' scores span more than WIDE (0.1) only, a
  secondary figure: where samples differ by a few thousandths (a reasoner that fails every sample
  alike), their order is noise to any judge, yet it weighs as much in `rho` as an instance where
  the choice decides the score;
- `rho_all`: the same over the samples, the ground truth and its near misses (tasks/near_miss.py);
- `goal_rho`: the goal query's NLL (negated) against the scorer's goal part, over the samples;
- AUROC per query kind (goal, process): over every (satisfied, unsatisfied) pair of videos of the
  same instance for the same query, the share the teacher orders right (ties count half);
- selection efficiency at N: (best_of_n - vanilla) / (pass_at_n - vanilla), with vanilla the mean
  score of the N samples, best_of_n the score of the one the teacher prefers and pass_at_n the best.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from vlmteach.methods.common import candidate_seed, full_sample
from vlmteach.optim.loss import query_loss
from vlmteach.reasoners import Reasoner
from vlmteach.tasks import Instance, get_family
from vlmteach.tasks.base import check_satisfied
from vlmteach.tasks.near_miss import near_misses
from vlmteach.teachers import Teacher
from vlmteach.video import Video, sample_frames

SAMPLE = "sample"
WIDE = 0.1  # rho_wide: instances whose samples' scores span more than this


@dataclass
class JudgedVideo:
    source: str  # "sample", "ground_truth" or a near miss's name
    total: float
    parts: dict[str, float]
    nll: list[float]  # the teacher's "Yes" NLL per query, goal first
    loss: float  # the lam-weighted loss


@dataclass
class JudgedInstance:
    family: str
    split: str
    seed: int
    queries: list[str]
    checks: list[str]  # the scorer part each query stands for (goal first)
    videos: list[JudgedVideo] = field(default_factory=list)

    def of(self, sources: tuple[str, ...] | None = None) -> list[JudgedVideo]:
        return [v for v in self.videos if sources is None or v.source in sources]

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> JudgedInstance:
        return cls(**{**d, "videos": [JudgedVideo(**v) for v in d["videos"]]})


@torch.no_grad()
def judge_instance(reasoner: Reasoner, teacher: Teacher, inst: Instance, n: int = 8, frames: int = 24,
                   edits: bool = True) -> JudgedInstance:
    """The teacher's NLLs and the scorer's verdicts on `n` reasoner samples of `inst` (the noise seeds
    best_of_n draws for a problem seeded with the instance seed), and on its ground truth and near misses."""
    fam = get_family(inst.family)
    queries = teacher.propose_queries(inst.first_frame, inst.prompt)
    checks = list(queries.checks) or ["goal"] + ["process"] * len(queries.process)
    out = JudgedInstance(inst.family, inst.split, inst.seed, queries.texts, checks)
    cond = reasoner.condition(inst.first_frame, inst.prompt)
    videos: list[tuple[str, Video]] = [(SAMPLE, full_sample(reasoner, cond, candidate_seed(inst.seed, j))) for j in range(n)]
    if edits:
        videos.append(("ground_truth", inst.ground_truth))
        videos += list(near_misses(inst).items())
    for source, video in videos:
        score = fam.score(video, inst)
        nll = teacher.yes_nll(sample_frames(video.frames, frames), queries.texts)
        out.videos.append(JudgedVideo(source, score.total, dict(score.parts), [float(v) for v in nll],
                                      float(query_loss(nll, queries))))
    return out


def ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 0..n-1 with ties given their average rank."""
    order = np.argsort(x, kind="stable")
    r = np.empty(len(x))
    r[order] = np.arange(len(x))
    for v in np.unique(x):
        m = x == v
        r[m] = r[m].mean()
    return r


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation; nan when either side is constant."""
    ra, rb = ranks(np.asarray(a, float)), ranks(np.asarray(b, float))
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def score_span(inst: JudgedInstance) -> float:
    """Best minus worst score over the instance's samples."""
    totals = [v.total for v in inst.of((SAMPLE,))]
    return max(totals) - min(totals) if totals else 0.0


def instance_rho(inst: JudgedInstance, sources: tuple[str, ...] | None = (SAMPLE,), goal: bool = False) -> float:
    vids = inst.of(sources)
    if goal:
        return spearman([-v.nll[0] for v in vids], [v.parts["goal"] for v in vids])
    return spearman([-v.loss for v in vids], [v.total for v in vids])


def pair_counts(inst: JudgedInstance, kind: str, sources: tuple[str, ...] | None = None) -> tuple[float, int]:
    """(correctly ordered, total) (satisfied, unsatisfied) pairs of the instance's videos for its
    queries of `kind` ("goal": the first query; "process": the others)."""
    vids = inst.of(sources)
    idx = [0] if kind == "goal" else list(range(1, len(inst.queries)))
    right, total = 0.0, 0
    for q in idx:
        y = np.array([check_satisfied(inst.checks[q], v.parts) for v in vids])
        s = np.array([-v.nll[q] for v in vids])
        pos, neg = s[y == 1], s[y == 0]
        if len(pos) and len(neg):
            right += float((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum())
            total += len(pos) * len(neg)
    return right, total


def selection(inst: JudgedInstance, n: int | None = None) -> tuple[float, float, float]:
    """(mean, teacher's pick, best) score over the instance's first `n` samples."""
    vids = inst.of((SAMPLE,))[:n]
    totals = np.array([v.total for v in vids])
    pick = int(np.argmin([v.loss for v in vids]))
    return float(totals.mean()), float(totals[pick]), float(totals.max())


@dataclass
class JudgeSummary:
    instances: int
    rho: float  # mean within-instance Spearman over the samples (instances whose samples differ)
    rho_n: int  # instances that entered it
    rho_wide: float  # the same over instances whose samples' scores span more than WIDE
    rho_wide_n: int
    rho_all: float
    goal_rho: float
    auroc_goal: float
    auroc_process: float
    vanilla: float
    best_of_n: float
    pass_at_n: float

    @property
    def efficiency(self) -> float:
        gap = self.pass_at_n - self.vanilla
        return float("nan") if gap <= 0 else (self.best_of_n - self.vanilla) / gap


def _nanmean(values: list[float]) -> tuple[float, int]:
    v = np.array([x for x in values if not np.isnan(x)])
    return (float(v.mean()) if len(v) else float("nan")), len(v)


def summarize(insts: list[JudgedInstance], n: int | None = None) -> JudgeSummary:
    rho, rho_n = _nanmean([instance_rho(i) for i in insts])
    rho_wide, rho_wide_n = _nanmean([instance_rho(i) for i in insts if score_span(i) > WIDE])
    rho_all, _ = _nanmean([instance_rho(i, None) for i in insts])
    goal_rho, _ = _nanmean([instance_rho(i, goal=True) for i in insts])
    au = {}
    for kind in ("goal", "process"):
        counts = [pair_counts(i, kind) for i in insts]
        total = sum(t for _, t in counts)
        au[kind] = sum(r for r, _ in counts) / total if total else float("nan")
    sel = np.array([selection(i, n) for i in insts]) if insts else np.full((1, 3), np.nan)
    return JudgeSummary(len(insts), rho, rho_n, rho_wide, rho_wide_n, rho_all, goal_rho, au["goal"], au["process"],
                        *sel.mean(0).tolist())
