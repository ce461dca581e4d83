import numpy as np
import pytest
import torch

from vlmteach.errors import VideoError
from vlmteach.video import Video, read_image, read_video, sample_frames, uniform_indices, upscale, write_image, write_video


def _checker(t=6, h=16, w=24):
    frames = torch.zeros(t, 3, h, w)
    for i in range(t):
        frames[i, i % 3, : h // 2, : w // 2] = 1.0  # a block whose colour cycles with time
        frames[i, :, h // 2 :, w // 2 :] = i / (t - 1)
    return Video(frames, fps=6.0)


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_round_trip_keeps_frames_and_fps(tmp_path, suffix):
    v = _checker()
    back = read_video(write_video(v, tmp_path / f"v{suffix}", scale=4))
    assert back.num_frames == v.num_frames
    assert back.size == (64, 96)
    assert abs(back.fps - 6.0) < 0.5
    small = torch.nn.functional.avg_pool2d(back.frames, 4)
    assert (small - v.frames).abs().mean() < 0.03


def test_png_frames_folder_and_single_image(tmp_path):
    v = _checker(t=3)
    for i, f in enumerate(v.frames):
        write_image(f, tmp_path / "frames" / f"{i:03d}.png")
    back = read_video(tmp_path / "frames")
    assert torch.allclose(back.frames, v.frames, atol=1 / 255)
    one = read_video(tmp_path / "frames" / "001.png")
    assert one.num_frames == 1 and torch.allclose(one.frames[0], v.frames[1], atol=1 / 255)
    assert read_image(tmp_path / "frames" / "000.png").shape == (3, 16, 24)


def test_bad_files_name_the_file(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(VideoError, match="broken.mp4"):
        read_video(bad)
    with pytest.raises(VideoError, match="missing.gif"):
        read_video(tmp_path / "missing.gif")
    with pytest.raises(VideoError, match="unsupported"):
        (tmp_path / "x.avi").write_bytes(b"")
        read_video(tmp_path / "x.avi")
    with pytest.raises(VideoError, match="even"):
        write_video(Video(torch.rand(2, 3, 5, 5)), tmp_path / "odd.mp4")


def test_video_validates_shape():
    with pytest.raises(VideoError, match=r"\(T, 3, H, W\)"):
        Video(torch.rand(3, 8, 8))
    with pytest.raises(VideoError, match="float"):
        Video(torch.zeros(1, 3, 4, 4, dtype=torch.uint8))


def test_uniform_sampling_and_upscale():
    assert uniform_indices(16, 4) == [0, 5, 10, 15]
    assert uniform_indices(5, 5) == [0, 1, 2, 3, 4]
    frames = torch.arange(10.0).view(10, 1, 1, 1).expand(10, 3, 2, 2).clone().requires_grad_()
    picked = sample_frames(frames, 3)
    assert picked[:, 0, 0, 0].tolist() == [0.0, 4.0, 9.0]  # linspace(0, 9, 3) rounds 4.5 to even
    picked.sum().backward()
    assert frames.grad.sum() == 3 * 3 * 4  # gradients reach exactly the sampled frames
    v = Video(torch.rand(2, 3, 2, 3))
    up = upscale(v, 3)
    assert up.size == (6, 9) and torch.equal(up.frames[:, :, ::3, ::3], v.frames)
    assert np.array_equal(v.to_uint8().shape, (2, 2, 3, 3))
