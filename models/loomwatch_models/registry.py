"""Model registry: models/registry/<name>/<version>/{model.onnx, model.json}, production.json per name.

The card's shape is a contract with the TypeScript side (zod): keep field names exactly.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

from .data import sha256_file
from .export import INPUT_NAME, OPSET, OUTPUT_NAME
from .paths import REGISTRY_DIR

METRIC_KEYS = ("imageAuroc", "pixelAuroc", "detectionRate", "falseAlarmRate", "pro", "split", "frames")
OPTIONAL_METRIC_KEYS = ("fabricCalibrated",)     # image AUROC / rates with postprocess.fabrics applied
ARCHITECTURE_KEYS = {
    "draem": {"family", "reconstructiveWidth", "discriminativeWidth", "parameters"},
    "patchcore": {"family", "backbone", "blocks", "featureDims", "bankSize", "coresetRatio", "parameters"},
}
TRAINING_KEYS = ("steps", "wallTimeSec", "seed", "dataHash", "splitHash", "cropSize", "batchSize")


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def empty_metrics() -> dict[str, Any]:
    return {k: None for k in METRIC_KEYS}


def draem_architecture(reconstructive_width: int, discriminative_width: int, parameters: int) -> dict[str, Any]:
    return {"family": "draem", "reconstructiveWidth": reconstructive_width,
            "discriminativeWidth": discriminative_width, "parameters": parameters}


def build_card(*, name: str, version: str, description: str, onnx_path: Path, architecture: dict[str, Any],
               flops_per_tile: int, tile: int,
               image_threshold: float, pixel_threshold: float, norm_min: float, norm_max: float,
               smoothing_kernel: int = 21, metrics: dict | None = None, training: dict | None = None,
               notes: str = "") -> dict[str, Any]:
    onnx_path = Path(onnx_path)
    card = {
        "schemaVersion": 1,
        "name": name,
        "version": version,
        "createdAt": now_iso(),
        "description": description,
        "onnx": {"file": onnx_path.name, "sha256": sha256_file(onnx_path), "bytes": onnx_path.stat().st_size,
                 "opset": OPSET},
        "architecture": architecture,
        "input": {"name": INPUT_NAME, "channels": 1, "tileSize": tile, "layout": "NCHW",
                  "scale": 1 / 255, "offset": 0},
        "output": {"name": OUTPUT_NAME, "layout": "NCHW", "channels": 1, "anomalyChannel": 0},
        "postprocess": {"smoothingKernel": smoothing_kernel, "imageThreshold": float(image_threshold),
                        "pixelThreshold": float(pixel_threshold),
                        "normalization": {"min": float(norm_min), "max": float(norm_max)}},
        "flopsPerTile": int(flops_per_tile),
        "metrics": {**empty_metrics(), **(metrics or {})},
        "training": training,
        "notes": notes,
    }
    validate_card(card)
    return card


def validate_card(card: dict[str, Any]) -> None:
    """The checks the TypeScript zod schema makes, so a bad card fails here first."""
    def need(cond: bool, what: str) -> None:
        if not cond:
            raise ValueError(f"model card {card.get('name')}@{card.get('version')}: {what}")

    def num(x) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)

    need(card["schemaVersion"] == 1, "schemaVersion must be 1")
    family = card["architecture"]["family"]
    need(family in ARCHITECTURE_KEYS, f"architecture.family must be one of {sorted(ARCHITECTURE_KEYS)}")
    need(set(card["architecture"]) == ARCHITECTURE_KEYS[family],
         f"architecture keys of a {family} card must be {sorted(ARCHITECTURE_KEYS[family])}")
    need(set(METRIC_KEYS) <= set(card["metrics"]) <= set(METRIC_KEYS + OPTIONAL_METRIC_KEYS),
         f"metrics keys must be {METRIC_KEYS} (+ optional {OPTIONAL_METRIC_KEYS})")
    need(card["training"] is None or set(card["training"]) == set(TRAINING_KEYS),
         f"training keys must be {TRAINING_KEYS}")
    pp = card["postprocess"]
    calibrations = [("postprocess", pp)] + [(f"postprocess.fabrics.{f}", c) for f, c in pp.get("fabrics", {}).items()]
    for where, calib in calibrations:
        lo, hi = calib["normalization"]["min"], calib["normalization"]["max"]
        need(all(num(v) and 0 <= v <= 1 for v in (lo, hi, calib["imageThreshold"], calib["pixelThreshold"])),
             f"{where}: thresholds and normalization must be numbers in [0, 1]")
        need(lo < calib["imageThreshold"] < hi or calib["imageThreshold"] == hi == 1.0,
             f"{where}: normalization.min < imageThreshold < normalization.max must hold")
    need(pp["smoothingKernel"] % 2 == 1, "smoothingKernel must be odd")
    need(card["onnx"]["opset"] >= 17, "opset must be >= 17")


def version_dir(name: str, version: str, registry: Path = REGISTRY_DIR) -> Path:
    return Path(registry) / name / version


def write_card(card: dict[str, Any], directory: Path) -> Path:
    validate_card(card)
    path = Path(directory) / "model.json"
    path.write_text(json.dumps(card, indent=2) + "\n")
    return path


def read_card(directory: Path) -> dict[str, Any]:
    return json.loads((Path(directory) / "model.json").read_text())


def production(name: str, registry: Path = REGISTRY_DIR) -> dict[str, Any] | None:
    p = Path(registry) / name / "production.json"
    return json.loads(p.read_text()) if p.exists() else None


def beats(new: dict[str, Any], cur: dict[str, Any]) -> tuple[bool, str]:
    """Promotion gate on validation metrics: higher image AUROC, and pixel AUROC not lower by > 0.01.

    Missing metrics never beat measured ones.
    """
    n, c = new["metrics"], cur["metrics"]
    if c.get("imageAuroc") is None:
        return (True, "current production has no measured image AUROC")
    if n.get("imageAuroc") is None:
        return (False, "candidate has no measured image AUROC")
    if n["imageAuroc"] <= c["imageAuroc"]:
        return (False, f"image AUROC {n['imageAuroc']:.4f} does not beat {c['imageAuroc']:.4f}")
    if c.get("pixelAuroc") is not None and (n.get("pixelAuroc") or 0) < c["pixelAuroc"] - 0.01:
        return (False, f"pixel AUROC {n.get('pixelAuroc')} is more than 0.01 below {c['pixelAuroc']:.4f}")
    return (True, f"image AUROC {n['imageAuroc']:.4f} > {c['imageAuroc']:.4f}"
                  + (f", pixel AUROC {n['pixelAuroc']:.4f} vs {c['pixelAuroc']:.4f}"
                     if n.get("pixelAuroc") is not None and c.get("pixelAuroc") is not None else ""))


TARGET_IMAGE_AUROC = 0.95    # the seed's rule: "if the accuracy rate is bigger than 0.95, then we can change"


def promote(name: str, version: str, reason: str | None = None, force: bool = False,
            accept_below_target: bool = False, registry: Path = REGISTRY_DIR) -> tuple[bool, str]:
    """Marks name@version production iff it passes the gate: it beats the current production (see beats)
    and its validation image AUROC reaches TARGET_IMAGE_AUROC. A version below the target is promoted
    only with accept_below_target and a reason, which the marker records; force skips the whole gate."""
    vdir = version_dir(name, version, registry)
    card = read_card(vdir)
    if sha256_file(vdir / card["onnx"]["file"]) != card["onnx"]["sha256"]:
        return (False, f"{vdir}: model.onnx does not match the card's sha256")
    cur = production(name, registry)
    if cur and cur["version"] == version:
        return (False, f"{name}@{version} is already production")
    stays = f" (production stays {cur['version']})" if cur else " (no production version)"
    if cur and not force:
        ok, why = beats(card, read_card(version_dir(name, cur["version"], registry)))
        if not ok:
            return (False, f"gate refused {name}@{version}: {why}{stays}")
    else:
        why = "forced" if cur else "first version of this model"
    auroc = card["metrics"].get("imageAuroc")
    if not force and (auroc is None or auroc < TARGET_IMAGE_AUROC):
        measured = "not measured" if auroc is None else f"{auroc:.4f}"
        if not accept_below_target:
            return (False, f"gate refused {name}@{version}: validation image AUROC {measured} is below the target "
                           f"{TARGET_IMAGE_AUROC}{stays}; "
                           f"to ship it anyway pass --accept-below-target --reason '<why>'")
        if not reason:
            return (False, f"gate refused {name}@{version}: accepting a version below the target needs a reason")
        why = f"{why}; image AUROC {measured} is below the {TARGET_IMAGE_AUROC} target, accepted"
    marker = {"version": version, "promotedAt": now_iso(), "reason": f"{why}: {reason}" if reason else why}
    (Path(registry) / name / "production.json").write_text(json.dumps(marker, indent=2) + "\n")
    return (True, f"{name}@{version} is production: {marker['reason']}")
