"""Patch features of every AITEX frame (normal and defect) for one backbone configuration, cached in
${LOOMWATCH_CACHE:-~/.cache/loomwatch}/features/<key>.pt as fp16 [frames, tiles, h, w, D], so bank and
threshold experiments (experiments/fabric_banks.py) never run the backbone twice.

Run: models/.venv/bin/python models/experiments/feature_cache.py [--blocks 4,10] [--backbone efficientnet-lite0]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import onnx  # noqa: F401  (before torch: see loomwatch_models/__init__.py)
import torch

from loomwatch_models import paths
from loomwatch_models.data import load_split, read_gray
from loomwatch_models.patchcore import FeatureExtractor, PatchCoreConfig
from loomwatch_models.scoring import to_tiles


def cache_path(key: str) -> Path:
    root = Path(os.environ.get("LOOMWATCH_CACHE", Path.home() / ".cache" / "loomwatch"))
    return root / "features" / f"{key}.pt"


def feature_key(cfg: PatchCoreConfig) -> str:
    return f"{cfg.backbone}-b{'-'.join(map(str, cfg.blocks))}-p{cfg.pool}-r{cfg.reflect_pad}"


def frames_of_split():
    train, val, _ = load_split(paths.SPLITS_DIR / "aitex-split-v1.json", paths.data_dir())
    return train, val


def load_or_extract(cfg: PatchCoreConfig, log=print) -> dict:
    path = cache_path(feature_key(cfg))
    if path.exists():
        return torch.load(path)
    train, val = frames_of_split()
    frames = train + val
    features = FeatureExtractor(cfg.blocks, cfg.pool, reflect_pad=cfg.reflect_pad, backbone=cfg.backbone)
    out, t0 = [], time.time()
    with torch.no_grad():
        for i, f in enumerate(frames):
            x = features(torch.from_numpy(to_tiles(read_gray(f.path), 256)))
            out.append(x.permute(0, 2, 3, 1).to(torch.float16).contiguous())
            if (i + 1) % 10 == 0 or i + 1 == len(frames):
                el = time.time() - t0
                log(f"features {i + 1}/{len(frames)} · {el:.0f}s · ETA {el / (i + 1) * (len(frames) - i - 1):.0f}s")
    data = {"key": feature_key(cfg), "files": [f.relpath for f in frames], "features": torch.stack(out),
            "train": len(train)}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(data, path)
    return data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--blocks", default="4,10")
    ap.add_argument("--backbone", default="efficientnet-lite0")
    ap.add_argument("--pool", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(2)
    cfg = PatchCoreConfig(blocks=tuple(int(b) for b in a.blocks.split(",")), pool=a.pool, backbone=a.backbone)
    d = load_or_extract(cfg, lambda m: print(time.strftime("%H:%M:%S"), m, flush=True))
    print(d["key"], tuple(d["features"].shape))
    return 0


if __name__ == "__main__":
    sys.exit(main())
