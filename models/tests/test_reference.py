import json

import numpy as np
import pytest

from loomwatch_models.reference import frame_stats, input_profile, reference_profile, score_profile
from loomwatch_models.registry import REGISTRY_DIR, card_validator, read_card


def test_frame_stats_bins_by_the_top_four_bits_as_the_worker_does():
    frame = np.array([[0, 15, 16, 255], [32, 47, 48, 128]], dtype=np.uint8)
    mean, std, histogram = frame_stats(frame)
    assert mean == pytest.approx(frame.mean()) and std == pytest.approx(frame.std())
    assert histogram[0] == 0.25 and histogram[1] == 0.125 and histogram[2] == 0.25 and histogram[3] == 0.125
    assert histogram[8] == 0.125 and histogram[15] == 0.125 and histogram.sum() == pytest.approx(1)


def test_input_profile_pools_the_pixels_of_equal_sized_frames():
    rng = np.random.default_rng(0)
    frames = [rng.integers(40 * k, 40 * k + 60, (16, 64)).astype(np.uint8) for k in range(3)]
    profile = input_profile([frame_stats(f) for f in frames])
    everything = np.concatenate([f.ravel() for f in frames])
    assert profile["frames"] == 3
    assert profile["mean"] == pytest.approx(everything.mean(), abs=1e-3)
    assert profile["std"] == pytest.approx(everything.std(), abs=1e-3)
    assert profile["frameMeanStd"] == pytest.approx(np.std([f.mean() for f in frames]), abs=1e-3)
    assert sum(profile["histogram"]) == pytest.approx(1, abs=1e-5)


def test_score_deciles_split_the_reference_into_tenths():
    scores = list(np.linspace(0.0, 1.0, 101))
    assert score_profile(scores)["deciles"] == pytest.approx([0.1 * k for k in range(1, 10)])


def test_a_fabric_gets_score_deciles_only_with_enough_validation_normals():
    flat = lambda v: frame_stats(np.full((4, 4), v, np.uint8))  # noqa: E731
    stats = {"00": [flat(100)] * 2, "05": [flat(200)]}
    scores = {"00": [0.5] * 12, "05": [0.6] * 3}
    ref = reference_profile(stats, scores, "aitex-split-v1")
    assert set(ref["fabrics"]) == {"00", "05"}
    assert "scores" in ref["fabrics"]["00"] and "scores" not in ref["fabrics"]["05"]
    assert ref["input"]["frames"] == 3 and ref["scores"]["frames"] == 15
    assert ref["fabrics"]["05"]["input"]["mean"] == 200


def test_the_reference_is_valid_in_a_card_and_a_wrong_shape_is_refused():
    card = read_card(REGISTRY_DIR / "draem-random" / "0.0.1")
    stats = {"00": [frame_stats(np.full((4, 4), 100, np.uint8))]}
    card["reference"] = reference_profile(stats, {"00": [0.5] * 12}, "aitex-split-v1")
    assert list(card_validator().iter_errors(json.loads(json.dumps(card)))) == []
    card["reference"]["input"]["histogram"] = [1.0]
    assert list(card_validator().iter_errors(card)) != []
