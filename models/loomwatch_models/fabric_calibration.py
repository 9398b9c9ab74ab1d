"""Per-fabric calibration (issue 13 §5): score levels differ between fabrics, so one pooled threshold
alarms too often on some fabrics and misses defects on others.

A fabric's level is the median frame score of its normal *training* frames (no validation frame is
involved); a frame's score is rescaled by pooled level / fabric level (pooled level: the median over
all training normals), and the ≤ 5 % false-alarm threshold is chosen on the rescaled validation scores
exactly as the pooled threshold is on the raw ones. The card stores, per fabric, that threshold, the
pixel threshold and the normalisation range mapped back onto the fabric's raw score scale
(`postprocess.fabrics`): the engine applies a fabric's entry when the FrameEvent names that fabric, and
the pooled postprocess otherwise (unknown fabric, no fabric code). Rescaling within a fabric is
monotone, so per-fabric AUROCs are unchanged; what moves is the pooled ranking and the verdicts.

Per-fabric thresholds generalise less well than one pooled threshold (each rests on fewer frames), so
they go into the card only when they win out of sample: when the 2-fold cross-calibrated detection
rate minus false-alarm rate is higher with them than without (APPLY_RULE). metrics.fabricCalibrated
is recorded either way.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .data import load_split, read_gray
from .evaluate import cross_calibrated_rates, far_threshold, normalization_bounds, rates
from .registry import read_card, version_dir, write_card
from .scoring import anomaly_map, frame_score, onnx_runner

APPLY_RULE = ("applied when the 2-fold cross-calibrated detection minus false-alarm rate is higher than with "
              "the pooled threshold")
RULE = ("per fabric: scores × (median training-normal score of all fabrics / that of the fabric), "
        "then the pooled ≤ 5 % false-alarm rule on the rescaled validation scores")


def training_normal_scores(vdir: Path, card: dict, frames, threads: int = 2, log=print) -> list[dict]:
    """The version's frame score (as the engine computes it) on each normal training frame."""
    run = onnx_runner(vdir / "model.onnx", threads)
    tile, kernel = card["input"]["tileSize"], card["postprocess"]["smoothingKernel"]
    rows = []
    for i, f in enumerate(frames):
        amap = anomaly_map(read_gray(f.path), run, tile, scale=card["input"]["scale"], offset=card["input"]["offset"])
        rows.append({"file": f.relpath, "fabric": f.fabric, "score": frame_score(amap, kernel)})
        if (i + 1) % 20 == 0 or i + 1 == len(frames):
            log(f"  scored {i + 1}/{len(frames)} training normal frames")
    return rows


def fabric_factors(train_rows: list[dict]) -> tuple[float, dict[str, float]]:
    """(pooled level, {fabric: pooled level / fabric level})."""
    pooled = float(np.median([r["score"] for r in train_rows]))
    levels: dict[str, list[float]] = {}
    for r in train_rows:
        levels.setdefault(r["fabric"], []).append(r["score"])
    return pooled, {fab: pooled / float(np.median(s)) for fab, s in sorted(levels.items())}


def _summary(scores: np.ndarray, labels: np.ndarray, codes: np.ndarray) -> dict:
    from sklearn.metrics import roc_auc_score
    thr = far_threshold(scores, labels)
    at = rates(scores, labels, codes, thr)
    cv = cross_calibrated_rates(scores, labels, codes)
    return {"imageAuroc": float(roc_auc_score(labels, scores)), "threshold": thr,
            "detectionRate": at["detectionRate"], "falseAlarmRate": at["falseAlarmRate"],
            "crossCalibrated": {"detectionRate": cv["detectionRate"], "falseAlarmRate": cv["falseAlarmRate"]}}


def calibrate(val_rows: list[dict], factors: dict[str, float], pp: dict) -> tuple[dict, dict]:
    """(card postprocess.fabrics, metrics: pooled vs fabric-calibrated on the validation scores)."""
    scores = np.array([r["score"] for r in val_rows]); labels = np.array([r["label"] for r in val_rows])
    codes = np.array([r["code"] for r in val_rows])
    factor = np.array([factors.get(r["fabric"], 1.0) for r in val_rows])
    rescaled = scores * factor
    pooled, calibrated = _summary(scores, labels, codes), _summary(rescaled, labels, codes)
    t = calibrated["threshold"]
    lo, hi = normalization_bounds(rescaled.min(), rescaled[labels == 1].max(), t)

    def raw(v: float, f: float) -> float:
        return float(min(1.0, v / f))
    fabrics = {fab: {"imageThreshold": raw(t, f), "pixelThreshold": raw(pp["pixelThreshold"], f),
                     "normalization": {"min": raw(lo, f), "max": raw(hi, f)}}
               for fab, f in factors.items()}
    return fabrics, {"pooled": pooled, "fabricCalibrated": calibrated}


def worth_applying(metrics: dict) -> bool:
    """APPLY_RULE on calibrate()'s metrics."""
    def gain(m: dict) -> float:
        return m["crossCalibrated"]["detectionRate"] - m["crossCalibrated"]["falseAlarmRate"]
    return gain(metrics["fabricCalibrated"]) > gain(metrics["pooled"])


def calibrate_version(name: str, version: str, data: Path, split: Path, threads: int = 2, log=print,
                      registry: Path | None = None) -> dict:
    """Scores the training normals, writes eval/fabric_calibration.json and the card's postprocess.fabrics
    and metrics.fabricCalibrated. Idempotent: reuses stored training-normal scores of the same ONNX."""
    vdir = version_dir(name, version, registry) if registry else version_dir(name, version)
    card = read_card(vdir)
    out = vdir / "eval" / "fabric_calibration.json"
    train_frames, _, _ = load_split(split, data)
    normals = [f for f in train_frames if not f.label]
    stored = json.loads(out.read_text()) if out.exists() else {}
    if stored.get("sha256") == card["onnx"]["sha256"] and len(stored.get("trainingNormals", [])) == len(normals):
        train_rows = stored["trainingNormals"]
    else:
        train_rows = training_normal_scores(vdir, card, normals, threads, log)
    val_rows = json.loads((vdir / "eval" / "scores.json").read_text())
    pooled_level, factors = fabric_factors(train_rows)
    fabrics, metrics = calibrate(val_rows, factors, card["postprocess"])

    c, p = metrics["fabricCalibrated"], metrics["pooled"]
    applied = worth_applying(metrics)
    if applied:
        card["postprocess"]["fabrics"] = fabrics
    else:
        card["postprocess"].pop("fabrics", None)
    card["metrics"]["fabricCalibrated"] = {"imageAuroc": c["imageAuroc"], "detectionRate": c["detectionRate"],
                                           "falseAlarmRate": c["falseAlarmRate"]}
    out.write_text(json.dumps({"rule": RULE, "applyRule": APPLY_RULE, "applied": applied,
                               "sha256": card["onnx"]["sha256"], "pooledLevel": pooled_level, "factors": factors,
                               **metrics, "trainingNormals": train_rows},
                              indent=1) + "\n")
    notes = card["notes"].split(" Per-fabric calibration:")[0]
    card["notes"] = (notes + f" Per-fabric calibration: {RULE}; {APPLY_RULE}: "
                     f"{'applied (postprocess.fabrics)' if applied else 'not applied'}; metrics.fabricCalibrated and "
                     f"eval/fabric_calibration.json hold the figures.")[:4000]
    write_card(card, vdir)
    log(f"{name}@{version}: {'applied' if applied else 'NOT applied'}; "
        f"image AUROC pooled {p['imageAuroc']:.3f} → fabric-calibrated {c['imageAuroc']:.3f}; "
        f"detected / false alarms {p['detectionRate']:.3f} / {p['falseAlarmRate']:.3f} → {c['detectionRate']:.3f} / "
        f"{c['falseAlarmRate']:.3f} (cross-calibrated {p['crossCalibrated']['detectionRate']:.3f} → "
        f"{c['crossCalibrated']['detectionRate']:.3f}); factors "
        + ", ".join(f"{k} {v:.2f}" for k, v in factors.items()))
    return metrics
