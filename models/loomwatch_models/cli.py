"""python -m loomwatch_models <command> — see `--help` of each command."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import paths


def cmd_export_random(a: argparse.Namespace) -> int:
    from .release import export_random
    out = export_random(name=a.name, version=a.version, rec_width=a.rec_width, disc_width=a.disc_width,
                        seed=a.seed, data=paths.data_dir(a.data), frames=a.frames)
    print(json.dumps(out, indent=2))
    return 0


def cmd_check_data(a: argparse.Namespace) -> int:
    from .data import DataCheckError, check, profile
    root = paths.data_dir(a.data)
    try:
        frames, facts = check(root)
    except DataCheckError as e:
        print(f"data check FAILED: {e}", file=sys.stderr)
        return 1
    print(f"data check ok: {facts['frames']} frames in {root}, dataHash {facts['dataHash']}")
    for q in facts["quirks"]:
        print(f"  tolerated: {q['file']}: {q['quirk']}")
    if a.profile:
        out = Path(a.out)
        prof = profile(root, frames, out)
        (out / "checks.json").write_text(json.dumps({k: v for k, v in facts.items() if k != "hashes"}, indent=1) + "\n")
        print(f"profile: {out}/profile.json + PNGs; defects by code {prof['defectByCode']}")
    return 0


def cmd_split(a: argparse.Namespace) -> int:
    from .data import index, make_split, write_split
    split = make_split(index(paths.data_dir(a.data)), seed=a.seed, val_fraction=a.val_fraction)
    digest = write_split(split, Path(a.out))
    print(f"split {a.out}: train {len(split['train'])}, validation {len(split['validation'])} "
          f"({sum(e['label'] for e in split['validation'])} defect), sha256 {digest}")
    return 0


def cmd_loop_split(a: argparse.Namespace) -> int:
    from .data import make_loop_split, write_split
    split = make_loop_split(json.loads(Path(a.base).read_text()), share=a.train_share)
    digest = write_split(split, Path(a.out))
    print(f"split {a.out}: train {len(split['train'])}, stream {len(split['stream'])}, validation "
          f"{len(split['validation'])} ({sum(e['label'] for e in split['validation'])} defect), sha256 {digest}")
    return 0


def cmd_train(a: argparse.Namespace) -> int:
    import datetime as dt

    from .train import TrainConfig, train
    cfg = TrainConfig(name=a.name, rec_width=a.rec_width, disc_width=a.disc_width, crop=a.crop, batch=a.batch,
                      steps=a.steps, max_lr=a.max_lr, seed=a.seed, threads=a.threads, ckpt_minutes=a.ckpt_minutes,
                      val_every=a.val_every, val_tiles=a.val_tiles, log_every=a.log_every, bank_size=a.bank_size,
                      data=a.data or "", split=a.split, p_spot=a.p_spot, p_curve=a.p_curve, p_streak=a.p_streak,
                      init_from=a.init_from or "", pct_start=a.pct_start, fabric=a.fabric or "",
                      device=a.device, workers=a.workers, pack=a.pack or "", schedule=a.schedule,
                      frame_val_every=a.frame_val_every, frame_val_defects=a.frame_val_defects)
    stop = dt.datetime.fromisoformat(a.stop_at.replace("Z", "+00:00")) if a.stop_at else None
    if stop and stop.tzinfo is None:
        stop = stop.replace(tzinfo=dt.UTC)
    train(cfg, resume=a.resume, stop_at=stop)
    return 0


def cmd_pack_data(a: argparse.Namespace) -> int:
    from .data_pack import write_pack
    write_pack(Path(a.out), Path(a.split), paths.data_dir(a.data), a.width, a.val_tiles)
    return 0


def cmd_resume_point(a: argparse.Namespace) -> int:
    from .train import write_resume_point
    out = write_resume_point(a.run)
    print(f"resume point of {a.run}: {out} ({out.stat().st_size / 1e6:.1f} MB); "
          "commit it, and delete the one it supersedes")
    return 0


def _run_checkpoint(a: argparse.Namespace) -> Path:
    if a.checkpoint:
        return Path(a.checkpoint)
    from .train import run_dir
    return run_dir(a.run) / f"ckpt-{a.which}.pt"


def _calibrate_fabrics_of(release: dict, a: argparse.Namespace) -> None:
    """A pooled version (not a per-fabric one) gets its per-fabric calibration at release."""
    if release["fabric"] is None:
        from .fabric_calibration import calibrate_version
        calibrate_version(a.name, a.version, paths.data_dir(a.data), Path(a.split), a.threads,
                          registry=Path(a.registry) if a.registry else None)


def cmd_export(a: argparse.Namespace) -> int:
    from .release import release_trained
    out = release_trained(checkpoint=_run_checkpoint(a), name=a.name, version=a.version,
                          data=paths.data_dir(a.data), split=Path(a.split), use_ema=not a.raw_weights,
                          threads=a.threads, registry=Path(a.registry) if a.registry else None,
                          mlflow=not a.no_mlflow, extra_notes=a.notes)
    _calibrate_fabrics_of(out, a)
    m = out["metrics"]
    print(f"{a.name}@{a.version} in {out['dir']}: image AUROC {m['imageAuroc']:.4f}, "
          f"pixel AUROC {m['pixelAuroc']:.4f}, "
          f"PRO {m['pro']:.4f}, detection {m['detectionRate']:.3f}, false alarms {m['falseAlarmRate']:.3f} "
          f"(cross-calibrated {m['crossCalibrated']['detectionRate']:.3f} / "
          f"{m['crossCalibrated']['falseAlarmRate']:.3f}), "
          f"threshold {m['imageThreshold']:.5f}; {m['secPerFrame']['median'] * 1000:.0f} ms/frame")
    return 0


def cmd_fit_patchcore_fabrics(a: argparse.Namespace) -> int:
    from .patchcore import PatchCoreConfig
    from .release_fabric_banks import release_fabric_banks
    cfg = PatchCoreConfig(backbone=a.backbone, blocks=tuple(int(b) for b in a.blocks.split(",")), pool=a.pool,
                          coreset_ratio=a.coreset_ratio, seed=a.seed)
    out = release_fabric_banks(name=a.name, version=a.version, data=paths.data_dir(a.data), split=Path(a.split),
                               cfg=cfg, edge=a.edge, folds=a.folds, pool=a.coreset_pool, threads=a.threads,
                               registry=Path(a.registry) if a.registry else None, mlflow=not a.no_mlflow)
    print(f"{a.name}@{a.version} in {out['dir']}: banks {out['fit']['bankSizes']}")
    return 0


def cmd_refit(a: argparse.Namespace) -> int:
    from .refit import RefitRefused, refit
    try:
        out = refit(feedback=Path(a.feedback), parent=a.parent, version=a.version, data=paths.data_dir(a.data),
                    split=Path(a.split), folds=a.folds, threads=a.threads, tolerance=a.tolerance,
                    registry=Path(a.registry) if a.registry else None,
                    parent_registry=Path(a.parent_registry) if a.parent_registry else None, mlflow=not a.no_mlflow)
    except RefitRefused as e:
        print(f"refit refused [{e.code}]: {e}", file=sys.stderr)
        return 2
    gate, card = out["gate"], out["card"]
    fa, det, va = gate["heldOut"]["falseAlarms"], gate["heldOut"]["detected"], gate["validation"]
    print(f"{card['name']}@{card['version']} in {out['dir']} (parent {a.parent}): validation image AUROC "
          f"{va['candidate']:.4f} (parent {va['parent']:.4f}, {va['frames']} frames); held-out false alarms "
          f"{fa['candidate']}/{fa['frames']} (parent {fa['parent']}), reviewed defects detected "
          f"{det['candidate']}/{det['frames']} (parent {det['parent']})")
    if not gate["passed"]:
        print(f"gate refused: {'; '.join(gate['reasons'])} — not to be promoted (promote refuses it)", file=sys.stderr)
        return 1
    print("gate passed: a candidate; promote it with models/lw promote, or put it in shadow first")
    return 0


def cmd_engine_eval(a: argparse.Namespace) -> int:
    from .engine_eval import engine_eval
    engine_eval(a.name, a.version, paths.data_dir(a.data), Path(a.split), a.false_alarm_rate, a.threads)
    return 0


def cmd_loop_dataset(a: argparse.Namespace) -> int:
    from .loop_dataset import loop_dataset
    from .registry import version_dir
    name, _, version = a.model.partition("@")
    loop_dataset(vdir=version_dir(name, version, Path(a.registry) if a.registry else paths.REGISTRY_DIR),
                 data=paths.data_dir(a.data), split=Path(a.split), out=Path(a.out), threads=a.threads)
    return 0


def cmd_loop_eval(a: argparse.Namespace) -> int:
    from .loop_eval import LoopEvalError, loop_eval
    try:
        loop_eval(parent=a.parent, candidate=a.candidate,
                  registry=Path(a.registry) if a.registry else paths.REGISTRY_DIR, data=paths.data_dir(a.data),
                  split=Path(a.split), out=Path(a.out), fabrics=a.fabric or None, threads=a.threads)
    except LoopEvalError as e:
        print(f"loop-eval failed [{e.code}]: {e}", file=sys.stderr)
        return 2
    return 0


def cmd_fit_patchcore(a: argparse.Namespace) -> int:
    from .patchcore import PatchCoreConfig
    from .release_patchcore import release_patchcore
    cfg = PatchCoreConfig(coreset_ratio=a.coreset_ratio, coreset_pool=a.coreset_pool, seed=a.seed,
                          reflect_pad=a.reflect_pad)
    out = release_patchcore(name=a.name, version=a.version, data=paths.data_dir(a.data), split=Path(a.split), cfg=cfg,
                            fabric=a.fabric or "", threads=a.threads, registry=Path(a.registry) if a.registry else None,
                            extra_notes=a.notes, mlflow=not a.no_mlflow)
    _calibrate_fabrics_of(out, a)
    m = out["metrics"]
    print(f"{a.name}@{a.version} in {out['dir']}: bank {out['fit']['bankSize']} patches, "
          f"image AUROC {m['imageAuroc']:.4f}, "
          f"pixel AUROC {m['pixelAuroc']:.4f}, PRO {m['pro']:.4f}, detection {m['detectionRate']:.3f}, false alarms "
          f"{m['falseAlarmRate']:.3f} (cross-calibrated {m['crossCalibrated']['detectionRate']:.3f} / "
          f"{m['crossCalibrated']['falseAlarmRate']:.3f}), threshold {m['imageThreshold']:.5f}; "
          f"{m['secPerFrame']['median'] * 1000:.0f} ms/frame (Python onnxruntime)")
    return 0


def cmd_evaluate(a: argparse.Namespace) -> int:
    from .data import load_split
    from .evaluate import evaluate
    from .scoring import onnx_runner, torch_runner
    _, val, _ = load_split(Path(a.split), paths.data_dir(a.data))
    if a.onnx:
        run = onnx_runner(a.onnx, a.threads)
    else:
        from .draem import DraemAnomalyMap
        from .train import load_checkpoint
        model, _ = load_checkpoint(_run_checkpoint(a), use_ema=not a.raw_weights)
        run = torch_runner(DraemAnomalyMap(model))
    if a.fabric:
        val = [f for f in val if f.fabric == a.fabric]
    if a.limit:
        val = [f for f in val if f.label][: a.limit // 2] + [f for f in val if not f.label][: a.limit - a.limit // 2]
    m = evaluate(val, run, Path(a.out))
    print(json.dumps({k: v for k, v in m.items() if k != "perCode"}, indent=1))
    return 0


def cmd_smoke(a: argparse.Namespace) -> int:
    """2-step training of a tiny width, export, parity: the pipeline end to end in about a minute."""
    import os
    import tempfile

    from .data import load_split, read_gray
    from .export import export_onnx, parity
    from .scoring import to_tiles
    from .train import TrainConfig, load_checkpoint, train
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LOOMWATCH_CACHE"] = tmp
        os.environ.setdefault("MLFLOW_TRACKING_URI", Path(tmp, "mlruns").as_uri())
        cfg = TrainConfig(name="smoke", rec_width=2, disc_width=2, crop=64, batch=2, steps=2, val_every=2,
                          val_tiles=2, log_every=1, bank_size=8, data=a.data or "", threads=a.threads)
        rdir = train(cfg)
        model, _ = load_checkpoint(rdir / "ckpt-last.pt")
        onnx_path = export_onnx(model, Path(tmp) / "model.onnx")
        _, val, _ = load_split(Path(cfg.split), paths.data_dir(a.data))
        diff = parity(model, onnx_path, to_tiles(read_gray(val[0].path), 256)[:4])
        print(f"smoke ok: trained 2 steps, exported {onnx_path.stat().st_size} bytes, parity max abs diff {diff:.2e}")
        return 0 if diff <= 1e-4 else 1


def cmd_quantize(a: argparse.Namespace) -> int:
    from .fabric_calibration import calibrate_version
    from .release import release_int8
    registry = Path(a.registry) if a.registry else None
    out = release_int8(name=a.name, source_version=a.source, version=a.version, data=paths.data_dir(a.data),
                       split=Path(a.split), threads=a.threads, calib_tiles=a.calib_tiles, method=a.method,
                       percentile=a.percentile, fp32_edges=not a.all_int8, repeats=a.repeats, registry=registry)
    if out["card"]["postprocess"].get("fabrics") is None and a.calibrate_fabrics:
        calibrate_version(a.name, a.version, paths.data_dir(a.data), Path(a.split), a.threads, registry=registry)
    q = out["card"]["quantization"]
    m = out["metrics"]
    print(f"{a.name}@{a.version} (int8): image AUROC {m['imageAuroc']:.4f} (loss {q['aurocLoss']:+.4f}), pixel AUROC "
          f"{m['pixelAuroc']:.4f}, {q['msPerFrame']['int8']:.0f} vs {q['msPerFrame']['fp32']:.0f} ms/frame "
          f"(×{q['speedup']:.2f}), CPU flags {' '.join(q['cpuFlags']) or 'none'}")
    return 0


def cmd_table(a: argparse.Namespace) -> int:
    """Markdown model-quality table of every registry version (for the README); --plot draws quality vs cost."""
    from .table import int8_markdown, markdown, plot, rows
    table = rows()
    print(markdown(table))
    if any(r["quantization"] for r in table):
        print("\nINT8 variants:\n")
        print(int8_markdown(table))
    if a.plot:
        plot(table, Path(a.plot))
    return 0


def cmd_recalibrate(a: argparse.Namespace) -> int:
    from .release import recalibrate
    recalibrate(a.name, a.version)
    return 0


def cmd_calibrate_fabrics(a: argparse.Namespace) -> int:
    from .fabric_calibration import calibrate_version
    calibrate_version(a.name, a.version, paths.data_dir(a.data), Path(a.split), a.threads)
    return 0


def cmd_reference(a: argparse.Namespace) -> int:
    from .reference import write_reference
    ref = write_reference(a.name, a.version, paths.data_dir(a.data), Path(a.split))
    print(f"{a.name}@{a.version}: reference from {ref['input']['frames']} training frames and "
          f"{ref['scores']['frames']} validation normals, {len(ref['fabrics'])} fabrics, into its card")
    return 0


def cmd_curves(a: argparse.Namespace) -> int:
    from .curves import plot
    print(f"learning curves: {plot(Path(a.out))}")
    return 0


def cmd_promote(a: argparse.Namespace) -> int:
    from .registry import promote
    ok, msg = promote(a.name, a.version, reason=a.reason, force=a.force, accept_below_target=a.accept_below_target)
    print(msg)
    return 0 if ok else 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m loomwatch_models", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    def data_arg(sp):
        sp.add_argument("--data", help="AITEX dir (default $AITEX_DIR or ../shared/datasets/aitex from the repo root)")

    sp = sub.add_parser("check-data", help="assert the dataset's rules; --profile writes stats + plots")
    data_arg(sp)
    sp.add_argument("--profile", action="store_true")
    sp.add_argument("--out", default=str(paths.REPORTS_DIR / "data"))
    sp.set_defaults(fn=cmd_check_data)

    sp = sub.add_parser("split", help="deterministic train/validation split file")
    data_arg(sp)
    sp.add_argument("--seed", type=int, default=20261122)
    sp.add_argument("--val-fraction", type=float, default=0.25)
    sp.add_argument("--out", default=str(paths.SPLITS_DIR / "aitex-split-v1.json"))
    sp.set_defaults(fn=cmd_split)

    sp = sub.add_parser("loop-split", help="the review-loop scenario's split from a base split: per roll the first "
                        "training normals stay train, the rest are stream; validation unchanged (held out)")
    sp.add_argument("--base", default=str(paths.SPLITS_DIR / "aitex-split-v1.json"))
    sp.add_argument("--train-share", type=float, default=1 / 3,
                    help="the part of each roll's training normals (rounded up) that stays train")
    sp.add_argument("--out", default=str(paths.SPLITS_DIR / "aitex-loop-v1.json"))
    sp.set_defaults(fn=cmd_loop_split)

    from .train import TrainConfig
    d = TrainConfig()
    sp = sub.add_parser("train", help="train DRAEM (checkpoints and logs in $LOOMWATCH_CACHE/runs/<name>)")
    data_arg(sp)
    sp.add_argument("--name", default=d.name, help="run name (its directory under the cache)")
    sp.add_argument("--rec-width", type=int, default=d.rec_width)
    sp.add_argument("--disc-width", type=int, default=d.disc_width)
    sp.add_argument("--crop", type=int, default=d.crop)
    sp.add_argument("--batch", type=int, default=d.batch)
    sp.add_argument("--steps", type=int, default=d.steps, help="total steps (sizes the one-cycle schedule)")
    sp.add_argument("--max-lr", type=float, default=d.max_lr)
    sp.add_argument("--schedule", choices=["onecycle", "paper"], default=d.schedule,
                    help="onecycle (warm-up, cosine to ~0) or paper (DRAEM's: constant, × 0.2 at 80 %% and 90 %%)")
    sp.add_argument("--seed", type=int, default=d.seed)
    sp.add_argument("--threads", type=int, default=d.threads)
    sp.add_argument("--ckpt-minutes", type=float, default=d.ckpt_minutes)
    sp.add_argument("--val-every", type=int, default=d.val_every)
    sp.add_argument("--val-tiles", type=int, default=d.val_tiles)
    sp.add_argument("--frame-val-every", type=int, default=d.frame_val_every,
                    help="steps between whole-frame image AUROC validations (all normal + --frame-val-defects defect "
                    "validation frames; 0 = never; not from a --pack)")
    sp.add_argument("--frame-val-defects", type=int, default=d.frame_val_defects)
    sp.add_argument("--log-every", type=int, default=d.log_every)
    sp.add_argument("--bank-size", type=int, default=d.bank_size)
    sp.add_argument("--split", default=d.split)
    sp.add_argument("--p-spot", type=float, default=d.p_spot, help="share of small-spot masks (0 = v1 recipe)")
    sp.add_argument("--p-curve", type=float, default=d.p_curve, help="share of thin wandering-line masks")
    sp.add_argument("--p-streak", type=float, default=d.p_streak, help="share of straight streak masks")
    sp.add_argument("--pct-start", type=float, default=d.pct_start, help="one-cycle warm-up fraction")
    sp.add_argument("--init-from", help="warm start from this checkpoint's weights (new optimizer and schedule)")
    sp.add_argument("--fabric", help="train on one fabric's normal frames (code, e.g. 02): a per-fabric model")
    sp.add_argument("--device", default=d.device, help="auto (CUDA when torch sees a GPU), cpu or cuda")
    sp.add_argument("--workers", type=int, default=d.workers,
                    help="DataLoader processes synthesising batches (0 = in the training process: exact resume; "
                    "a GPU wants several)")
    sp.add_argument("--pack", help="train from a data pack (models/lw pack-data) instead of the dataset")
    sp.add_argument("--resume", action="store_true", help="continue the run from its last checkpoint (saved config; "
                    "--threads/--device/--workers/--data/--pack/--ckpt-minutes may differ), else from its committed "
                    "resume point models/runs/<name>/resume.pt")
    sp.add_argument("--stop-at", help="UTC time (ISO) to checkpoint and exit cleanly, e.g. 2026-11-22T02:40Z")
    sp.set_defaults(fn=cmd_train)

    def ckpt_args(sp):
        sp.add_argument("--run", default="draem-16-8-v1", help="training run name (cache dir)")
        sp.add_argument("--which", choices=["last", "best"], default="last", help="which checkpoint of the run")
        sp.add_argument("--checkpoint", help="explicit checkpoint path (overrides --run/--which)")
        sp.add_argument("--raw-weights", action="store_true", help="use the raw weights, not the EMA")
        sp.add_argument("--split", default=str(paths.SPLITS_DIR / "aitex-split-v1.json"))
        sp.add_argument("--threads", type=int, default=2)

    sp = sub.add_parser("export", help="checkpoint -> ONNX + parity + validation metrics + card in the registry")
    data_arg(sp); ckpt_args(sp)
    sp.add_argument("--name", default="draem-aitex")
    sp.add_argument("--version", required=True)
    sp.add_argument("--registry", help="registry root (default models/registry)")
    sp.add_argument("--notes", default="", help="appended to the card's notes (e.g. what the wall time includes)")
    sp.add_argument("--no-mlflow", action="store_true")
    sp.set_defaults(fn=cmd_export)

    sp = sub.add_parser("resume-point",
                        help="compact the run's last checkpoint into models/runs/<run>/resume.pt for the repo")
    sp.add_argument("--run", required=True)
    sp.set_defaults(fn=cmd_resume_point)

    sp = sub.add_parser("pack-data", help="the training frames (a window of each) and quick-validation tiles as a "
                        "small folder, for training where the dataset is not (the lent GPU machine)")
    data_arg(sp)
    sp.add_argument("--out", default=str(paths.REPO_ROOT / ".loomwatch" / "gpu" / "pack"))
    sp.add_argument("--width", type=int, default=512, help="columns kept of each 4096-wide frame (512: 12 MB, "
                    "which with the repo's ~48 MB stays inside the device's 64 MiB)")
    sp.add_argument("--val-tiles", type=int, default=d.val_tiles)
    sp.add_argument("--split", default=d.split)
    sp.set_defaults(fn=cmd_pack_data)

    sp = sub.add_parser("fit-patchcore",
                        help="PatchCore: fit the memory bank, export, parity, metrics, card in the registry")
    data_arg(sp)
    sp.add_argument("--name", default="patchcore-aitex")
    sp.add_argument("--version", required=True)
    sp.add_argument("--coreset-ratio", type=float, default=0.01, help="bank size as a fraction of all training patches")
    sp.add_argument("--coreset-pool", type=int, default=400_000, help="random patches the coreset is selected from")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--reflect-pad", type=int, default=32,
                    help="mirror each tile outward by this many px before the backbone (0: none, as 1.0.0)")
    sp.add_argument("--fabric", help="fit on one fabric's normal frames and evaluate on its validation frames")
    sp.add_argument("--split", default=str(paths.SPLITS_DIR / "aitex-split-v1.json"))
    sp.add_argument("--threads", type=int, default=2)
    sp.add_argument("--registry", help="registry root (default models/registry); a scratch one for experiments")
    sp.add_argument("--notes", default="", help="appended to the card's notes")
    sp.add_argument("--no-mlflow", action="store_true")
    sp.set_defaults(fn=cmd_fit_patchcore)

    sp = sub.add_parser("fit-patchcore-fabrics",
                        help="PatchCore with one memory bank per fabric routed in the graph: out-of-fold normal "
                             "scores, banks, export, parity, metrics, operating points, card (≈ 15 min)")
    data_arg(sp)
    sp.add_argument("--name", default="patchcore-aitex")
    sp.add_argument("--version", required=True)
    sp.add_argument("--backbone", default="efficientnet-lite0", help="efficientnet-lite0 … lite2")
    sp.add_argument("--blocks", default="4,10", help="backbone blocks whose features are concatenated")
    sp.add_argument("--pool", type=int, default=3, help="k×k average pooling of the features")
    sp.add_argument("--coreset-ratio", type=float, default=0.01, help="each bank's size as a fraction of its patches")
    sp.add_argument("--coreset-pool", type=int, default=40_000, help="random patches each coreset is selected from")
    sp.add_argument("--edge", type=int, default=16,
                    help="px either side of the saturated band beside the cloth that never score (0: no edge mask)")
    sp.add_argument("--folds", type=int, default=4, help="contiguous folds per fabric for the out-of-fold scores")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--split", default=str(paths.SPLITS_DIR / "aitex-split-v1.json"))
    sp.add_argument("--threads", type=int, default=2)
    sp.add_argument("--registry", help="registry root (default models/registry); a scratch one for experiments")
    sp.add_argument("--no-mlflow", action="store_true")
    sp.set_defaults(fn=cmd_fit_patchcore_fabrics)

    sp = sub.add_parser("refit", help="a PatchCore version whose banks absorb the reviewed normals of a data set "
                        "(loomwatch dataset pull), thresholds recalibrated, lineage on the card, gated against the "
                        "parent")
    data_arg(sp)
    sp.add_argument("--feedback", required=True, help="the folder `loomwatch dataset pull` wrote (manifest.json)")
    sp.add_argument("--parent", default="patchcore-aitex@1.2.0",
                    help="<name>@<version> of a fit-patchcore-fabrics version")
    sp.add_argument("--version", help="the new version (default <parent>-refit.<first 8 of the snapshot id>)")
    sp.add_argument("--folds", type=int, default=4, help="blocks per bank for the reviewed normals' out-of-fold scores")
    sp.add_argument("--tolerance", type=float, default=0.01,
                    help="how far the validation image AUROC may fall below the parent's")
    sp.add_argument("--split", default=str(paths.SPLITS_DIR / "aitex-split-v1.json"))
    sp.add_argument("--threads", type=int, default=2)
    sp.add_argument("--registry", help="registry root the candidate is written to (default models/registry)")
    sp.add_argument("--parent-registry", help="registry root the parent is read from (default models/registry)")
    sp.add_argument("--no-mlflow", action="store_true")
    sp.set_defaults(fn=cmd_refit)

    sp = sub.add_parser("engine-eval", help="every validation frame through the TypeScript engine (loomwatch infer) "
                        "with its fabric code, as the worker decides it → eval/engine[-<rate>].json")
    data_arg(sp)
    sp.add_argument("--name", default="patchcore-aitex")
    sp.add_argument("--version", required=True)
    sp.add_argument("--false-alarm-rate", type=float, help="the deployment's rate (default: the card's, 0.05)")
    sp.add_argument("--split", default=str(paths.SPLITS_DIR / "aitex-split-v1.json"))
    sp.add_argument("--threads", type=int, default=2)
    sp.set_defaults(fn=cmd_engine_eval)

    sp = sub.add_parser("loop-dataset", help="the review-loop scenario by hand: the model decides the split's stream "
                        "normals through the engine and each is reviewed (flagged: false-alarm, else ok-confirmed) "
                        "into a data set folder as `loomwatch dataset pull` writes it, for refit --feedback")
    data_arg(sp)
    sp.add_argument("--model", required=True, help="<name>@<version> whose verdicts are reviewed (the parent)")
    sp.add_argument("--registry", help="registry root holding it (default models/registry)")
    sp.add_argument("--split", default=str(paths.SPLITS_DIR / "aitex-loop-v1.json"))
    sp.add_argument("--out", required=True, help="an empty folder for manifest.json + normal/<fabric>/<frameId>.png")
    sp.add_argument("--threads", type=int, default=2)
    sp.set_defaults(fn=cmd_loop_dataset)

    sp = sub.add_parser("loop-eval", help="the review-loop scenario's before/after: parent and candidate through the "
                        "TypeScript engine at their own thresholds on the held-out validation frames (and the stream "
                        "normals, in-sample for the candidate) → --out JSON + PNG")
    data_arg(sp)
    sp.add_argument("--parent", required=True, help="<name>@<version> before the reviews")
    sp.add_argument("--candidate", required=True, help="<name>@<version> refitted from the reviews")
    sp.add_argument("--registry", help="registry root holding both (default models/registry)")
    sp.add_argument("--split", default=str(paths.SPLITS_DIR / "aitex-loop-v1.json"))
    sp.add_argument("--fabric", action="append", help="only this fabric's frames (repeatable; default all)")
    sp.add_argument("--out", required=True, help="the JSON to write; the PNG goes beside it (.png)")
    sp.add_argument("--threads", type=int, default=2)
    sp.set_defaults(fn=cmd_loop_eval)

    sp = sub.add_parser("evaluate", help="validation metrics of an ONNX model or a checkpoint into --out")
    data_arg(sp); ckpt_args(sp)
    sp.add_argument("--onnx", help="evaluate this ONNX file instead of a checkpoint")
    sp.add_argument("--out", default=str(paths.REPORTS_DIR / "tmp" / "eval"))
    sp.add_argument("--limit", type=int, default=0, help="only this many frames (half defect), for a quick look")
    sp.add_argument("--fabric", help="only this fabric's validation frames (code, e.g. 02)")
    sp.set_defaults(fn=cmd_evaluate)

    sp = sub.add_parser("quantize", help="INT8 static-quantised variant of a registry version, as its own version "
                        "with its loss and speed-up in the card's quantization")
    data_arg(sp)
    sp.add_argument("--name", default="draem-aitex")
    sp.add_argument("--source", required=True, help="fp32 version to quantise")
    sp.add_argument("--version", required=True, help="new version, e.g. 1.0.0-int8")
    sp.add_argument("--split", default=str(paths.SPLITS_DIR / "aitex-split-v1.json"))
    sp.add_argument("--threads", type=int, default=2)
    sp.add_argument("--calib-tiles", type=int, default=128, help="normal training tiles, every fabric in turn")
    sp.add_argument("--method", choices=["minmax", "percentile", "entropy"], default="percentile",
                    help="activation-range calibration")
    sp.add_argument("--percentile", type=float, default=99.999)
    sp.add_argument("--all-int8", action="store_true",
                    help="quantise every node (by default the first/last convolutions and PatchCore's search "
                    "stay FP32)")
    sp.add_argument("--repeats", type=int, default=5, help="alternating timing runs of FP32 and INT8 (medians)")
    sp.add_argument("--calibrate-fabrics", action="store_true", help="also write the per-fabric calibration")
    sp.add_argument("--registry", help="another registry root (e.g. a scratch one for experiments)")
    sp.set_defaults(fn=cmd_quantize)

    sp = sub.add_parser("recalibrate", help="re-apply the threshold rule to a version's stored validation scores")
    sp.add_argument("--name", default="draem-aitex")
    sp.add_argument("--version", required=True)
    sp.set_defaults(fn=cmd_recalibrate)

    sp = sub.add_parser("calibrate-fabrics", help="per-fabric thresholds from the training normals' score levels "
                        "into the card (postprocess.fabrics), measured against the pooled threshold")
    data_arg(sp)
    sp.add_argument("--name", default="draem-aitex")
    sp.add_argument("--version", required=True)
    sp.add_argument("--split", default=str(paths.SPLITS_DIR / "aitex-split-v1.json"))
    sp.add_argument("--threads", type=int, default=2)
    sp.set_defaults(fn=cmd_calibrate_fabrics)

    sp = sub.add_parser("reference", help="the drift reference (training frames' input profile, validation "
                        "normals' score deciles, pooled and per fabric) into a version's card")
    data_arg(sp)
    sp.add_argument("--name", default="draem-aitex")
    sp.add_argument("--version", required=True)
    sp.add_argument("--split", default=str(paths.SPLITS_DIR / "aitex-split-v1.json"))
    sp.set_defaults(fn=cmd_reference)

    sp = sub.add_parser("curves", help="learning curves of the committed runs (models/runs/*/val.jsonl) and "
                        "the released DRAEM versions' validation AUROC against steps")
    sp.add_argument("--out", default=str(paths.REPORTS_DIR / "learning-curves.png"))
    sp.set_defaults(fn=cmd_curves)

    sp = sub.add_parser("table", help="markdown model-quality table of the registry")
    sp.add_argument("--plot",
                    help="also draw quality vs cost (GFLOP and engine ms per frame, both families) to this PNG")
    sp.set_defaults(fn=cmd_table)

    sp = sub.add_parser("smoke", help="2-step tiny training + export + parity in a temp dir")
    data_arg(sp)
    sp.add_argument("--threads", type=int, default=2)
    sp.set_defaults(fn=cmd_smoke)

    sp = sub.add_parser("export-random", help="DRAEM-shaped ONNX with random weights into the registry (engine tests)")
    data_arg(sp)
    sp.add_argument("--name", default="draem-random")
    sp.add_argument("--version", default="0.0.1")
    sp.add_argument("--rec-width", type=int, default=4)
    sp.add_argument("--disc-width", type=int, default=4)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--frames", type=int, default=5, help="normal frames used to compute the card's thresholds")
    sp.set_defaults(fn=cmd_export_random)

    sp = sub.add_parser("promote", help="mark a registry version production if it passes the gate")
    sp.add_argument("--name", default="draem-aitex")
    sp.add_argument("--version", required=True)
    sp.add_argument("--reason")
    sp.add_argument("--force", action="store_true", help="skip the gate (say why in --reason)")
    sp.add_argument("--accept-below-target", action="store_true",
                    help="promote a version that beats production but misses the 0.95 image AUROC target "
                         "(needs --reason)")
    sp.set_defaults(fn=cmd_promote)
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    return a.fn(a)
