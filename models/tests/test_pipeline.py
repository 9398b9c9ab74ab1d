"""The pipeline end to end on tiny widths: train, resume, export, parity, registry card, promotion gate."""
import json
import signal
import subprocess
import sys
import time

import numpy as np
import torch

from loomwatch_models.data import load_split, read_gray, sha256_file
from loomwatch_models.draem import Draem, Widths, count_flops
from loomwatch_models.export import export_onnx, parity
from loomwatch_models.paths import REGISTRY_DIR, SPLITS_DIR
from loomwatch_models.registry import (
    build_card,
    draem_architecture,
    promote,
    promotions,
    read_card,
    validate_card,
    write_card,
)
from loomwatch_models.scoring import onnx_runner, to_tiles
from loomwatch_models.train import TrainConfig, load_checkpoint, train

TINY = dict(rec_width=2, disc_width=2, crop=64, batch=2, val_every=100, val_tiles=2, log_every=1, bank_size=8,
            frame_val_every=0)


def test_two_step_training_resumes_exactly_where_an_uninterrupted_run_ends(isolated):
    full = train(TrainConfig(name="full", steps=2, **TINY))
    part = train(TrainConfig(name="part", steps=2, **TINY), pause_after=1)
    assert torch.load(part / "ckpt-last.pt")["step"] == 1
    train(TrainConfig(name="part", steps=2, **TINY), resume=True)
    a, sa = load_checkpoint(full / "ckpt-last.pt")
    b, sb = load_checkpoint(part / "ckpt-last.pt")
    assert sa["step"] == sb["step"] == 2
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.allclose(va.float(), vb.float(), atol=1e-6), k
    assert "step 2/2" in (full / "train.log").read_text()


def test_validation_scores_whole_frames_as_the_engine_does_every_frame_val_every_steps(isolated):
    rdir = train(TrainConfig(name="frames", steps=2,
                             **{**TINY, "val_every": 1, "frame_val_every": 2, "frame_val_defects": 2}))
    history = torch.load(rdir / "ckpt-last.pt")["history"]
    assert [("imageAuroc" in r) for r in history] == [False, True]
    assert 0.0 <= history[-1]["imageAuroc"] <= 1.0
    assert "image AUROC" in (rdir / "train.log").read_text() and "on 30 frames" in (rdir / "train.log").read_text()


def test_sigterm_checkpoints_the_step_reached_and_exits_cleanly(isolated):
    """A session that ends sends SIGTERM: the run must keep what it trained, not fall back 4 minutes."""
    args = ["train", "--name", "term", "--steps", "1000", "--rec-width", "2", "--disc-width", "2", "--crop", "64",
            "--batch", "2", "--val-every", "1000", "--val-tiles", "2", "--log-every", "1", "--bank-size", "8"]
    proc = subprocess.Popen([sys.executable, "-m", "loomwatch_models", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = isolated / "cache" / "runs" / "term" / "train.log"
    deadline = time.time() + 120
    while not (log.exists() and "step 3/1000" in log.read_text()):
        assert proc.poll() is None and time.time() < deadline, "training did not reach step 3"
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    step = torch.load(log.parent / "ckpt-last.pt")["step"]
    assert 3 <= step < 1000
    assert f"SIGTERM received at step {step}" in log.read_text()


def test_exported_onnx_matches_pytorch_on_real_tiles(isolated, aitex):
    model, _ = load_checkpoint(train(TrainConfig(name="exp", steps=2, **TINY)) / "ckpt-last.pt")
    path = export_onnx(model, isolated / "m.onnx")
    _, val, _ = load_split(SPLITS_DIR / "aitex-split-v1.json", aitex)
    tiles = np.concatenate([to_tiles(read_gray(f.path), 256)[:4] for f in (val[0], val[-1])])
    assert parity(model, path, tiles) <= 1e-4
    out = onnx_runner(path)(tiles[:3])                 # dynamic batch, [N,1,T,T] probabilities
    assert out.shape == (3, 1, 256, 256) and out.min() >= 0 and out.max() <= 1


def _card(tmp, version, image_auroc):
    torch.manual_seed(0)
    m = Draem(Widths(2, 2)).eval()
    vdir = tmp / "reg" / "draem-test" / version
    onnx_path = export_onnx(m, vdir / "model.onnx")
    card = build_card(name="draem-test", version=version, description="t", onnx_path=onnx_path,
                      architecture=draem_architecture(2, 2, 1), flops_per_tile=count_flops(m),
                      tile=256, image_threshold=0.5, pixel_threshold=0.5, norm_min=0.1, norm_max=0.9,
                      metrics={"imageAuroc": image_auroc, "pixelAuroc": 0.9, "split": "validation", "frames": 10})
    write_card(card, vdir)
    return card


def test_promotion_gate_only_promotes_a_better_version(isolated):
    reg = isolated / "reg"
    _card(isolated, "1.0.0", 0.80)
    _card(isolated, "1.1.0", 0.75)
    _card(isolated, "1.2.0", 0.85)
    _card(isolated, "1.3.0", 0.96)
    ok, why = promote("draem-test", "1.0.0", registry=reg)          # below the 0.95 target
    assert not ok and "below the target" in why and not (reg / "draem-test" / "production.json").exists()
    ok, why = promote("draem-test", "1.0.0", registry=reg, accept_below_target=True)
    assert not ok and "needs a reason" in why
    assert promote("draem-test", "1.0.0", registry=reg, accept_below_target=True, reason="best so far")[0]
    marker = json.loads((reg / "draem-test" / "production.json").read_text())
    assert marker["version"] == "1.0.0" and "0.8000 is below the 0.95 target, accepted: best so far" in marker["reason"]
    ok, why = promote("draem-test", "1.1.0", registry=reg, accept_below_target=True, reason="r")
    assert not ok and "does not beat" in why
    assert json.loads((reg / "draem-test" / "production.json").read_text())["version"] == "1.0.0"
    assert promote("draem-test", "1.2.0", registry=reg, accept_below_target=True, reason="better")[0]
    assert json.loads((reg / "draem-test" / "production.json").read_text())["version"] == "1.2.0"
    ok, why = promote("draem-test", "1.3.0", registry=reg)          # beats 1.2.0 and reaches the target
    assert ok and "below" not in why
    # Every promotion, and only promotions, is in the append-only history, with who, why and the gate's figures.
    history = promotions("draem-test", registry=reg)
    assert [(h["version"], h["previous"]) for h in history] == [("1.0.0", None), ("1.2.0", "1.0.0"), ("1.3.0", "1.2.0")]
    assert history[0]["gate"] == {"imageAuroc": 0.8, "pixelAuroc": history[0]["gate"]["pixelAuroc"], "target": 0.95,
                                  "forced": False, "acceptedBelowTarget": True}
    assert history[2]["gate"]["acceptedBelowTarget"] is False and history[2]["by"]
    assert history[0]["reason"].endswith("best so far")


def test_committed_registry_cards_are_valid_and_match_their_onnx():
    cards = sorted(REGISTRY_DIR.glob("*/*/model.json"))
    assert cards, "no model in the registry"
    for p in cards:
        card = read_card(p.parent)
        validate_card(card)
        onnx_path = p.parent / card["onnx"]["file"]
        assert sha256_file(onnx_path) == card["onnx"]["sha256"], p
        assert onnx_path.stat().st_size == card["onnx"]["bytes"] < 20e6
    for prod in REGISTRY_DIR.glob("*/production.json"):
        assert (prod.parent / json.loads(prod.read_text())["version"] / "model.json").exists()


def test_a_run_resumes_on_a_fresh_cache_from_its_committed_resume_point(isolated, monkeypatch):
    """A session may start on a new machine: the repo's compact resume point must be enough."""
    import shutil

    import loomwatch_models.paths as paths_mod
    from loomwatch_models.train import write_resume_point
    monkeypatch.setattr(paths_mod, "RESUME_DIR", isolated / "repo-runs")
    train(TrainConfig(name="moved", steps=3, **TINY), pause_after=2)
    point = write_resume_point("moved")
    saved = torch.load(point)
    assert saved["step"] == 2 and "opt" not in saved
    assert all(v.dtype == torch.float16 for v in saved["ema"].values() if v.is_floating_point())
    shutil.rmtree(isolated / "cache")                       # the new machine's cache never saw the run
    rdir = train(TrainConfig(name="moved", steps=3, **TINY), resume=True)
    assert torch.load(rdir / "ckpt-last.pt")["step"] == 3
    log = (rdir / "train.log").read_text()
    assert "resumed moved at step 2/3" in log and "committed resume point" in log


def test_training_from_a_data_pack_with_batch_workers_resumes_on_the_cpu(isolated, aitex):
    """The GPU machine's path, run on the CPU: pack → workers synthesising batches → CPU checkpoint."""
    from loomwatch_models.data_pack import read_pack, write_pack
    from loomwatch_models.train import pick_device, quick_val_set
    pack = write_pack(isolated / "pack", SPLITS_DIR / "aitex-split-v1.json", aitex, width=512, val_tiles=2)
    sources, roll_fabric, (vx, vy, vm), split_hash, frames = read_pack(pack)
    _, val, full_hash = load_split(SPLITS_DIR / "aitex-split-v1.json", aitex)
    ref = quick_val_set(val, 2)
    assert split_hash == full_hash and frames == sum(len(v) for v in sources.values()) == 92
    assert {v.shape[1:] for v in sources.values()} == {(256, 512)} and len(set(roll_fabric.values())) == 7
    assert np.array_equal(vx, ref[0]) and np.array_equal(vy, ref[1]) and np.array_equal(vm, ref[2])

    cfg = dict(TINY, val_every=2, pack=str(pack), workers=2)
    rdir = train(TrainConfig(name="packed", steps=3, **cfg), pause_after=2)
    state = torch.load(rdir / "ckpt-last.pt")
    assert state["step"] == 2 and all(v.device.type == "cpu" for v in state["model"].values())
    train(TrainConfig(name="packed", steps=3, device="cpu", **TINY), resume=True)     # resumed from the dataset
    log = (rdir / "train.log").read_text()
    assert "from the pack" in log and "2 batch workers" in log and "finished at step 3/3" in log
    if not torch.cuda.is_available():
        import pytest
        with pytest.raises(SystemExit, match="no CUDA device"):
            pick_device("cuda")


def test_a_warm_started_run_keeps_its_chain_when_the_source_run_is_gone(isolated):
    import shutil

    from loomwatch_models.train import warm_start_chain
    source = train(TrainConfig(name="source", steps=2, **TINY))
    rdir = train(TrainConfig(name="child", steps=1, init_from=str(source / "ckpt-last.pt"), **TINY))
    shutil.rmtree(source)                                   # a fresh machine: only the child's checkpoint
    chain = warm_start_chain(torch.load(rdir / "ckpt-last.pt"))
    assert [(c["config"]["name"], c["step"]) for c in chain] == [("source", 2)]
