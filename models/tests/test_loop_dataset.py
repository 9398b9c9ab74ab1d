"""loop-dataset: the reviewed data set of the scenario by hand, as `loomwatch dataset pull` lays it out."""
import json

import pytest

from loomwatch_models.data import load_stream
from loomwatch_models.loop_dataset import snapshot_id, write_reviewed_dataset
from loomwatch_models.paths import SPLITS_DIR
from loomwatch_models.refit import read_snapshot

MODEL = {"name": "patchcore-aitex", "version": "1.2.0-loop.1", "sha256": "0" * 64}


def test_flagged_stream_normals_become_false_alarms_and_refit_reads_the_folder(tmp_path, aitex):
    stream = [f for f in load_stream(SPLITS_DIR / "aitex-loop-v1.json", aitex) if f.fabric == "01"][:3]
    rows = [{"file": f.relpath, "verdict": v, "score": s, "threshold": 0.6}
            for f, (v, s) in zip(stream, (("defect", 1.2), ("ok", 0.5), ("ok", 0.55)), strict=True)]
    # the engine answers by fabric, not in the frames' order: each label follows its row's file
    manifest = write_reviewed_dataset(tmp_path / "ds", stream, rows[::-1], MODEL)
    assert [e["label"] for e in manifest["entries"]] == ["false-alarm", "ok-confirmed", "ok-confirmed"]
    assert [e["queue"] for e in manifest["entries"]] == ["flagged", "sample", "sample"]
    assert manifest["entries"][0]["verdict"]["score"] == 1.0             # the contract's [0, 1]
    assert manifest["id"] == snapshot_id(manifest) == snapshot_id({**manifest, "createdAt": "2027-01-01T00:00:00Z"})
    # refit's reader takes it: every frame is there, at normal/<fabric>/<frameId>.png, its bytes the AITEX file's
    read, reviewed = read_snapshot(tmp_path / "ds")
    assert read == json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert [r.path.read_bytes() for r in reviewed] == [f.path.read_bytes() for f in stream]
    assert {r.fabric for r in reviewed} == {"01"} and all(r.path.parent.name == "01" for r in reviewed)
    with pytest.raises(ValueError, match="exactly these frames"):
        write_reviewed_dataset(tmp_path / "other", stream, rows[:2], MODEL)
