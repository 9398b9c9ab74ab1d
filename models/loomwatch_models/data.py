"""The AITEX working copy: indexing, reading, assertions, profile, deterministic split.

Layout (see the dataset README): normal/<roll>/NNNN_000_FF.png, defect/NNNN_DDD_FF.png,
mask/NNNN_DDD_FF_mask.png (or _mask1/_mask2, merged by union). Every frame is 4096 × 256, 8-bit gray.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field, asdict
from pathlib import Path

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
        """Path relative to the dataset root, the frame's identity in splits and score files."""
        return f"{self.path.parent.name}/{self.path.name}" if self.roll else f"defect/{self.path.name}"


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
