"""loop-eval: the review-loop scenario's before/after figures with Wilson intervals, through the TypeScript engine."""
import json

import pytest

from loomwatch_models.cli import main
from loomwatch_models.loop_eval import (
    LoopEvalError,
    at_thresholds,
    calibration_fabric,
    resolve,
    summarize_verdicts,
    wilson,
)
from loomwatch_models.paths import REGISTRY_DIR, SPLITS_DIR


def test_wilson_matches_the_textbook_values():
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson(28, 28) == pytest.approx((28 / (28 + 1.96 ** 2), 1.0), abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)


def test_summary_counts_false_alarms_on_normals_and_detections_on_defects_per_fabric():
    rows = [{"fabric": "01", "label": 0, "verdict": "defect"}, {"fabric": "01", "label": 0, "verdict": "ok"},
            {"fabric": "01", "label": 1, "verdict": "defect"}, {"fabric": "02", "label": 0, "verdict": "ok"},
            {"fabric": "02", "label": 1, "verdict": "ok"}, {"fabric": "02", "label": 1, "verdict": "defect"}]
    s = summarize_verdicts(rows)
    assert s["total"]["falseAlarms"] == {"count": 1, "frames": 3, "rate": 1 / 3, "low": 0.0615, "high": 0.7923}
    assert (s["total"]["detected"]["count"], s["total"]["detected"]["frames"]) == (2, 3)
    assert s["perFabric"]["01"]["falseAlarms"]["count"] == 1 and s["perFabric"]["01"]["detected"]["rate"] == 1.0
    assert s["perFabric"]["02"]["falseAlarms"]["count"] == 0 and s["perFabric"]["02"]["detected"]["rate"] == 0.5
    assert summarize_verdicts([])["total"]["detected"]["rate"] is None


def test_validation_free_decisions_use_the_fabric_of_each_calibration_frame():
    assert calibration_fabric("normal/2608691-202020u/0018_00_01.png") == "01"
    assert calibration_fabric("feedback/05/frame-17.png") == "05"
    rows = [{"fabric": "01", "label": 0, "score": 0.7, "threshold": 0.8, "verdict": "ok"},
            {"fabric": "02", "label": 0, "score": 0.7, "threshold": 0.6, "verdict": "defect"}]
    assert [r["verdict"] for r in at_thresholds(rows, {"01": 0.65, "02": 0.75})] == ["defect", "ok"]
    unrouted = [{"fabric": "08", "label": 1, "score": 0.7, "threshold": 0.8, "verdict": "ok"}]
    assert at_thresholds(unrouted, {"01": 0.75, "pooled": 0.6})[0]["verdict"] == "defect"


def test_a_ref_that_is_not_in_the_registry_is_refused(tmp_path):
    for ref, code in (("patchcore-aitex", "bad-ref"), ("patchcore-aitex@9.9.9", "no-version")):
        with pytest.raises(LoopEvalError) as e:
            resolve(ref, tmp_path)
        assert e.value.code == code


def test_the_cli_on_1_2_0_against_itself_on_fabric_01(tmp_path, aitex):
    """1.2.0 false-alarms on its validation normal 0018_00_01 (0.718 ≥ 0.675): the engine must say so for both
    roles, with the same figures before and after, and the JSON + PNG written."""
    split = json.loads((SPLITS_DIR / "aitex-split-v1.json").read_text())
    val01 = [e for e in split["validation"] if e["fabric"] == "01"]
    normals = sorted((e for e in val01 if e["label"] == 0), key=lambda e: "0018_00_01" not in e["file"])
    mini = {**split, "validation": normals[:2] + [e for e in val01 if e["label"]][:1],
            "stream": [e for e in split["train"] if e["fabric"] == "01"][:1]}
    assert any("0018_00_01" in e["file"] for e in mini["validation"])
    (tmp_path / "mini.json").write_text(json.dumps(mini))
    out = tmp_path / "loop" / "eval.json"
    assert main(["loop-eval", "--data", str(aitex), "--parent", "patchcore-aitex@1.2.0", "--candidate",
                 "patchcore-aitex@1.2.0", "--registry", str(REGISTRY_DIR), "--split", str(tmp_path / "mini.json"),
                 "--fabric", "01", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["heldOut"]["parent"] == r["heldOut"]["candidate"]
    h = r["heldOut"]["parent"]["perFabric"]["01"]
    assert (h["falseAlarms"]["frames"], h["detected"]["frames"]) == (2, 1) and h["falseAlarms"]["count"] >= 1
    assert r["stream"]["parent"]["total"]["falseAlarms"]["frames"] == 1 and "IN-SAMPLE" in r["stream"]["note"]
    for row in r["frames"]["parent"]:
        assert (row["verdict"] == "defect") == (row["score"] >= row["threshold"])
        assert row["calibration"]["fabric"] == "01"
    flagged = next(row for row in r["frames"]["parent"] if "0018_00_01" in row["file"])
    assert flagged["verdict"] == "defect" and flagged["heldOut"]
    assert not r["verdict"]["falseAlarmsFewer"] and r["verdict"]["detectionNotLower"]
    free = r["heldOutValidationFree"]
    assert free["parent"] == free["candidate"]
    assert set(free["thresholds"]["parent"]) == {f"0{i}" for i in range(7)} | {"pooled"}
    assert free["thresholds"]["parent"]["01"] != r["thresholds"]["parent"]["01"]   # 14 normals, not 14 + 4
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["loop-eval", "--data", str(aitex), "--parent", "patchcore-aitex@1.2.0", "--candidate",
                 "patchcore-aitex@0.0.0", "--registry", str(REGISTRY_DIR), "--out", str(out)]) == 2
