"""The review-loop scenario's before/after measurement (issue 33): `models/lw loop-eval`.

A parent and the candidate refitted from it decide the same frames through the TypeScript engine
(`loomwatch infer`, the worker's code path, engine_eval.py), each with its fabric code and at its own card's
thresholds (the 5 % points per fabric):

- the split's validation frames — held out: never streamed, never reviewed, in neither version's banks —
  false alarms / normals and detected / defects, per fabric and in total, each with its Wilson 95 % interval;
- the split's `stream` normals (make_loop_split) — what the line produced and operators reviewed: for the
  candidate IN-SAMPLE (the reviewed normals of the refit's fit half are in its banks and its thresholds), so
  they show what the reviews taught it, never how it generalises;
- the held-out frames once more at validation-free thresholds (`heldOutValidationFree`): the card's rule fed
  with each version's out-of-fold calibration scores only. A card's thresholds also use the validation
  normals' scores (release_fabric_banks.py, refit.py), so `heldOut` is in-sample in its thresholds, this is not.

Writes the JSON (figures, thresholds, the candidate's lineage and gate, every frame's verdict) and a PNG beside
it: bars before/after per fabric.
"""
from __future__ import annotations

import json
import math
import subprocess
from collections import defaultdict
from pathlib import Path

import numpy as np

from .data import load_split, load_stream, sha256_file
from .engine_eval import engine_verdicts
from .operating_points import DEFAULT_RATE, threshold_for
from .paths import REGISTRY_DIR
from .registry import read_card, version_dir

Z95 = 1.959963984540054
STREAM_NOTE = ("stream normals: the frames the scenario streamed and operators reviewed; IN-SAMPLE for the candidate "
               "(the reviewed normals of its refit's fit half are in its banks and its thresholds), out of sample for "
               "the parent (fitted on the split's train frames only)")

VALIDATION_FREE_NOTE = ("the held-out frames again, each version's thresholds recomputed by the card's rule at 5 % "
                        "from its out-of-fold calibration scores only (eval/operating_points.json outOfFold: training "
                        "normals, + reviewed normals for a refit): the card's thresholds also use the validation "
                        "normals' scores, so `heldOut` is in-sample in its thresholds, this is not")


class LoopEvalError(Exception):
    """A loop-eval that cannot run; `code` is stable, the message says what to do."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of k successes in n trials ((0, 1) for n = 0)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion(k: int, n: int) -> dict:
    """k of n with its rate (None for n = 0) and Wilson 95 % interval."""
    lo, hi = wilson(k, n)
    return {"count": k, "frames": n, "rate": k / n if n else None, "low": round(lo, 4), "high": round(hi, 4)}


def summarize_verdicts(rows: list[dict]) -> dict:
    """Rows {fabric, label (0 normal, 1 defect), verdict ('ok' | 'defect')} -> false alarms / normals and
    detected / defects in total and per fabric, each a proportion()."""
    def part(mine: list[dict]) -> dict:
        normals = [r for r in mine if r["label"] == 0]
        defects = [r for r in mine if r["label"] == 1]
        return {"falseAlarms": proportion(sum(r["verdict"] == "defect" for r in normals), len(normals)),
                "detected": proportion(sum(r["verdict"] == "defect" for r in defects), len(defects))}
    by_fabric: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_fabric[r["fabric"]].append(r)
    return {"total": part(rows), "perFabric": {fab: part(by_fabric[fab]) for fab in sorted(by_fabric)}}


def calibration_fabric(relpath: str) -> str:
    """The fabric of a calibration frame in operating_points.json's outOfFold: 'normal/<roll>/NNNN_000_FF.png'
    (a training normal) or 'feedback/<fabric>/<frameId>.png' (a reviewed normal, refit.py)."""
    parts = relpath.split("/")
    return parts[1] if parts[0] == "feedback" else Path(parts[-1]).stem[-2:]


POOLED = "pooled"


def validation_free_thresholds(vdir: Path) -> dict[str, float]:
    """Per fabric, the card's rule at the default rate fed with the out-of-fold scores only (the training normals
    and, for a refit, the reviewed normals) — the validation normals, which the card's thresholds also use, left
    out, so the held-out figures at these thresholds are out of sample. POOLED: the same from every frame's
    fallback-bank score, for a frame of a fabric without a bank (08), as the engine routes it."""
    oof = json.loads((vdir / "eval" / "operating_points.json").read_text())["outOfFold"]
    by_fabric: dict[str, list[float]] = defaultdict(list)
    for rel, s in oof.items():
        by_fabric[calibration_fabric(rel)].append(s["score"])
    out = {fab: threshold_for(np.array(v), DEFAULT_RATE) for fab, v in sorted(by_fabric.items()) if len(v) > 1}
    return {**out, POOLED: threshold_for(np.array([s["fallbackScore"] for s in oof.values()]), DEFAULT_RATE)}


def at_thresholds(rows: list[dict], thresholds: dict[str, float]) -> list[dict]:
    """The rows decided again at other per-fabric thresholds (score ≥ threshold: defect); a fabric without one
    (no bank: the engine scored it with the fallback bank) at thresholds[POOLED]."""
    def t(r: dict) -> float:
        return thresholds[r["fabric"]] if r["fabric"] in thresholds else thresholds[POOLED]
    return [{**r, "threshold": t(r), "verdict": "defect" if r["score"] >= t(r) else "ok"} for r in rows]


def resolve(ref: str, registry: Path) -> Path:
    """<name>@<version> -> its directory in registry; refuses what is not there."""
    name, at, version = ref.partition("@")
    if not at or not name or not version:
        raise LoopEvalError("bad-ref", f"{ref!r} is not <name>@<version> (e.g. patchcore-aitex@1.2.0-loop.1)")
    vdir = version_dir(name, version, registry)
    if not (vdir / "model.json").is_file():
        raise LoopEvalError("no-version", f"{vdir} holds no model.json: check --registry and the version")
    return vdir


def loop_eval(*, parent: str, candidate: str, registry: Path = REGISTRY_DIR, data: Path, split: Path, out: Path,
              fabrics: list[str] | None = None, threads: int = 2, log=print) -> dict:
    pdir, cdir = resolve(parent, registry), resolve(candidate, registry)
    _, val, _ = load_split(split, data)
    stream = [f for f in load_stream(split, data) if not f.label]
    if fabrics:
        val = [f for f in val if f.fabric in fabrics]
        stream = [f for f in stream if f.fabric in fabrics]
    if not val:
        raise LoopEvalError("no-frames", f"{split} has no validation frame of fabric(s) {fabrics}: check --fabric")
    held = {f.relpath for f in val}
    result: dict = {"parent": parent, "candidate": candidate, "split": {"file": Path(split).name,
                                                                       "sha256": sha256_file(split)},
                    "heldOut": {}, "stream": {"note": STREAM_NOTE}, "thresholds": {}, "frames": {},
                    "heldOutValidationFree": {"note": VALIDATION_FREE_NOTE, "thresholds": {}}}
    for role, vdir in (("parent", pdir), ("candidate", cdir)):
        log(f"{role} {vdir.parent.name}@{vdir.name}: {len(val)} validation + {len(stream)} stream frames")
        # the worker's decision at the card's own thresholds; a --model with a "/" is a version directory
        try:
            rows = engine_verdicts(str(vdir), val + stream, None, threads, log)
        except subprocess.CalledProcessError as e:
            raise LoopEvalError("engine-failed", f"loomwatch infer on {vdir} exited {e.returncode}: "
                                                 f"{(e.stderr or '').strip()[-600:]} — build the workspace (pnpm -r "
                                                 f"build) and run again") from e
        mine = [r for r in rows if r["file"] in held]
        result["heldOut"][role] = summarize_verdicts(mine)
        result["stream"][role] = summarize_verdicts([r for r in rows if r["file"] not in held])
        card = read_card(vdir)
        result["thresholds"][role] = {fab: c["imageThreshold"]
                                      for fab, c in sorted((card["postprocess"].get("fabrics") or {}).items())}
        free = validation_free_thresholds(vdir)
        result["heldOutValidationFree"][role] = summarize_verdicts(at_thresholds(mine, free))
        result["heldOutValidationFree"]["thresholds"][role] = free
        result["frames"][role] = [{**r, "heldOut": r["file"] in held} for r in rows]
        if role == "candidate" and card.get("lineage"):
            result["lineage"] = card["lineage"]
    before, after = result["heldOut"]["parent"]["total"], result["heldOut"]["candidate"]["total"]
    result["verdict"] = {"falseAlarmsFewer": after["falseAlarms"]["count"] < before["falseAlarms"]["count"],
                         "detectionNotLower": after["detected"]["count"] >= before["detected"]["count"]}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    png = plot(result, out.with_suffix(".png"))
    for role in ("parent", "candidate"):
        h, s = result["heldOut"][role]["total"], result["stream"][role]["total"]
        log(f"{result[role]}: held-out false alarms {h['falseAlarms']['count']}/{h['falseAlarms']['frames']}, detected "
            f"{h['detected']['count']}/{h['detected']['frames']}; stream false alarms "
            f"{s['falseAlarms']['count']}/{s['falseAlarms']['frames']}")
    log(f"wrote {out} and {png}")
    return result


def plot(result: dict, path: Path) -> Path:
    """Bars before (parent) / after (candidate) per fabric and in total, Wilson 95 % intervals as error bars:
    held-out false alarms and detection at the cards' thresholds, stream false alarms (in-sample for the
    candidate), held-out false alarms and detection at validation-free thresholds."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = [("heldOut", "falseAlarms", "false alarms, held-out normals\n(the cards' thresholds)"),
              ("heldOut", "detected", "detected, held-out defects\n(the cards' thresholds)"),
              ("stream", "falseAlarms", "false alarms, stream normals\n(in-sample for the candidate)"),
              ("heldOutValidationFree", "falseAlarms", "false alarms, held-out normals\n(validation-free thresholds)"),
              ("heldOutValidationFree", "detected", "detected, held-out defects\n(validation-free thresholds)")]
    fig, grid = plt.subplots(2, 3, figsize=(15, 8.4))
    axes = grid.ravel()
    axes[-1].axis("off")
    for ax, (where, what, title) in zip(axes, panels, strict=False):
        per = result[where]["parent"]["perFabric"]
        keys = [f for f in per if per[f][what]["frames"]] + ["all"]
        x = np.arange(len(keys))
        for j, role in enumerate(("parent", "candidate")):
            s = result[where][role]
            props = [s["total"][what] if k == "all" else s["perFabric"][k][what] for k in keys]
            rate = np.array([p["rate"] or 0.0 for p in props])
            err = np.array([[r - p["low"] for r, p in zip(rate, props, strict=True)],
                            [p["high"] - r for r, p in zip(rate, props, strict=True)]])
            bars = ax.bar(x + (j - 0.5) * 0.38, rate, 0.38, yerr=err, capsize=2,
                          label=f"{'before' if role == 'parent' else 'after'}: {result[role]}")
            for b, p in zip(bars, props, strict=True):
                ax.text(b.get_x() + b.get_width() / 2, 0.01, f"{p['count']}/{p['frames']}", ha="center", va="bottom",
                        fontsize=6, rotation=90)
        ax.set_xticks(x, [k if k == "all" else f"fabric {k}" for k in keys], rotation=45, fontsize=7)
        ax.set_ylim(0, 1.05); ax.set_title(title, fontsize=9); ax.set_ylabel("rate (Wilson 95 %)")
    axes[0].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
