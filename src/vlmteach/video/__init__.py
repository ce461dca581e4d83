"""The video layer: one tensor convention (T, 3, H, W) in [0, 1] and its file formats."""

from vlmteach.video.io import read_image, read_video, write_image, write_video
from vlmteach.video.tensor import DEFAULT_FPS, Video, sample_frames, to_uint8, uniform_indices, upscale

__all__ = [
    "DEFAULT_FPS", "Video", "read_image", "read_video", "sample_frames", "to_uint8", "uniform_indices",
    "upscale", "write_image", "write_video",
]
