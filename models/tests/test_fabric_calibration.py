"""Per-fabric calibration: factors from training normals, thresholds back on each fabric's scale."""
import numpy as np
import pytest

from loomwatch_models.fabric_calibration import calibrate, fabric_factors, worth_applying
from loomwatch_models.registry import validate_card


def rows(fabric, scores, label=0, code="000"):
    return [{"fabric": fabric, "score": s, "label": label, "code": code} for s in scores]


def test_factors_bring_each_fabric_median_to_the_pooled_median():
    pooled, factors = fabric_factors(rows("A", [0.1, 0.2, 0.3]) + rows("B", [0.4, 0.5, 0.6]))
    assert pooled == pytest.approx(0.35)
    assert factors == pytest.approx({"A": 0.35 / 0.2, "B": 0.35 / 0.5})


def test_fabric_thresholds_separate_what_one_pooled_threshold_cannot():
    # fabric B's scores run twice as high as A's, for normals and defects alike
    rng = np.random.default_rng(0)
    a_norm, b_norm = rng.uniform(0.10, 0.20, 20), rng.uniform(0.20, 0.40, 20)
    val = (rows("A", a_norm) + rows("B", b_norm) + rows("A", [0.25] * 10, 1, "002") + rows("B", [0.5] * 10, 1, "002"))
    fabrics, m = calibrate(val, {"A": 2.0, "B": 1.0}, {"pixelThreshold": 0.3})
    assert m["pooled"]["detectionRate"] < 1.0                  # A's defects sit among B's normals
    assert m["fabricCalibrated"]["imageAuroc"] == pytest.approx(1.0)
    assert m["fabricCalibrated"]["detectionRate"] == 1.0
    assert m["fabricCalibrated"]["falseAlarmRate"] <= 0.05
    # the same threshold on the rescaled scale, so A's raw threshold is half of B's
    assert fabrics["A"]["imageThreshold"] == pytest.approx(fabrics["B"]["imageThreshold"] / 2)
    assert fabrics["A"]["pixelThreshold"] == pytest.approx(0.15)
    for f in fabrics.values():
        assert f["normalization"]["min"] < f["imageThreshold"] < f["normalization"]["max"]
    assert worth_applying(m)


def test_fabric_thresholds_are_not_applied_when_they_do_not_win_out_of_sample():
    def m(det, fa):
        return {"crossCalibrated": {"detectionRate": det, "falseAlarmRate": fa}}
    assert not worth_applying({"pooled": m(0.35, 0.036), "fabricCalibrated": m(0.40, 0.107)})
    assert worth_applying({"pooled": m(0.35, 0.036), "fabricCalibrated": m(0.525, 0.107)})
    assert not worth_applying({"pooled": m(0.096, 0.036), "fabricCalibrated": m(0.094, 0.036)})


def test_card_validation_checks_each_fabric_calibration(tmp_path):
    from loomwatch_models.registry import build_card, draem_architecture
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"x")
    card = build_card(name="m", version="1.0.0", description="d", onnx_path=onnx,
                      architecture=draem_architecture(16, 8, 1000), flops_per_tile=1.0, tile=256,
                      image_threshold=0.4, pixel_threshold=0.3, norm_min=0.1, norm_max=0.8, smoothing_kernel=21)
    card["postprocess"]["fabrics"] = {"02": {"imageThreshold": 0.5, "pixelThreshold": 0.3,
                                             "normalization": {"min": 0.2, "max": 0.9}}}
    validate_card(card)
    card["postprocess"]["fabrics"]["02"]["normalization"]["max"] = 0.45
    with pytest.raises(ValueError, match="postprocess.fabrics.02"):
        validate_card(card)
