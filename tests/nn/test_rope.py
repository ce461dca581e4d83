"""3D rotary positions: attention scores depend on the offset between tokens, not where they are."""

import pytest
import torch

from vlmteach.nn.rope import apply_rope, rope_3d


def _at(x: torch.Tensor, index: int, rope) -> torch.Tensor:
    """x (D,) rotated as the token at flat position `index`."""
    n = index + 1
    tokens = x.expand(n, -1)
    return apply_rope(tokens, rope)[index]


def test_scores_depend_only_on_the_offset_in_frame_row_and_column():
    frames, rows, cols, hd = 4, 3, 3, 32
    rope = rope_3d(frames, rows, cols, hd)
    q, k = torch.randn(2, hd, generator=torch.Generator().manual_seed(0))

    def flat(f, r, c):
        return (f * rows + r) * cols + c

    score = _at(q, flat(1, 1, 1), rope) @ _at(k, flat(0, 0, 1), rope)
    shifted = _at(q, flat(3, 2, 2), rope) @ _at(k, flat(2, 1, 2), rope)  # same offset (1, 1, 0)
    other = _at(q, flat(3, 2, 2), rope) @ _at(k, flat(2, 2, 2), rope)  # offset (1, 0, 0)
    assert torch.allclose(score, shifted, atol=1e-5)
    assert not torch.allclose(score, other, atol=1e-3)
    # each axis moves the score on its own
    for a, b in [(flat(1, 0, 0), flat(0, 0, 0)), (flat(0, 1, 0), flat(0, 0, 0)), (flat(0, 0, 1), flat(0, 0, 0))]:
        assert not torch.allclose(_at(q, a, rope) @ _at(k, b, rope), q @ k, atol=1e-3)


def test_rotation_keeps_norms_and_rejects_odd_head_dims():
    rope = rope_3d(2, 2, 2, 16)
    x = torch.randn(3, 8, 16)
    assert torch.allclose(apply_rope(x, rope).norm(dim=-1), x.norm(dim=-1), atol=1e-5)
    with pytest.raises(ValueError, match="even head dimension"):
        rope_3d(2, 2, 2, 15)
