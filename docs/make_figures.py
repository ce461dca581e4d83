"""Draw the README's task picture: per family, frames of the ground-truth solution in a strip.

Run: `python docs/make_figures.py` (writes docs/images/tasks.png and docs/images/maze.gif).
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
        y = PAD + r * (cell + PAD)
        draw.text((4, y + cell // 2 - 12), fam.name, fill=(0, 0, 0))
        draw.text((4, y + cell // 2 + 2), f"{fam.faculty}, {fam.split}", fill=(110, 110, 110))
        for i, f in enumerate(frames):
            img = Image.fromarray(np.kron(f, np.ones((SCALE, SCALE, 1), dtype=np.uint8)))
            sheet.paste(img, (LABEL_W + i * (cell + PAD), y))
    return sheet


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    strip_sheet().save(OUT / "tasks.png")
    inst = get_family("maze").generate(1_000_003)
    write_video(Video(inst.ground_truth.frames, fps=4), OUT / "maze.gif", scale=6)
    print(f"wrote {OUT / 'tasks.png'} and {OUT / 'maze.gif'}")


if __name__ == "__main__":
    main()
