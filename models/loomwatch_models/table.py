"""The model-quality table of every registry version (Markdown, for the READMEs) and the
quality-vs-cost figure, both families side by side."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from . import paths
from .evaluate import far_threshold
from .registry import production, read_card

FAMILY_MARKERS = {"draem": "o", "patchcore": "D"}


def describe_architecture(arch: dict, routing: dict | None = None) -> str:
    if arch["family"] == "draem":
        return f"DRAEM {arch['reconstructiveWidth']}/{arch['discriminativeWidth']}"
    banks = (f"{len(routing['fabrics'])} fabric banks + fallback, {arch['bankSize']:,} patches in all" if routing
             else f"bank {arch['bankSize']:,}")
    backbone = arch["backbone"].replace("efficientnet-", "EffNet-")
    return f"PatchCore {backbone} b{'+b'.join(map(str, arch['blocks']))}, {banks}"


def at_five_percent(vdir: Path) -> tuple[float, float] | None:
    """(detection, false alarms) at the ≤ 5 % false-alarm threshold, from eval/scores.json (versions
    calibrated under the older 10 % rule have their cards' rates at 10 %)."""
    f = vdir / "eval" / "scores.json"
    if not f.exists():
        return None
    rows = json.loads(f.read_text())
    s = np.array([r["score"] for r in rows]); lab = np.array([r["label"] for r in rows])
    thr = far_threshold(s, lab, 0.05)
    return float((s[lab == 1] >= thr).mean()), float((s[lab == 0] >= thr).mean())


def rows(registry: Path = paths.REGISTRY_DIR) -> list[dict]:
    out = []
    for card_path in sorted(registry.glob("*/*/model.json")):
        vdir = card_path.parent
        c = read_card(vdir)
        ev = vdir / "eval"
        em = json.loads((ev / "metrics.json").read_text()) if (ev / "metrics.json").exists() else {}
        speed = json.loads((ev / "speed.json").read_text()) if (ev / "speed.json").exists() else {}
        prod = production(c["name"], registry)
        m = c["metrics"]
        out.append({
            "model": f"{c['name']}@{c['version']}", "family": c["architecture"]["family"],
            "architecture": describe_architecture(c["architecture"], c.get("routing")),
            "gflop": c["flopsPerTile"] * 16 / 1e9,
            "ms": speed.get("msPerFrame"), "image": m["imageAuroc"], "pixel": m["pixelAuroc"], "pro": m.get("pro"),
            "at5": at_five_percent(vdir) if m["imageAuroc"] is not None else None,
            "crossCal": em.get("crossCalibrated") if m["imageAuroc"] is not None else None,
            "fabricCal": m.get("fabricCalibrated"), "fabricApplied": "fabrics" in c["postprocess"],
            "steps": c["training"]["steps"] if c["training"] else None,
            "production": bool(prod and prod["version"] == c["version"]), "version": c["version"],
            "quantization": c.get("quantization"),
        })
    return out


def markdown(table: list[dict]) -> str:
    f = lambda v, p=3: "–" if v is None else f"{v:.{p}f}"   # noqa: E731
    lines = ["| model | architecture | GFLOP / frame | ms / frame (engine) | image AUROC | pixel AUROC | PRO "
             "| detection / false alarms at ≤ 5 % | cross-cal. det. / FA "
             "| per-fabric calibrated: image AUROC, det. / FA "
             "| training steps | production |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in table:
        at5 = f"{f(r['at5'][0])} / {f(r['at5'][1])}" if r["at5"] else "–"
        cc = f"{f(r['crossCal']['detectionRate'])} / {f(r['crossCal']['falseAlarmRate'])}" if r["crossCal"] else "–"
        fc = r["fabricCal"]
        fab = (f"{f(fc['imageAuroc'])}, {f(fc['detectionRate'])} / {f(fc['falseAlarmRate'])}"
               f"{'' if r['fabricApplied'] else ' (not applied)'}" if fc else "–")
        arch = r["architecture"] + (f", INT8 of {r['quantization']['parent']}" if r["quantization"] else "")
        lines.append(f"| {r['model']} | {arch} | {r['gflop']:.1f} | {f(r['ms'], 0)} | {f(r['image'])} "
                     f"| {f(r['pixel'])} | {f(r['pro'])} | {at5} | {cc} | {fab} "
                     f"| {'–' if r['steps'] is None else r['steps']} "
                     f"| {'yes' if r['production'] else ''} |")
    return "\n".join(lines)


def int8_markdown(table: list[dict], max_loss: float = 0.01) -> str:
    """The INT8 variants: how each was made, its loss against its FP32 parent and its speed against the parent
    in the same run, and whether a worker on a VNNI CPU serves it in the parent's place (loss ≤ `max_loss` and
    measured faster: the rule of packages/inference src/model/precision.ts)."""
    lines = ["| variant | parent | calibration | nodes kept FP32 | image AUROC loss | pixel AUROC loss "
             "| ms / frame INT8 vs FP32 (same run) | speed-up | CPU flags | served on a VNNI CPU |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in table:
        q = r["quantization"]
        if not q:
            continue
        cal = q["calibration"]
        how = f"{cal['method']}{' ' + str(cal['percentile']) if 'percentile' in cal else ''}, {cal['tiles']} tiles"
        pl = "–" if q["pixelAurocLoss"] is None else f"{q['pixelAurocLoss']:+.3f}"
        served = ("yes" if q["aurocLoss"] <= max_loss and q["speedup"] > 1
                  else f"no (loss > {max_loss})" if q["aurocLoss"] > max_loss else "no (not faster)")
        lines.append(f"| {r['model']} | {q['parent']} | {how} | {len(q['fp32Nodes'])} | {q['aurocLoss']:+.3f} | {pl} "
                     f"| {q['msPerFrame']['int8']:.0f} vs {q['msPerFrame']['fp32']:.0f} | ×{q['speedup']:.2f} "
                     f"| {' '.join(q['cpuFlags']) or '–'} | {served} |")
    return "\n".join(lines)


def plot(table: list[dict], out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    points = [r for r in table if r["image"] is not None]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    budgets = {"gflop": 120, "ms": 1500}
    for ax, (xkey, xlabel) in zip(axes, (("gflop", "GFLOP per 4096×256 frame"),
                                         ("ms", "ms per frame (engine, 2 threads)")), strict=True):
        for r in points:
            if r[xkey] is None:
                continue
            mk = FAMILY_MARKERS.get(r["family"], "o")
            ax.scatter([r[xkey]], [r["image"]], marker=mk, color="tab:blue", s=40)
            ax.scatter([r[xkey]], [r["pixel"]], marker=mk, color="tab:orange", s=40, facecolors="none")
            label = r["model"] + (" (production)" if r["production"] else "")
            ax.annotate(label, (r[xkey], r["image"]), textcoords="offset points", xytext=(5, 4), fontsize=7)
        ax.axhline(0.95, color="gray", ls="--", lw=0.8)
        ax.axvline(budgets[xkey], color="red", ls=":", lw=0.8)
        xmax = max([budgets[xkey]] + [r[xkey] for r in points if r[xkey] is not None])
        ax.set_xlabel(xlabel); ax.set_ylabel("validation AUROC"); ax.set_ylim(0.4, 1.0); ax.set_xlim(0, 1.15 * xmax)
        ax.grid(alpha=0.3)
    handles = [plt.Line2D([], [], marker="o", ls="", color="tab:blue", label="image AUROC"),
               plt.Line2D([], [], marker="o", ls="", color="tab:orange", markerfacecolor="none", label="pixel AUROC"),
               plt.Line2D([], [], marker="o", ls="", color="gray", label="DRAEM"),
               plt.Line2D([], [], marker="D", ls="", color="gray", label="PatchCore"),
               plt.Line2D([], [], ls="--", color="gray", label="0.95 target"),
               plt.Line2D([], [], ls=":", color="red", label="budget (120 GFLOP, 1.5 s)")]
    fig.legend(handles=handles, fontsize=8, loc="lower center", ncol=6)
    fig.suptitle("model versions: quality vs cost (validation split aitex-split-v1)")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"plot: {out}", file=sys.stderr)
