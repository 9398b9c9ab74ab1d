"""refit --feedback: a routed PatchCore version whose banks absorb reviewed normals, its lineage and its gate."""
import hashlib
import json
import shutil

import numpy as np
import pytest
import torch

from loomwatch_models.patchcore import PatchCoreConfig
from loomwatch_models.paths import REGISTRY_DIR, SPLITS_DIR
from loomwatch_models.refit import RefitRefused, absorb, half_of, read_snapshot

PARENT = REGISTRY_DIR / "patchcore-aitex" / "1.2.0"


def frame_id(stem: str, half: str) -> str:
    """A frame id for an AITEX frame that falls in the wanted half (the halves are by hash)."""
    return next(f"{stem}-{i}" for i in range(100) if half_of(f"{stem}-{i}") == half)


def write_dataset(folder, aitex, frames: list[tuple[str, str, str]]) -> str:
    """A data set folder as `loomwatch dataset pull` lays it out: (AITEX path, label, half) of fabric 01."""
    entries = []
    for rel, label, half in frames:
        fid = frame_id(rel.rsplit("/", 1)[-1].removesuffix(".png"), half)
        path = f"{'defect' if label in ('defect-confirmed', 'missed-defect') else 'normal'}/01/{fid}.png"
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(aitex / rel, folder / path)
        entries.append({"frameId": fid, "lineId": "line-1", "cameraId": "cam-1", "fabricCode": "01", "label": label,
                        "regions": [], "reviewers": ["op@plant"], "feedbackId": f"fb-{fid}", "revision": 0,
                        "queue": "flagged", "path": path,
                        "verdict": {"verdict": "defect", "score": 0.6, "threshold": 0.5,
                                    "model": {"name": "patchcore-aitex", "version": "1.2.0"}}})
    snapshot_id = hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps({"id": snapshot_id, "createdAt": "2026-12-07T00:00:00Z",
                                                      "source": {"topic": "feedback.v1", "offsets": {}},
                                                      "entries": entries}))
    return snapshot_id


def test_the_halves_are_by_frame_id_hash_and_a_folder_without_a_manifest_is_refused(tmp_path):
    assert [half_of("frame-1"), half_of("frame-1")] == [half_of("frame-1")] * 2
    assert {half_of(f"frame-{i}") for i in range(20)} == {"fit", "held-out"}
    with pytest.raises(RefitRefused) as e:
        read_snapshot(tmp_path)
    assert e.value.code == "no-manifest"


def test_absorb_keeps_the_bank_and_takes_the_new_patches_far_from_it():
    g = torch.Generator().manual_seed(0)
    bank, near = torch.rand(200, 16, generator=g), torch.rand(500, 16, generator=g)
    far = torch.rand(20, 16, generator=g) + 5
    cfg = PatchCoreConfig(coreset_ratio=0.04, projection_dim=16)
    out = absorb(bank, torch.cat([near, far]), 21, cfg, pool=10_000)
    assert len(out) == 221 and torch.equal(out[:200], bank)          # every parent patch stays
    # the far patches, 16+ from every old memory patch, are covered by the new bank (their cluster is 4 wide)
    assert torch.cdist(far, out).amin(1).max() < 4 < 16 < torch.cdist(far, bank).amin()
    assert absorb(bank, None, 5, cfg, 10_000) is bank


def test_refit_absorbs_a_false_alarm_records_its_lineage_and_the_gate_refuses_without_a_held_out_false_alarm(
        isolated, aitex):
    """Fabric 01: its validation normal 0018_00_01 is a false alarm of 1.2.0 (0.718 ≥ 0.675). The fit half has it
    and 0014; the held-out half a normal the parent does not flag and a defect, so the gate must refuse: there is
    no false alarm left to remove."""
    from loomwatch_models.data import read_gray
    from loomwatch_models.refit import refit
    from loomwatch_models.registry import promote, validate_card
    from loomwatch_models.scoring import onnx_routes, to_tiles
    roll = next(p.parent.relative_to(aitex).as_posix() for p in (aitex / "normal").rglob("0018_00_01.png"))
    defect = sorted(p.relative_to(aitex).as_posix() for p in (aitex / "defect").glob("*_01.png"))[0]
    data = isolated / "snapshot"
    snapshot_id = write_dataset(data, aitex, [
        (f"{roll}/0018_00_01.png", "false-alarm", "fit"), (f"{roll}/0014_000_01.png", "ok-confirmed", "fit"),
        (f"{roll}/0005_000_01.png", "ok-confirmed", "held-out"), (defect, "defect-confirmed", "held-out")])
    split = json.loads((SPLITS_DIR / "aitex-split-v1.json").read_text())
    val = [e for lab, n in ((0, 4), (1, 1)) for e in [e for e in split["validation"]
                                                   if e["fabric"] == "02" and e["label"] == lab][:n]]
    mini = isolated / "mini-split.json"
    mini.write_text(json.dumps({**split, "validation": val}))
    out = refit(feedback=data, parent="patchcore-aitex@1.2.0", version="1.2.0-refit.test", data=aitex, split=mini,
                folds=2, registry=isolated / "reg", mlflow=False, log=lambda _: None)
    vdir = isolated / "reg" / "patchcore-aitex" / "1.2.0-refit.test"
    card = json.loads((vdir / "model.json").read_text())
    validate_card(card)
    lineage = card["lineage"]
    assert lineage["parent"] == {"name": "patchcore-aitex", "version": "1.2.0"}
    assert lineage["snapshot"] == {"id": snapshot_id}
    c = lineage["counts"]
    assert (c["reviewed"], c["bankNormals"], c["heldOutNormals"], c["defects"], c["heldOutDefects"]) == (4, 2, 1, 1, 1)
    assert c["patchesAdded"] == round(0.01 * 2 * 16 * 32 * 32)    # 1 % of the 2 frames' patches
    # the calibration of 01 has its 14 training normals + the 2 reviewed ones out of fold (no validation normal of 01)
    assert card["postprocess"]["fabrics"]["01"]["operatingPoints"]["frames"] == 14 + 2

    # the false alarm, now in the bank, scores far lower relative to the threshold in force
    parent_card = json.loads((PARENT / "model.json").read_text())
    tiles = to_tiles(read_gray(aitex / roll / "0018_00_01.png"), 256)
    before = float(onnx_routes(PARENT / "model.onnx")(1)(tiles).max())
    after = float(onnx_routes(vdir / "model.onnx")(1)(tiles).max())
    t_before = parent_card["postprocess"]["fabrics"]["01"]["imageThreshold"]
    t_after = card["postprocess"]["fabrics"]["01"]["imageThreshold"]
    assert before >= t_before and after < t_after
    assert after - t_after < before - t_before - 0.05

    gate = lineage["gate"]
    assert gate == out["gate"] and not gate["passed"]
    assert gate["heldOut"]["falseAlarms"] == {"parent": 0, "candidate": 0, "frames": 1}
    assert gate["heldOut"]["detected"]["frames"] == 1 and gate["validation"]["frames"] == 5
    assert any("not fewer than the parent's 0" in r for r in gate["reasons"])
    assert len(json.loads((vdir / "eval" / "gate.json").read_text())["frames"]) == 2
    ok, msg = promote("patchcore-aitex", "1.2.0-refit.test", registry=isolated / "reg")
    assert not ok and "refit gate refused it" in msg
    assert np.isfinite(card["metrics"]["imageAuroc"])
