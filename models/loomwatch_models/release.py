"""Putting models into the registry: the random-weight engine-test model, and trained versions."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .data import index, read_gray
from .draem import Draem, Widths, count_flops, count_parameters
from .export import export_onnx, parity
from .registry import build_card, promote, version_dir, write_card
from .scoring import anomaly_map, onnx_runner, smooth, to_tiles


def pick_normal_frames(frames, n: int):
    """n normal frames, one per roll in turn (deterministic: sorted order)."""
    by_roll: dict[str, list] = {}
    for f in frames:
        if f.label == 0:
            by_roll.setdefault(f.roll, []).append(f)
    rolls = sorted(by_roll)
    out, i = [], 0
    while len(out) < n and any(by_roll.values()):
        r = rolls[i % len(rolls)]
        if by_roll[r]:
            out.append(by_roll[r].pop(0))
        i += 1
    return out


def export_random(*, name: str, version: str, rec_width: int, disc_width: int, seed: int, data: Path,
                  frames: int = 5, kernel: int = 21, tile: int = 256) -> dict:
    torch.manual_seed(seed)
    model = Draem(Widths(rec_width, disc_width))
    normals = pick_normal_frames(index(data), frames)
    # PyTorch's default conv init shrinks activations layer by layer (the map is a constant ~0.515);
    # He-normal init keeps them alive, and a ×30 gain on the last conv spreads the probabilities over
    # ~0.01–0.96 so maps, scores and regions differ between frames. BatchNorm keeps its identity stats,
    # which keeps the network well-conditioned (float32 vs float64 ~1e-6).
    for mod in model.modules():
        if isinstance(mod, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(mod.weight, nonlinearity="relu")
            torch.nn.init.zeros_(mod.bias)
    with torch.no_grad():
        model.disc.fin.weight.mul_(30.0)
    model.eval()
    vdir = version_dir(name, version)
    onnx_path = export_onnx(model, vdir / "model.onnx", tile)

    # Thresholds: what this model produces on real normal frames, scored as the engine scores them.
    run = onnx_runner(onnx_path)
    scores, pixels, files = [], [], []
    for f in normals:
        amap = anomaly_map(read_gray(f.path), run, tile)
        scores.append(float(smooth(amap, kernel).max()))
        pixels.append(amap.ravel())
        files.append(f.rel)
    pixels = np.concatenate(pixels)
    image_thr = float(np.median(scores)) if len(scores) % 2 else max(scores)
    pixel_thr = float(np.quantile(pixels, 0.999))
    lo, hi = min(scores), float(pixels.max())
    if not lo < image_thr < hi:       # degenerate only if all frames score the same
        lo, hi = float(pixels.min()), float(pixels.max())
    diff = parity(model, onnx_path, to_tiles(read_gray(normals[0].path), tile)[:4])
    notes = (f"RANDOM WEIGHTS (torch.manual_seed({seed})), untrained: for the inference engine's tests only, "
             f"its scores mean nothing. Conv weights He-normal random, biases 0, last conv ×30, BatchNorm at identity "
             f"statistics. Thresholds computed by running this ONNX on {len(files)} normal AITEX "
             f"frames ({', '.join(files)}) tiled 256×256 as the engine does: imageThreshold = the median frame "
             f"score (max of the {kernel}×{kernel} mean-filtered map; so some normal frames are ok, some defect), normalization.min = the lowest frame score, "
             f"normalization.max = the highest unsmoothed pixel value, pixelThreshold = the 99.9th percentile of "
             f"unsmoothed pixel values. Frame scores: {', '.join(f'{s:.6f}' for s in scores)}. "
             f"ONNX vs PyTorch max abs diff on 4 real tiles: {diff:.2e}. "
             f"Exported by `python -m loomwatch_models export-random`.")
    card = build_card(
        name=name, version=version,
        description=f"DRAEM-shaped model with random weights, widths {rec_width}/{disc_width}, for engine tests",
        onnx_path=onnx_path, reconstructive_width=rec_width, discriminative_width=disc_width,
        parameters=count_parameters(model), flops_per_tile=count_flops(model, tile), tile=tile,
        image_threshold=image_thr, pixel_threshold=pixel_thr, norm_min=lo, norm_max=hi,
        smoothing_kernel=kernel, metrics=None, training=None, notes=notes)
    write_card(card, vdir)
    ok, msg = promote(name, version, reason="only version: random-weight model for engine tests")
    return {"dir": str(vdir), "scores": scores, "parity": diff, "promoted": msg, "card": card}
