"""The reference a drift monitor compares live frames with, written into a version's card.

`card["reference"]`: the input profile of the training frames (pixel-intensity mean and std, the
spread of the frame means, and the 16-bin histogram the worker computes per frame: bin = value >> 4),
pooled and per fabric, and the score deciles of the validation normals (pooled, and per fabric where
a fabric has at least MIN_SCORES of them). PSI over the deciles (10 % each by construction) and KS over
the histogram's CDF are what the monitor can compute from it.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .data import load_split, read_gray
from .registry import read_card, version_dir, write_card

BINS = 16
MIN_SCORES = 10


def frame_stats(frame: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(mean, population std, 16-bin histogram as fractions) of one uint8 frame, as the worker's inputStats."""
    counts = np.bincount(frame.ravel() >> 4, minlength=BINS).astype(np.float64)
    values = frame.astype(np.float64)
    return float(values.mean()), float(values.std()), counts / frame.size


def input_profile(stats: list[tuple[float, float, np.ndarray]]) -> dict[str, Any]:
    """Pooled pixel moments of equal-sized frames, the spread of their means, and their mean histogram."""
    means = np.array([m for m, _, _ in stats])
    stds = np.array([s for _, s, _ in stats])
    pooled_mean = float(means.mean())
    pooled_std = float(np.sqrt(np.mean(stds**2 + means**2) - pooled_mean**2))
    histogram = np.mean([h for _, _, h in stats], axis=0)
    return {
        "frames": len(stats),
        "mean": round(pooled_mean, 4),
        "std": round(pooled_std, 4),
        "frameMeanStd": round(float(means.std()), 4),
        "histogram": [round(float(x), 6) for x in histogram],
    }


def score_profile(scores: list[float]) -> dict[str, Any]:
    """The scores' count and deciles (the 9 interior edges: each decile bin holds 10 % of the reference)."""
    deciles = np.quantile(np.array(scores, dtype=np.float64), np.linspace(0.1, 0.9, 9))
    return {"frames": len(scores), "deciles": [round(float(x), 6) for x in deciles]}


Stats = tuple[float, float, np.ndarray]


def reference_profile(train_stats: dict[str, list[Stats]], normal_scores: dict[str, list[float]],
                      split_name: str) -> dict[str, Any]:
    """The card's `reference` block from per-fabric training-frame stats and per-fabric validation-normal scores."""
    pooled_stats = [s for per in train_stats.values() for s in per]
    pooled_scores = [x for per in normal_scores.values() for x in per]
    fabrics: dict[str, Any] = {}
    for fabric in sorted(train_stats):
        entry: dict[str, Any] = {"input": input_profile(train_stats[fabric])}
        if len(normal_scores.get(fabric, [])) >= MIN_SCORES:
            entry["scores"] = score_profile(normal_scores[fabric])
        fabrics[fabric] = entry
    return {"split": split_name, "input": input_profile(pooled_stats), "scores": score_profile(pooled_scores),
            "fabrics": fabrics}


def write_reference(name: str, version: str, data_root: Path, split_path: Path) -> dict[str, Any]:
    """Computes the reference of a registry version from the split's training frames and its stored
    validation scores (eval/scores.json), writes it into the card (validated) and returns it."""
    directory = version_dir(name, version)
    card = read_card(directory)
    train, _validation, _sha = load_split(split_path, data_root)
    train_stats: dict[str, list[tuple[float, float, np.ndarray]]] = defaultdict(list)
    for frame in train:
        if frame.label == 0:
            train_stats[frame.fabric].append(frame_stats(read_gray(frame.path)))
    normal_scores: dict[str, list[float]] = defaultdict(list)
    for entry in json.loads((directory / "eval" / "scores.json").read_text()):
        if entry["label"] == 0:
            normal_scores[entry["fabric"]].append(float(entry["score"]))
    if not normal_scores:
        raise ValueError(f"{directory}/eval/scores.json has no validation normals: evaluate the version first")
    split_name = json.loads(split_path.read_text())["name"]
    card["reference"] = reference_profile(dict(train_stats), dict(normal_scores), split_name)
    write_card(card, directory)  # validates against the published card schema
    return card["reference"]
