"""Per-fabric memory banks, out-of-fold normal scores and edge masking, measured on cached features
(experiments/feature_cache.py), so a variant costs seconds to minutes instead of a backbone pass.

For each fabric with normal training frames: its frames in K contiguous folds by frame id (neighbouring
frames of a roll are alike, so a fold never has a neighbour in the bank); the bank of each fold is a
greedy coreset of the other folds' patches, and the held-out frames are scored: out-of-fold normal scores.
The full bank (all of the fabric's training frames) scores the validation frames. Fabric 08 (no normal
roll) and frames with no fabric code go to the fallback bank: a coreset of the union of the fabric banks.

Prints image AUROC, pixel AUROC, detection / false alarms at thresholds from out-of-fold scores only
(never validation), and writes reports/patchcore/fabric-banks.json.
Run: models/.venv/bin/python models/experiments/fabric_banks.py [--ratio 0.01] [--edge 24] [--key ...]
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import onnx  # noqa: F401  (before torch)
import torch
import torch.nn.functional as F
from feature_cache import cache_path, frames_of_split

from loomwatch_models import paths
from loomwatch_models.data import read_gray, read_mask
from loomwatch_models.evaluate import BINS, _auc_from_hist
from loomwatch_models.patchcore import gaussian_kernel, greedy_coreset, nearest_distance
from loomwatch_models.release_fabric_banks import contiguous_folds, coreset_bank


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def fit(x: torch.Tensor, ratio: float, pool: int, seed: int = 0) -> tuple[torch.Tensor, float]:
    """A bank of `ratio` of x's patches, as the release fits one (release_fabric_banks.coreset_bank)."""
    return coreset_bank(x, max(1, int(round(ratio * len(x)))), pool, seed)


def distance_grid(feats: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
    t, h, w, d = feats.shape
    return nearest_distance(feats.reshape(-1, d).float(), bank).reshape(t, 1, h, w)


def frame_map(feats: torch.Tensor, bank: torch.Tensor, scale: float, frame: np.ndarray, sigma: float,
              edge: int, profile: torch.Tensor | None = None) -> np.ndarray:
    """[16, h, w, D] fp16 features of one frame -> anomaly map [256, 4096] as the graph computes it.
    profile [h, w]: the typical normal distance at each grid position relative to the interior's."""
    dist = distance_grid(feats, bank)
    if profile is not None:
        dist = dist / profile
    m = F.interpolate(dist, size=(256, 256), mode="bilinear", align_corners=False)
    k = gaussian_kernel(sigma)
    r = len(k) // 2
    m = F.conv2d(F.pad(m, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    m = F.conv2d(F.pad(m, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1))
    m = m / (m + scale)
    amap = m[:, 0].permute(1, 0, 2).reshape(256, -1).numpy()     # tiles in a row -> [256, 4096]
    if edge >= 0:                                                   # per tile, as the graph sees it
        cols = (frame >= 250).reshape(256, -1, 256).mean(0) > 0.5     # [tiles, 256]: columns of the saturated band
        if edge:
            cols = np.stack([np.convolve(c.astype(float), np.ones(2 * edge + 1), "same") > 0 for c in cols])
        amap = amap * ~cols.reshape(1, -1)
    return amap


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--key", default="efficientnet-lite0-b4-10-p3-r32")
    ap.add_argument("--ratio", type=float, default=0.01)
    ap.add_argument("--pool", type=int, default=100_000)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--edge", type=int, default=-1,
                    help="-1: no edge mask; else dilate the saturated band by this many px")
    ap.add_argument("--sigma", type=float, default=4.0)
    ap.add_argument("--fallback", type=int, default=4096)
    ap.add_argument("--tag", default="")
    ap.add_argument("--profile-q", type=float, default=0.5, help="the quantile of the distances the profile follows")
    ap.add_argument("--profile", action="store_true",
                    help="divide distances by the normal distance profile over grid positions")
    a = ap.parse_args()
    torch.set_num_threads(2)
    data = torch.load(cache_path(a.key))
    train, val = frames_of_split()
    frames = train + val
    assert [f.relpath for f in frames] == data["files"]
    X = data["features"]
    fabrics = sorted({f.fabric for f in train})
    gray = {}

    def img(i):
        if i not in gray:
            gray[i] = read_gray(frames[i].path)
        return gray[i]

    oof_grids: dict[int, torch.Tensor] = {}
    oof_banks: dict[int, tuple] = {}
    oof: dict[int, float] = {}
    val_scores: dict[int, float] = {}
    banks, scales = {}, {}
    t0 = time.time()
    bank_cache = cache_path(f"{a.key}-banks-r{a.ratio}-p{a.pool}-f{a.folds}")
    cached = torch.load(bank_cache) if bank_cache.exists() else None
    for fab in fabrics if cached is None else []:
        idx = [i for i, f in enumerate(train) if f.fabric == fab]
        sub = [train[i] for i in idx]
        for b in contiguous_folds(sub, a.folds):
            held = [idx[j] for j in b]
            rest = [i for i in idx if i not in held]
            bank, s = fit(X[rest].reshape(-1, X.shape[-1]).float(), a.ratio, a.pool)
            for i in held:
                oof_banks[i] = (bank, s)
                oof_grids[i] = distance_grid(X[i], bank) / s
        banks[fab], scales[fab] = fit(X[idx].reshape(-1, X.shape[-1]).float(), a.ratio, a.pool)
        log(f"fabric {fab}: bank {len(banks[fab])}, scale {scales[fab]:.3f} · {time.time() - t0:.0f}s")
    if cached is None:
        torch.save({"oof_banks": oof_banks, "banks": banks, "scales": scales}, bank_cache)
    else:
        oof_banks, banks, scales = cached["oof_banks"], cached["banks"], cached["scales"]
        oof_grids = {i: distance_grid(X[i], b) / s for i, (b, s) in oof_banks.items()}
    profile = None
    if a.profile:
        g = torch.cat(list(oof_grids.values()))[:, 0]               # [frames·tiles, h, w]
        profile = torch.quantile(g.flatten(1), a.profile_q, dim=0).reshape(g.shape[1:])
        profile = profile / profile[4:-4, 4:-4].median()
        log(f"profile: rows {[round(float(v), 2) for v in profile.median(1).values]}")
        log(f"profile: cols {[round(float(v), 2) for v in profile.median(0).values]}")
    for i, (bank, s) in oof_banks.items():
        oof[i] = float(frame_map(X[i], bank, s, img(i), a.sigma, a.edge, profile).max())
    union = torch.cat(list(banks.values()))
    fb_idx = greedy_coreset(union, min(a.fallback, len(union)), 128, 0)
    fallback, fb_scale = union[fb_idx].contiguous(), float(np.median(list(scales.values())))
    n_train = len(train)
    pos_h = np.zeros(BINS + 1, np.int64); neg_h = np.zeros(BINS + 1, np.int64)
    for j, f in enumerate(val):
        i = n_train + j
        bank, s = (banks[f.fabric], scales[f.fabric]) if f.fabric in banks else (fallback, fb_scale)
        amap = frame_map(X[i], bank, s, img(i), a.sigma, a.edge, profile)
        val_scores[i] = float(amap.max())
        mask = read_mask(f) if f.label else np.zeros_like(amap, bool)
        if mask is not None:
            b = np.clip((amap * BINS).astype(np.int64), 0, BINS)
            pos_h += np.bincount(b[mask > 0], minlength=BINS + 1)
            neg_h += np.bincount(b[mask == 0], minlength=BINS + 1)
    from sklearn.metrics import roc_auc_score
    lab = np.array([f.label for f in val]); sc = np.array([val_scores[n_train + j] for j in range(len(val))])
    fab_v = np.array([f.fabric for f in val])
    res = {"args": vars(a), "imageAuroc": float(roc_auc_score(lab, sc)), "pixelAuroc": _auc_from_hist(pos_h, neg_h),
           "oof": {train[i].relpath: v for i, v in oof.items()},
           "val": [{"file": val[j].relpath, "fabric": val[j].fabric, "label": int(val[j].label), "code": val[j].code,
                    "score": val_scores[n_train + j]} for j in range(len(val))]}
    # thresholds from out-of-fold normals only: per fabric, the empirical and a Gaussian-tail rule
    from scipy import stats
    for rule in ("max", "gauss-0.05", "gauss-0.02", "gumbel-0.05", "gumbel-0.02"):
        thr = {}
        for fab in fabrics:
            o = np.array([oof[i] for i in oof if train[i].fabric == fab])
            if rule == "max":
                thr[fab] = o.max()
            elif rule.startswith("gauss"):
                thr[fab] = o.mean() + stats.norm.isf(float(rule[6:])) * o.std(ddof=1)
            else:
                thr[fab] = stats.gumbel_r.isf(float(rule[7:]), *stats.gumbel_r.fit(o))
        t = np.array([thr.get(x, np.median(list(thr.values()))) for x in fab_v])
        det = float((sc[lab == 1] >= t[lab == 1]).mean()); fa = float((sc[lab == 0] >= t[lab == 0]).mean())
        res[f"oofThreshold-{rule}"] = {"detectionRate": det, "falseAlarmRate": fa}
    # the oracle the issue names: each fabric's validation normals' own max (not available to a plant)
    log(f"{a.tag} image AUROC {res['imageAuroc']:.4f} pixel AUROC {res['pixelAuroc']:.4f} · "
        + " · ".join(f"{k[13:]} det {v['detectionRate']:.3f} fa {v['falseAlarmRate']:.3f}"
                     for k, v in res.items() if k.startswith("oofThreshold")))
    out = paths.REPORTS_DIR / "patchcore" / "fabric-banks.json"
    allres = json.loads(out.read_text()) if out.exists() else {}
    allres[a.tag or f"{a.key}-r{a.ratio}-e{a.edge}-s{a.sigma}"] = res
    out.write_text(json.dumps(allres, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
