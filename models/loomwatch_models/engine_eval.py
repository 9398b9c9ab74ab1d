"""Evaluate a version as the line runs (issue 30 §7): every validation frame through the TypeScript
engine (`loomwatch infer`, the worker's code path) with its fabric code — the verdicts a plant would
get — at a deployment's false-alarm rate. Writes eval/engine[-<rate>].json: image AUROC of the engine's
scores, detection and false alarms of its verdicts, per fabric and per defect code, and the largest
difference to the Python scores of eval/scores.json.
"""
from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from pathlib import Path

import numpy as np

from .data import load_split
from .paths import REPO_ROOT
from .registry import version_dir


def engine_verdicts(ref: str, frames, rate: float | None, threads: int = 2, log=print) -> list[dict]:
    pnpm = REPO_ROOT / ".loomwatch" / "tools" / "bin" / "pnpm"
    by_fabric: dict[str, list] = defaultdict(list)
    for f in frames:
        by_fabric[f.fabric].append(f)
    rows = []
    for fab, group in sorted(by_fabric.items()):
        cmd = [str(pnpm), "--silent", "loomwatch", "infer", "--model", ref, "--fabric", fab, "--threads", str(threads),
               *([] if rate is None else ["--false-alarm-rate", str(rate)]), *[str(f.path) for f in group]]
        out = subprocess.run(cmd, cwd=REPO_ROOT, check=True, capture_output=True, text=True).stdout
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        for f, r in zip(group, lines, strict=True):
            rows.append({"file": f.relpath, "fabric": fab, "label": int(f.label), "code": f.code, "score": r["score"],
                         "threshold": r["threshold"], "verdict": r["verdict"], "calibration": r["calibration"]})
        log(f"  fabric {fab}: {len(group)} frames through the engine")
    return rows


def summarize(rows: list[dict]) -> dict:
    from sklearn.metrics import roc_auc_score
    lab = np.array([r["label"] for r in rows]); s = np.array([r["score"] for r in rows])
    flagged = np.array([r["verdict"] == "defect" for r in rows])

    def part(sel) -> dict:
        d, n = sel & (lab == 1), sel & (lab == 0)
        return {"defects": int(d.sum()), "detected": int(flagged[d].sum()), "normals": int(n.sum()),
                "falseAlarms": int(flagged[n].sum()),
                "imageAuroc": float(roc_auc_score(lab[sel], s[sel])) if d.any() and n.any() else None}
    fab = np.array([r["fabric"] for r in rows]); code = np.array([r["code"] for r in rows])
    return {"imageAuroc": float(roc_auc_score(lab, s)), "detectionRate": float(flagged[lab == 1].mean()),
            "falseAlarmRate": float(flagged[lab == 0].mean()), **part(np.ones(len(rows), bool)),
            "perFabric": {f: part(fab == f) for f in sorted(set(fab))},
            "perCode": {c: part(code == c) for c in sorted(set(code[lab == 1]))}}


def engine_eval(name: str, version: str, data: Path, split: Path, rate: float | None = None, threads: int = 2,
                log=print) -> dict:
    vdir = version_dir(name, version)
    _, val, _ = load_split(split, data)
    rows = engine_verdicts(f"{name}@{version}", val, rate, threads, log)
    py = {r["file"]: r["score"] for r in json.loads((vdir / "eval" / "scores.json").read_text())}
    result = {"model": f"{name}@{version}", "falseAlarmRate": rate, **summarize(rows),
              "maxAbsDiffToPython": max(abs(r["score"] - py[r["file"]]) for r in rows), "frames": rows}
    out = vdir / "eval" / f"engine{'' if rate is None else f'-{rate}'}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    log(f"{name}@{version} through the engine{'' if rate is None else f' at {rate}'}: image AUROC "
        f"{result['imageAuroc']:.4f}, detected {result['detected']}/{result['defects']}, false alarms "
        f"{result['falseAlarms']}/{result['normals']}, max |engine − Python| {result['maxAbsDiffToPython']:.1e}")
    return result
