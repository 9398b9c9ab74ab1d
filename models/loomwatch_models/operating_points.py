"""Operating points: the frame-score threshold for each false-alarm rate a plant may choose, per fabric
and pooled, from the normal frames' scores (issue 30 §1–2).

A fabric has 13–18 normal frames here. Read off empirically, every rate below 1 / n would put the
threshold above the highest normal score — "≤ 5 %" would mean "above every normal seen", which is
what made the 1.1.0 thresholds flag a third of the defects. So the thresholds come from a Gaussian
fitted to the fabric's normal scores (mean and standard deviation; the scores of one fabric, out of
fold, are close to normal in shape) at the (1 − rate) quantile, and the card records beside each how
many of those normal frames it actually lets through, with the 95 % Clopper–Pearson interval of that
rate: the uncertainty a plant should know about. The pooled operating points (a frame with no or an
unknown fabric code) use every normal frame, each fabric's scores as they are.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

RATES = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
DEFAULT_RATE = 0.05
RULE = ("threshold = mean + z(1 − rate) · std of the normal frames' scores (a Gaussian fitted to them: "
        "with 13–18 normals per fabric an empirical quantile below 1/n is the maximum); observed = the "
        "normals at or above it, with the 95 % Clopper–Pearson interval")


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def threshold_for(scores: np.ndarray, rate: float) -> float:
    return float(np.mean(scores) + stats.norm.isf(rate) * np.std(scores, ddof=1))


def operating_points(scores: np.ndarray, source: str, rates: tuple[float, ...] = RATES) -> dict:
    """The card's `operatingPoints` for one set of normal frame scores."""
    scores = np.asarray(scores, dtype=float)
    points = []
    for r in rates:
        t = min(1.0, max(0.0, threshold_for(scores, r)))
        k = int((scores >= t).sum())
        lo, hi = clopper_pearson(k, len(scores))
        observed = {"falseAlarms": k, "frames": len(scores), "low": round(lo, 4), "high": round(hi, 4)}
        points.append({"falseAlarmRate": r, "imageThreshold": t, "observed": observed})
    return {"frames": len(scores), "source": source[:500], "points": points}


def default_threshold(ops: dict) -> float:
    return next(p["imageThreshold"] for p in ops["points"] if p["falseAlarmRate"] == DEFAULT_RATE)
