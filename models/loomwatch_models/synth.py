"""DRAEM's synthetic anomalies for AITEX, made fast enough for CPU training.

Masks: mostly DRAEM's recipe — Perlin noise (scales 2^0..2^5 per axis, rotated, thresholded at 0.5) —
drawn from a bank precomputed once per run (random flips at draw time); plus thin streak masks
(axis-aligned lines, 1–8 px thick), because many AITEX defects are broken or missing yarns that run
along the weave, which Perlin blobs rarely resemble.
Anomaly sources (DTD is not available): augmented fabric from OTHER rolls' normal training frames,
a rescaled crop of the same roll, and procedural textures (multi-octave Perlin, sinusoidal gratings,
flat bright/dark patches, noise). Blend as DRAEM: x' = x(1-m) + (1-β) t m + β x m, β ~ U(0, 0.8).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import ndimage


def _fade(t):
    return 6 * t ** 5 - 15 * t ** 4 + 10 * t ** 3


def perlin(shape: tuple[int, int], res: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """DRAEM's rand_perlin_2d_np (values roughly in [-1, 1]); shape must be a multiple of res."""
    d = (shape[0] // res[0], shape[1] // res[1])
    grid = np.mgrid[0:res[0]:res[0] / shape[0], 0:res[1]:res[1] / shape[1]].transpose(1, 2, 0) % 1
    angles = 2 * math.pi * rng.random((res[0] + 1, res[1] + 1))
    g = np.stack((np.cos(angles), np.sin(angles)), axis=-1)

    def tile(s1, s2):
        return np.repeat(np.repeat(g[s1[0]:s1[1], s2[0]:s2[1]], d[0], axis=0), d[1], axis=1)

    def dot(grad, shift):
        return ((grid[..., 0] + shift[0]) * grad[..., 0] + (grid[..., 1] + shift[1]) * grad[..., 1])

    n00 = dot(tile([0, -1], [0, -1]), [0, 0])
    n10 = dot(tile([1, None], [0, -1]), [-1, 0])
    n01 = dot(tile([0, -1], [1, None]), [0, -1])
    n11 = dot(tile([1, None], [1, None]), [-1, -1])
    t = _fade(grid)
    a = n00 + t[..., 0] * (n10 - n00)
    b = n01 + t[..., 0] * (n11 - n01)
    return math.sqrt(2) * (a + t[..., 1] * (b - a))


def perlin_bank(n: int, size: int, rng: np.random.Generator, min_scale: int = 0, max_scale: int = 6) -> np.ndarray:
    """n rotated Perlin fields [n, size, size] float16 (DRAEM: scale 2^randint(0,6) per axis, rotate ±90°)."""
    out = np.empty((n, size, size), np.float16)
    for i in range(n):
        sx, sy = 2 ** rng.integers(min_scale, max_scale, size=2)
        sx, sy = min(sx, size), min(sy, size)
        p = perlin((size, size), (int(sx), int(sy)), rng)
        p = ndimage.rotate(p, rng.uniform(-90, 90), reshape=False, order=1, mode="reflect")
        out[i] = p
    return out


def streak_mask(size: int, rng: np.random.Generator) -> np.ndarray:
    """1–3 thin axis-aligned streaks (broken/missing yarn look), slightly wavy."""
    m = np.zeros((size, size), np.float32)
    horizontal = rng.random() < 0.5
    for _ in range(rng.integers(1, 4)):
        thick = int(rng.integers(1, 9))
        length = int(rng.integers(size // 8, size + 1))
        start = int(rng.integers(0, size - length + 1))
        pos = int(rng.integers(0, size - thick + 1))
        m[pos:pos + thick, start:start + length] = 1.0
    if not horizontal:
        m = m.T.copy()
    return m


def spot_mask(size: int, rng: np.random.Generator) -> np.ndarray:
    """1–4 small soft-edged ellipses, radius 1.5–6 px (≈10–100 px): the knots/neps that make up most
    AITEX defect frames (code 019 masks are often 20–40 px)."""
    m = np.zeros((size, size), np.float32)
    yy, xx = np.mgrid[0:size, 0:size]
    for _ in range(rng.integers(1, 5)):
        cy, cx = rng.uniform(4, size - 4, 2)
        ry, rx = rng.uniform(1.5, 6, 2)
        m = np.maximum(m, (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1).astype(np.float32))
    return m


def curve_mask(size: int, rng: np.random.Generator) -> np.ndarray:
    """A thin wandering line (1–3 px thick, 20 px to the full crop long), mostly along one axis:
    broken/loose yarns and the curved thin defects of AITEX."""
    m = np.zeros((size, size), np.float32)
    length = int(rng.integers(20, size + 1))
    thick = int(rng.integers(1, 4))
    drift = rng.normal(0, 0.15) + np.cumsum(rng.normal(0, 0.08, length))     # slope wanders
    pos = rng.uniform(thick, size - thick) + np.cumsum(np.clip(drift, -1.5, 1.5))
    start = int(rng.integers(0, size - length + 1))
    for i in range(length):
        p = int(round(pos[i]))
        if 0 <= p < size - thick:
            m[start + i, p:p + thick] = 1.0
    if rng.random() < 0.5:
        m = m.T.copy()
    return m


# ---------------------------------------------------------------- texture augmentation (DRAEM's set, gray)

def _aug_gamma(t, rng):
    return np.clip(t, 0, 1) ** rng.uniform(0.5, 2.0)


def _aug_brightness(t, rng):
    return t * rng.uniform(0.8, 1.2) + rng.uniform(-30, 30) / 255


def _aug_sharpen(t, rng):
    blur = ndimage.uniform_filter(t, 3)
    return t + rng.uniform(0.5, 2.0) * (t - blur)


def _aug_solarize(t, rng):
    thr = rng.uniform(0.2, 0.8)
    return np.where(t > thr, 1 - t, t)


def _aug_posterize(t, rng):
    levels = 2 ** int(rng.integers(1, 5))
    return np.floor(np.clip(t, 0, 0.999) * levels) / (levels - 1)


def _aug_invert(t, rng):
    return 1 - t


def _aug_autocontrast(t, rng):
    lo, hi = np.percentile(t, (1, 99))
    return (t - lo) / max(hi - lo, 1e-3)


def _aug_equalize(t, rng):
    q = np.clip((t * 255).astype(np.int32), 0, 255)
    cdf = np.cumsum(np.bincount(q.ravel(), minlength=256)).astype(np.float32)
    cdf /= cdf[-1]
    return cdf[q]


def _aug_rot(t, rng):
    return np.rot90(t, int(rng.integers(1, 4))).copy()


AUGS = [_aug_gamma, _aug_brightness, _aug_sharpen, _aug_solarize, _aug_posterize, _aug_invert,
        _aug_autocontrast, _aug_equalize, _aug_rot]


def augment(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Three of DRAEM's augmenters in random order (colour ones left out: gray data)."""
    for i in rng.choice(len(AUGS), 3, replace=False):
        t = AUGS[i](t, rng)
    return np.clip(t, 0, 1).astype(np.float32)


# ---------------------------------------------------------------- procedural textures

def procedural_texture(size: int, rng: np.random.Generator) -> np.ndarray:
    kind = rng.integers(0, 4)
    if kind == 0:                                   # multi-octave Perlin
        t = np.zeros((size, size))
        for o in range(int(rng.integers(1, 5))):
            r = 2 ** int(rng.integers(1, 6))
            t += perlin((size, size), (r, r), rng) / (o + 1)
        t = (t - t.min()) / max(np.ptp(t), 1e-6)
    elif kind == 1:                                 # sinusoidal grating, random frequency/orientation
        yy, xx = np.mgrid[0:size, 0:size]
        ang, freq = rng.uniform(0, math.pi), rng.uniform(0.02, 0.5)
        t = 0.5 + 0.5 * np.sin(2 * math.pi * freq * (xx * math.cos(ang) + yy * math.sin(ang)) + rng.uniform(0, 6.3))
    elif kind == 2:                                 # flat patch: stain, knot, hole (bright or dark)
        t = np.full((size, size), rng.choice([rng.uniform(0, 0.25), rng.uniform(0.75, 1.0)]))
        t = t + rng.normal(0, 0.03, (size, size))
    else:                                           # smoothed noise
        t = ndimage.gaussian_filter(rng.random((size, size)), rng.uniform(0.5, 3))
        t = (t - t.min()) / max(np.ptp(t), 1e-6)
    return t.astype(np.float32)


class AnomalySynth:
    """Draws (augmented image, mask, has_anomaly) for a clean crop; everything numpy, float32 in [0,1]."""

    def __init__(self, crop: int, sources: dict[str, np.ndarray], rng: np.random.Generator,
                 bank_size: int = 1024, p_anomaly: float = 0.5, p_streak: float = 0.25,
                 p_procedural: float = 0.35, p_same_roll: float = 0.15,
                 bank_rng: np.random.Generator | None = None, p_spot: float = 0.0, p_curve: float = 0.0):
        self.crop = crop
        self.rng = rng
        self.sources = sources          # roll -> uint8 frames [n, H, W]
        self.rolls = sorted(sources)
        # own RNG for the bank so a resumed run rebuilds the same bank and then restores `rng`
        self.bank = perlin_bank(bank_size, crop, bank_rng if bank_rng is not None else rng)
        self.p_anomaly, self.p_streak = p_anomaly, p_streak
        self.p_procedural, self.p_same_roll = p_procedural, p_same_roll
        self.p_spot, self.p_curve = p_spot, p_curve
        self._small = False

    def _fabric_crop(self, roll: str, size: int) -> np.ndarray:
        frames = self.sources[roll]
        f = frames[self.rng.integers(len(frames))]
        y = self.rng.integers(0, f.shape[0] - size + 1)
        x = self.rng.integers(0, f.shape[1] - size + 1)
        return f[y:y + size, x:x + size].astype(np.float32) / 255

    def texture(self, roll: str) -> np.ndarray:
        u = self.rng.random()
        c = self.crop
        if u < self.p_procedural:
            t = procedural_texture(c, self.rng)
        elif u < self.p_procedural + self.p_same_roll:   # same fabric at another scale: weave irregularity
            s = int(c * self.rng.choice([0.5, 0.75, 1.5, 2.0]))
            s = min(s, 256)
            t = self._fabric_crop(roll, s)
            zoom = c / s
            t = ndimage.zoom(t, zoom, order=1)[:c, :c]
            if t.shape != (c, c):
                t = np.pad(t, ((0, c - t.shape[0]), (0, c - t.shape[1])), mode="reflect")
        else:
            others = [r for r in self.rolls if r != roll] or self.rolls
            t = self._fabric_crop(others[self.rng.integers(len(others))], c)
        return augment(t, self.rng)

    def mask(self) -> np.ndarray:
        self._small = False
        if self.p_spot or self.p_curve:            # small-defect mix (v2); draws differ from the v1 mix
            u = self.rng.random()
            if u < self.p_spot + self.p_curve:
                self._small = True
                return (spot_mask if u < self.p_spot else curve_mask)(self.crop, self.rng)
            if u < self.p_spot + self.p_curve + self.p_streak:
                return streak_mask(self.crop, self.rng)
        elif self.rng.random() < self.p_streak:
            return streak_mask(self.crop, self.rng)
        p = self.bank[self.rng.integers(len(self.bank))].astype(np.float32)
        if self.rng.random() < 0.5:
            p = p[::-1]
        if self.rng.random() < 0.5:
            p = p[:, ::-1]
        return (p > 0.5).astype(np.float32)

    def __call__(self, img: np.ndarray, roll: str) -> tuple[np.ndarray, np.ndarray, float]:
        if self.rng.random() >= self.p_anomaly:
            return img, np.zeros_like(img), 0.0
        m = self.mask()
        if not m.any():
            return img, m, 0.0
        if self._small:
            # small defects must be visible or they only teach false alarms: a darker (knot, 70 %) or
            # brighter yarn, 0.12–0.45 off the local gray level, slightly noisy, β ≤ 0.3
            sign = -1.0 if self.rng.random() < 0.7 else 1.0
            t = np.clip(img + sign * self.rng.uniform(0.12, 0.45) + self.rng.normal(0, 0.02, img.shape), 0, 1)
            beta = self.rng.uniform(0, 0.3)
            out = img * (1 - m) + (1 - beta) * t * m + beta * img * m
            return out.astype(np.float32), m, 1.0
        t = self.texture(roll)
        beta = self.rng.uniform(0, 0.8)
        out = img * (1 - m) + (1 - beta) * t * m + beta * img * m
        if self.p_spot or self.p_curve:
            # v2: the target marks only pixels that visibly changed (> 0.02), e.g. not a texture blended
            # into a saturated white band; v1 keeps DRAEM's full Perlin mask
            m = m * (np.abs(out - img) > 0.02)
            if not m.any():
                return img, m, 0.0
            out = img * (1 - m) + out * m
        return out.astype(np.float32), m.astype(np.float32), 1.0
