"""DRAEM (Zavrtanik, Kristan, Skočaj, ICCV 2021) with configurable widths, after the reference code.

Reconstructive sub-network: 5-block encoder (widths ×1,2,4,8,8), 4 max-pools, 4 bilinear
up-sampling stages, no skips. Discriminative sub-network: U-Net with 6 encoder blocks, 5 max-pools,
skip connections, fed [reconstruction, input] (reference order), 2 output channels.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def _conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def _block(cin: int, cout: int, mid: int | None = None) -> nn.Sequential:
    mid = cout if mid is None else mid
    return nn.Sequential(*_conv_bn_relu(cin, mid), *_conv_bn_relu(mid, cout))


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True), *_conv_bn_relu(cin, cout))


class ReconstructiveSubNetwork(nn.Module):
    def __init__(self, in_channels: int = 1, out_channels: int = 1, base_width: int = 128):
        super().__init__()
        w = base_width
        self.enc = nn.ModuleList([_block(in_channels, w), _block(w, 2 * w), _block(2 * w, 4 * w),
                                  _block(4 * w, 8 * w), _block(8 * w, 8 * w)])
        self.pool = nn.MaxPool2d(2)
        self.dec = nn.Sequential(
            _up(8 * w, 8 * w), _block(8 * w, 4 * w, mid=8 * w),
            _up(4 * w, 4 * w), _block(4 * w, 2 * w, mid=4 * w),
            _up(2 * w, 2 * w), _block(2 * w, w, mid=2 * w),
            _up(w, w), _block(w, w),
            nn.Conv2d(w, out_channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, blk in enumerate(self.enc):
            if i:
                x = self.pool(x)
            x = blk(x)
        return self.dec(x)


class DiscriminativeSubNetwork(nn.Module):
    def __init__(self, in_channels: int = 2, out_channels: int = 2, base_width: int = 64):
        super().__init__()
        w = base_width
        widths = [w, 2 * w, 4 * w, 8 * w, 8 * w, 8 * w]
        self.enc = nn.ModuleList()
        cin = in_channels
        for c in widths:
            self.enc.append(_block(cin, c))
            cin = c
        self.pool = nn.MaxPool2d(2)
        # decoder stages, deepest first, as in the reference: up(prev -> c), block([up, skip] -> c)
        self.ups = nn.ModuleList()
        self.dbs = nn.ModuleList()
        prev = widths[-1]
        for c, skip in zip([8 * w, 4 * w, 2 * w, w, w], reversed(widths[:-1]), strict=True):
            self.ups.append(_up(prev, c))
            self.dbs.append(_block(c + skip, c))
            prev = c
        self.fin = nn.Conv2d(w, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, blk in enumerate(self.enc):
            if i:
                x = self.pool(x)
            x = blk(x)
            skips.append(x)
        x = skips.pop()
        for up, db in zip(self.ups, self.dbs, strict=True):
            x = db(torch.cat([up(x), skips.pop()], dim=1))
        return self.fin(x)


@dataclass(frozen=True)
class Widths:
    reconstructive: int
    discriminative: int


class Draem(nn.Module):
    """Training-time model: returns (reconstruction, logits[N,2,H,W])."""

    def __init__(self, widths: Widths, channels: int = 1):
        super().__init__()
        self.widths = widths
        self.channels = channels
        self.rec = ReconstructiveSubNetwork(channels, channels, widths.reconstructive)
        self.disc = DiscriminativeSubNetwork(2 * channels, 2, widths.discriminative)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rec = self.rec(x)
        logits = self.disc(torch.cat([rec, x], dim=1))
        return rec, logits


class DraemAnomalyMap(nn.Module):
    """Inference graph exported to ONNX: image [N,1,T,T] in [0,1] -> anomaly probability [N,1,T,T].

    The softmax and the slice of the anomaly channel (1) live inside the graph, so consumers
    read the map directly.
    """

    def __init__(self, draem: Draem):
        super().__init__()
        self.draem = draem

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        _, logits = self.draem(image)
        return F.softmax(logits, dim=1)[:, 1:2]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, tile: int = 256, channels: int = 1) -> int:
    """FLOPs = 2 × multiply-adds of the Conv2d/Linear layers for one [1,C,tile,tile] forward pass.

    Counted with forward hooks on every Conv2d (out elements × in/groups × kh × kw) and Linear;
    BatchNorm, ReLU, pooling, up-sampling and softmax are element-wise and left out (< 2 %).
    """
    macs = 0

    def conv_hook(m: nn.Conv2d, _inp, out):
        nonlocal macs
        kh, kw = m.kernel_size
        macs += out.numel() * (m.in_channels // m.groups) * kh * kw

    def linear_hook(m: nn.Linear, _inp, out):
        nonlocal macs
        macs += out.numel() * m.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, channels, tile, tile))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return 2 * macs
