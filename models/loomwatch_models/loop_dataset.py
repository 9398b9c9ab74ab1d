"""The review-loop scenario by hand (issue 33): a reviewed data set folder as `loomwatch dataset pull` writes it,
without the broker, the dashboard or S3 — `models/lw loop-dataset`.

The parent decides every `stream` normal of a scenario split (make_loop_split) through the TypeScript engine
(`loomwatch infer`, the worker's decision at the card's thresholds), and an operator who reviews them all says
`false-alarm` for each frame it flagged (queue `flagged`) and `ok-confirmed` for the others (queue `sample`).
The folder holds `manifest.json` (the zod `DatasetManifest` of packages/contracts/src/feedback.ts) and the frames
at `normal/<fabric>/<frameId>.png`, which is what `models/lw refit --feedback` reads. The scripted scenario
(deploy/loop) produces the same folder through the real gateway, workers, dashboard and `loomwatch dataset pull`;
its frame ids differ, so refit's halves (by sha256 of the frameId) differ too.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from .data import load_stream, sha256_file
from .engine_eval import engine_verdicts

BUCKET = "loomwatch-frames"
REVIEWER = "operator@loop-scenario"
CREATED_AT = "2026-12-07T00:00:00.000Z"


def frame_id(stem: str) -> str:
    """The scenario's frame id of an AITEX frame (an `Id`: letters, digits, '.', '_', '-')."""
    return f"aitex-{stem}"


def snapshot_id(manifest: dict) -> str:
    """sha256 of the manifest without `id` and `createdAt` in canonical JSON (sorted keys), as a snapshot's id."""
    rest = {k: v for k, v in manifest.items() if k not in ("id", "createdAt")}
    return hashlib.sha256(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def review(row: dict) -> tuple[str, str]:
    """(label, queue) an operator gives a normal frame the model decided: a flagged one is a false alarm."""
    return ("false-alarm", "flagged") if row["verdict"] == "defect" else ("ok-confirmed", "sample")


def write_reviewed_dataset(folder: Path, frames, rows: list[dict], model: dict, created_at: str = CREATED_AT) -> dict:
    """frames (normal Frames) and the model's engine rows for them (each row's `file` is its frame's relpath; the
    engine returns them by fabric, not in the frames' order) -> the data set folder; returns the manifest.
    model: the verdicts' ModelRef ({name, version, sha256})."""
    folder = Path(folder)
    by_file = {r["file"]: r for r in rows}
    if sorted(by_file) != sorted(f.relpath for f in frames) or len(by_file) != len(rows):
        raise ValueError("the rows must be the engine's verdicts of exactly these frames, one each (by `file`)")
    entries = []
    for f in frames:
        r = by_file[f.relpath]
        if f.label:
            raise ValueError(f"{f.rel} is a defect frame: the scenario streams normal frames only")
        fid = frame_id(f.stem)
        label, queue = review(r)
        path = f"normal/{f.fabric}/{fid}.png"
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f.path, folder / path)
        entries.append({
            "frameId": fid, "lineId": "line-loop", "cameraId": f"cam-{f.fabric}", "fabricCode": f.fabric,
            "image": {"bucket": BUCKET, "key": f"frames/{fid}.png", "sha256": sha256_file(f.path)},
            "label": label, "regions": [], "reviewers": [REVIEWER], "feedbackId": f"fb-{fid}", "revision": 0,
            "queue": queue,
            "verdict": {"verdict": r["verdict"], "score": min(1.0, max(0.0, r["score"])),
                        "threshold": min(1.0, max(0.0, r["threshold"])), "model": model},
            "path": path})
    manifest = {"createdAt": created_at, "source": {"topic": "feedback.v1", "offsets": {"0": len(entries)}},
                "entries": entries}
    manifest = {"id": snapshot_id(manifest), **manifest}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def loop_dataset(*, vdir: Path, data: Path, split: Path, out: Path, threads: int = 2, log=print) -> dict:
    """The parent at vdir decides the split's stream normals; every one reviewed into the data set at out."""
    if (Path(out) / "manifest.json").exists():
        raise SystemExit(f"{out} already holds a data set (manifest.json): choose an empty --out")
    card = json.loads((Path(vdir) / "model.json").read_text())
    stream = [f for f in load_stream(split, data) if not f.label]
    if not stream:
        raise SystemExit(f"{split} has no stream normals: make one with models/lw loop-split")
    rows = engine_verdicts(str(vdir), stream, None, threads, log)
    model = {"name": card["name"], "version": card["version"], "sha256": sha256_file(Path(vdir) / "model.onnx")}
    manifest = write_reviewed_dataset(Path(out), stream, rows, model)
    flagged = sum(e["label"] == "false-alarm" for e in manifest["entries"])
    log(f"{out}: {len(stream)} stream normals reviewed, {flagged} false alarms of {card['name']}@{card['version']}; "
        f"snapshot {manifest['id'][:12]}")
    return manifest
