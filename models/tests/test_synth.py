import numpy as np

from loomwatch_models.synth import AnomalySynth, curve_mask, perlin, spot_mask


def _synth(**kw):
    rng = np.random.default_rng(0)
    src = {r: (np.random.default_rng(i).random((2, 256, 512)) * 255).astype(np.uint8) for i, r in enumerate("ab")}
    return AnomalySynth(64, src, rng, bank_size=8, **kw)


def test_perlin_noise_has_the_requested_shape_and_range():
    p = perlin((64, 64), (4, 8), np.random.default_rng(0))
    assert p.shape == (64, 64) and -1.5 < p.min() < 0 < p.max() < 1.5


def test_about_half_the_samples_stay_normal_and_normal_ones_are_untouched():
    s = _synth()
    img = np.full((64, 64), 0.5, np.float32)
    flags = []
    for _ in range(200):
        out, m, has = s(img, "a")
        flags.append(has)
        if not has:
            assert np.array_equal(out, img) and not m.any()
    assert 0.35 < np.mean(flags) < 0.65


def test_small_defect_masks_are_small_and_visible():
    rng = np.random.default_rng(0)
    assert all(spot_mask(128, rng).sum() < 600 for _ in range(50))
    assert all(curve_mask(128, rng).sum() <= 3 * 128 for _ in range(50))
    s = _synth(p_spot=0.5, p_curve=0.5, p_streak=0.0)
    img = np.full((64, 64), 0.5, np.float32)
    for _ in range(100):
        out, m, has = s(img, "a")
        if has:
            assert (np.abs(out - img)[m > 0] > 0.02).all()
