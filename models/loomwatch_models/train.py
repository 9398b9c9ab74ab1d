"""DRAEM training on normal AITEX crops with synthetic anomalies; checkpoints, resume, progress, quick validation.

A run lives in <cache>/runs/<name>/ (outside the repo): config.json, train.log (progress lines),
val.jsonl (quick validations), ckpt-last.pt (every --ckpt-minutes and at exit), ckpt-best.pt.
`--resume` continues from ckpt-last.pt with the saved config, RNG states, optimizer and LR schedule,
so an interrupted run ends where an uninterrupted one would (with --workers 0: batches drawn in this
process from the saved RNG state; DataLoader workers draw from streams seeded by seed, start step
and worker, so a resumed run is statistically, not bitwise, the same).

The same code trains on a CUDA GPU (--device auto picks it): bf16 autocast for the forward pass,
losses in fp32, channels_last, pinned host batches synthesised by --workers DataLoader processes so
the GPU is not starved. Checkpoints hold CPU tensors either way: a run started on the GPU resumes
on the CPU and back.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import os
import random
import signal
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from . import paths
from .data import load_split, read_gray, read_mask
from .draem import Draem, Widths, count_flops, count_parameters
from .losses import draem_loss
from .paths import MLRUNS_DIR, SPLITS_DIR, cache_dir, data_dir
from .scoring import smooth
from .synth import AnomalySynth


@dataclass
class TrainConfig:
    name: str = "draem-16-8"
    rec_width: int = 16
    disc_width: int = 8
    crop: int = 128
    batch: int = 16
    steps: int = 3000
    max_lr: float = 1e-3
    schedule: str = "onecycle"   # onecycle (warm-up to max_lr, cosine to ~0) | paper (max_lr, × 0.2 at 80 % and 90 %)
    pct_start: float = 0.1
    weight_decay: float = 0.0
    ema_decay: float = 0.995
    seed: int = 0
    threads: int = 2
    ckpt_minutes: float = 4.0
    val_every: int = 250
    val_tiles: int = 32          # defect tiles and as many normal tiles for the quick validation
    frame_val_every: int = 1000  # also image AUROC on whole frames (every normal + this many defect validation frames)
    frame_val_defects: int = 28
    log_every: int = 10
    bank_size: int = 1024
    p_spot: float = 0.0          # small-defect synthesis (0 = the v1 mix: Perlin 75 %, streaks 25 %)
    p_curve: float = 0.0
    p_streak: float = 0.25
    init_from: str = ""          # warm start: weights (model + EMA) of this checkpoint, fresh optimizer/schedule
    fabric: str = ""             # one fabric code (e.g. "02"): train and quick-validate on its frames only
    data: str = ""
    split: str = str(SPLITS_DIR / "aitex-split-v1.json")
    device: str = "auto"         # auto = cuda when torch sees one, else cpu
    workers: int = 0             # DataLoader processes synthesising batches (0: in this process, exact resume)
    pack: str = ""               # train from a data pack (models/lw pack-data) instead of the dataset


# What a resume may change: where and how the run executes, not what it learns.
MACHINE_FIELDS = ("threads", "device", "workers", "data", "pack", "ckpt_minutes")


def run_dir(name: str) -> Path:
    return cache_dir() / "runs" / name


class Logger:
    def __init__(self, path: Path):
        self.f = open(path, "a", buffering=1)

    def __call__(self, msg: str) -> None:
        line = f"{dt.datetime.utcnow():%H:%M:%S} {msg}"
        print(line, flush=True)
        self.f.write(line + "\n")


def _fmt_dur(s: float) -> str:
    s = int(max(s, 0))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def quick_val_set(val_frames, n: int, tile: int = 256, seed: int = 0):
    """Fixed tiles: for n defect frames (with masks) the tile holding the most defect pixels; n tiles
    of the normal validation frames at seeded positions. Returns (tiles float32 [2n,1,T,T], labels, masks)."""
    rng = np.random.default_rng(seed)
    defects = [f for f in val_frames if f.label and f.masks]
    normals = [f for f in val_frames if not f.label]
    pick = [defects[i] for i in np.linspace(0, len(defects) - 1, min(n, len(defects))).round().astype(int)]
    tiles, labels, masks = [], [], []
    for f in pick:
        img, m = read_gray(f.path), read_mask(f)
        assert m is not None                    # picked among frames with masks
        cols = m.reshape(m.shape[0], -1, tile).sum(axis=(0, 2))
        c = int(cols.argmax())
        tiles.append(img[:, c * tile:(c + 1) * tile]); masks.append(m[:, c * tile:(c + 1) * tile]); labels.append(1)
    for i in range(len(pick)):
        f = normals[i % len(normals)]
        img = read_gray(f.path)
        c = int(rng.integers(0, img.shape[1] // tile))
        tiles.append(img[:, c * tile:(c + 1) * tile]); masks.append(np.zeros((tile, tile), bool)); labels.append(0)
    x = np.stack(tiles)[:, None].astype(np.float32) / 255
    return x, np.array(labels), np.stack(masks)


@torch.no_grad()
def quick_validate(model: Draem, x: np.ndarray, labels: np.ndarray, masks: np.ndarray, kernel: int = 21,
                   device: torch.device = torch.device("cpu")) -> dict:
    from sklearn.metrics import roc_auc_score
    model.eval()
    outs = []
    for i in range(0, len(x), 8):
        _, logits = model(torch.from_numpy(x[i:i + 8]).to(device))
        outs.append(torch.softmax(logits.float(), 1)[:, 1].cpu().numpy())
    amap = np.concatenate(outs)
    scores = np.array([smooth(a, kernel).max() for a in amap])
    px = amap[:, ::2, ::2].ravel()
    pm = masks[:, ::2, ::2].ravel()
    return {"tileAuroc": float(roc_auc_score(labels, scores)), "pixelAuroc": float(roc_auc_score(pm, px)),
            "meanNormalScore": float(scores[labels == 0].mean()), "meanDefectScore": float(scores[labels == 1].mean())}


@dataclass
class TrainingData:
    sources: dict[str, np.ndarray]     # roll → uint8 normal frames [n, H, W]
    roll_fabric: dict[str, str]
    quick_val: tuple[np.ndarray, np.ndarray, np.ndarray]
    split_hash: str
    frames: int
    frame_val: tuple[np.ndarray, np.ndarray] | None = None     # whole validation frames (not in a pack)


def load_training_data(cfg: TrainConfig) -> TrainingData:
    """The normal training frames by roll and the quick-validation tiles: from the dataset, or from a pack."""
    if cfg.pack:
        from .data_pack import read_pack
        if cfg.fabric:
            raise SystemExit("--pack holds the quick validation of all fabrics: train --fabric from the dataset")
        return TrainingData(*read_pack(Path(cfg.pack)))
    split = Path(cfg.split)
    if not split.exists():                      # a run resumed on a machine with the repo elsewhere
        split = SPLITS_DIR / split.name
    train_frames, val_frames, split_hash = load_split(split, data_dir(cfg.data or None))
    if cfg.fabric:
        val_frames = [f for f in val_frames if f.fabric == cfg.fabric]
        if not any(f.fabric == cfg.fabric for f in train_frames) or not any(f.label for f in val_frames):
            raise SystemExit(f"--fabric {cfg.fabric}: needs normal training frames "
                             f"and defect validation frames of that fabric")
    by_roll: dict[str, list[np.ndarray]] = {}
    roll_fabric: dict[str, str] = {}
    for f in train_frames:
        assert f.roll is not None               # training frames are normal frames: each has its roll
        by_roll.setdefault(f.roll, []).append(read_gray(f.path))
        roll_fabric[f.roll] = f.fabric
    return TrainingData({r: np.stack(v) for r, v in by_roll.items()}, roll_fabric,
                        quick_val_set(val_frames, cfg.val_tiles), split_hash, len(train_frames),
                        frame_val_set(val_frames, cfg.frame_val_defects) if cfg.frame_val_every else None)


def frame_val_set(val_frames, n_defect: int) -> tuple[np.ndarray, np.ndarray]:
    """Every normal validation frame and n_defect defect frames spread over the list: (uint8 [n,H,W], labels)."""
    normals = [f for f in val_frames if not f.label]
    defects = [f for f in val_frames if f.label]
    pick = [defects[i] for i in np.linspace(0, len(defects) - 1, min(n_defect, len(defects))).round().astype(int)]
    return np.stack([read_gray(f.path) for f in normals + pick]), np.array([0] * len(normals) + [1] * len(pick))


@torch.no_grad()
def frame_validate(model: Draem, frames: np.ndarray, labels: np.ndarray, kernel: int = 21, tile: int = 256,
                   device: torch.device = torch.device("cpu")) -> float:
    """Image AUROC of whole frames scored as the engine scores them (tiles → stitch → k×k mean → max)."""
    from sklearn.metrics import roc_auc_score

    from .scoring import frame_score, stitch, to_tiles
    model.eval()
    scores = []
    for frame in frames:
        x = torch.from_numpy(to_tiles(frame, tile)).to(device)
        amap = torch.cat([torch.softmax(model(x[i:i + 16])[1].float(), 1)[:, 1:2] for i in range(0, len(x), 16)])
        scores.append(frame_score(stitch(amap.cpu().numpy(), *frame.shape), kernel))
    return float(roc_auc_score(labels, scores))


class Batcher:
    """Random crops of the cached normal training frames + synthetic anomalies, as torch tensors."""

    def __init__(self, data: TrainingData, cfg: TrainConfig, rng: np.random.Generator):
        self.rng = rng
        self.sources = data.sources
        # Crops come from the chosen fabric's rolls (all rolls without --fabric); anomaly textures from every roll.
        self.rolls = sorted(r for r, fab in data.roll_fabric.items() if not cfg.fabric or fab == cfg.fabric)
        self.cfg = cfg
        self.synth = AnomalySynth(cfg.crop, self.sources, rng, bank_size=cfg.bank_size,
                                  bank_rng=np.random.default_rng(cfg.seed + 1), p_streak=cfg.p_streak,
                                  p_spot=cfg.p_spot, p_curve=cfg.p_curve)

    def __call__(self):
        c, b = self.cfg.crop, self.cfg.batch
        clean = np.empty((b, 1, c, c), np.float32)
        aug = np.empty_like(clean)
        mask = np.empty_like(clean)
        for i in range(b):
            roll = self.rolls[self.rng.integers(len(self.rolls))]
            frames = self.sources[roll]
            f = frames[self.rng.integers(len(frames))]
            y = self.rng.integers(0, f.shape[0] - c + 1)
            x = self.rng.integers(0, f.shape[1] - c + 1)
            img = f[y:y + c, x:x + c].astype(np.float32) / 255
            if self.rng.random() < 0.5:
                img = img[:, ::-1]
            if self.rng.random() < 0.5:
                img = img[::-1]
            img = np.ascontiguousarray(img)
            a, m, _ = self.synth(img, roll)
            clean[i, 0], aug[i, 0], mask[i, 0] = img, a, m
        return torch.from_numpy(clean), torch.from_numpy(aug), torch.from_numpy(mask)

    def reseed(self, rng: np.random.Generator) -> None:
        self.rng = self.synth.rng = rng


class SyntheticBatches(torch.utils.data.IterableDataset):
    """Endless batches, one RNG stream per DataLoader worker: seeded by (seed, start step, worker id)."""

    def __init__(self, batcher: Batcher, seed: int, start_step: int):
        self.batcher, self.seed, self.start_step = batcher, seed, start_step

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        self.batcher.reseed(np.random.default_rng([self.seed, self.start_step, info.id if info else 0]))
        while True:
            yield self.batcher()


def batch_stream(batcher: Batcher, cfg: TrainConfig, start_step: int, device: torch.device):
    """Batches on `device`: drawn here (workers 0), or by DataLoader workers into pinned memory."""
    cuda = device.type == "cuda"
    if cfg.workers == 0:
        source = iter(batcher, None)
    else:
        source = iter(torch.utils.data.DataLoader(SyntheticBatches(batcher, cfg.seed, start_step), batch_size=None,
                                                  num_workers=cfg.workers, pin_memory=cuda, prefetch_factor=4,
                                                  persistent_workers=True))
    for clean, aug, mask in source:
        if cuda and cfg.workers == 0:
            clean, aug, mask = clean.pin_memory(), aug.pin_memory(), mask.pin_memory()
        yield (clean.to(device, non_blocking=True),
               aug.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last),
               mask.to(device, non_blocking=True))


def lr_schedule(opt: torch.optim.Optimizer, cfg: TrainConfig):
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.max_lr, total_steps=cfg.steps,
                                                   pct_start=cfg.pct_start, cycle_momentum=False)
    if cfg.schedule == "paper":                 # DRAEM's: constant, × 0.2 at 80 % and again at 90 % of the steps
        return torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[int(cfg.steps * 0.8), int(cfg.steps * 0.9)],
                                                    gamma=0.2)
    raise SystemExit(f"--schedule must be onecycle or paper, got {cfg.schedule!r}")


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no CUDA device (torch.cuda.is_available() is False); "
                         "use --device cpu")
    if name not in ("cpu", "cuda"):
        raise SystemExit(f"--device must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)


def _cpu_state(module: torch.nn.Module) -> dict:
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


def _mlflow_start(cfg: TrainConfig, run_id: str | None, extra: dict):
    try:
        import mlflow
    except Exception as e:                      # tracking is optional, training is not
        print(f"mlflow unavailable ({e}); continuing without tracking", file=sys.stderr)
        return None, None
    MLRUNS_DIR.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(os.environ.get("MLFLOW_TRACKING_URI") or MLRUNS_DIR.as_uri())
    mlflow.set_experiment("draem-aitex")
    if run_id:
        run = mlflow.start_run(run_id=run_id)
    else:
        run = mlflow.start_run(run_name=cfg.name)
        mlflow.log_params({**asdict(cfg), **extra})
    return mlflow, run.info.run_id


def train(cfg: TrainConfig, resume: bool = False, stop_at: dt.datetime | None = None,
          pause_after: int | None = None) -> Path:
    """Trains (or resumes) the run; stops cleanly with a checkpoint at stop_at (UTC) or after pause_after steps."""
    rdir = run_dir(cfg.name)
    rdir.mkdir(parents=True, exist_ok=True)
    ckpt_path = rdir / "ckpt-last.pt"
    state = None
    if resume:
        point = resume_point_path(cfg.name)
        if not ckpt_path.exists() and not point.exists():
            raise SystemExit(f"--resume: no checkpoint at {ckpt_path} and no committed resume point at {point}")
        state = torch.load(ckpt_path if ckpt_path.exists() else point, map_location="cpu")
        here = {k: getattr(cfg, k) for k in MACHINE_FIELDS}
        cfg = TrainConfig(**{**asdict(TrainConfig()), **state["config"], **here})
    elif ckpt_path.exists():
        raise SystemExit(f"{ckpt_path} exists: pass --resume to continue it, or choose another --name")
    (rdir / "config.json").write_text(json.dumps(asdict(cfg), indent=1) + "\n")
    log = Logger(rdir / "train.log")
    torch.set_num_threads(cfg.threads)
    random.seed(cfg.seed); np.random.seed(cfg.seed); torch.manual_seed(cfg.seed)
    device = pick_device(cfg.device)
    cuda = device.type == "cuda"
    # bf16 autocast on GPUs that have it (the forward pass; losses and the optimizer stay fp32)
    amp = cuda and torch.cuda.is_bf16_supported()
    where = (f"{torch.cuda.get_device_name(device)} ({'bf16 autocast' if amp else 'fp32'}, channels_last, "
             f"{cfg.workers} batch workers)" if cuda else f"CPU, {cfg.threads} threads, {cfg.workers} batch workers")

    rng = np.random.default_rng(cfg.seed)
    t0 = time.time()
    data = load_training_data(cfg)
    split_hash = data.split_hash
    batcher = Batcher(data, cfg, rng)
    vx, vy, vm = data.quick_val
    log(f"data: {data.frames} train frames cached ({sum(v.nbytes for v in batcher.sources.values()) / 1e6:.0f} MB"
        f"{f', from the pack {cfg.pack}' if cfg.pack else ''}), Perlin bank {cfg.bank_size}×{cfg.crop}², "
        f"quick-val {len(vx)} tiles; {time.time() - t0:.1f}s; training on {where}")

    model = Draem(Widths(cfg.rec_width, cfg.disc_width))
    ema = copy.deepcopy(model)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.max_lr, weight_decay=cfg.weight_decay)
    sched = lr_schedule(opt, cfg)
    step, elapsed, best, history, mlflow_id = 0, 0.0, -1.0, [], None
    chain: list[dict] = []                      # the runs this one was warm-started from, oldest first
    if state:
        model.load_state_dict(_with_dtype(state["model"], torch.float32))
        ema.load_state_dict(_with_dtype(state["ema"], torch.float32))
        sched.load_state_dict(state["sched"])
        if "opt" in state:
            opt.load_state_dict(state["opt"])
        else:                                   # a committed resume point: Adam's moments start afresh
            for group in opt.param_groups:
                group["lr"] = sched.get_last_lr()[0]
        step, elapsed, best, history = state["step"], state["elapsed"], state["best"], state["history"]
        chain = warm_start_chain(state)
        rng.bit_generator.state = state["np_rng"]; torch.set_rng_state(state["torch_rng"])
        mlflow_id = state.get("mlflow_run_id")
        log(f"resumed {cfg.name} at step {step}/{cfg.steps}, {_fmt_dur(elapsed)} trained so far"
            + ("" if "opt" in state else f" (from the committed resume point {resume_point_path(cfg.name)}; "
                                         "the optimizer state re-warms)"))
    else:
        if cfg.init_from:
            init = torch.load(cfg.init_from, map_location="cpu")
            model.load_state_dict(init["model"]); ema.load_state_dict(init["ema"])
            chain = warm_start_chain(init) + [{"config": init["config"], "step": init["step"],
                                               "elapsed": init["elapsed"]}]
            log(f"warm start from {cfg.init_from} (step {init['step']} of run {init['config']['name']})")
        log(f"new run {cfg.name}: widths {cfg.rec_width}/{cfg.disc_width}, {count_parameters(model):,} params, "
            f"{count_flops(model) / 1e9:.2f} GFLOP per 256² tile; "
            f"{cfg.steps} steps of batch {cfg.batch} × {cfg.crop}², "
            f"{cfg.schedule} schedule, max lr {cfg.max_lr}, seed {cfg.seed}, {cfg.threads} threads; "
            f"masks: spot {cfg.p_spot}, "
            f"curve {cfg.p_curve}, streak {cfg.p_streak}, rest Perlin; fabric {cfg.fabric or 'all'}")
    mlf, mlflow_id = _mlflow_start(cfg, mlflow_id, {"splitHash": split_hash, "trainFrames": data.frames})
    if cuda:
        # Module.to takes memory_format (torch >= 1.5); torch 1.13's type hints omit it
        model.to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]
        ema.to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]
        for st in opt.state.values():           # Adam moments restored on the CPU follow their parameters
            for k, v in st.items():
                if torch.is_tensor(v) and k != "step":
                    st[k] = v.to(device)

    def save(path: Path, **extra) -> None:
        tmp = path.with_suffix(".tmp")
        torch.save({"config": asdict(cfg), "model": _cpu_state(model), "ema": _cpu_state(ema),
                    "opt": opt.state_dict(), "sched": sched.state_dict(), "step": step, "elapsed": elapsed,
                    "best": best, "history": history, "np_rng": rng.bit_generator.state,
                    "torch_rng": torch.get_rng_state(), "mlflow_run_id": mlflow_id, "splitHash": split_hash,
                    "warmStart": chain,
                    "savedAt": dt.datetime.utcnow().isoformat() + "Z", **extra}, tmp)
        os.replace(tmp, path)

    def validate() -> None:
        nonlocal best
        tv = time.time()
        r = {"step": step, **quick_validate(ema, vx, vy, vm, device=device)}
        if data.frame_val is not None and (step % cfg.frame_val_every == 0 or step == cfg.steps):
            r["imageAuroc"] = frame_validate(ema, *data.frame_val, device=device)
        r["sec"] = round(time.time() - tv, 1)
        history.append(r)
        with open(rdir / "val.jsonl", "a") as f:
            f.write(json.dumps(r) + "\n")
        frames = (f", image AUROC {r['imageAuroc']:.4f} on {len(data.frame_val[1])} frames"
                  if "imageAuroc" in r and data.frame_val is not None else "")
        log(f"val step {step}: tile AUROC {r['tileAuroc']:.4f}, pixel AUROC {r['pixelAuroc']:.4f}{frames} "
            f"(mean tile score normal {r['meanNormalScore']:.3f} / defect {r['meanDefectScore']:.3f}; "
            f"{r['sec']}s, EMA weights)")
        if mlf:
            mlf.log_metrics({"val_tile_auroc": r["tileAuroc"], "val_pixel_auroc": r["pixelAuroc"],
                             **({"val_image_auroc": r["imageAuroc"]} if "imageAuroc" in r else {})}, step=step)
        if r["tileAuroc"] + r["pixelAuroc"] > best:
            best = r["tileAuroc"] + r["pixelAuroc"]
            save(rdir / "ckpt-best.pt")

    last_ckpt = time.time()
    window_t, window_steps = time.time(), 0
    parts_acc: dict[str, torch.Tensor] = {}
    batches = batch_stream(batcher, cfg, step, device)
    interrupted = False
    signalled: list[str] = []                   # SIGTERM / SIGINT: finish the step, checkpoint, exit
    previous = {s: signal.signal(s, lambda num, _frame: signalled.append(signal.Signals(num).name))
                for s in (signal.SIGTERM, signal.SIGINT)}
    while step < cfg.steps:
        if pause_after is not None and step >= pause_after:
            interrupted = True
            break
        if signalled:
            log(f"{signalled[0]} received at step {step}: checkpointing and exiting (resume with --resume)")
            interrupted = True
            break
        if stop_at and dt.datetime.now(dt.UTC) >= stop_at:
            log(f"stop-at {stop_at.isoformat()} reached at step {step}: "
                "checkpointing and exiting (resume with --resume)")
            interrupted = True
            break
        ts = time.time()
        model.train()
        clean, aug, mask = next(batches)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            rec, logits = model(aug)
        loss, parts = draem_loss(rec.float(), clean, logits.float(), mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters(), strict=True):
                pe.mul_(cfg.ema_decay).add_(pm.detach(), alpha=1 - cfg.ema_decay)
            for be, bm in zip(ema.buffers(), model.buffers(), strict=True):
                be.copy_(bm)
        step += 1
        elapsed += time.time() - ts
        window_steps += 1
        for k, v in parts.items():
            parts_acc[k] = parts_acc[k] + v if k in parts_acc else v
        if step % cfg.log_every == 0 or step == cfg.steps:
            p = {k: float(v) / window_steps for k, v in parts_acc.items()}     # waits for the GPU
            rate = window_steps / max(time.time() - window_t, 1e-9)
            log(f"step {step}/{cfg.steps} | loss {sum(p.values()):.4f} (l2 {p['l2']:.4f} ssim {p['ssim']:.4f} "
                f"focal {p['focal']:.4f}) | lr {sched.get_last_lr()[0]:.2e} | {rate:.3f} steps/s | "
                f"trained {_fmt_dur(elapsed)} | ETA {_fmt_dur((cfg.steps - step) / max(rate, 1e-9))}")
            if mlf:
                mlf.log_metrics({"loss": sum(p.values()), **{f"loss_{k}": v for k, v in p.items()},
                                 "steps_per_sec": rate, "lr": sched.get_last_lr()[0]}, step=step)
            window_t, window_steps, parts_acc = time.time(), 0, {}
        if step % cfg.val_every == 0 or step == cfg.steps:
            validate()
            window_t = time.time()
        if time.time() - last_ckpt >= cfg.ckpt_minutes * 60:
            save(ckpt_path)
            last_ckpt = time.time()
    save(ckpt_path)
    for s, handler in previous.items():
        signal.signal(s, handler)
    log(f"{'stopped' if interrupted else 'finished'} at step {step}/{cfg.steps}; trained {_fmt_dur(elapsed)} "
        f"({elapsed:.0f}s); checkpoint {ckpt_path}")
    if mlf:
        mlf.log_metric("wall_time_sec", elapsed, step=step)
        mlf.end_run()
    return rdir


def warm_start_chain(state: dict) -> list[dict]:
    """The runs a checkpoint's run was warm-started from, oldest first ({config, step, elapsed} each): kept in
    the checkpoint (`warmStart`), so a release on a machine without those runs still counts their steps;
    older checkpoints are followed through their init_from files."""
    if "warmStart" in state:
        return state["warmStart"]
    if not state["config"].get("init_from"):
        return []
    init = torch.load(state["config"]["init_from"], map_location="cpu")
    return warm_start_chain(init) + [{"config": init["config"], "step": init["step"], "elapsed": init["elapsed"]}]


def _with_dtype(state_dict: dict, dtype: torch.dtype) -> dict:
    """Floating-point tensors cast (resume points store fp16), integer buffers as they are."""
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in state_dict.items()}


def resume_point_path(name: str) -> Path:
    return paths.RESUME_DIR / name / "resume.pt"


def write_resume_point(name: str) -> Path:
    """The run's last checkpoint, compacted for the repo: weights and EMA in fp16, schedule, step, RNG
    states and history; no optimizer state (Adam re-warms on resume). A few MB: commit it, and
    `train --name <name> --resume` continues on a machine whose cache never saw the run."""
    state = torch.load(run_dir(name) / "ckpt-last.pt", map_location="cpu")
    point = {k: v for k, v in state.items() if k not in ("opt", "mlflow_run_id")}
    point["model"], point["ema"] = _with_dtype(state["model"], torch.float16), _with_dtype(state["ema"], torch.float16)
    # OneCycleLR's state holds its anneal function as a bound method, which pickles the whole scheduler
    # and optimizer (18 MB); the scheduler built on resume has the same function
    point["sched"] = {k: v for k, v in state["sched"].items() if k != "anneal_func"}
    out = resume_point_path(name)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(point, out)
    (out.parent / "val.jsonl").write_text("".join(json.dumps(r) + "\n" for r in state["history"]))
    return out


def load_checkpoint(path: Path, use_ema: bool = True) -> tuple[Draem, dict]:
    state = torch.load(path, map_location="cpu")
    cfg = state["config"]
    model = Draem(Widths(cfg["rec_width"], cfg["disc_width"]))
    model.load_state_dict(_with_dtype(state["ema" if use_ema else "model"], torch.float32))
    model.eval()
    return model, state
