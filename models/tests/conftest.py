from pathlib import Path

import pytest

from loomwatch_models.paths import data_dir


@pytest.fixture(scope="session")
def aitex() -> Path:
    root = data_dir()
    assert (root / "normal").is_dir(), (
        f"AITEX dataset not found at {root}: set AITEX_DIR or put it at ../shared/datasets/aitex")
    return root


@pytest.fixture()
def isolated(tmp_path, monkeypatch):
    """Runs, MLflow and registry writes go to a temp dir, never into the repo or the real cache."""
    monkeypatch.setenv("LOOMWATCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlruns").as_uri())
    import loomwatch_models.train as train_mod
    monkeypatch.setattr(train_mod, "MLRUNS_DIR", tmp_path / "mlruns")
    return tmp_path
