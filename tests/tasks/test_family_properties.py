"""Properties every registered task family must have (the issue's contract for scorers), checked on
every family in the registry; the checks live in family_properties.py."""

import pytest
from family_properties import (
    check_determinism_and_variety,
    check_every_corruption_lowers_the_score,
    check_ground_truth_scores_high_and_static_video_fails_goal,
    check_metadata,
    check_mp4_round_trip_keeps_the_score,
    check_slightly_noisy_or_resized_ground_truth_still_scores_high,
)

from vlmteach.tasks.registry import family_names

NAMES = family_names()


@pytest.mark.parametrize("name", NAMES)
def test_metadata(name):
    check_metadata(name)


@pytest.mark.parametrize("name", NAMES)
def test_ground_truth_scores_high_and_static_video_fails_goal(name):
    check_ground_truth_scores_high_and_static_video_fails_goal(name)


@pytest.mark.parametrize("name", NAMES)
def test_every_corruption_lowers_the_score(name):
    check_every_corruption_lowers_the_score(name)


@pytest.mark.parametrize("name", NAMES)
def test_slightly_noisy_or_resized_ground_truth_still_scores_high(name):
    check_slightly_noisy_or_resized_ground_truth_still_scores_high(name)


@pytest.mark.parametrize("name", NAMES)
def test_mp4_round_trip_keeps_the_score(name):
    check_mp4_round_trip_keeps_the_score(name)


@pytest.mark.parametrize("name", NAMES)
def test_determinism_and_variety(name):
    check_determinism_and_variety(name)
