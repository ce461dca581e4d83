"""Benchmark suites: the built-in families generated on the fly, or a VBVR-layout folder.

A suite is a list of Items, each one instance with what a method needs (first frame, prompt, noise
seed) and what the benchmark needs (a scorer, and where its outputs go)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import torch

from vlmteach.errors import VlmteachError
from vlmteach.tasks import Instance, Score, all_families, family_names, get_family
from vlmteach.tasks.vbvr import (
    SPLIT_FOLDERS,
    Sample,
    iter_samples,
    read_sample,
    score_sample,
)
from vlmteach.train.seeds import EVAL_SEED_MIN, reserved_overlaps
from vlmteach.video import Video

BUILTIN = {"builtin": ("in", "ood"), "builtin-id": ("in",), "builtin-ood": ("ood",)}
DEFAULT_SEED = EVAL_SEED_MIN


@dataclass
class Item:
    """One instance of a suite. `index` numbers it within its task (the VBVR folder index)."""

    family: str
    split: str  # in | ood
    faculty: str
    index: int
    seed: int  # instance seed for the built-in families; the noise seed of every method
    difficulty: int | None
    prompt: str
    instance: Instance | None = None  # built-in family instance (scored by its rules)
    folder: str | None = None  # VBVR sample folder, when the suite is a folder

    @property
    def sample_name(self) -> str | None:
        """The sample folder's own name (indices are assigned when names are not 5-digit numbers)."""
        return None if self.folder is None else Path(self.folder).name

    @property
    def key(self) -> str:
        return f"{self.split}/{self.family}/{self.index:05d}"

    @property
    def first_frame(self) -> torch.Tensor:
        if self.instance is not None:
            return self.instance.first_frame
        return self.sample().first_frame

    def sample(self) -> Sample:
        if self.folder is None:
            raise VlmteachError(f"{self.key} is not from a folder suite")
        return read_sample(self.folder)

    @property
    def reference(self) -> Video | None:
        """The ground truth, privileged (oracle_tto only): the solution video, or for a folder without
        ground_truth.mp4 its final_frame.png as a one-frame video; None when the folder has neither."""
        if self.instance is not None:
            return self.instance.ground_truth
        sample = self.sample()
        gt = sample.ground_truth
        if gt is not None:
            return gt
        final = sample.final_frame
        return None if final is None else Video(final[None])

    def score(self, video: Video) -> Score:
        """The rule-based score of a video for this item (generic GT comparison for foreign folders)."""
        if self.folder is not None:
            return score_sample(video, self.sample())
        return get_family(self.family).score(video, self.instance)

    def to_ref(self) -> dict:
        """What a worker needs to rebuild the item (JSON-safe)."""
        return {"family": self.family, "seed": self.seed, "difficulty": self.difficulty, "index": self.index,
                "folder": self.folder}


def item_from_ref(ref: dict) -> Item:
    """Rebuild an Item from `to_ref` (deterministic: instances are regenerated from their seed)."""
    if ref.get("folder"):
        return folder_item(read_sample(ref["folder"]), int(ref["index"]), int(ref["seed"]))
    return builtin_item(ref["family"], int(ref["seed"]), ref["difficulty"], int(ref["index"]))


def check_eval_seed(seed: int, what: str) -> None:
    """Refuse seeds the shipped tiny weights were trained on, and the development seeds their recipes
    and defaults were chosen on."""
    overlap = reserved_overlaps(seed, seed)
    if overlap:
        name, lo, hi = overlap[0]
        raise VlmteachError(f"{what} {seed} lies in {name} seed range [{lo:,}, {hi:,}); "
                            f"evaluate on seeds >= {EVAL_SEED_MIN:,}")


def builtin_item(family: str, seed: int, difficulty: int | None, index: int) -> Item:
    fam = get_family(family)
    inst = fam.generate(seed, difficulty)
    return Item(fam.name, fam.split, fam.faculty, index, seed, inst.difficulty, inst.prompt, instance=inst)


def builtin_suite(name: str, n_per_family: int, seed: int = DEFAULT_SEED, families: list[str] | None = None,
                  difficulty: int | None = None) -> list[Item]:
    """n instances of each selected family with seeds seed, seed+1, ...; the same seeds for every family."""
    if name not in BUILTIN:
        raise VlmteachError(f"unknown suite {name!r}; valid: {', '.join(BUILTIN)} or a VBVR-layout folder")
    if n_per_family < 1:
        raise VlmteachError(f"--n-per-family must be >= 1, got {n_per_family}")
    check_eval_seed(seed, "--seed")
    check_eval_seed(seed + n_per_family - 1, "instance seed")
    chosen = [f for f in all_families() if f.split in BUILTIN[name]]
    if families:
        unknown = sorted(set(families) - set(family_names()))
        if unknown:
            raise VlmteachError(f"unknown families {', '.join(unknown)}; known: {', '.join(family_names())}")
        chosen = [f for f in chosen if f.name in families]
        if not chosen:
            raise VlmteachError(f"none of {', '.join(families)} is in suite {name!r}")
    return [builtin_item(f.name, seed + i, difficulty, i) for f in chosen for i in range(n_per_family)]


def folder_item(sample: Sample, index: int, base_seed: int) -> Item:
    inst = sample.instance
    if inst is not None:
        check_eval_seed(inst.seed, f"{sample.folder}: instance seed")
        return Item(inst.family, inst.split, inst.faculty, index, inst.seed, inst.difficulty, sample.prompt,
                    instance=inst, folder=str(sample.folder))
    noise = base_seed + zlib.crc32(f"{sample.split}/{sample.task}/{sample.index}".encode()) % 1_000_000
    return Item(sample.task, sample.split, sample.faculty, index, noise, None, sample.prompt, folder=str(sample.folder))


def sample_indices(names: list[str]) -> dict[str, int]:
    """Index of each sample folder of one task: the number itself when every name is 5 digits (the
    kit's layout), else the position in sorted order (recorded with each result as `sample`)."""
    if all(len(n) == 5 and n.isdigit() for n in names):
        return {n: int(n) for n in names}
    return {n: i for i, n in enumerate(sorted(names))}


def folder_suite(root: str | Path, n_per_family: int | None = None, seed: int = DEFAULT_SEED,
                 families: list[str] | None = None) -> list[Item]:
    """Every sample folder under a VBVR-layout root (at most n per task), in split/task/index order."""
    items, counts = [], {}
    samples = iter_samples(root)
    names: dict[tuple[str, str], list[str]] = {}
    for sample in samples:
        names.setdefault((sample.split, sample.task), []).append(sample.index)
    index = {k: sample_indices(v) for k, v in names.items()}
    for sample in samples:
        if families and sample.task not in families:
            continue
        k = (sample.split, sample.task)
        if n_per_family is not None and counts.get(k, 0) >= n_per_family:
            continue
        counts[k] = counts.get(k, 0) + 1
        items.append(folder_item(sample, index[k][sample.index], seed))
    if not items:
        raise VlmteachError(f"{root}: no sample folders{' for ' + ', '.join(families) if families else ''}")
    return items


def make_suite(suite: str, n_per_family: int | None, seed: int = DEFAULT_SEED, families: list[str] | None = None,
               difficulty: int | None = None) -> list[Item]:
    """A built-in suite by name, or a VBVR-layout folder."""
    if suite in BUILTIN:
        return builtin_suite(suite, n_per_family or 3, seed, families, difficulty)
    if Path(suite).is_dir():
        return folder_suite(suite, n_per_family, seed, families)
    raise VlmteachError(f"--suite {suite!r}: not one of {', '.join(BUILTIN)} and not a folder")


__all__ = ["BUILTIN", "SPLIT_FOLDERS", "Item", "builtin_suite", "check_eval_seed", "folder_suite",
           "item_from_ref", "make_suite"]
