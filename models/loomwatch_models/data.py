"""The AITEX working copy: indexing, reading, assertions, profile, deterministic split.

Layout (see the dataset README): normal/<roll>/NNNN_000_FF.png, defect/NNNN_DDD_FF.png,
mask/NNNN_DDD_FF_mask.png (or _mask1/_mask2, merged by union). Every frame is 4096 × 256, 8-bit gray.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

FRAME_W, FRAME_H = 4096, 256
NAME_RE = re.compile(r"^(?P<id>\d{4})_(?P<code>\d{3})_(?P<fabric>\d{2})$")
# The original database names one normal frame 0018_00_01.png (two-digit code): accepted as code 000 in
# normal/ only, and reported by the checks as a naming quirk rather than failing them.
NORMAL_ALIAS_RE = re.compile(r"^(?P<id>\d{4})_(?P<code>00)_(?P<fabric>\d{2})$")
MASK_RE = re.compile(r"^(?P<stem>\d{4}_\d{3}_\d{2})_mask(?P<n>\d?)$")


class DataCheckError(AssertionError):
    """A dataset assertion failed: names the file and the rule."""

    def __init__(self, path: Path | str, rule: str):
        super().__init__(f"{path}: {rule}")
        self.path = str(path)
        self.rule = rule


@dataclass
class Frame:
    stem: str                 # NNNN_DDD_FF
    path: Path
    label: int                # 0 normal, 1 defect
    code: str                 # defect code, "000" = none
    fabric: str               # fabric code FF
    roll: str | None = None   # folder name for normal frames
    masks: list[Path] = field(default_factory=list)
    quirk: str | None = None  # a tolerated deviation from the naming rules, reported by the checks

    @property
    def rel(self) -> str:
        """The frame's id in split files: '<roll>/<file>' for normal frames (under normal/), 'defect/<file>'."""
        return f"{self.path.parent.name}/{self.path.name}" if self.roll else f"defect/{self.path.name}"

    @property
    def relpath(self) -> str:
        """Path relative to the dataset root ('normal/<roll>/<file>', 'defect/<file>'), as in score files."""
        return f"normal/{self.path.parent.name}/{self.path.name}" if self.roll else f"defect/{self.path.name}"


def index(root: Path) -> list[Frame]:
    """All frames under root, sorted by relative path. Raises DataCheckError on a bad layout."""
    root = Path(root)
    for sub in ("normal", "defect", "mask"):
        if not (root / sub).is_dir():
            raise DataCheckError(root / sub, "missing folder (expected normal/, defect/, mask/)")
    masks: dict[str, list[Path]] = defaultdict(list)
    for p in sorted((root / "mask").glob("*.png")):
        m = MASK_RE.match(p.stem)
        if not m:
            raise DataCheckError(p, "mask file name is not NNNN_DDD_FF_mask[N].png")
        masks[m["stem"]].append(p)
    frames: list[Frame] = []
    for p in sorted((root / "normal").glob("*/*.png")):
        m, quirk = NAME_RE.match(p.stem), None
        if not m and (m := NORMAL_ALIAS_RE.match(p.stem)):
            quirk = "normal frame named with a two-digit defect code 00, read as 000"
        if not m:
            raise DataCheckError(p, "frame file name is not NNNN_DDD_FF.png")
        if int(m["code"]) != 0:
            raise DataCheckError(p, "a normal frame must have defect code 000")
        frames.append(Frame(f"{m['id']}_000_{m['fabric']}", p, 0, "000", m["fabric"], roll=p.parent.name,
                            quirk=quirk))
    for p in sorted((root / "defect").glob("*.png")):
        m = NAME_RE.match(p.stem)
        if not m:
            raise DataCheckError(p, "frame file name is not NNNN_DDD_FF.png")
        if m["code"] == "000":
            raise DataCheckError(p, "a defect frame must not have defect code 000")
        frames.append(Frame(p.stem, p, 1, m["code"], m["fabric"], masks=masks.get(p.stem, [])))
    stems = {f.stem for f in frames if f.label}
    for stem, ps in masks.items():
        if stem not in stems:
            raise DataCheckError(ps[0], "mask without a defect frame")
    return sorted(frames, key=lambda f: f.rel)


def read_gray(path: Path) -> np.ndarray:
    """uint8 [H, W]. 8-bit gray (mode L); gray + fully opaque alpha (LA, fabric 04 in this copy) is read
    as its gray channel; anything else is rejected naming the file."""
    with Image.open(path) as im:
        if im.mode == "L":
            return np.asarray(im, dtype=np.uint8).copy()
        if im.mode == "LA":
            a = np.asarray(im, dtype=np.uint8)
            if (a[..., 1] != 255).any():
                raise DataCheckError(path, "gray + alpha frame with a non-opaque alpha channel")
            return a[..., 0].copy()
        raise DataCheckError(path, f"frame must be 8-bit single channel (mode L or opaque LA), got mode {im.mode}")


def image_mode(path: Path) -> str:
    with Image.open(path) as im:
        return im.mode


def read_mask(frame: Frame) -> np.ndarray | None:
    """bool [H, W]: union of the frame's masks (first channel of L/LA/RGB(A) files), None if it has none."""
    if not frame.masks:
        return None
    out = None
    for p in frame.masks:
        with Image.open(p) as im:
            a = np.asarray(im)
        if a.ndim == 3:
            a = a[..., 0]
        m = a > 127
        out = m if out is None else (out | m)
    return out


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ----------------------------------------------------------------------------------------------
# Assertions


def check(root: Path) -> tuple[list[Frame], dict]:
    """Asserts what must hold of the dataset; returns (frames, facts). Raises DataCheckError naming the
    file and the rule at the first violation."""
    frames = index(root)
    facts: dict = {"frames": len(frames), "quirks": [], "hashes": {}}
    seen: dict[str, str] = {}
    for f in frames:
        img = read_gray(f.path)                        # 8-bit single channel (or opaque LA)
        if img.shape != (FRAME_H, FRAME_W):
            raise DataCheckError(f.path, f"frame must be {FRAME_W}x{FRAME_H}, got {img.shape[1]}x{img.shape[0]}")
        mode = image_mode(f.path)
        if mode != "L":
            facts["quirks"].append({"file": f.rel, "quirk": f"stored as {mode} (opaque alpha), read as gray"})
        if f.quirk:
            facts["quirks"].append({"file": f.rel, "quirk": f.quirk})
        digest = hashlib.sha256(img.tobytes()).hexdigest()   # duplicates by decoded pixels
        if digest in seen:
            raise DataCheckError(f.path, f"duplicate frame: same pixels as {seen[digest]}")
        seen[digest] = f.rel
        facts["hashes"][f.rel] = sha256_file(f.path)
        if f.label:
            if not f.masks:
                if f.stem not in NO_MASK_OK:
                    raise DataCheckError(f.path, "defect frame without a mask")
                facts["quirks"].append({"file": f.rel, "quirk": "no mask: image-level metrics only"})
                continue
            if len(f.masks) > 1:
                facts["quirks"].append({"file": f.rel, "quirk": f"{len(f.masks)} masks merged by union"})
            for mp in f.masks:
                with Image.open(mp) as im:
                    if (im.size[1], im.size[0]) != img.shape:
                        raise DataCheckError(mp, f"mask must be the size of its frame {img.shape[1]}x{img.shape[0]}, "
                                                 f"got {im.size[0]}x{im.size[1]}")
                    if im.mode not in ("L", "LA", "1"):
                        raise DataCheckError(mp, f"mask must be gray (L or LA), got mode {im.mode}")
            mask = read_mask(f)
            if mask is None or not mask.any():
                raise DataCheckError(f.masks[0], "mask of a defect frame marks no pixel")
    for f in frames:
        if f.stem in NO_MASK_OK and f.masks:
            facts["quirks"].append({"file": f.rel, "quirk": "expected to have no mask but has one"})
    facts["dataHash"] = dataset_hash(root)   # frames and masks
    return frames, facts


# The dataset README names this frame as having no mask (image-level metrics only).
NO_MASK_OK = {"0100_025_08"}


def data_hash(file_hashes: dict[str, str]) -> str:
    """sha256 over the sorted 'relative path  sha256' lines of every frame file (masks included below)."""
    h = hashlib.sha256()
    for rel in sorted(file_hashes):
        h.update(f"{rel}  {file_hashes[rel]}\n".encode())
    return h.hexdigest()


def dataset_hash(root: Path) -> str:
    """sha256 over every PNG under root (frames and masks), by relative path: the card's dataHash."""
    root = Path(root)
    hashes = {str(p.relative_to(root)): sha256_file(p) for p in sorted(root.rglob("*.png"))}
    return data_hash(hashes)


# ----------------------------------------------------------------------------------------------
# Profile


def profile(root: Path, frames: list[Frame], out_dir: Path) -> dict:
    """Per-roll / per-fabric intensity statistics and histograms, defect counts by code, mask areas:
    profile.json + PNG plots in out_dir."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[np.ndarray]] = defaultdict(list)
    mask_area: dict[str, list[float]] = defaultdict(list)
    col_profiles: dict[str, list[np.ndarray]] = defaultdict(list)
    for f in frames:
        img = read_gray(f.path)
        key = f"normal roll {f.roll} (fabric {f.fabric})" if f.roll else f"defect frames fabric {f.fabric}"
        groups[key].append(np.bincount(img.ravel(), minlength=256))
        col_profiles[key].append(img.mean(axis=0))
        m = read_mask(f) if f.label else None
        if m is not None:
            mask_area[f.code].append(float(m.mean()))
    stats = {}
    for key, hists in sorted(groups.items()):
        h = np.sum(hists, axis=0).astype(np.float64)
        v = np.arange(256)
        n = h.sum()
        mean = float((h * v).sum() / n)
        std = float(np.sqrt((h * (v - mean) ** 2).sum() / n))
        cdf = np.cumsum(h) / n
        pct = {f"p{q}": int(np.searchsorted(cdf, q / 100)) for q in (1, 5, 50, 95, 99)}
        dark = float(h[:16].sum() / n)
        stats[key] = {"frames": len(hists), "mean": round(mean, 3), "std": round(std, 3), **pct,
                      "fractionBelow16": round(dark, 5), "histogram": h.astype(int).tolist()}
    codes = Counter(f.code for f in frames if f.label)
    prof: dict[str, Any] = {
        "frames": {"normal": sum(1 for f in frames if not f.label), "defect": sum(1 for f in frames if f.label)},
        "normalByRoll": dict(sorted(Counter(f.roll for f in frames if not f.label).items())),
        "rollFabric": dict(sorted({f.roll: f.fabric for f in frames if not f.label}.items())),
        "defectByCode": dict(sorted(codes.items())),
        "defectByFabric": dict(sorted(Counter(f.fabric for f in frames if f.label).items())),
        "maskAreaFractionByCode": {c: {"n": len(a), "mean": round(float(np.mean(a)), 6),
                                       "min": round(float(np.min(a)), 6), "max": round(float(np.max(a)), 6)}
                                   for c, a in sorted(mask_area.items())},
        "intensity": stats,
    }
    (out_dir / "profile.json").write_text(json.dumps(prof, indent=1) + "\n")

    fig, ax = plt.subplots(figsize=(10, 5))
    for key, s in stats.items():
        h = np.asarray(s["histogram"], dtype=float)
        ax.plot(h / h.sum(), label=f"{key} (n={s['frames']})", lw=1)
    ax.set_xlabel("gray level"); ax.set_ylabel("fraction of pixels"); ax.set_title("AITEX intensity histograms")
    ax.legend(fontsize=6); fig.tight_layout()
    fig.savefig(out_dir / "intensity_histograms.png", dpi=110); plt.close(fig)

    fig, ax = plt.subplots(figsize=(10, 4))
    for key, cps in sorted(col_profiles.items()):
        ax.plot(np.mean(cps, axis=0), lw=0.7, label=key)
    ax.set_xlabel("column (x)"); ax.set_ylabel("mean gray"); ax.set_title("mean gray level along the frame width")
    ax.legend(fontsize=6); fig.tight_layout(); fig.savefig(out_dir / "column_profiles.png", dpi=110); plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(list(prof["defectByCode"]), list(prof["defectByCode"].values()))
    ax.set_xlabel("defect code"); ax.set_ylabel("frames"); ax.set_title("defect frames by code")
    fig.tight_layout(); fig.savefig(out_dir / "defects_by_code.png", dpi=110); plt.close(fig)
    return prof


# ----------------------------------------------------------------------------------------------
# Split

SPLIT_VERSION = "aitex-split-v1"


def make_split(frames: list[Frame], seed: int = 20261122, val_fraction: float = 0.25) -> dict:
    """Deterministic split by frame. Normal frames: per roll, shuffled with a seeded RNG, a quarter
    (rounded) to validation, the rest to train. Defect frames: all to validation, listed by code (DRAEM
    trains on normal frames only; thresholds are calibrated on validation, see the card notes)."""
    rng = np.random.default_rng(seed)
    train: list[Frame] = []
    val: list[Frame] = []
    by_roll: dict[str, list[Frame]] = defaultdict(list)
    for f in frames:
        if not f.label:
            assert f.roll is not None           # every normal frame has its roll
            by_roll[f.roll].append(f)
    for roll in sorted(by_roll):
        fs = sorted(by_roll[roll], key=lambda f: f.rel)
        order = rng.permutation(len(fs))
        k = int(round(val_fraction * len(fs)))
        for j, i in enumerate(order):
            (val if j < k else train).append(fs[i])
    val += [f for f in frames if f.label]

    def entry(f: Frame) -> dict:
        return {"file": f.rel, "label": f.label, "code": f.code, "fabric": f.fabric, "roll": f.roll,
                "hasMask": bool(f.masks)}
    return {
        "name": SPLIT_VERSION, "seed": seed, "valFraction": val_fraction,
        "rule": ("normal frames: per roll, seeded shuffle, round(valFraction*n) to validation, rest to train; "
                 "defect frames: all to validation (DRAEM trains on normal frames only)"),
        "train": [entry(f) for f in sorted(train, key=lambda f: f.rel)],
        "validation": [entry(f) for f in sorted(val, key=lambda f: f.rel)],
    }


def write_split(split: dict, path: Path) -> str:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(split, indent=1) + "\n")
    return sha256_file(path)


def load_split(path: Path, root: Path) -> tuple[list[Frame], list[Frame], str]:
    """(train, validation, split sha256) as Frames of the dataset at root. A scenario split's `stream` list
    (make_loop_split) is neither: read it with load_stream."""
    split = json.loads(Path(path).read_text())
    by_rel = {f.rel: f for f in index(root)}
    missing = [e["file"] for e in split["train"] + split["validation"] + split.get("stream", [])
               if e["file"] not in by_rel]
    if missing:
        raise DataCheckError(missing[0], f"split {path} names a frame the dataset does not have")
    return ([by_rel[e["file"]] for e in split["train"]], [by_rel[e["file"]] for e in split["validation"]],
            sha256_file(path))


def load_stream(path: Path, root: Path) -> list[Frame]:
    """The `stream` frames of a scenario split (make_loop_split) as Frames of the dataset at root; [] for a split
    without one."""
    split = json.loads(Path(path).read_text())
    by_rel = {f.rel: f for f in index(root)}
    missing = [e["file"] for e in split.get("stream", []) if e["file"] not in by_rel]
    if missing:
        raise DataCheckError(missing[0], f"split {path} streams a frame the dataset does not have")
    return [by_rel[e["file"]] for e in split.get("stream", [])]


# ----------------------------------------------------------------------------------------------
# The review-loop scenario's split (issue 33)

LOOP_SPLIT_VERSION = "aitex-loop-v1"
LOOP_TRAIN_SHARE = 1 / 3


def frame_number(entry: dict) -> int:
    """The NNNN of a split entry's file ('<roll>/NNNN_000_FF.png'): the frame's place in its roll."""
    return int(entry["file"].rsplit("/", 1)[-1][:4])


def make_loop_split(base: dict, share: float = LOOP_TRAIN_SHARE, name: str = LOOP_SPLIT_VERSION) -> dict:
    """The review-loop scenario's split, derived from a split without randomness: per normal roll, the base
    split's training normals in frame-number order; the first ceil(share · n) stay `train` (the frames the
    parent is fitted on: the first frames of the roll), the rest are `stream` (what the line produces next,
    streamed and reviewed by operators). `validation` is the base split's, unchanged: held out, never
    streamed, never reviewed."""
    if not 0 < share < 1:
        raise ValueError(f"share {share} must be in (0, 1): the part of each roll's training normals that stays train")
    if "stream" in base:
        raise ValueError(f"split {base.get('name')} already has a stream: derive the scenario from a base split")
    by_roll: dict[str, list[dict]] = defaultdict(list)
    for e in base["train"]:
        if e["label"] or not e.get("roll"):
            raise ValueError(f"{e['file']}: a base split's train list holds normal frames of a roll only")
        by_roll[e["roll"]].append(e)
    train: list[dict] = []
    stream: list[dict] = []
    for roll in sorted(by_roll):
        es = sorted(by_roll[roll], key=frame_number)
        k = math.ceil(share * len(es))
        train += es[:k]
        stream += es[k:]
    return {
        "name": name, "base": base["name"], "seed": base["seed"], "valFraction": base["valFraction"],
        "trainShare": share,
        "rule": (f"derived from {base['name']} without randomness: per normal roll, its training normals in "
                 f"frame-number order; the first ceil({share:.4g}·n) stay train (the parent's: the first frames of "
                 f"the roll), the rest are stream (streamed and reviewed in the scenario); validation is "
                 f"{base['name']}'s, unchanged and held out (never streamed, never reviewed). {base['name']}: "
                 f"{base['rule']}"),
        "train": sorted(train, key=lambda e: e["file"]),
        "stream": sorted(stream, key=lambda e: e["file"]),
        "validation": base["validation"],
    }
