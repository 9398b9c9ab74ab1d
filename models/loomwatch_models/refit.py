"""A PatchCore version that learns from operators' reviews (issue 33 §5): `models/lw refit --feedback DIR`.

DIR is a reviewed data set as `loomwatch dataset pull` lays it out (`manifest.json`, the zod
`DatasetManifest` of packages/contracts; frames at `normal|defect/<fabric>/<frameId>.png`). The parent is a
routed version (`fit-patchcore-fabrics`: one bank per fabric + a fallback bank in one graph).

1. The reviewed frames are split in two halves by a hash of their frameId: the fit half and the held-out
   half (for the gate only).
2. The parent's banks, per-bank scales and position profile are read from its ONNX initializers; the
   graph is rebuilt in PyTorch with the backbone of its `fit.json` and checked against the parent's ONNX.
3. Each bank absorbs the patches of the fit half's reviewed normals of its fabric (`false-alarm`,
   `ok-confirmed`): the greedy k-center coreset selection continued from the parent's bank over the new
   patches, `coreset_ratio` of them (as many as a fit would take of those frames) — every parent patch stays,
   the new ones are those its bank covers worst. The fallback bank takes as many as the bank that grew most,
   from the patches the fabric banks took (+ those of reviewed normals with no or an unknown fabric code).
   Scales and the position profile stay the parent's (its left-out training patches are not in the graph).
4. Thresholds (operating points, operating_points.py) from the parent's out-of-fold scores of the training
   normals (as the parent computed them), the validation normals not in the data set scored by the new
   graph, and the fit half's reviewed normals scored out of fold: in `folds` blocks per bank, each block
   against banks that absorbed the other blocks only, so no reviewed normal is scored against its own patches.
5. Reviewed defects (`defect-confirmed`, `missed-defect`) never enter a bank: they are scored with the
   held-out normals to measure the gate.
6. Gate: validation image AUROC (the validation frames not in the data set) not below the parent's by more
   than AUROC_TOLERANCE, and on the held-out half fewer false alarms than the parent at each one's own
   threshold and no fewer reviewed defects detected. The card's `lineage` records the parent, the snapshot,
   the counts and the gate; `promote` refuses a version whose gate refused it.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .data import load_split, read_gray
from .evaluate import evaluate
from .export import export_graph
from .patchcore import FeatureExtractor, PatchCoreConfig, RoutedPatchCoreMap, extract, nearest_distance
from .paths import REGISTRY_DIR
from .registry import read_card, version_dir
from .release_fabric_banks import calibrate_operating_points, frame_score, write_release
from .scoring import anomaly_map, fabric_router, onnx_routes, to_tiles

NORMAL_LABELS = ("false-alarm", "ok-confirmed")
DEFECT_LABELS = ("defect-confirmed", "missed-defect")
AUROC_TOLERANCE = 0.01          # the candidate's validation image AUROC may be at most this much below the parent's


class RefitRefused(Exception):
    """A refit that cannot start or cannot be trusted; `code` is stable, the message says what to do."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class Reviewed:
    frame_id: str
    label: str
    fabric: str | None        # the entry's fabricCode
    path: Path
    half: str                 # "fit" | "held-out"

    @property
    def defect(self) -> bool:
        return self.label in DEFECT_LABELS

    @property
    def relpath(self) -> str:
        return f"feedback/{self.path.parent.name}/{self.path.name}"


@dataclass
class Calibrated:
    """A normal frame whose out-of-fold score feeds the operating points (what calibrate_operating_points reads)."""
    relpath: str
    fabric: str


def half_of(frame_id: str) -> str:
    """The deterministic half of a reviewed frame: by the first byte of sha256(frameId)."""
    return "fit" if hashlib.sha256(frame_id.encode()).digest()[0] % 2 == 0 else "held-out"


def read_snapshot(folder: Path) -> tuple[dict, list[Reviewed]]:
    """The manifest and its entries, each with its file and half; refuses what the contract does not allow."""
    path = Path(folder) / "manifest.json"
    if not path.is_file():
        raise RefitRefused("no-manifest", f"{path} not found: --feedback takes the folder `loomwatch dataset pull` "
                                          f"wrote (manifest.json + normal/ + defect/)")
    manifest = json.loads(path.read_text())
    if not isinstance(manifest.get("id"), str) or len(manifest["id"]) != 64 or not isinstance(
            manifest.get("entries"), list):
        raise RefitRefused("bad-manifest", f"{path} is not a data set manifest (a 64-hex `id` and `entries`): "
                                           f"pull the snapshot again")
    frames = []
    for e in manifest["entries"]:
        if e.get("label") not in NORMAL_LABELS + DEFECT_LABELS:
            raise RefitRefused("bad-manifest", f"{path}: entry {e.get('frameId')} has label {e.get('label')!r}, "
                                               f"not one of {', '.join(NORMAL_LABELS + DEFECT_LABELS)}")
        file = Path(folder) / e["path"]
        if not file.is_file():
            raise RefitRefused("missing-frame", f"{file} (entry {e['frameId']}) is not there: pull the snapshot "
                                                f"again (`loomwatch dataset pull`)")
        frames.append(Reviewed(e["frameId"], e["label"], e.get("fabricCode"), file, half_of(e["frameId"])))
    return manifest, frames


def parent_graph(vdir: Path, cfg: PatchCoreConfig, edge: int) -> tuple[RoutedPatchCoreMap, list[torch.Tensor]]:
    """The parent's routed graph rebuilt in PyTorch from its ONNX initializers (banks, scales, profile)."""
    import onnx
    from onnx import numpy_helper
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(vdir / "model.onnx")).graph.initializer}
    bank_name = next((n for n in inits if n == "bank" or n.startswith("bank.")), None)
    if bank_name is None or not {"offsets", "scales", "profile"} <= set(inits):
        raise RefitRefused("parent-not-routed", f"{vdir / 'model.onnx'} has no routed banks (bank, offsets, scales, "
                                                f"profile): refit needs a version fitted by fit-patchcore-fabrics")
    bank = torch.from_numpy(inits[bank_name].astype(np.float32))
    offsets = inits["offsets"].tolist()
    banks = [bank[a:b].contiguous() for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    features = FeatureExtractor(cfg.blocks, cfg.pool, reflect_pad=cfg.reflect_pad, backbone=cfg.backbone)
    graph = RoutedPatchCoreMap(features, banks, inits["scales"].tolist(), cfg.sigma, edge,
                               torch.from_numpy(inits["profile"]))
    return graph, banks


def extend_coreset(bank: torch.Tensor, new: torch.Tensor, n: int, cfg: PatchCoreConfig) -> torch.Tensor:
    """Greedy k-center continued from a bank: n rows of new, each in turn the one farthest from the bank and the
    rows taken so far (distances in the coreset's random projection). Returns their indices into new."""
    g = torch.Generator().manual_seed(cfg.seed)
    proj = torch.randn(bank.shape[1], cfg.projection_dim, generator=g) / cfg.projection_dim ** 0.5
    zb, z = bank @ proj, new @ proj
    norms = (z * z).sum(1)
    nearest = nearest_distance(z, zb) ** 2
    chosen = torch.empty(n, dtype=torch.long)
    for i in range(n):
        chosen[i] = idx = int(torch.argmax(nearest))
        torch.minimum(nearest, norms - 2 * torch.mv(z, z[idx]) + norms[idx], out=nearest)
    return chosen


def absorb(bank: torch.Tensor, new: torch.Tensor | None, n: int, cfg: PatchCoreConfig,
           pool: int) -> torch.Tensor:
    """The bank + n of the new patches (of a random pool of them), chosen by extend_coreset: every memory patch of
    the parent stays, and the new ones are those the bank covers worst."""
    if new is None or not len(new) or n <= 0:
        return bank
    new = new.float()
    if len(new) > pool:
        new = new[torch.randperm(len(new), generator=torch.Generator().manual_seed(cfg.seed))[:pool]]
    return torch.cat([bank, new[extend_coreset(bank, new, min(n, len(new)), cfg)]]).contiguous()


def absorb_all(parent: list[torch.Tensor], new: dict[int, torch.Tensor], cfg: PatchCoreConfig,
               pool: int) -> tuple[list[torch.Tensor], int]:
    """Every fabric bank absorbs coreset_ratio of its new patches; the fallback (last) as many as the bank that grew
    most, chosen from the patches the fabric banks took (+ those of frames with no or an unknown fabric code).
    Returns (the banks, how many rows the fabric banks gained)."""
    fb = len(parent) - 1

    def share(x: torch.Tensor | None) -> int:
        return 0 if x is None else max(1, round(cfg.coreset_ratio * len(x)))
    banks = [absorb(b, new.get(i), share(new.get(i)), cfg, pool) for i, b in enumerate(parent[:-1])]
    grown = [nb[len(b):] for nb, b in zip(banks, parent[:-1], strict=True)]
    taken = torch.cat(grown + ([new[fb].float()] if fb in new else []))
    n = max([len(x) for x in grown] + [share(new.get(fb))])
    return [*banks, absorb(parent[fb], taken, n, cfg, pool)], sum(len(x) for x in grown)


def refit(*, feedback: Path, parent: str, version: str | None, data: Path, split: Path, folds: int = 4,
          pool: int = 40_000, threads: int = 2, tile: int = 256, registry: Path | None = None,
          parent_registry: Path | None = None, tolerance: float = AUROC_TOLERANCE, mlflow: bool = True,
          log=print) -> dict:
    torch.set_num_threads(threads)
    t0 = time.time()
    name, _, parent_version = parent.partition("@")
    pdir = version_dir(name, parent_version, parent_registry or REGISTRY_DIR)
    if not (pdir / "model.json").is_file():
        raise RefitRefused("no-parent", f"{pdir} holds no model: --parent takes <name>@<version> of the registry")
    pcard = read_card(pdir)
    routing = pcard.get("routing")
    if not routing or not all((pdir / "eval" / f).is_file() for f in ("fit.json", "operating_points.json")):
        raise RefitRefused("parent-not-routed", f"{name}@{parent_version} has no routing, eval/fit.json or "
                                                f"eval/operating_points.json: refit a fit-patchcore-fabrics version")
    manifest, reviewed = read_snapshot(feedback)
    version = version or f"{parent_version.split('-')[0]}-refit.{manifest['id'][:8]}"
    vdir = version_dir(name, version, registry or REGISTRY_DIR)
    if (vdir / "model.json").exists():
        raise RefitRefused("version-exists", f"{vdir} already holds a model: versions are immutable, choose another "
                                             f"--version")
    fit = json.loads((pdir / "eval" / "fit.json").read_text())
    cfg = PatchCoreConfig(**{**fit["config"], "blocks": tuple(fit["config"]["blocks"])})
    edge = int(fit["edge"])
    graph0, parent_banks = parent_graph(pdir, cfg, edge)
    fallback = routing["fallback"]

    def bank_of(fabric: str | None) -> int:
        return routing["fabrics"].get(fabric, fallback)

    # features and tiles of every reviewed frame (4096 × 256 frames, as the engine tiles them)
    tiles: dict[str, np.ndarray] = {}
    for r in reviewed:
        img = read_gray(r.path)
        if img.shape[0] * img.shape[1] // (tile * tile) != 16 or img.shape[0] % tile or img.shape[1] % tile:
            raise RefitRefused("frame-size", f"{r.path} is {img.shape[1]}×{img.shape[0]}: refit takes the "
                                             f"4096 × 256 frames the engine scores as 16 tiles")
        tiles[r.frame_id] = to_tiles(img, tile)
    fit_normals = [r for r in reviewed if r.half == "fit" and not r.defect]
    feats = {r.frame_id: extract(graph0.features, tiles[r.frame_id]).to(torch.float16) for r in fit_normals}
    log(f"  features of {len(fit_normals)} reviewed normals (fit half of {len(reviewed)}) · {time.time() - t0:.0f}s")

    # the rebuilt parent must be the parent: same map as its ONNX on a reviewed frame
    proutes = onnx_routes(pdir / "model.onnx", threads)
    probe = reviewed[0] if reviewed else None
    if probe is not None:
        b = bank_of(probe.fabric)
        with torch.no_grad():
            mine = graph0(torch.from_numpy(tiles[probe.frame_id]), torch.tensor([b])).numpy()
        diff = float(np.abs(proutes(b)(tiles[probe.frame_id]) - mine).max())
        if diff > 1e-4:
            raise RefitRefused("parent-mismatch", f"the parent rebuilt from {pdir / 'model.onnx'} differs from it by "
                                                  f"{diff:.2e} (> 1e-4): the backbone weights installed are not the "
                                                  f"parent's; run models/setup.sh")

    def rebuilt(banks: list[torch.Tensor]) -> RoutedPatchCoreMap:
        return RoutedPatchCoreMap(graph0.features, banks, graph0.scales.tolist(), cfg.sigma, edge, graph0.profile)

    # out of fold: per bank, the reviewed normals in `folds` blocks (by frameId hash); block k scored against
    # banks that absorbed the other blocks
    groups: dict[int, list[Reviewed]] = {}
    for r in sorted(fit_normals, key=lambda r: hashlib.sha256(r.frame_id.encode()).hexdigest()):
        groups.setdefault(bank_of(r.fabric), []).append(r)
    blocks = {b: [list(x) for x in np.array_split(np.arange(len(rs)), min(folds, len(rs)))] for b, rs in groups.items()}
    oof: dict[str, tuple[float, float]] = {}
    for k in range(max((len(v) for v in blocks.values()), default=0)):
        held = {rs[i].frame_id for b, rs in groups.items() if k < len(blocks[b]) for i in blocks[b][k]}
        new = {b: torch.cat([feats[r.frame_id] for r in rs if r.frame_id not in held])
               for b, rs in groups.items() if any(r.frame_id not in held for r in rs)}
        g = rebuilt(absorb_all(parent_banks, new, cfg, pool)[0])
        for r in fit_normals:
            if r.frame_id in held:
                t = tiles[r.frame_id]
                oof[r.frame_id] = (frame_score(g, feats[r.frame_id], t, bank_of(r.fabric)),
                                   frame_score(g, feats[r.frame_id], t, fallback))
        log(f"  out-of-fold block {k + 1}: {len(held)} reviewed normals · {time.time() - t0:.0f}s")

    new_all = {b: torch.cat([feats[r.frame_id] for r in rs]) for b, rs in groups.items()}
    banks, added = absorb_all(parent_banks, new_all, cfg, pool)
    graph = rebuilt(banks)
    fit_seconds = time.time() - t0
    onnx_path = export_graph(graph, vdir / "model.onnx", tile, fold_constants=False, routed=True)
    routes = onnx_routes(onnx_path, threads)
    diffs = []
    for r in reviewed[:2]:
        b = bank_of(r.fabric)
        with torch.no_grad():
            pt = graph(torch.from_numpy(tiles[r.frame_id]), torch.tensor([b])).numpy()
        diffs.append(float(np.abs(routes(b)(tiles[r.frame_id]) - pt).max()))
    diff = max(diffs, default=0.0)
    log(f"parity onnxruntime vs PyTorch: max abs diff {diff:.2e}")
    if diff > 1e-4:
        raise RefitRefused("parity", f"parity failed: max abs diff {diff:.2e} > 1e-4")

    # validation: the split's frames that are not in the data set (by decoded pixels)
    train, val, split_hash = load_split(Path(split), data)
    reviewed_pixels = {hashlib.sha256(t.tobytes()).hexdigest() for t in tiles.values()}
    val = [f for f in val if hashlib.sha256(to_tiles(read_gray(f.path), tile).tobytes()).hexdigest()
           not in reviewed_pixels]
    log(f"evaluating {len(val)} validation frames (those not in the data set), each routed by its fabric ...")
    m = evaluate(val, fabric_router(routes, routing), vdir / "eval", 1, tile, log=log, routed=True)
    rows = json.loads((vdir / "eval" / "scores.json").read_text())
    for row, f in zip(rows, val, strict=True):
        if not f.label:
            row["fallbackScore"] = float(anomaly_map(read_gray(f.path), routes(fallback), tile).max())

    # operating points: the parent's out-of-fold training normals + the reviewed normals out of fold
    by_rel = {f.relpath: f.fabric for f in train}
    parent_oof = json.loads((pdir / "eval" / "operating_points.json").read_text())["outOfFold"]
    calibrated = [Calibrated(rel, by_rel[rel]) for rel in parent_oof if rel in by_rel]
    scores = {i: parent_oof[c.relpath]["score"] for i, c in enumerate(calibrated)}
    fallback_scores = {i: parent_oof[c.relpath]["fallbackScore"] for i, c in enumerate(calibrated)}
    for r in fit_normals:
        i = len(calibrated)
        calibrated.append(Calibrated(r.relpath, r.fabric if r.fabric in routing["fabrics"] else "(unrouted)"))  # type: ignore[arg-type]
        scores[i], fallback_scores[i] = oof[r.frame_id]
    fabrics = sorted(routing["fabrics"])
    ops = calibrate_operating_points(calibrated, scores, fallback_scores, rows, fabrics, vdir, log)

    # the gate
    thresholds = {fab: ops["fabrics"][fab] for fab in fabrics}
    from .operating_points import default_threshold
    cand_t = {fab: default_threshold(p) for fab, p in thresholds.items()}
    cand_pooled = default_threshold(ops["pooled"])
    pp = pcard["postprocess"]
    par_t = {fab: c["imageThreshold"] for fab, c in (pp.get("fabrics") or {}).items()}
    par_pooled = pp["imageThreshold"]
    snapshot_rows = []
    for r in reviewed:
        if r.half == "fit" and not r.defect:
            continue                            # in the banks: never measured
        b = bank_of(r.fabric)
        ps = float(proutes(b)(tiles[r.frame_id]).max())
        cs = float(routes(b)(tiles[r.frame_id]).max())
        pt, ct = par_t.get(r.fabric or "", par_pooled), cand_t.get(r.fabric or "", cand_pooled)
        snapshot_rows.append({"frameId": r.frame_id, "label": r.label, "fabric": r.fabric, "half": r.half,
                              "parent": {"score": ps, "threshold": pt, "flagged": ps >= pt},
                              "candidate": {"score": cs, "threshold": ct, "flagged": cs >= ct}})
    gate = decide(rows, snapshot_rows, pdir, proutes, routing, val, tile, tolerance)
    (vdir / "eval" / "gate.json").write_text(json.dumps({**gate, "frames": snapshot_rows}, indent=1) + "\n")
    held_out = [r for r in reviewed if r.half == "held-out"]
    lineage = {
        "parent": {"name": name, "version": parent_version},
        "snapshot": {"id": manifest["id"], **({"parent": manifest["parent"]} if manifest.get("parent") else {})},
        "method": (f"the reviewed normals of the fit half (sha256(frameId) even) absorbed into their fabric's bank "
                   f"(the parent's bank + {cfg.coreset_ratio:.1%} of their patches, greedy k-center continued from "
                   f"the bank) and into the calibration out of fold ({folds} blocks per bank); the parent's "
                   f"out-of-fold training scores kept; reviewed defects and the held-out half only measured (gate)"),
        "counts": {"reviewed": len(reviewed), "bankNormals": len(fit_normals),
                   "heldOutNormals": sum(not r.defect for r in held_out),
                   "defects": sum(r.defect for r in reviewed), "heldOutDefects": sum(r.defect for r in held_out),
                   "patchesAdded": added},
        "gate": gate,
    }
    verdict = "passed" if gate["passed"] else "refused: " + "; ".join(gate["reasons"])
    out = write_release(
        name=name, version=version, vdir=vdir, onnx_path=onnx_path, graph=graph, cfg=cfg, m=m, ops=ops,
        routing=routing, fabrics=fabrics, edge=edge, folds=folds, diff=diff, fit_seconds=fit_seconds, data=data,
        split_hash=split_hash, tile=tile, train_frames=int(fit.get("trainingFrames", len(train))), mlflow=mlflow,
        log=log, lineage=lineage,
        description=(f"{pcard.get('description', name)}; refitted from {name}@{parent_version} with the reviewed "
                     f"frames of snapshot {manifest['id'][:12]}"),
        notes_prefix=(f"Refit of {name}@{parent_version} (models/lw refit --feedback): {len(fit_normals)} reviewed "
                      f"normals absorbed ({added} memory patches), thresholds recalibrated with them out of fold; "
                      f"gate {verdict}. The parent's description follows. "))
    return {**out, "gate": gate, "lineage": lineage}


def decide(rows: list[dict], snapshot_rows: list[dict], pdir: Path, proutes, routing: dict, val, tile: int,
           tolerance: float) -> dict:
    """The gate's figures and its reasons to refuse (none: passed)."""
    from sklearn.metrics import roc_auc_score
    stored = {r["file"]: r["score"] for r in json.loads((pdir / "eval" / "scores.json").read_text())}
    router = fabric_router(proutes, routing)
    parent_scores = [stored[f.relpath] if f.relpath in stored
                     else float(anomaly_map(read_gray(f.path), router(f.fabric), tile).max()) for f in val]
    labels = [r["label"] for r in rows]
    reasons = []
    if len(set(labels)) < 2:
        raise RefitRefused("no-validation", "the validation frames not in the data set are all of one label: "
                                            "the gate cannot compare the image AUROC")
    va_parent = float(roc_auc_score(labels, parent_scores))
    va_cand = float(roc_auc_score(labels, [r["score"] for r in rows]))
    if va_cand < va_parent - tolerance:
        reasons.append(f"validation image AUROC {va_cand:.4f} is below the parent's {va_parent:.4f} by more than "
                       f"{tolerance}")

    def counts(defect: bool) -> dict:
        mine = [r for r in snapshot_rows if r["half"] == "held-out" and (r["label"] in DEFECT_LABELS) == defect]
        return {"parent": sum(r["parent"]["flagged"] for r in mine),
                "candidate": sum(r["candidate"]["flagged"] for r in mine), "frames": len(mine)}
    fa, det = counts(False), counts(True)
    if not fa["frames"]:
        reasons.append("the held-out half has no reviewed normal: nothing shows the refit helps; review more frames")
    elif fa["candidate"] >= fa["parent"]:
        reasons.append(f"held-out false alarms {fa['candidate']} of {fa['frames']} are not fewer than the parent's "
                       f"{fa['parent']}")
    if det["candidate"] < det["parent"]:
        reasons.append(f"held-out reviewed defects detected {det['candidate']} of {det['frames']}, fewer than the "
                       f"parent's {det['parent']}")
    return {"passed": not reasons, "reasons": reasons,
            "validation": {"parent": va_parent, "candidate": va_cand, "tolerance": tolerance, "frames": len(rows)},
            "heldOut": {"falseAlarms": fa, "detected": det}}
