"""Draw the README's pictures: per family, frames of the ground-truth solution in a strip; and the
tiny reasoner's one-step prediction and 4-step sample next to the ground truth.

Run: `python docs/make_figures.py` (writes docs/images/tasks.png, maze.gif and tiny_world.png).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from vlmteach.tasks import all_families, get_family
from vlmteach.video import Video, uniform_indices, write_video

OUT = Path(__file__).parent / "images"
SCALE, FRAMES, PAD, LABEL_W = 3, 6, 4, 150


def strip_sheet(seed: int = 1_000_003) -> Image.Image:
    families = all_families()
    rows = []
    for fam in families:
        inst = fam.generate(seed)
        idx = uniform_indices(inst.solve_frame + 1, FRAMES)
        rows.append((fam, inst.ground_truth.to_uint8()[idx]))
    cell = rows[0][1].shape[1] * SCALE
    width = LABEL_W + FRAMES * (cell + PAD)
    sheet = Image.new("RGB", (width, len(rows) * (cell + PAD) + PAD), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for r, (fam, frames) in enumerate(rows):
        _paste_row(sheet, draw, PAD + r * (cell + PAD), [fam.name, f"{fam.faculty}, {fam.split}"], frames)
    return sheet


def _paste_row(sheet: Image.Image, draw: ImageDraw.ImageDraw, y: int, labels: list[str],
               frames: np.ndarray) -> None:
    """Labels (first in black, the rest grey) left of a row of upscaled uint8 frames (N, H, W, 3)."""
    top = y + frames.shape[1] * SCALE // 2 - 7 * len(labels)
    for k, text in enumerate(labels):
        draw.text((4, top + 14 * k), text, fill=(0, 0, 0) if k == 0 else (110, 110, 110))
    for i, f in enumerate(frames):
        img = Image.fromarray(np.kron(f, np.ones((SCALE, SCALE, 1), dtype=np.uint8)))
        sheet.paste(img, (LABEL_W + i * (f.shape[1] * SCALE + PAD), y))


def model_sheet(families: tuple[str, ...] = ("maze", "object_to_marker", "gravity", "rotation"),
                seed: int = 1_000_003) -> Image.Image:
    """Per family: ground truth, the tiny reasoner's one-step prediction (light decoder) and its
    4-step sample (full decoder), the same frames of each."""
    import torch

    from vlmteach import reasoners
    from vlmteach.video import to_uint8

    reasoner = reasoners.load("tiny")
    cell = 32 * SCALE
    rows = 3 * len(families)
    sheet = Image.new("RGB", (LABEL_W + FRAMES * (cell + PAD), rows * (cell + PAD) + PAD + 8 * len(families)),
                      (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    y = PAD
    for name in families:
        inst = get_family(name).generate(seed)
        idx = uniform_indices(inst.solve_frame + 1, FRAMES)
        cond, z1 = reasoner.condition(inst.first_frame, inst.prompt), reasoner.noise(seed)
        with torch.no_grad():
            one = reasoner.decode_light(reasoner.one_step(z1, cond)).clamp(0, 1)
            sample = reasoner.decode(reasoner.sample(z1, cond)).frames
        for label, frames in ((name, inst.ground_truth.frames), ("one-step", one), ("4-step", sample)):
            _paste_row(sheet, draw, y, [label, "ground truth"] if label == name else [label],
                       to_uint8(frames)[idx])
            y += cell + PAD
        y += 8
    return sheet


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    strip_sheet().save(OUT / "tasks.png")
    model_sheet().save(OUT / "tiny_world.png")
    inst = get_family("maze").generate(1_000_003)
    write_video(Video(inst.ground_truth.frames, fps=4), OUT / "maze.gif", scale=6)
    print(f"wrote {OUT / 'tasks.png'}, {OUT / 'maze.gif'} and {OUT / 'tiny_world.png'}")


if __name__ == "__main__":
    main()
