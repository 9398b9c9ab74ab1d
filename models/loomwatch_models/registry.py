"""Model registry: models/registry/<name>/<version>/{model.onnx, model.json}, production.json per name.

The card's shape is a contract with the TypeScript side: the zod `ModelCard` (packages/contracts), published
as the JSON Schema docs/schemas/model-card.v1.json, which validate_card checks every card against.
"""
from __future__ import annotations

import datetime as dt
import functools
import getpass
import json
import math
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonschema import ValidationError, validators
from jsonschema.protocols import Validator

from .data import sha256_file
from .export import INPUT_NAME, OPSET, OUTPUT_NAME
from .paths import REGISTRY_DIR, REPO_ROOT

METRIC_KEYS = ("imageAuroc", "pixelAuroc", "detectionRate", "falseAlarmRate", "pro", "split", "frames")
CARD_SCHEMA = REPO_ROOT / "docs" / "schemas" / "model-card.v1.json"   # generated from the zod ModelCard


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


@functools.cache
def card_validator() -> Validator:
    """A validator of the published card schema, of the draft its $schema names (loaded once; the schema itself
    is checked)."""
    schema = json.loads(CARD_SCHEMA.read_text())
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _non_finite(x: Any, path: str) -> Iterator[str]:
    """JSON paths of NaN / ±inf numbers (JSON has none, and a JSON Schema's bounds let NaN through)."""
    if isinstance(x, float) and not math.isfinite(x):
        yield f"{path}: {x!r} is not a finite number"
    elif isinstance(x, dict):
        for k, v in x.items():
            yield from _non_finite(v, f"{path}.{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _non_finite(v, f"{path}[{i}]")


def _explain(err: ValidationError) -> list[str]:
    """'<JSON path>: <what is wrong>' for one schema error. For an anyOf/oneOf (the architecture families,
    nullable fields) the errors of the one alternative that fits the value's type and discriminator, rather
    than 'is not valid under any of the given schemas'."""
    if err.validator in ("anyOf", "oneOf") and err.context:
        branches: dict[Any, list[ValidationError]] = {}
        for e in err.context:
            branches.setdefault(e.relative_schema_path[0], []).append(e)
        here = err.absolute_path

        def rejects(e: ValidationError) -> bool:        # a wrong discriminator, or the value not of the type
            return e.validator in ("const", "enum") or (e.validator == "type" and e.absolute_path == here)
        fitting = [es for es in branches.values() if not any(rejects(e) for e in es)]
        if len(fitting) == 1:
            return [line for e in fitting[0] for line in _explain(e)]
        tags = [e for e in err.context if e.validator == "const"]
        if tags and len(tags) == len(branches) and len({e.json_path for e in tags}) == 1:   # a discriminator
            return [f"{tags[0].json_path}: {tags[0].instance!r} is none of "
                    + ", ".join(repr(e.validator_value) for e in tags)]
        return [f"{err.json_path}: matches none of the alternatives ("
                + "; ".join(sorted({f"{e.json_path}: {e.message}" for e in err.context})) + ")"]
    return [f"{err.json_path}: {err.message}"]


def validate_card(card: dict[str, Any]) -> None:
    """Validates the card against docs/schemas/model-card.v1.json, so a card the engine would refuse fails
    here first; ValueError names each failing JSON path. Then the rules the JSON Schema cannot carry:
    smoothingKernel odd (a zod refinement) and, per calibration, min < imageThreshold < max (the engine maps
    imageThreshold to 0.5 between them) and operating points ascending in rate with non-increasing thresholds."""
    problems = list(_non_finite(card, "$"))
    errors = sorted(card_validator().iter_errors(card), key=lambda e: [str(p) for p in e.absolute_path])
    problems += [line for err in errors for line in _explain(err)]
    if not problems:
        pp = card["postprocess"]
        if pp["smoothingKernel"] % 2 != 1:
            problems.append(f"$.postprocess.smoothingKernel: {pp['smoothingKernel']} must be odd")
        calibrations = [("$.postprocess", pp)] + [(f"$.postprocess.fabrics.{f}", c)
                                                  for f, c in pp.get("fabrics", {}).items()]
        for where, calib in calibrations:
            lo, hi, thr = calib["normalization"]["min"], calib["normalization"]["max"], calib["imageThreshold"]
            if not (lo < thr < hi or thr == hi == 1.0):
                problems.append(f"{where}: normalization.min < imageThreshold < normalization.max must hold "
                                f"({lo} / {thr} / {hi})")
            points = calib.get("operatingPoints", {}).get("points", [])
            for i, (a, b) in enumerate(zip(points, points[1:], strict=False), start=1):
                if not (b["falseAlarmRate"] > a["falseAlarmRate"] and b["imageThreshold"] <= a["imageThreshold"]):
                    problems.append(f"{where}.operatingPoints.points[{i}]: points ascend in falseAlarmRate with "
                                    f"non-increasing thresholds (as the engine requires)")
    if problems:
        raise ValueError(f"model card {card.get('name')}@{card.get('version')} is invalid "
                         f"(schema {CARD_SCHEMA.relative_to(REPO_ROOT)}): " + "; ".join(problems))


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
    gate = (card.get("lineage") or {}).get("gate")
    if gate and not gate["passed"] and not force:     # a refit its own gate refused (refit.py)
        return (False, f"gate refused {name}@{version}: its refit gate refused it ({'; '.join(gate['reasons'])})"
                       f"{stays}; refit from a larger snapshot, or --force")
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
    record_promotion(name, {**marker, "by": promoter(), "previous": cur["version"] if cur else None,
                            "gate": {"imageAuroc": auroc, "pixelAuroc": card["metrics"].get("pixelAuroc"),
                                     "target": TARGET_IMAGE_AUROC, "forced": force,
                                     "acceptedBelowTarget": bool(accept_below_target and not force
                                                                 and (auroc is None or auroc < TARGET_IMAGE_AUROC))}},
                     registry)
    return (True, f"{name}@{version} is production: {marker['reason']}")


def promoter() -> str:
    """Who promoted: the user and host the gate ran as (LOOMWATCH_PROMOTER overrides, e.g. a CI job's name)."""
    return os.environ.get("LOOMWATCH_PROMOTER") or f"{getpass.getuser()}@{socket.gethostname()}"


def record_promotion(name: str, entry: dict[str, Any], registry: Path = REGISTRY_DIR) -> None:
    """Appends one line to models/registry/<name>/promotions.jsonl, the append-only history of what the gate
    promoted, when, by whom, why and on which figures. Only the gate writes it; rollouts never touch the registry."""
    with (Path(registry) / name / "promotions.jsonl").open("a") as history:
        history.write(json.dumps(entry, sort_keys=True) + "\n")


def promotions(name: str, registry: Path = REGISTRY_DIR) -> list[dict[str, Any]]:
    """The promotion history of a model, oldest first."""
    p = Path(registry) / name / "promotions.jsonl"
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()] if p.exists() else []
