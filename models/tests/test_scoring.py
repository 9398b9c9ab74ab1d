import numpy as np

from loomwatch_models.scoring import normalized_score, smooth, smooth_reference, stitch, to_tiles


def test_tiles_stitch_back_to_the_frame():
    frame = np.random.default_rng(0).integers(0, 256, (256, 1024)).astype(np.uint8)
    tiles = to_tiles(frame, 256)
    assert tiles.shape == (4, 1, 256, 256)
    assert np.array_equal(tiles[2, 0], (frame[:, 512:768] * (1 / 255)).astype(np.float32))
    assert np.allclose(stitch(tiles, 256, 1024), frame.astype(np.float32) / 255)


def test_smoothing_matches_drae_m_avg_pool_with_zero_padding():
    a = np.random.default_rng(1).random((256, 1024)).astype(np.float32)
    assert np.abs(smooth(a, 21) - smooth_reference(a, 21)).max() < 1e-5
    # a corner pixel averages over k² including the zero padding
    one = np.zeros((30, 30), np.float32); one[0, 0] = 1.0
    assert np.isclose(smooth(one, 21)[0, 0], 1 / 441)


def test_normalized_score_is_half_at_threshold_and_clamped():
    assert normalized_score(0.4, 0.4, 0.1, 0.9) == 0.5
    assert normalized_score(0.1, 0.4, 0.1, 0.9) == 0.0
    assert normalized_score(0.9, 0.4, 0.1, 0.9) == 1.0
    assert normalized_score(2.0, 0.4, 0.1, 0.9) == 1.0
    assert np.isclose(normalized_score(0.65, 0.4, 0.1, 0.9), 0.75)
