"""Learning curves (issue 13 §6): each run's quick validation against steps, from the histories the
repo holds (models/runs/<run>/val.jsonl, written by `models/lw resume-point`; a warm-started run drawn from
the step its chain ended at), beside the full
validation of the DRAEM versions released from those runs (registry cards: training steps → image AUROC).

The quick validation is 32 defect + 32 normal 256² tiles scored with the EMA weights: cheap enough to
run every few hundred steps, noisy (± 0.1 between neighbouring points), so each run is drawn as its
points and their running median over 5 validations. Runs that also score whole frames
(`--frame-val-every`: image AUROC on every normal + 28 defect validation frames) show that curve in
the third panel, beside the released versions (whose steps count their whole warm-start chain).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import paths
from .registry import read_card


def histories(root: Path = paths.RESUME_DIR) -> dict[str, list[dict]]:
    return {f.parent.name: [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
            for f in sorted(root.glob("*/val.jsonl"))}


def chain_offsets(root: Path = paths.RESUME_DIR) -> dict[str, int]:
    """Steps a run was warm-started with (its resume point's warmStart chain), so curves share one step axis."""
    import torch
    out = {}
    for point in sorted(root.glob("*/resume.pt")):
        state = torch.load(point, map_location="cpu")
        out[point.parent.name] = sum(int(c["step"]) for c in state.get("warmStart", []))
    return out


def released(registry: Path = paths.REGISTRY_DIR) -> list[dict]:
    """DRAEM versions with validation metrics: steps, image/pixel AUROC, the run they came from."""
    out = []
    for card_path in sorted(registry.glob("*/*/model.json")):
        c = read_card(card_path.parent)
        if c["architecture"]["family"] != "draem" or c["metrics"]["imageAuroc"] is None or not c["training"]:
            continue
        out.append({"model": f"{c['name']}@{c['version']}", "steps": c["training"]["steps"],
                    "image": c["metrics"]["imageAuroc"], "pixel": c["metrics"]["pixelAuroc"],
                    "widths": f"{c['architecture']['reconstructiveWidth']}/{c['architecture']['discriminativeWidth']}"})
    return out


def running_median(v: np.ndarray, k: int = 5) -> np.ndarray:
    return np.array([np.median(v[max(0, i - k + 1):i + 1]) for i in range(len(v))])


def plot(out: Path, runs: dict[str, list[dict]] | None = None, versions: list[dict] | None = None,
         offsets: dict[str, int] | None = None) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    runs = histories() if runs is None else runs
    versions = released() if versions is None else versions
    offsets = chain_offsets() if offsets is None else offsets
    runs = {name: [{**r, "step": r["step"] + offsets.get(name, 0)} for r in h] for name, h in runs.items()}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=True)
    for ax, key, title in ((axes[0], "tileAuroc", "quick validation: tile AUROC"),
                           (axes[1], "pixelAuroc", "quick validation: pixel AUROC")):
        for i, (name, h) in enumerate(runs.items()):
            steps = np.array([r["step"] for r in h]); v = np.array([r[key] for r in h])
            colour = f"C{i}"
            ax.plot(steps, v, ".", color=colour, alpha=0.35)
            ax.plot(steps, running_median(v), "-", color=colour, label=name)
        ax.set_title(title); ax.set_xlabel("training steps (with the warm-start chain)"); ax.grid(alpha=0.3)
        ax.axhline(0.5, color="k", lw=0.6, ls=":")
    axes[0].set_ylabel("AUROC"); axes[0].legend(fontsize=8)
    ax = axes[2]
    for i, (name, h) in enumerate(runs.items()):
        framed = [(r["step"], r["imageAuroc"]) for r in h if "imageAuroc" in r]
        if framed:
            ax.plot(*zip(*framed, strict=True), "-^", color=f"C{i + 2}", ms=4,
                    label=f"{name}: image AUROC, 28 + 28 frames")
    for ver in versions:
        ax.plot(ver["steps"], ver["image"], "o", color="C0")
        ax.plot(ver["steps"], ver["pixel"], "s", color="C1")
        ax.annotate(f"{ver['model'].split('@')[1]} ({ver['widths']})", (ver["steps"], ver["image"]), fontsize=7,
                    xytext=(4, 4), textcoords="offset points")
    ax.plot([], [], "o", color="C0", label="image AUROC"); ax.plot([], [], "s", color="C1", label="pixel AUROC")
    ax.axhline(0.95, color="g", lw=0.8, ls="--", label="target 0.95")
    ax.set_title("whole validation frames: runs and released versions")
    ax.set_xlabel("training steps (with the warm-start chain)")
    ax.grid(alpha=0.3); ax.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
