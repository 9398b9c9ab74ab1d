"""Putting models into the registry: the random-weight engine-test model, and trained versions."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch

from .data import index, read_gray
from .draem import Draem, DraemAnomalyMap, Widths, count_flops, count_parameters
from .export import export_onnx, graph_parity, parity
from .registry import build_card, draem_architecture, promote, version_dir, write_card
from .scoring import anomaly_map, onnx_runner, smooth, to_tiles


def pick_normal_frames(frames, n: int):
    """n normal frames, one per roll in turn (deterministic: sorted order)."""
    by_roll: dict[str, list] = {}
    for f in frames:
        if f.label == 0:
            by_roll.setdefault(f.roll, []).append(f)
    rolls = sorted(by_roll)
    out: list = []
    i = 0
    while len(out) < n and any(by_roll.values()):
        r = rolls[i % len(rolls)]
        if by_roll[r]:
            out.append(by_roll[r].pop(0))
        i += 1
    return out


def export_random(*, name: str, version: str, rec_width: int, disc_width: int, seed: int, data: Path,
                  frames: int = 5, kernel: int = 21, tile: int = 256) -> dict:
    torch.manual_seed(seed)
    model = Draem(Widths(rec_width, disc_width))
    normals = pick_normal_frames(index(data), frames)
    # PyTorch's default conv init shrinks activations layer by layer (the map is a constant ~0.515);
    # He-normal init keeps them alive, and a ×30 gain on the last conv spreads the probabilities over
    # ~0.01–0.96 so maps, scores and regions differ between frames. BatchNorm keeps its identity stats,
    # which keeps the network well-conditioned (float32 vs float64 ~1e-6).
    for mod in model.modules():
        if isinstance(mod, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(mod.weight, nonlinearity="relu")
            if mod.bias is not None:            # every conv of Draem has one
                torch.nn.init.zeros_(mod.bias)
    with torch.no_grad():
        model.disc.fin.weight.mul_(30.0)
    model.eval()
    vdir = version_dir(name, version)
    onnx_path = export_onnx(model, vdir / "model.onnx", tile)

    # Thresholds: what this model produces on real normal frames, scored as the engine scores them.
    run = onnx_runner(onnx_path)
    scores, pixels, files = [], [], []
    for f in normals:
        amap = anomaly_map(read_gray(f.path), run, tile)
        scores.append(float(smooth(amap, kernel).max()))
        pixels.append(amap.ravel())
        files.append(f.rel)
    pixels = np.concatenate(pixels)
    image_thr = float(np.median(scores)) if len(scores) % 2 else max(scores)
    pixel_thr = float(np.quantile(pixels, 0.999))
    lo, hi = min(scores), float(pixels.max())
    if not lo < image_thr < hi:       # degenerate only if all frames score the same
        lo, hi = float(pixels.min()), float(pixels.max())
    diff = parity(model, onnx_path, to_tiles(read_gray(normals[0].path), tile)[:4])
    notes = (f"RANDOM WEIGHTS (torch.manual_seed({seed})), untrained: for the inference engine's tests only, "
             f"its scores mean nothing. Conv weights He-normal random, biases 0, last conv ×30, BatchNorm at identity "
             f"statistics. Thresholds computed by running this ONNX on {len(files)} normal AITEX "
             f"frames ({', '.join(files)}) tiled 256×256 as the engine does: imageThreshold = the median frame "
             f"score (max of the {kernel}×{kernel} mean-filtered map; so some normal frames are ok, some defect), "
             f"normalization.min = the lowest frame score, "
             f"normalization.max = the highest unsmoothed pixel value, pixelThreshold = the 99.9th percentile of "
             f"unsmoothed pixel values. Frame scores: {', '.join(f'{s:.6f}' for s in scores)}. "
             f"ONNX vs PyTorch max abs diff on 4 real tiles: {diff:.2e}. "
             f"Exported by `python -m loomwatch_models export-random`.")
    card = build_card(
        name=name, version=version,
        description=f"DRAEM-shaped model with random weights, widths {rec_width}/{disc_width}, for engine tests",
        onnx_path=onnx_path, architecture=draem_architecture(rec_width, disc_width, count_parameters(model)),
        flops_per_tile=count_flops(model, tile), tile=tile,
        image_threshold=image_thr, pixel_threshold=pixel_thr, norm_min=lo, norm_max=hi,
        smoothing_kernel=kernel, metrics=None, training=None, notes=notes)
    write_card(card, vdir)
    ok, msg = promote(name, version, force=True, reason="only version: random-weight model for engine tests")
    return {"dir": str(vdir), "scores": scores, "parity": diff, "promoted": msg, "card": card}


def parity_on_validation_tiles(graph: torch.nn.Module, onnx_path: Path, val_frames, tile: int, threads: int,
                               log=print) -> tuple[float, list, int]:
    """onnxruntime vs PyTorch on all tiles of a defect and a normal validation frame; fails the
    release above 1e-4. Returns (max abs diff, the two frames, tiles compared)."""
    pf = [next(f for f in val_frames if f.label and f.masks), next(f for f in val_frames if not f.label)]
    ptiles = np.concatenate([to_tiles(read_gray(f.path), tile) for f in pf])
    diff = graph_parity(graph, onnx_path, ptiles, threads)
    log(f"parity onnxruntime vs PyTorch on {len(ptiles)} real tiles: max abs diff {diff:.2e}")
    if diff > 1e-4:
        raise SystemExit(f"parity failed: max abs diff {diff:.2e} > 1e-4")
    return diff, pf, len(ptiles)


def normalization_range(m: dict) -> tuple[float, float]:
    """normalization_bounds() from evaluate()'s metrics."""
    from .evaluate import normalization_bounds
    return normalization_bounds(min(m["normalScore"]["min"], m["defectScore"]["min"]), m["defectScore"]["max"],
                                m["imageThreshold"])


def threshold_notes(m: dict) -> str:
    """The card notes' account of its thresholds (recalibrate() rewrites this sentence in place)."""
    return (f"imageThreshold: {m['thresholdRule']}; chosen on the validation frames, so detectionRate/falseAlarmRate "
            f"are in-sample: 2-fold cross-calibrated they are {m['crossCalibrated']['detectionRate']:.3f} / "
            f"{m['crossCalibrated']['falseAlarmRate']:.3f}. pixelThreshold: max pixel F1 ({m['pixelF1']:.3f}). ")


def _fmt_schedule(cfg: dict) -> str:
    if cfg.get("schedule", "onecycle") == "paper":
        return f"the paper's schedule (lr {cfg['max_lr']}, × 0.2 at 80 % and 90 %)"
    return f"one-cycle max lr {cfg['max_lr']}"


def _fmt_recipe(cfg: dict) -> str:
    crops = f"{cfg['crop']}² crops, batch {cfg['batch']}"
    if cfg.get("p_spot") or cfg.get("p_curve"):
        return (f"small-defect synthesis: spots {cfg['p_spot']}, curves {cfg['p_curve']}, streaks {cfg['p_streak']}, "
                f"rest Perlin; {crops}; {_fmt_schedule(cfg)} over {cfg['steps']} steps")
    return f"the DRAEM recipe (Perlin 75 %, streaks 25 %); {crops}; {_fmt_schedule(cfg)} over {cfg['steps']} steps"


def release_trained(*, checkpoint: Path, name: str, version: str, data: Path, split: Path,
                    use_ema: bool = True, kernel: int = 21, tile: int = 256, threads: int = 2,
                    description: str = "", extra_notes: str = "", log=print, registry: Path | None = None,
                    mlflow: bool = True) -> dict:
    """Checkpoint -> ONNX in the registry -> parity on real tiles -> validation metrics with the ONNX
    (scored as the engine scores) -> calibrated card, plots, eval/scores.json -> MLflow."""
    import json

    from .data import dataset_hash, load_split
    from .evaluate import evaluate
    from .train import load_checkpoint, warm_start_chain

    model, state = load_checkpoint(Path(checkpoint), use_ema=use_ema)
    cfg = state["config"]
    _, val_frames, split_hash = load_split(Path(split), data)
    if state.get("splitHash") and state["splitHash"] != split_hash:
        raise SystemExit(f"split {split} (sha256 {split_hash}) is not the one the run trained with "
                         f"({state['splitHash']})")
    fabric = cfg.get("fabric") or ""
    if fabric:                                  # a per-fabric model is measured on its fabric's frames only
        val_frames = [f for f in val_frames if f.fabric == fabric]
    vdir = version_dir(name, version, registry) if registry else version_dir(name, version)
    if (vdir / "model.json").exists():
        raise SystemExit(f"{vdir} already holds a model: versions are immutable, choose another --version")
    onnx_path = export_onnx(model, vdir / "model.onnx", tile)
    size_mb = onnx_path.stat().st_size / 1e6
    if size_mb > 20:
        raise SystemExit(f"{onnx_path} is {size_mb:.1f} MB (> 20 MB limit for committed models)")

    diff, pf, ntiles = parity_on_validation_tiles(DraemAnomalyMap(model), onnx_path, val_frames, tile, threads, log)

    log(f"evaluating {len(val_frames)} validation frames with the ONNX model ...")
    metrics = evaluate(val_frames, onnx_runner(onnx_path, threads), vdir / "eval", kernel, tile, log=log)
    flops = count_flops(model, tile)
    steps, wall, warm = int(state["step"]), float(state["elapsed"]), ""
    for init in warm_start_chain(state):   # warm-started runs: count the steps and time of every run in the chain
        steps += int(init["step"]); wall += float(init["elapsed"])
        warm += (f"Warm-started from run {init['config']['name']} at step {init['step']} "
                 f"({_fmt_recipe(init['config'])}); ")
    if warm:
        warm += (f"then {state['step']} steps of {_fmt_recipe(cfg)}; "
                 f"training.steps and wallTimeSec count the whole chain. ")
    training = {"steps": steps, "wallTimeSec": round(wall, 1), "seed": cfg["seed"],
                "dataHash": dataset_hash(data), "splitHash": split_hash, "cropSize": cfg["crop"],
                "batchSize": cfg["batch"]}
    m = metrics
    norm_lo, norm_hi = normalization_range(m)
    notes = (f"Trained by `python -m loomwatch_models train` (run {cfg['name']}, "
             f"{'EMA' if use_ema else 'raw'} weights of "
             f"{Path(checkpoint).name}, step {state['step']}/{cfg['steps']}, {_fmt_recipe(cfg)}) on "
             f"normal frames of split {Path(split).name} with synthetic anomalies (Perlin + streak masks; textures: "
             f"other rolls' augmented fabric, rescaled same-roll fabric, procedural). Validation = "
             f"{m['normalFrames']} held-out normal + {m['defectFrames']} defect frames (never trained on)"
             f"{f' of fabric {fabric} (a per-fabric model: crops of that fabric only)' if fabric else ''}. "
             f"{threshold_notes(m)}"
             f"normalization: min = lowest validation frame score ({norm_lo:.5f}), "
             f"max = highest defect-frame score ({norm_hi:.5f}) (0/1 if the threshold sits at an end). "
             f"pro: integrated to "
             f"FPR 0.3, normalised. flopsPerTile: 2 × multiply-adds of all Conv2d layers for one 1×1×256×256 pass "
             f"(forward hooks), {flops * 16 / 1e9:.1f} GFLOP per 4096×256 frame. "
             f"ONNX vs PyTorch max abs diff {diff:.1e} "
             f"on {ntiles} real tiles. Per-code detection and scores in eval/. {warm}{extra_notes}").strip()
    card = build_card(
        name=name, version=version,
        description=description or (f"DRAEM widths {cfg['rec_width']}/{cfg['disc_width']} "
                                    f"trained on AITEX normal frames"
                                    f"{f' of fabric {fabric}' if fabric else ''}"),
        onnx_path=onnx_path,
        architecture=draem_architecture(cfg["rec_width"], cfg["disc_width"], count_parameters(model)),
        flops_per_tile=flops, tile=tile,
        image_threshold=m["imageThreshold"], pixel_threshold=m["pixelThreshold"],
        norm_min=norm_lo, norm_max=norm_hi, smoothing_kernel=kernel,
        metrics={"imageAuroc": m["imageAuroc"], "pixelAuroc": m["pixelAuroc"], "detectionRate": m["detectionRate"],
                 "falseAlarmRate": m["falseAlarmRate"], "pro": m["pro"],
                 "split": f"validation fabric {fabric}" if fabric else "validation", "frames": m["frames"]},
        training=training, notes=notes)
    write_card(card, vdir)
    (vdir / "eval" / "parity.json").write_text(json.dumps({"maxAbsDiff": diff, "tiles": ntiles,
                                                           "frames": [f.rel for f in pf]}, indent=1) + "\n")
    if mlflow:
        _mlflow_log(state, card, metrics, vdir)
    return {"dir": str(vdir), "card": card, "metrics": metrics, "fabric": fabric or None}


def _mlflow_log(state: dict, card: dict, metrics: dict, vdir: Path, experiment: str = "draem-aitex",
                lineage: dict | None = None) -> None:
    try:
        import mlflow

        from .paths import MLRUNS_DIR
        mlflow.set_tracking_uri(os.environ.get("MLFLOW_TRACKING_URI") or MLRUNS_DIR.as_uri())
        mlflow.set_experiment(experiment)
        run_id = state.get("mlflow_run_id")
        with (mlflow.start_run(run_id=run_id) if run_id
              else mlflow.start_run(run_name=f"{card['name']}@{card['version']}")):
            mlflow.log_metrics({k: v for k, v in card["metrics"].items() if isinstance(v, (int, float))})
            mlflow.log_metrics({"crossCalDetectionRate": metrics["crossCalibrated"]["detectionRate"],
                                "crossCalFalseAlarmRate": metrics["crossCalibrated"]["falseAlarmRate"],
                                "imageThreshold": card["postprocess"]["imageThreshold"],
                                "flopsPerTile": card["flopsPerTile"]})
            mlflow.set_tag("registry", f"{card['name']}@{card['version']}")
            if lineage:                         # a refit: its parent, snapshot and gate
                gate = lineage["gate"]
                mlflow.set_tags({"parent": f"{lineage['parent']['name']}@{lineage['parent']['version']}",
                                 "snapshot": lineage["snapshot"]["id"], "gate": "passed" if gate["passed"] else
                                 "refused: " + "; ".join(gate["reasons"])})
                mlflow.log_metrics({"gateParentImageAuroc": gate["validation"]["parent"],
                                    **{f"heldOut{k[0].upper()}{k[1:]}{w.capitalize()}": v
                                       for k, c in gate["heldOut"].items() for w, v in c.items()}})
            mlflow.log_artifact(str(vdir / "model.onnx"))
            mlflow.log_artifact(str(vdir / "model.json"))
            mlflow.log_artifacts(str(vdir / "eval"), artifact_path="eval")
    except Exception as e:                      # tracking must not fail a release
        print(f"mlflow logging skipped: {e}")


def release_int8(*, name: str, source_version: str, version: str, data: Path, split: Path, threads: int = 2,
                 calib_tiles: int = 128, method: str = "percentile", percentile: float = 99.999,
                 fp32_edges: bool = True, repeats: int = 5, registry: Path | None = None, log=print) -> dict:
    """INT8 static quantisation of a registry version (QDQ, per-channel) as its own version beside it:
    calibrated on normal training tiles of every fabric, FP32 kept where `quantize.fp32_nodes` says (unless
    not `fp32_edges`), evaluated and threshold-calibrated like any other version, its loss against the
    parent and its speed against the parent (same run, alternating, medians) in the card's `quantization`."""
    import json

    from .data import load_split
    from .evaluate import evaluate
    from .quantize import calibration_tiles, compare_speed, cpu_flags, quantize
    from .registry import read_card

    src = version_dir(name, source_version, registry) if registry else version_dir(name, source_version)
    vdir = version_dir(name, version, registry) if registry else version_dir(name, version)
    src_card = read_card(src)
    if src_card.get("quantization"):
        raise SystemExit(f"{name}@{source_version} is itself quantised: quantise its FP32 parent")
    family = src_card["architecture"]["family"]
    kernel = src_card["postprocess"]["smoothingKernel"]
    tile = src_card["input"]["tileSize"]
    train_frames, val_frames, split_hash = load_split(Path(split), data)
    if (vdir / "model.json").exists():
        raise SystemExit(f"{vdir} already holds a model: choose another --version")
    vdir.mkdir(parents=True, exist_ok=True)
    ctiles = calibration_tiles(train_frames, calib_tiles, tile)
    fp32_path = src / src_card["onnx"]["file"]
    t0 = time.perf_counter()
    done = quantize(fp32_path, vdir / "model.onnx", ctiles, family=family if fp32_edges else None, method=method,
                    percentile=percentile)
    onnx_path = vdir / "model.onnx"
    log(f"quantised in {time.perf_counter() - t0:.0f} s ({method}, {calib_tiles} tiles, "
        f"{len(done['fp32Nodes'])} nodes kept in FP32)")
    frame_tiles = to_tiles(read_gray(val_frames[0].path), tile)
    ms = compare_speed(fp32_path, onnx_path, frame_tiles, threads, repeats)
    flags = cpu_flags()
    diff = float(np.abs(onnx_runner(onnx_path, threads)(frame_tiles)
                        - onnx_runner(fp32_path, threads)(frame_tiles)).max())
    log(f"int8: {ms['int8']:.0f} ms/frame vs fp32 {ms['fp32']:.0f} ms/frame (×{ms['fp32'] / ms['int8']:.2f}, "
        f"medians of {repeats}, CPU flags {' '.join(flags) or 'none'}); max |int8 - fp32| on one frame's map "
        f"{diff:.3f}")
    m = evaluate(val_frames, onnx_runner(onnx_path, threads), vdir / "eval", kernel, tile, log=log)
    lo, hi = normalization_range(m)
    sm = src_card["metrics"]
    loss = (sm["imageAuroc"] or 0) - m["imageAuroc"]
    pixel_loss = None if sm.get("pixelAuroc") is None else sm["pixelAuroc"] - m["pixelAuroc"]
    quantization = {
        "parent": source_version, "precision": "int8", "method": done["method"],
        "calibration": {**done["calibration"], "source": f"normal training frames of {split_hash[:12]}, every fabric "
                        "in turn, a random tile column of each"},
        "fp32Nodes": done["fp32Nodes"], "aurocLoss": loss, "pixelAurocLoss": pixel_loss,
        "msPerFrame": {"int8": ms["int8"], "fp32": ms["fp32"]}, "speedup": ms["fp32"] / ms["int8"], "cpuFlags": flags,
    }
    notes = (f"INT8 variant of {name}@{source_version} ({done['method']}; {method} calibration on {calib_tiles} normal "
             f"training tiles of every fabric; {len(done['fp32Nodes'])} nodes in FP32). Validation image AUROC "
             f"{m['imageAuroc']:.4f} vs {sm['imageAuroc']:.4f} FP32 (loss {loss:+.4f}). {ms['int8']:.0f} vs "
             f"{ms['fp32']:.0f} ms per frame (16 tiles, {threads} threads, medians of {repeats} alternating runs; "
             f"×{ms['fp32'] / ms['int8']:.2f}) on a CPU with {' '.join(flags) or 'no listed vector flags'}. Max "
             f"|int8 − fp32| on one frame's map {diff:.3f}. Thresholds calibrated on validation as for FP32 "
             f"({m['thresholdRule']}). flopsPerTile counts the same multiply-adds (mostly int8 now).")
    card = build_card(
        name=name, version=version, description=f"INT8 variant of {name}@{source_version}", onnx_path=onnx_path,
        architecture=src_card["architecture"], flops_per_tile=src_card["flopsPerTile"], tile=tile,
        image_threshold=m["imageThreshold"], pixel_threshold=m["pixelThreshold"], norm_min=lo, norm_max=hi,
        smoothing_kernel=kernel,
        metrics={"imageAuroc": m["imageAuroc"], "pixelAuroc": m["pixelAuroc"], "detectionRate": m["detectionRate"],
                 "falseAlarmRate": m["falseAlarmRate"], "pro": m["pro"], "split": "validation", "frames": m["frames"]},
        training=src_card["training"], notes=notes)
    card["quantization"] = quantization
    write_card(card, vdir)
    (vdir / "eval" / "int8.json").write_text(json.dumps({**quantization, "maxAbsDiffVsFp32": diff}, indent=1) + "\n")
    return {"dir": str(vdir), "card": card, "metrics": m}


def recalibrate(name: str, version: str, log=print) -> dict:
    """Re-applies the current threshold rule to a version's stored validation scores (eval/scores.json)
    without re-running the model; rewrites eval/metrics.json and the card's thresholds, rates and notes.
    The ONNX and its sha256 are unchanged."""
    import json

    from .evaluate import (
        THRESHOLD_RULE,
        best_threshold,
        cross_calibrated_rates,
        far_threshold,
        normalization_bounds,
        rates,
    )
    from .registry import read_card
    vdir = version_dir(name, version)
    card = read_card(vdir)
    rows = json.loads((vdir / "eval" / "scores.json").read_text())
    mpath = vdir / "eval" / "metrics.json"
    m = json.loads(mpath.read_text())
    scores = np.array([r["score"] for r in rows]); labels = np.array([r["label"] for r in rows])
    codes = np.array([r["code"] for r in rows])
    old_thr, old_rule = m["imageThreshold"], m["thresholdRule"]
    thr = far_threshold(scores, labels)
    at = rates(scores, labels, codes, thr)
    pred = scores >= thr
    m.update({"imageThreshold": thr, "thresholdRule": THRESHOLD_RULE, "detectionRate": at["detectionRate"],
              "falseAlarmRate": at["falseAlarmRate"], "perCode": at["perCode"],
              "maxF1": best_threshold(scores, labels)[1],
              "f1AtThreshold": 2 * int((pred & (labels == 1)).sum()) / max(int(pred.sum()) + int(labels.sum()), 1),
              "crossCalibrated": cross_calibrated_rates(scores, labels, codes, 0)})
    for fab, pf in m.get("perFabric", {}).items():
        sel = np.array([r["fabric"] == fab for r in rows])
        pf["detectionRate"] = float(pred[sel & (labels == 1)].mean()) if (sel & (labels == 1)).any() else None
        pf["falseAlarmRate"] = float(pred[sel & (labels == 0)].mean()) if (sel & (labels == 0)).any() else None
    mpath.write_text(json.dumps(m, indent=1) + "\n")
    pp = card["postprocess"]
    pp["imageThreshold"] = thr
    lo, hi = normalization_bounds(scores.min(), scores[labels == 1].max(), thr)
    pp["normalization"] = {"min": lo, "max": hi}
    card["metrics"]["detectionRate"] = at["detectionRate"]
    card["metrics"]["falseAlarmRate"] = at["falseAlarmRate"]
    import re
    notes = card["notes"]
    notes = re.sub(r"imageThreshold: .*?are \d\.\d+ / \d\.\d+\.",
                   f"imageThreshold: {THRESHOLD_RULE}; chosen on the validation frames, so detectionRate/"
                   f"falseAlarmRate are in-sample: 2-fold cross-calibrated they are "
                   f"{m['crossCalibrated']['detectionRate']:.3f} / "
                   f"{m['crossCalibrated']['falseAlarmRate']:.3f}.", notes, count=1)
    notes = re.sub(r"normalization: min = .*?at an end\)\.", f"normalization: min = lowest validation frame score "
                   f"({pp['normalization']['min']:.5f}), "
                   f"max = highest defect-frame score ({pp['normalization']['max']:.5f}).",
                   notes, count=1)
    if "Re-calibrated from eval/scores.json" not in notes:
        card["notes"] = notes + (f" Re-calibrated from eval/scores.json "
                                 f"(threshold {old_thr:.5f} by '{old_rule}' replaced;"
                                 f" max F1 degenerated to flagging every frame).")
    else:
        card["notes"] = notes
    write_card(card, vdir)
    log(f"{name}@{version}: threshold {old_thr:.5f} -> {thr:.5f}; detection {at['detectionRate']:.3f}, false alarms "
        f"{at['falseAlarmRate']:.3f} (cross-calibrated {m['crossCalibrated']['detectionRate']:.3f} / "
        f"{m['crossCalibrated']['falseAlarmRate']:.3f})")
    return card
