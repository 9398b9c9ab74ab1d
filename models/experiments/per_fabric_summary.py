"""Summary table of models/experiments/per_fabric.sh: per fabric, 1.1.0 vs the all-fabric fine-tune vs
the fabric's own fine-tune, on that fabric's validation frames.  Usage: per_fabric_summary.py OUT fabric…"""
import json
import sys
from pathlib import Path

out, fabrics = Path(sys.argv[1]), sys.argv[2:]
print("| fabric | normal / defect frames | image AUROC 1.1.0 / all fabrics / own fabric "
      "| pixel AUROC 1.1.0 / all / own | PRO 1.1.0 / all / own |")
print("| --- | --- | --- | --- | --- |")
sums: dict[str, list[float]] = {k: [] for k in ("base", "all", "fab")}


def row(m: dict, key: str) -> str:
    return " / ".join(f"{m[k][key]:.3f}" for k in ("base", "all", "fab"))


for fab in fabrics:
    dirs = {"base": f"base-{fab}", "all": f"all-{fab}", "fab": f"fab{fab}-{fab}"}   # as per_fabric.sh writes them
    m = {k: json.loads((out / d / "metrics.json").read_text()) for k, d in dirs.items()}
    for k in sums:
        sums[k].append(m[k]["imageAuroc"])
    print(f"| {fab} | {m['base']['normalFrames']} / {m['base']['defectFrames']} | {row(m, 'imageAuroc')} "
          f"| {row(m, 'pixelAuroc')} | {row(m, 'pro')} |")
mean = " / ".join(f"{sum(v) / len(v):.3f}" for v in sums.values())
print(f"| mean over fabrics | | {mean} | | |")
