"""DRAEM's training losses: L2 + SSIM on the reconstruction vs the clean image, focal loss on the mask."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _gauss_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32) - size // 2
    g = torch.exp(-x ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] @ g[None, :])[None, None]


_WINDOW = _gauss_window()


def ssim(a: torch.Tensor, b: torch.Tensor, c1: float = 0.01 ** 2, c2: float = 0.03 ** 2) -> torch.Tensor:
    """Mean SSIM of single-channel images in [0,1] (Gaussian 11×11, σ 1.5, as pytorch_ssim in DRAEM)."""
    w = _WINDOW.to(device=a.device, dtype=a.dtype)
    pad = w.shape[-1] // 2
    mu_a, mu_b = F.conv2d(a, w, padding=pad), F.conv2d(b, w, padding=pad)
    saa = F.conv2d(a * a, w, padding=pad) - mu_a ** 2
    sbb = F.conv2d(b * b, w, padding=pad) - mu_b ** 2
    sab = F.conv2d(a * b, w, padding=pad) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2))
    return s.mean()


def focal_loss(logits: torch.Tensor, mask: torch.Tensor, gamma: float = 2.0, eps: float = 1e-6) -> torch.Tensor:
    """Focal loss on the 2-class softmax; mask [N,1,H,W] in {0,1} is the anomaly class (channel 1)."""
    logp = F.log_softmax(logits, dim=1)
    target = mask.long()[:, 0]
    logpt = logp.gather(1, target[:, None])[:, 0]
    pt = logpt.exp().clamp(eps, 1.0)
    return (-((1 - pt) ** gamma) * logpt).mean()


def draem_loss(rec, clean, logits, mask):
    """(total, parts): the parts stay detached tensors on the model's device, so a GPU step does not
    wait for them; read them with float() when logging."""
    l2 = F.mse_loss(rec, clean)
    ss = 1 - ssim(rec, clean)
    foc = focal_loss(logits, mask)
    return l2 + ss + foc, {"l2": l2.detach(), "ssim": ss.detach(), "focal": foc.detach()}
