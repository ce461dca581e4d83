"""The task layer's shared machinery (tasks/base.py), checked on a scripted throwaway family so that
every expectation is written out here, independently of any real family's rules."""

import json
import zlib

import numpy as np
import pytest

from vlmteach.errors import TaskError
from vlmteach.tasks.base import (
    MAX_BUILD_TRIES,
    Episode,
    Instance,
    Score,
    TaskFamily,
    check_part,
    check_satisfied,
)


def _grid(value: int, h: int = 2, w: int = 3) -> np.ndarray:
    return np.full((h, w), value, dtype=np.int64)


class Scripted(TaskFamily):
    """Draws the episodes it is given, in order; the goal is met where cell (0, 0) holds 1."""

    name = "scripted"
    faculty = "spatiality"
    split = "ood"
    summary = "test family"
    frames = 5

    def __init__(self, episodes, rules=None):
        self.episodes = list(episodes)
        self.rules = {"stays": 0.5} if rules is None else rules
        self.draws = 0

    def build(self, rng, difficulty):
        self.draws += 1
        return self.episodes.pop(0) if self.episodes else None

    def goal(self, final, instance):
        return float(final[0, 0] == 1)

    def process(self, states, instance):
        return dict(self.rules)


def _episode(n: int, first: int = 0, second: int = 0) -> Episode:
    """n states: `first`, then `second`, then 1s (the goal reached)."""
    values = [first, second] + [1] * (n - 2)
    return Episode([_grid(v) for v in values[:n]], prompt=f"{n} states", meta={"n": n})


# ---- check_part / check_satisfied -------------------------------------------------------------


def test_check_part_reads_the_named_part_and_process_is_the_worst_rule():
    parts = {"goal": 0.2, "a": 0.9, "b": 0.4, "first_frame": 0.1}
    assert check_part("a", parts) == 0.9
    assert check_part("goal", parts) == 0.2
    assert check_part("process", parts) == 0.4  # goal and first_frame are not process rules
    assert check_part("process", {"goal": 0.0, "first_frame": 0.0}) == 1.0  # no rules: none broken
    with pytest.raises(KeyError):
        check_part("missing", parts)


def test_check_satisfied_thresholds_at_0_999():
    assert check_satisfied("a", {"a": 0.999}) == 1.0
    assert check_satisfied("a", {"a": 0.9989}) == 0.0
    assert check_satisfied("process", {"goal": 1.0, "a": 1.0, "b": 0.5, "first_frame": 1.0}) == 0.0
    assert check_satisfied("process", {"goal": 0.0, "a": 1.0, "first_frame": 0.0}) == 1.0


def test_score_to_dict():
    parts = {"goal": 1.0, "first_frame": 0.5}
    d = Score(0.75, parts, "maze").to_dict()
    assert d == {"score": 0.75, "parts": {"goal": 1.0, "first_frame": 0.5}, "scorer": "maze"}
    d["parts"]["goal"] = 0.0
    assert parts["goal"] == 1.0, "to_dict must copy the parts"


# ---- Instance JSON ----------------------------------------------------------------------------


def _instance(**kw) -> Instance:
    args = dict(family="scripted", seed=7, difficulty=2, split="ood", faculty="spatiality",
                prompt="go", states=np.arange(12).reshape(2, 2, 3), meta={"k": [1, 2]}, fps=4.0)
    args.update(kw)
    return Instance(**args)


def test_instance_to_json_is_the_documented_format():
    assert _instance().to_json() == {
        "format": "vlmteach.instance/1", "family": "scripted", "seed": 7, "difficulty": 2,
        "split": "ood", "faculty": "spatiality", "prompt": "go", "fps": 4.0,
        "states": [[[0, 1, 2], [3, 4, 5]], [[6, 7, 8], [9, 10, 11]]], "meta": {"k": [1, 2]},
    }


def test_instance_from_json_round_trips_and_coerces_types():
    data = json.loads(json.dumps(_instance().to_json()))
    back = Instance.from_json(data)
    for key in ("family", "seed", "difficulty", "split", "faculty", "prompt", "meta", "fps"):
        assert getattr(back, key) == data[key], key
    assert back.states.dtype == np.int64 and back.states.tolist() == data["states"]

    loose = dict(data, seed="7", difficulty=2.0, prompt=5, faculty=3, fps="4",
                 states=[[[0.0, 1.0]]])
    back = Instance.from_json(loose)
    assert (back.seed, back.difficulty, back.prompt, back.faculty, back.fps) == (7, 2, "5", "3", 4.0)
    assert type(back.seed) is int and type(back.difficulty) is int and type(back.fps) is float
    assert back.states.dtype == np.int64


def test_instance_from_json_defaults_meta_and_fps():
    data = _instance().to_json()
    del data["meta"], data["fps"]
    back = Instance.from_json(data)
    assert back.meta == {} and back.fps == 8.0  # the package's default frame rate


@pytest.mark.parametrize("change, message", [
    ({"states": [[0, 1], [2, 3]]}, "states must be (T, H, W), got shape (2, 2)"),
    ({"seed": "x"}, "invalid literal"),
    ({"family": None, "prompt": None, "seed": None}, "malformed instance data"),
])
def test_instance_from_json_names_what_is_malformed(change, message):
    data = dict(_instance().to_json(), **change)
    with pytest.raises(TaskError) as err:
        Instance.from_json(data)
    assert message in str(err.value)


def test_instance_from_json_names_a_missing_key():
    data = _instance().to_json()
    del data["faculty"]
    with pytest.raises(TaskError, match="malformed instance data: 'faculty'"):
        Instance.from_json(data)


# ---- TaskFamily.check_difficulty / generate ---------------------------------------------------


@pytest.mark.parametrize("bad", [0, 4, -1, "2", 2.0])
def test_check_difficulty_refuses_what_is_not_an_int_in_range(bad):
    f = Scripted([])
    with pytest.raises(TaskError) as err:
        f.check_difficulty(bad)
    assert str(err.value) == f"scripted: difficulty {bad!r} is out of range; valid: 1..3"


def test_check_difficulty_default_and_bounds():
    f = Scripted([])
    assert f.check_difficulty(None) == 2
    assert f.check_difficulty(1) == 1 and f.check_difficulty(3) == 3


@pytest.mark.parametrize("bad", [-1, "3", 1.5, None])
def test_generate_refuses_a_bad_seed(bad):
    with pytest.raises(TaskError) as err:
        Scripted([_episode(3)]).generate(bad)
    assert str(err.value) == f"seed must be a non-negative integer, got {bad!r}"


def test_generate_accepts_numpy_integer_seeds():
    inst = Scripted([_episode(3)]).generate(np.int64(5))
    assert inst.seed == 5 and type(inst.seed) is int


def test_generate_pads_to_the_family_frame_count_and_fills_every_field():
    inst = Scripted([_episode(3, first=0, second=2)]).generate(11, 3)
    assert (inst.family, inst.seed, inst.difficulty) == ("scripted", 11, 3)
    assert (inst.split, inst.faculty, inst.prompt, inst.meta) == ("ood", "spatiality", "3 states", {"n": 3})
    assert inst.states.shape == (5, 2, 3) and inst.states.dtype == np.int64
    assert [int(s[0, 0]) for s in inst.states] == [0, 2, 1, 1, 1]  # last state repeated


def test_generate_accepts_lengths_3_to_frames_and_redraws_others():
    for n in (3, 5):
        f = Scripted([_episode(n)])
        assert f.generate(0).prompt == f"{n} states" and f.draws == 1
    f = Scripted([_episode(2), _episode(6), None, _episode(4)])
    assert f.generate(0).prompt == "4 states" and f.draws == 4


def test_generate_redraws_an_episode_solved_in_its_first_frame():
    # the first draw starts solved (cell 1); the second starts unsolved but is solved from frame 1 on
    f = Scripted([_episode(4, first=1), _episode(4, first=0, second=1)])
    inst = f.generate(0)
    assert f.draws == 2 and int(inst.states[0, 0, 0]) == 0


def test_generate_gives_up_after_max_build_tries_with_the_family_named():
    f = Scripted([])
    with pytest.raises(RuntimeError) as err:
        f.generate(9)
    assert str(err.value) == f"scripted: no valid episode in {MAX_BUILD_TRIES} draws (seed 9)"
    assert f.draws == MAX_BUILD_TRIES


def test_generate_seeds_the_draw_from_seed_difficulty_and_name():
    seen = []

    class Recording(Scripted):
        def build(self, rng, difficulty):
            seen.append(rng.integers(1 << 30))
            return _episode(3)

    Recording([]).generate(4, 1)
    expected = np.random.default_rng([4, 1, zlib.crc32(b"scripted")]).integers(1 << 30)
    assert seen == [expected]


# ---- TaskFamily.score_states ------------------------------------------------------------------


def test_score_states_weights_goal_process_and_first_frame():
    f = Scripted([_episode(3, second=2)], rules={"a": 1 / 7, "b": 0.0})
    inst = f.generate(0)
    pred = inst.states.copy()
    pred[0, 0, :2] = 9  # 2 of the first frame's 6 cells wrong
    s = f.score_states(pred, inst)
    first = 4 / 6
    assert s.parts == {"goal": 1.0, "a": 1 / 7, "b": 0.0, "first_frame": first}
    assert list(s.parts) == ["goal", "a", "b", "first_frame"]
    expected = 0.6 * 1.0 + 0.3 * (1 / 14) + 0.1 * first
    assert s.total == round(expected, 6) and s.total != round(expected, 7)
    assert s.scorer == "scripted"


def test_score_states_without_process_rules_counts_the_process_as_kept():
    f = Scripted([_episode(3)], rules={})
    inst = f.generate(0)
    pred = inst.states.copy()
    pred[-1] = 0  # goal missed
    s = f.score_states(pred, inst)
    assert s.parts == {"goal": 0.0, "first_frame": 1.0}
    assert s.total == pytest.approx(0.3 + 0.1)
