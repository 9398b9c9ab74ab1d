"""The tiled inference a user would write with plain Python onnxruntime: the peer `pnpm bench:inference`
times the engine against (issue 15).

    python -m loomwatch_models.ort_loop --model-dir <registry>/<name>/<version> --frames <png>... \
        [--threads T] [--reps R] [--batch B] [--stride S] [--graph-optimization all] [--spinning]

The same work as the engine on the same verified ONNX: PIL decode of each PNG → pixel × scale + offset
in float32 → T × T tiles at stride S (default T) over a canvas reflected beyond the frame (numpy
`reflect`, as packages/inference/src/core/tiling.ts) → `session.run` in batches → the card's anomaly
channel stitched back at frame resolution (overlaps averaged) → score = max of the card's k × k mean
filter. One warm-up pass (which gives the scores), then R timed passes over the frames, the PNG
bytes read beforehand. Prints one JSON line: msPerFrame (median over reps), cpuMsPerFrame (all
threads of the process), repMsPerFrame, scores (per frame, in order).
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from PIL import Image

from loomwatch_models.scoring import smooth

OPTIMIZATION_LEVELS = {
    "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


def tile_origins(length: int, tile: int, stride: int) -> list[int]:
    """Tile starts along one axis: multiples of `stride`, enough that the last tile reaches the edge."""
    if not 1 <= stride <= tile:
        raise ValueError(f"stride {stride} must be in 1..{tile} (the tile size), or tiles would leave gaps")
    if length < tile:
        raise ValueError(f"a side of {length} px is shorter than one {tile} px tile")
    return [i * stride for i in range(-(-(length - tile) // stride) + 1)]


def to_tiles(pixels: np.ndarray, tile: int, stride: int) -> np.ndarray:
    """[H, W] → [N, 1, T, T] in row-major tile order; beyond the frame the canvas is the frame reflected."""
    h, w = pixels.shape
    ys, xs = tile_origins(h, tile, stride), tile_origins(w, tile, stride)
    canvas = np.pad(pixels, ((0, ys[-1] + tile - h), (0, xs[-1] + tile - w)), mode="reflect")
    return np.stack([canvas[y:y + tile, x:x + tile] for y in ys for x in xs])[:, None]


def stitch(tile_maps: np.ndarray, height: int, width: int, stride: int) -> np.ndarray:
    """[N, T, T] → [H, W]: each pixel the mean of the tiles covering it; the padded canvas is dropped."""
    t = tile_maps.shape[-1]
    ys, xs = tile_origins(height, t, stride), tile_origins(width, t, stride)
    total = np.zeros((ys[-1] + t, xs[-1] + t), np.float32)
    cover = np.zeros_like(total)
    for tile_map, (y, x) in zip(tile_maps, ((y, x) for y in ys for x in xs), strict=True):
        total[y:y + t, x:x + t] += tile_map
        cover[y:y + t, x:x + t] += 1
    return (total / cover)[:height, :width]


def smoothed_max(amap: np.ndarray, kernel: int) -> float:
    return float(amap.max() if kernel == 1 else smooth(amap, kernel).max())


def open_session(model_dir: Path, card: dict[str, Any], threads: int, optimization: str,
                 spinning: bool) -> ort.InferenceSession:
    """A CPU session on the card's ONNX after checking its size and sha256, with the engine's options."""
    onnx = card["onnx"]
    data = (model_dir / onnx["file"]).read_bytes()
    if len(data) != onnx["bytes"] or hashlib.sha256(data).hexdigest() != onnx["sha256"]:
        raise SystemExit(f"{model_dir / onnx['file']} does not match the size and sha256 of its card")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = OPTIMIZATION_LEVELS[optimization]
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


class TiledModel:
    """One verified model version and how its card says frames are tiled, run and scored."""

    def __init__(self, session: ort.InferenceSession, card: dict[str, Any], batch: int, stride: int | None):
        self.session = session
        self.tile: int = card["input"]["tileSize"]
        self.stride = stride or self.tile
        self.batch = batch
        self.input_name: str = card["input"]["name"]
        self.output_name: str = card["output"]["name"]
        self.channel: int = card["output"]["anomalyChannel"]
        self.kernel: int = card["postprocess"]["smoothingKernel"]
        routing = card.get("routing")           # frames here name no fabric: the fallback bank, as the engine
        self.route = {} if routing is None else {routing["input"]: np.array([routing["fallback"]], dtype=np.int64)}
        # float32 arithmetic, as the engine's lookup table: fround(v × fround(scale)) + fround(offset)
        self.lut = np.arange(256, dtype=np.float32) * np.float32(card["input"]["scale"]) \
            + np.float32(card["input"]["offset"])

    def anomaly_map(self, frame: np.ndarray) -> np.ndarray:
        tiles = to_tiles(self.lut[frame], self.tile, self.stride)
        outputs = [self.session.run([self.output_name],
                                    {self.input_name: tiles[i:i + self.batch], **self.route})[0][:, self.channel]
                   for i in range(0, len(tiles), self.batch)]
        height, width = frame.shape
        return stitch(np.concatenate(outputs), height, width, self.stride)

    def score(self, png: bytes) -> float:
        with Image.open(io.BytesIO(png)) as image:
            if image.mode != "L":
                raise ValueError(f"expected an 8-bit grey PNG, got mode {image.mode}")
            frame = np.asarray(image)
        return smoothed_max(self.anomaly_map(frame), self.kernel)


def run(model: TiledModel, pngs: Sequence[bytes], reps: int) -> dict[str, Any]:
    scores = [model.score(png) for png in pngs]            # the warm-up pass
    wall: list[float] = []
    cpu_start = time.process_time()
    for _ in range(reps):
        start = time.perf_counter()
        for png in pngs:
            model.score(png)
        wall.append((time.perf_counter() - start) * 1000 / len(pngs))
    cpu_ms = (time.process_time() - cpu_start) * 1000 / (len(pngs) * reps)
    return {"msPerFrame": statistics.median(wall), "cpuMsPerFrame": cpu_ms, "repMsPerFrame": wall, "scores": scores}


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m loomwatch_models.ort_loop",
                                description="Times plain Python onnxruntime tiled inference on PNG frames.")
    p.add_argument("--model-dir", type=Path, required=True, help="a registry version directory (model.json + ONNX)")
    p.add_argument("--frames", type=Path, nargs="+", required=True, help="8-bit grey PNG frames")
    p.add_argument("--threads", type=int, default=0, help="intra-op threads; 0 = onnxruntime's choice")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--batch", type=int, default=16, help="most tiles per session.run")
    p.add_argument("--stride", type=int, default=None, help="tile stride; default the card's tile size")
    p.add_argument("--graph-optimization", choices=sorted(OPTIMIZATION_LEVELS), default="all")
    p.add_argument("--spinning", action="store_true", help="let intra-op threads spin between operators")
    args = p.parse_args(argv)
    if args.reps < 1 or args.batch < 1:
        p.error("--reps and --batch must be at least 1")
    card = json.loads((args.model_dir / "model.json").read_text())
    session = open_session(args.model_dir, card, args.threads, args.graph_optimization, args.spinning)
    model = TiledModel(session, card, args.batch, args.stride)
    pngs = [path.read_bytes() for path in args.frames]
    print(json.dumps({"model": f"{card['name']}@{card['version']}", "frames": len(pngs), "reps": args.reps,
                      "threads": args.threads, **run(model, pngs, args.reps)}))


if __name__ == "__main__":
    main()
