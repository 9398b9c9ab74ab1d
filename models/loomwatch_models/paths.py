"""Where things live: the repo's models/ dir, the dataset, the run cache (outside the repo)."""
from __future__ import annotations

import os
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = MODELS_DIR.parent
REGISTRY_DIR = MODELS_DIR / "registry"
SPLITS_DIR = MODELS_DIR / "splits"
REPORTS_DIR = MODELS_DIR / "reports"
MLRUNS_DIR = MODELS_DIR / "mlruns"
# committed resume points: runs/<name>/resume.pt, one per live run ($LOOMWATCH_RESUME_DIR: write them elsewhere)
RESUME_DIR = Path(os.environ.get("LOOMWATCH_RESUME_DIR") or MODELS_DIR / "runs")


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """--data, else $AITEX_DIR, else ../shared/datasets/aitex relative to the repo root."""
    if explicit:
        return Path(explicit).resolve()
    env = os.environ.get("AITEX_DIR")
    if env:
        return Path(env).resolve()
    return (REPO_ROOT.parent / "shared" / "datasets" / "aitex").resolve()


def cache_dir() -> Path:
    """Checkpoints and logs: ${LOOMWATCH_CACHE:-$HOME/.cache/loomwatch}, never inside the repo."""
    env = os.environ.get("LOOMWATCH_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "loomwatch"
