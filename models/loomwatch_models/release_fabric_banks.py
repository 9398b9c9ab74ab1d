"""A PatchCore version with one memory bank per fabric, routed inside the graph (issue 30 §1–4):

1. features of every normal training frame, once;
2. per fabric, its frames in `folds` contiguous blocks by frame id (neighbouring frames of a roll are
   alike, and each fabric here is a single roll, so a fold never has its neighbours in its bank): the
   bank of each fold is a greedy coreset of the other folds' patches, and the held-out frames are scored
   by it — out-of-fold normal scores, 13–14 per fabric that no bank has seen;
3. the shipped banks: each fabric's coreset of all its training patches, plus a fallback bank (a coreset
   of their union) for a frame with no or an unknown fabric code; per-bank scale (the median distance
   of left-out patches), so every bank's typical normal patch maps to 0.5;
4. export (fp16 banks, one backbone), parity, evaluation on the validation split with every frame routed
   as the engine routes it;
5. operating points per fabric and pooled (operating_points.py) from the out-of-fold training scores
   and the validation normals; the card's thresholds are the 5 % points. Cross-calibrated rates: the
   same rule fed with the out-of-fold training scores only, measured on the validation frames.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from .data import dataset_hash, load_split, read_gray
from .evaluate import evaluate
from .export import export_graph
from .operating_points import DEFAULT_RATE, RULE, operating_points, threshold_for
from .patchcore import (
    BANK_INPUT,
    FeatureExtractor,
    PatchCoreConfig,
    RoutedPatchCoreMap,
    config_dict,
    extract,
    greedy_coreset,
    left_out_scale,
)
from .registry import build_card, version_dir, write_card
from .release import _mlflow_log
from .scoring import anomaly_map, fabric_router, onnx_routes, to_tiles

MAX_ONNX_MB = 20


def contiguous_folds(frames, k: int) -> list[list[int]]:
    """Indices into frames in k contiguous blocks by frame id."""
    order = sorted(range(len(frames)), key=lambda i: frames[i].stem)
    return [[int(i) for i in b] for b in np.array_split(order, k) if len(b)]


def coreset_bank(x: torch.Tensor, n: int, pool: int, seed: int) -> tuple[torch.Tensor, float]:
    """(n patches by greedy k-center from a random pool of x, median left-out distance)."""
    g = torch.Generator().manual_seed(seed)
    p = x[torch.randperm(len(x), generator=g)[:pool]] if len(x) > pool else x
    idx = greedy_coreset(p, min(n, len(p) - 1), seed=seed)
    return p[idx].contiguous(), left_out_scale(p, idx, seed)


def fit_banks(feats: dict[int, torch.Tensor], groups: dict[str, list[int]], cfg: PatchCoreConfig,
              pool: int) -> tuple[list[torch.Tensor], list[float], dict[str, int]]:
    """One bank per group (its frames' patches, cfg.coreset_ratio of them) + the fallback bank last."""
    banks: list[torch.Tensor] = []
    scales: list[float] = []
    index: dict[str, int] = {}
    for name, frames in groups.items():
        x = torch.cat([feats[i] for i in frames]).float()
        b, s = coreset_bank(x, max(1, round(cfg.coreset_ratio * len(x))), pool, cfg.seed)
        index[name] = len(banks)
        banks.append(b); scales.append(s)
    union = torch.cat(banks)
    fb, fs = coreset_bank(union, max(len(b) for b in banks), len(union), cfg.seed)
    banks.append(fb); scales.append(fs)
    return banks, scales, index


def grid_of(feats: torch.Tensor, tiles: int = 16) -> torch.Tensor:
    """extract()'s [tiles·h·w, D] of one frame (16 tiles of a 4096 × 256 frame) -> [tiles, D, h, w]."""
    f = feats.float().reshape(tiles, -1, feats.shape[-1])
    side = int(round(f.shape[1] ** 0.5))
    return f.reshape(16, side, side, -1).permute(0, 3, 1, 2)


def position_profile(grids: torch.Tensor) -> torch.Tensor:
    """[n, 1, h, w] normal distances -> their median at each grid position over the interior's median."""
    med = grids[:, 0].median(0).values
    return med / med[4:-4, 4:-4].median()


def frame_score(graph: RoutedPatchCoreMap, feats: torch.Tensor, tiles: np.ndarray, bank: int) -> float:
    with torch.no_grad():
        m = graph.map_of(grid_of(feats, len(tiles)), torch.from_numpy(tiles), torch.tensor([bank]))
    return float(m.max())


def release_fabric_banks(*, name: str, version: str, data: Path, split: Path, cfg: PatchCoreConfig, edge: int = 16,
                         folds: int = 4, pool: int = 40_000, threads: int = 2, tile: int = 256,
                         registry: Path | None = None, mlflow: bool = True, log=print) -> dict:
    torch.set_num_threads(threads)
    train, val, split_hash = load_split(Path(split), data)
    vdir = version_dir(name, version, registry) if registry else version_dir(name, version)
    if (vdir / "model.json").exists():
        raise SystemExit(f"{vdir} already holds a model: versions are immutable, choose another --version")
    t0 = time.time()
    features = FeatureExtractor(cfg.blocks, cfg.pool, tile, reflect_pad=cfg.reflect_pad, backbone=cfg.backbone)
    feats: dict[int, torch.Tensor] = {}
    for i, f in enumerate(train):
        feats[i] = extract(features, to_tiles(read_gray(f.path), tile)).to(torch.float16)
        if (i + 1) % 10 == 0 or i + 1 == len(train):
            el = time.time() - t0
            eta = el / (i + 1) * (len(train) - i - 1)
            log(f"  features {i + 1}/{len(train)} training frames · {el:.0f}s · ETA {eta:.0f}s")
    fabrics = sorted({f.fabric for f in train})
    by_fabric = {fab: [i for i, f in enumerate(train) if f.fabric == fab] for fab in fabrics}

    # out-of-fold: fold k of every fabric held out; its banks (and fallback) from the other folds
    fold_of = {fab: contiguous_folds([train[i] for i in idx], folds) for fab, idx in by_fabric.items()}
    runs = []                                   # (fold graph, fabric bank index, held-out frame)
    grids = []                                  # their distances / bank scale, for the position profile
    for k in range(folds):
        held = {fab: [by_fabric[fab][j] for j in fold_of[fab][k]] for fab in fabrics if k < len(fold_of[fab])}
        rest = {fab: [i for i in by_fabric[fab] if i not in held.get(fab, [])] for fab in fabrics}
        banks, scales, index = fit_banks(feats, rest, cfg, pool)
        graph = RoutedPatchCoreMap(features, banks, scales, cfg.sigma, edge)
        for fab, frames in held.items():
            for i in frames:
                runs.append((graph, index[fab], i))
                with torch.no_grad():
                    grids.append(graph.distances(grid_of(feats[i]), torch.tensor([index[fab]])) / scales[index[fab]])
        log(f"  out-of-fold banks {k + 1}/{folds} · {time.time() - t0:.0f}s")
    profile = position_profile(torch.cat(grids))
    oof: dict[int, float] = {}
    oof_fallback: dict[int, float] = {}
    for graph, bank, i in runs:
        graph.profile = profile
        tiles = to_tiles(read_gray(train[i].path), tile)
        oof[i] = frame_score(graph, feats[i], tiles, bank)
        oof_fallback[i] = frame_score(graph, feats[i], tiles, len(graph.scales) - 1)
    log(f"  out-of-fold scores of {len(oof)} training normals · {time.time() - t0:.0f}s")

    banks, scales, index = fit_banks(feats, by_fabric, cfg, pool)
    fit_seconds = time.time() - t0
    graph = RoutedPatchCoreMap(features, banks, scales, cfg.sigma, edge, profile)
    fallback_index = len(banks) - 1
    routing = {"input": BANK_INPUT, "fabrics": index, "fallback": fallback_index}
    onnx_path = export_graph(graph, vdir / "model.onnx", tile, fold_constants=False, routed=True)
    size_mb = onnx_path.stat().st_size / 1e6
    if size_mb > MAX_ONNX_MB and not registry:
        raise SystemExit(f"{onnx_path} is {size_mb:.1f} MB (> {MAX_ONNX_MB} MB for committed models)")

    pf = [next(f for f in val if f.label and f.masks), next(f for f in val if not f.label)]
    routes = onnx_routes(onnx_path, threads)
    diffs = []
    for f in pf:
        tiles = to_tiles(read_gray(f.path), tile)
        bank = index.get(f.fabric, fallback_index)
        with torch.no_grad():
            pt = graph(torch.from_numpy(tiles), torch.tensor([bank])).numpy()
        diffs.append(float(np.abs(routes(bank)(tiles) - pt).max()))
    diff = max(diffs)
    log(f"parity onnxruntime vs PyTorch on {len(pf)} frames: max abs diff {diff:.2e}")
    if diff > 1e-4:
        raise SystemExit(f"parity failed: max abs diff {diff:.2e} > 1e-4")

    log(f"evaluating {len(val)} validation frames, each routed by its fabric ...")
    m = evaluate(val, fabric_router(routes, routing), vdir / "eval", 1, tile, log=log, routed=True)
    rows = json.loads((vdir / "eval" / "scores.json").read_text())
    fallback = routes(fallback_index)
    for r, f in zip(rows, val, strict=True):
        if not f.label:                         # the pooled operating points are the fallback bank's
            r["fallbackScore"] = float(anomaly_map(read_gray(f.path), fallback, tile).max())
    ops = calibrate_operating_points(train, oof, oof_fallback, rows, fabrics, vdir, log)
    return write_release(name=name, version=version, vdir=vdir, onnx_path=onnx_path, graph=graph, cfg=cfg, m=m,
                         ops=ops, routing=routing, fabrics=fabrics, edge=edge, folds=folds, diff=diff,
                         fit_seconds=fit_seconds, data=data, split_hash=split_hash, tile=tile,
                         train_frames=len(train), mlflow=mlflow, log=log)


def calibrate_operating_points(train, oof, oof_fallback, rows, fabrics, vdir: Path, log=print) -> dict:
    """Operating points from out-of-fold training normals + validation normals; the rates they give on
    validation in-sample and, cross-calibrated, from the out-of-fold scores alone."""
    vn = {fab: [r["score"] for r in rows if r["label"] == 0 and r["fabric"] == fab] for fab in fabrics}
    tn = {fab: [oof[i] for i in oof if train[i].fabric == fab] for fab in fabrics}
    source = "out-of-fold scores of the normal training frames (4 contiguous folds per fabric) + the validation normals"
    per_fabric = {fab: operating_points(np.array(tn[fab] + vn[fab]), source) for fab in fabrics}
    # the fallback bank sees a frame without (or with an unknown) fabric code: its own scores of every normal
    fallback_normals = list(oof_fallback.values()) + [r["fallbackScore"] for r in rows if r["label"] == 0]
    pooled = operating_points(np.array(fallback_normals), source + ", scored by the fallback bank")

    def rates_at(thresholds: dict[str, float], default: float) -> dict:
        s = np.array([r["score"] for r in rows]); lab = np.array([r["label"] for r in rows])
        t = np.array([thresholds.get(r["fabric"], default) for r in rows])
        out = {"detectionRate": float((s[lab == 1] >= t[lab == 1]).mean()),
               "falseAlarmRate": float((s[lab == 0] >= t[lab == 0]).mean())}
        flagged = [r["score"] >= thresholds.get(r["fabric"], default) for r in rows]
        per_code = {c: float(np.mean([f for f, r in zip(flagged, rows, strict=True) if r["label"] and r["code"] == c]))
                    for c in sorted({r["code"] for r in rows if r["label"]})}

        def count(fab: str, label: int) -> tuple[int, int]:
            mine = [f for f, r in zip(flagged, rows, strict=True) if r["label"] == label and r["fabric"] == fab]
            return int(sum(mine)), len(mine)
        per_fabric: dict[str, dict[str, int]] = {}
        for fab in sorted({r["fabric"] for r in rows}):
            (detected, defects), (false_alarms, normals) = count(fab, 1), count(fab, 0)
            per_fabric[fab] = {"detected": detected, "defects": defects,
                               "falseAlarms": false_alarms, "normals": normals}
        return {**out, "perCode": per_code, "perFabric": per_fabric}

    result: dict = {"rule": RULE, "fabrics": per_fabric, "pooled": pooled, "rates": {}}
    for rate in (0.01, 0.02, DEFAULT_RATE, 0.1):
        shipped = {fab: threshold_for(np.array(tn[fab] + vn[fab]), rate) for fab in fabrics}
        oof_only = {fab: threshold_for(np.array(tn[fab]), rate) for fab in fabrics}
        pooled_t = threshold_for(np.array(fallback_normals), rate)
        oof_pooled_t = threshold_for(np.array(list(oof_fallback.values())), rate)
        result["rates"][str(rate)] = {"inSample": rates_at(shipped, pooled_t),
                                      "crossCalibrated": rates_at(oof_only, oof_pooled_t)}
        r = result["rates"][str(rate)]
        log(f"  false-alarm rate {rate}: detected / false alarms in-sample {r['inSample']['detectionRate']:.3f} / "
            f"{r['inSample']['falseAlarmRate']:.3f}, cross-calibrated (out-of-fold thresholds only) "
            f"{r['crossCalibrated']['detectionRate']:.3f} / {r['crossCalibrated']['falseAlarmRate']:.3f}")
    result["outOfFold"] = {train[i].relpath: {"score": oof[i], "fallbackScore": oof_fallback[i]} for i in oof}
    (vdir / "eval" / "operating_points.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


def write_release(*, name, version, vdir, onnx_path, graph, cfg, m, ops, routing, fabrics, edge, folds, diff,
                  fit_seconds, data, split_hash, tile, train_frames, mlflow, log, lineage: dict | None = None,
                  description: str | None = None, notes_prefix: str = "") -> dict:
    """The card (+ eval/fit.json, parity.json, the MLflow run); a refit (refit.py) adds its `lineage`."""
    from .evaluate import normalization_bounds
    from .patchcore import count_flops
    from .release_patchcore import patchcore_architecture
    pixel = m["pixelThreshold"]
    lo = min(m["normalScore"]["min"], m["defectScore"]["min"])
    hi = m["defectScore"]["max"]

    def calibration(points: dict) -> dict:
        t = next(p["imageThreshold"] for p in points["points"] if p["falseAlarmRate"] == DEFAULT_RATE)
        n_lo, n_hi = normalization_bounds(lo, hi, t)
        return {"imageThreshold": t, "pixelThreshold": pixel, "normalization": {"min": n_lo, "max": n_hi},
                "operatingPoints": points}

    pooled = calibration(ops["pooled"])
    at5 = ops["rates"][str(DEFAULT_RATE)]
    flops = count_flops(graph, tile)
    sizes = graph.bank_sizes
    bank_list = ", ".join(f"{f} {sizes[i]}" for f, i in routing["fabrics"].items())
    ins, cross = at5["inSample"], at5["crossCalibrated"]
    notes = (notes_prefix
             + f"PatchCore on a frozen ImageNet-1k {cfg.backbone} (PyPI wheel, Apache-2.0), features of blocks "
             f"{'+'.join(map(str, cfg.blocks))} ({graph.features.dims} dims, {cfg.pool}×{cfg.pool} average pooling, "
             f"tile mirrored by {cfg.reflect_pad} px). One memory bank per fabric ({bank_list} patches: a greedy "
             f"coreset of {cfg.coreset_ratio:.1%} of the fabric's training patches) and a fallback bank of "
             f"{sizes[-1]} (a coreset of their union) for a frame with no or an unknown fabric code, stored once in "
             f"fp16; the graph's second input `bank` picks one (card `routing`). Per-bank scale: d / (d + s), s the "
             f"median distance of left-out training patches; distances divided by the normal distance profile over a "
             f"tile's grid positions (border rows and seams). Edge: columns of a tile that are mostly saturated (the "
             f"white band beside the cloth) and {edge} px either side score 0. Thresholds: operating points per "
             f"fabric, {RULE}, from out-of-fold scores of the training normals ({folds} contiguous folds per fabric) "
             f"+ the validation normals; imageThreshold = the 5 % point. Validation at the shipped 5 % points: "
             f"detected {ins['detectionRate']:.3f}, false alarms {ins['falseAlarmRate']:.3f}; cross-calibrated "
             f"(thresholds from out-of-fold training scores only) {cross['detectionRate']:.3f} / "
             f"{cross['falseAlarmRate']:.3f}. pixelThreshold: max pixel F1 ({m['pixelF1']:.3f}); the engine never "
             f"uses one above the image threshold in force. ONNX vs PyTorch max abs diff {diff:.1e}. Fitting took "
             f"{fit_seconds:.0f} s on the CPU.")
    card = build_card(
        name=name, version=version,
        description=description or (f"PatchCore ({cfg.backbone} features), one memory bank per fabric routed by "
                                    f"product.fabricCode, fitted on AITEX normal frames"),
        onnx_path=onnx_path, architecture=patchcore_architecture(cfg, graph, sum(sizes)),
        flops_per_tile=flops, tile=tile, image_threshold=pooled["imageThreshold"], pixel_threshold=pixel,
        norm_min=pooled["normalization"]["min"], norm_max=pooled["normalization"]["max"], smoothing_kernel=1,
        metrics={"imageAuroc": m["imageAuroc"], "pixelAuroc": m["pixelAuroc"], "detectionRate": m["detectionRate"],
                 "falseAlarmRate": m["falseAlarmRate"], "pro": m["pro"], "split": "validation", "frames": m["frames"],
                 "fabricCalibrated": {"imageAuroc": m["imageAuroc"], "detectionRate": at5["inSample"]["detectionRate"],
                                      "falseAlarmRate": at5["inSample"]["falseAlarmRate"]}},
        training={"steps": 0, "wallTimeSec": round(fit_seconds, 1), "seed": cfg.seed, "dataHash": dataset_hash(data),
                  "splitHash": split_hash, "cropSize": tile, "batchSize": 16},
        notes=notes[:4000])
    card["postprocess"]["operatingPoints"] = ops["pooled"]
    card["postprocess"]["fabrics"] = {fab: calibration(ops["fabrics"][fab]) for fab in fabrics}
    card["routing"] = routing
    if lineage:
        card["lineage"] = lineage
    write_card(card, vdir)
    fit = {"bankSizes": dict(zip([*routing["fabrics"], "fallback"], sizes, strict=True)),
           "scales": [float(s) for s in graph.scales], "edge": edge,
           "positionProfile": [[round(float(v), 4) for v in row] for row in graph.profile], "folds": folds,
           "fitSeconds": round(fit_seconds, 1),
           "trainingFrames": train_frames, "config": config_dict(cfg),
           "onnxMegabytes": round(onnx_path.stat().st_size / 1e6, 2)}
    (vdir / "eval" / "fit.json").write_text(json.dumps(fit, indent=1) + "\n")
    (vdir / "eval" / "parity.json").write_text(json.dumps({"maxAbsDiff": diff}, indent=1) + "\n")
    if mlflow:
        _mlflow_log({}, card, m, vdir, experiment="patchcore-aitex", lineage=lineage)
    log(f"{name}@{version}: image AUROC {m['imageAuroc']:.4f}, pixel AUROC {m['pixelAuroc']:.4f}, "
        f"at the 5 % points {at5['inSample']['detectionRate']:.3f} / {at5['inSample']['falseAlarmRate']:.3f} "
        f"(cross-calibrated {cross['detectionRate']:.3f} / {cross['falseAlarmRate']:.3f}), "
        f"{onnx_path.stat().st_size / 1e6:.1f} MB")
    return {"dir": str(vdir), "card": card, "metrics": m, "fit": fit}
