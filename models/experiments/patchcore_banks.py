"""PatchCore memory-bank experiments on the validation split (aitex-split-v1), each variant exported to
ONNX in a scratch registry and evaluated exactly as a release is (models/lw fit-patchcore):

  1. one bank per fabric vs one for all: a coreset of the same size as the pooled 1 % bank (so the
     same cost per frame) from each fabric's own training patches, measured on that fabric's frames,
     and every validation frame routed to its fabric's bank (fabric 08 has no normal roll: pooled bank);
  2. a random bank of the 1 % size vs the greedy coreset;
  3. coreset 1 %, 5 %, 10 % of all training patches (prefixes of one greedy selection);
  4. the pooled 1 % model's scores rescaled per fabric (each fabric's median training-patch
     distance to the pooled bank instead of the pooled one: no validation data involved);
  5. one bank per fabric of 1 % of that fabric's patches (a seventh of the cost), routed.

Results are appended to reports/patchcore/banks.json as each finishes (a long run can be stopped).
Run: models/.venv/bin/python models/experiments/patchcore_banks.py [--ratios 0.01,0.05,0.1]
(about 1 h 30 min on 2 cores)
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnx  # noqa: F401  (before torch: see loomwatch_models/__init__.py)
import torch

from loomwatch_models import paths
from loomwatch_models.data import load_split, read_gray
from loomwatch_models.evaluate import evaluate, far_threshold, rates
from loomwatch_models.export import export_graph
from loomwatch_models.patchcore import (
    FeatureExtractor,
    PatchCoreConfig,
    PatchCoreMap,
    extract,
    greedy_coreset,
    left_out_scale,
    nearest_distance,
)
from loomwatch_models.scoring import anomaly_map, onnx_runner, to_tiles

OUT = paths.REPORTS_DIR / "patchcore" / "banks.json"


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def record(key: str, value: dict) -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    results[key] = value
    OUT.write_text(json.dumps(results, indent=1) + "\n")


def measure(name: str, bank: torch.Tensor, scale: float, frames, features, scratch: Path, cfg: PatchCoreConfig) -> dict:
    graph = PatchCoreMap(features, bank, scale, cfg.sigma, cfg.bank_chunk)
    path = export_graph(graph, scratch / name / "model.onnx", fold_constants=False)
    return summarize_eval(name, len(bank), path, evaluate_any(frames, path, scratch / name / "eval"))


def evaluate_any(frames, path: Path, out: Path) -> dict:
    """evaluate(), or for a fabric whose validation frames are all normal (05) just the scores."""
    if len({f.label for f in frames}) == 2:
        return evaluate(frames, onnx_runner(path, 2), out, kernel=1, log=log)
    run = onnx_runner(path, 2)
    out.mkdir(parents=True, exist_ok=True)
    rows = [{"file": f.relpath, "score": float(anomaly_map(read_gray(f.path), run).max()), "label": int(f.label),
             "code": f.code, "fabric": f.fabric} for f in frames]
    (out / "scores.json").write_text(json.dumps(rows, indent=1) + "\n")
    return {"imageAuroc": None, "scoresOnly": True}


def summarize_eval(name: str, bank_size: int, path: Path, m: dict) -> dict:
    rows = json.loads((path.parent / "eval" / "scores.json").read_text())
    if m.get("scoresOnly"):
        log(f"{name}: bank {bank_size}, one class only: scores {[round(r['score'], 3) for r in rows]}")
        return {"bankSize": bank_size, "scores": rows}
    keep = ("imageAuroc", "pixelAuroc", "pro", "detectionRate", "falseAlarmRate", "crossCalibrated", "perFabric")
    out = {k: m[k] for k in keep} | {"bankSize": bank_size, "onnxMegabytes": round(path.stat().st_size / 1e6, 2),
                                     "msPerFramePython": round(m["secPerFrame"]["median"] * 1000), "scores": rows}
    log(f"{name}: bank {bank_size}, image AUROC {m['imageAuroc']:.4f}, pixel AUROC {m['pixelAuroc']:.4f}, "
        f"PRO {m['pro']:.4f}, detection {m['detectionRate']:.3f} at false alarms {m['falseAlarmRate']:.3f}, "
        f"{out['msPerFramePython']} ms/frame")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scratch", default="/tmp/loomwatch-patchcore-banks", help="scratch registry for the variants")
    ap.add_argument("--ratios", default="0.01,0.05,0.1",
                    help="coreset ratios to measure (0.1 alone costs about an hour of CPU)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    cfg = PatchCoreConfig()
    scratch = Path(a.scratch)
    train, val, _ = load_split(paths.SPLITS_DIR / "aitex-split-v1.json", paths.data_dir())
    features = FeatureExtractor(cfg.blocks, cfg.pool, reflect_pad=cfg.reflect_pad)
    log(f"features of {len(train)} training frames ...")
    feats, fabric_of = [], []
    for f in train:
        x = extract(features, to_tiles(read_gray(f.path), 256))
        feats.append(x)
        fabric_of += [f.fabric] * len(x)
    x = torch.cat(feats)
    fabric_of = np.array(fabric_of)
    total = len(x)
    n1 = int(round(0.01 * total))
    g = torch.Generator().manual_seed(cfg.seed)
    pool = x[torch.randperm(total, generator=g)[: cfg.coreset_pool]]
    done = json.loads(OUT.read_text()) if OUT.exists() else {}

    def fabric_banks(prefix: str, size) -> None:
        """One bank per fabric of size(fabric's patch count) patches, each measured on its fabric's frames."""
        for fab in sorted(set(fabric_of)):
            if f"{prefix}{fab}" in done:
                continue
            xf = x[torch.from_numpy(fabric_of == fab)]
            pf = xf[torch.randperm(len(xf), generator=torch.Generator().manual_seed(cfg.seed))[: cfg.coreset_pool]]
            n = min(size(len(xf)), len(pf) // 2)
            log(f"fabric {fab}: coreset {n} of {len(xf)} patches")
            chosen = greedy_coreset(pf, n, cfg.projection_dim, cfg.seed)
            r = measure(f"{prefix}{fab}", pf[chosen].contiguous(), left_out_scale(pf, chosen),
                        [f for f in val if f.fabric == fab], features, scratch, cfg)
            record(f"{prefix}{fab}", {k: v for k, v in r.items() if k != "perFabric"})

    # 1. one bank per fabric, at the pooled 1 % bank's size (each recorded as it finishes)
    fabric_banks("fabric-", lambda _: n1)

    # 2 and 3: the greedy selection up to the largest ratio, its prefixes, and a random bank
    ratios = tuple(float(r) for r in a.ratios.split(","))
    if "random-0.01" not in done:
        chosen = torch.randperm(len(pool), generator=torch.Generator().manual_seed(1))[:n1]
        bank = pool[chosen].contiguous()
        record("random-0.01", measure("random-0.01", bank, left_out_scale(pool, chosen), val, features, scratch, cfg))
    todo = [r for r in ratios if f"coreset-{r}" not in done]
    order = None
    if todo:
        n_max = int(round(max(todo) * total))
        log(f"greedy coreset up to {n_max} of {total} patches (pool {len(pool)}) ...")
        order = greedy_coreset(pool, n_max, cfg.projection_dim, cfg.seed,
                               lambda i, k, el: log(f"  coreset {i}/{k} · {el:.0f}s · ETA {el / i * (k - i):.0f}s")
                               if i % 10_000 == 0 else None)
        for r in todo:
            chosen = order[: int(round(r * total))]
            bank = pool[chosen].contiguous()
            record(f"coreset-{r}",
                   measure(f"coreset-{r}", bank, left_out_scale(pool, chosen), val, features, scratch, cfg))
    # 4. the pooled 1 % bank (a prefix of the greedy order: selected again only on a resumed run)
    if "perFabricScaleCalibration" not in done and "coreset-0.01" in json.loads(OUT.read_text()):
        chosen = (order[:n1] if order is not None and len(order) >= n1
                  else greedy_coreset(pool, n1, cfg.projection_dim, cfg.seed))
        record("perFabricScaleCalibration", fabric_scale_calibration(x, fabric_of, pool, chosen, cfg))
    # 5. one bank per fabric of 1 % of its own patches
    fabric_banks("small-fabric-", lambda patches: int(round(0.01 * patches)))
    summarize()
    return 0


def fabric_scale_calibration(x: torch.Tensor, fabric_of: np.ndarray, pool: torch.Tensor, chosen: torch.Tensor,
                             cfg: PatchCoreConfig) -> dict:
    """The pooled 1 % model's validation scores y = d / (d + s) re-expressed with each fabric's own
    scale s_f (the median distance of 20,000 of its training patches to the pooled bank)."""
    from sklearn.metrics import roc_auc_score
    bank = pool[chosen]
    s0 = left_out_scale(pool, chosen)
    g = torch.Generator().manual_seed(cfg.seed)
    scales = {}
    for fab in sorted(set(fabric_of)):
        xf = x[torch.from_numpy(fabric_of == fab)]
        scales[fab] = float(nearest_distance(xf[torch.randperm(len(xf), generator=g)[:20_000]], bank).median())
    rows = json.loads(OUT.read_text())["coreset-0.01"]["scores"]
    y = np.array([r["score"] for r in rows]); lab = np.array([r["label"] for r in rows])
    d = s0 * y / (1 - y)
    sf = np.array([scales.get(r["fabric"], s0) for r in rows])
    cal = d / (d + sf)
    t = far_threshold(cal, lab)
    out = {"scale": s0, "fabricScales": scales, "imageAuroc": float(roc_auc_score(lab, cal)),
           "detectionRate": float((cal[lab == 1] >= t).mean()), "falseAlarmRate": float((cal[lab == 0] >= t).mean())}
    log(f"per-fabric scale calibration of the pooled bank: {out}")
    return out


def summarize() -> None:
    """Every validation frame scored by its fabric's bank (fabric 08 has no normal roll: the pooled
    bank), one threshold for all: the pooled metrics of per-fabric routing, for both bank sizes."""
    res = json.loads(OUT.read_text())
    if "coreset-0.01" not in res:
        return
    from sklearn.metrics import roc_auc_score
    pooled = {s["file"]: s for s in res["coreset-0.01"]["scores"]}
    for prefix, key in (("fabric-", "perFabricRouted"), ("small-fabric-", "perFabricSmallRouted")):
        routed = {s["file"]: s for k, v in res.items() if k.startswith(prefix) for s in v["scores"]}
        if not routed:
            continue
        rows = [routed.get(f, s) for f, s in pooled.items()]
        scores = np.array([r["score"] for r in rows]); labels = np.array([r["label"] for r in rows])
        codes = np.array([r["code"] for r in rows])
        at = rates(scores, labels, codes, far_threshold(scores, labels))
        res[key] = {"imageAuroc": float(roc_auc_score(labels, scores)), "detectionRate": at["detectionRate"],
                    "falseAlarmRate": at["falseAlarmRate"], "routedFrames": sum(f in routed for f in pooled),
                    "note": f"each validation frame scored by its fabric's bank ({prefix}*), one threshold for all"}
        log(f"{key}: {res[key]}")
    OUT.write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
