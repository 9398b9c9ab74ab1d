"""Training data for a machine without the dataset (the lent GPU machine: ../shared does not travel,
and what does travel is 64 MiB with the repo's ~42 MB): a folder with each normal training frame's
seeded window of `width` columns as PNG, the quick-validation tiles and masks, and pack.json.

`models/lw pack-data --out .loomwatch/gpu/pack` writes it (12.3 MB at the default 512 columns, 16.2 MB at
768, 20.2 MB at 1024; the repo itself is ~48 MB, most of it the registry's ONNX files);
`models/lw train --pack .loomwatch/gpu/pack` trains from it. Crops are drawn from the windows, the
quick validation is the same 64 tiles as from the full dataset, the split hash is the split's.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from .data import dataset_hash, load_split, read_gray


def write_pack(out: Path, split: Path, data: Path, width: int, val_tiles: int, seed: int = 0, log=print) -> Path:
    from .train import quick_val_set
    train_frames, val_frames, split_hash = load_split(split, data)
    out.mkdir(parents=True, exist_ok=True)
    (out / "frames").mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    rolls: dict[str, str] = {}
    for f in train_frames:
        assert f.roll is not None               # training frames are normal frames: each has its roll
        img = read_gray(f.path)
        x = int(rng.integers(0, img.shape[1] - width + 1))
        Image.fromarray(img[:, x:x + width]).save(out / "frames" / f"{f.roll}__{Path(f.rel).stem}.png", optimize=True)
        rolls[f.roll] = f.fabric
    vx, vy, vm = quick_val_set(val_frames, val_tiles)
    np.savez(out / "quickval.npz", tiles=(vx[:, 0] * 255).round().astype(np.uint8), labels=vy,
             masks=np.packbits(vm, axis=-1), side=vm.shape[-1])
    (out / "pack.json").write_text(json.dumps({
        "split": split.name, "splitHash": split_hash, "dataHash": dataset_hash(data), "width": width,
        "seed": seed, "trainFrames": len(train_frames), "valTiles": int(len(vy)), "rollFabric": rolls},
        indent=1) + "\n")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    log(f"pack {out}: {len(train_frames)} training windows of {width} columns + {len(vy)} quick-validation tiles, "
        f"{size / 1e6:.1f} MB")
    return out


def read_pack(pack: Path) -> tuple[dict[str, np.ndarray], dict[str, str], tuple, str, int]:
    """(roll → uint8 windows [n, H, width], roll → fabric, quick-validation (x, labels, masks), split hash, frames)."""
    meta = json.loads((pack / "pack.json").read_text())
    by_roll: dict[str, list[np.ndarray]] = {}
    for p in sorted((pack / "frames").glob("*.png")):
        by_roll.setdefault(p.name.split("__")[0], []).append(np.array(Image.open(p).convert("L")))
    q = np.load(pack / "quickval.npz")
    x = q["tiles"][:, None].astype(np.float32) / 255
    masks = np.unpackbits(q["masks"], axis=-1, count=int(q["side"])).astype(bool)
    return ({r: np.stack(v) for r, v in by_roll.items()}, meta["rollFabric"], (x, q["labels"], masks),
            meta["splitHash"], meta["trainFrames"])
