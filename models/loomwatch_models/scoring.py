"""Frame scoring exactly as the TypeScript engine does it (issue 3), so scores can be compared.

frame [H, W] uint8 -> float32 pixel = uint8 * scale + offset -> tiles T×T, stride T (frame sides are
multiples of T for AITEX) -> model -> stitch -> T-independent anomaly map [H, W]
-> k×k mean filter (stride 1, zero padding k//2, count_include_pad) -> score = max.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

TileRunner = Callable[[np.ndarray], np.ndarray]   # float32 [N,1,T,T] -> float32 [N,1,T,T]


def to_tiles(frame: np.ndarray, tile: int, scale: float = 1 / 255, offset: float = 0.0) -> np.ndarray:
    h, w = frame.shape
    if h % tile or w % tile:
        raise ValueError(f"frame {w}x{h} is not a multiple of the tile size {tile}")
    # computed in float64 then rounded once to float32, as `u8 * scale + offset` stored into a Float32Array
    x = (frame.astype(np.float64) * scale + offset).astype(np.float32)
    # [H, W] -> [rows, T, cols, T] -> [rows, cols, T, T]; tiles in row-major order
    t = x.reshape(h // tile, tile, w // tile, tile).transpose(0, 2, 1, 3)
    return np.ascontiguousarray(t.reshape(-1, 1, tile, tile))


def stitch(tiles: np.ndarray, h: int, w: int) -> np.ndarray:
    tile = tiles.shape[-1]
    rows, cols = h // tile, w // tile
    return tiles.reshape(rows, cols, tile, tile).transpose(0, 2, 1, 3).reshape(h, w)


def smooth(amap: np.ndarray, kernel: int) -> np.ndarray:
    """k×k mean filter, stride 1, zero padding k//2, divisor k² everywhere (DRAEM's
    avg_pool2d(..., padding=k//2), count_include_pad=True). Summed-area table in float64: exact to
    ~1e-12 and ~30× faster than torch's avg_pool2d on a 4096×256 map."""
    p = kernel // 2
    a = np.pad(np.asarray(amap, dtype=np.float64), p)
    s = np.zeros((a.shape[0] + 1, a.shape[1] + 1))
    np.cumsum(np.cumsum(a, axis=0), axis=1, out=s[1:, 1:])
    h, w = amap.shape
    box = s[kernel:kernel + h, kernel:kernel + w] - s[:h, kernel:kernel + w] - s[kernel:kernel + h, :w] + s[:h, :w]
    return (box / (kernel * kernel)).astype(np.float32)


def smooth_reference(amap: np.ndarray, kernel: int) -> np.ndarray:
    """The reference definition with torch's avg_pool2d (slow; for tests)."""
    t = torch.from_numpy(np.ascontiguousarray(amap, dtype=np.float32))[None, None]
    out = F.avg_pool2d(t, kernel, stride=1, padding=kernel // 2, count_include_pad=True)
    return out[0, 0].numpy()


def anomaly_map(frame: np.ndarray, run: TileRunner, tile: int = 256, batch: int = 16,
                scale: float = 1 / 255, offset: float = 0.0) -> np.ndarray:
    tiles = to_tiles(frame, tile, scale, offset)
    outs = [run(tiles[i:i + batch]) for i in range(0, len(tiles), batch)]
    return stitch(np.concatenate(outs, axis=0)[:, 0:1], *frame.shape)


def frame_score(amap: np.ndarray, kernel: int = 21) -> float:
    return float(smooth(amap, kernel).max())


def normalized_score(score: float, threshold: float, lo: float, hi: float) -> float:
    """Piecewise linear: 0 at lo, 0.5 at threshold, 1 at hi, clamped (the card's normalization)."""
    if score <= threshold:
        v = 0.5 * (score - lo) / (threshold - lo) if threshold > lo else 0.5
    else:
        v = 0.5 + 0.5 * (score - threshold) / (hi - threshold) if hi > threshold else 1.0
    return float(min(1.0, max(0.0, v)))


def torch_runner(model: torch.nn.Module) -> TileRunner:
    """Runs the inference graph (DraemAnomalyMap) in PyTorch."""
    model.eval()

    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(x)).numpy()
    return run


def onnx_runner(onnx_path, threads: int = 2) -> TileRunner:
    return onnx_routes(onnx_path, threads)(None)


def onnx_routes(onnx_path, threads: int = 2) -> Callable[[int | None], TileRunner]:
    """One session; bank index -> a runner that searches that bank (None: a graph with one input)."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    inputs = [i.name for i in sess.get_inputs()]

    def route(bank: int | None) -> TileRunner:
        if (bank is None) != (len(inputs) == 1):
            raise ValueError(f"{onnx_path} has inputs {inputs}: {'give' if bank is None else 'no'} bank index")
        extra = {} if bank is None else {inputs[1]: np.array([bank], dtype=np.int64)}

        def run(x: np.ndarray) -> np.ndarray:
            return sess.run(None, {inputs[0]: x, **extra})[0]
        return run
    return route


def fabric_router(routes: Callable[[int | None], TileRunner], routing: dict | None) -> Callable[[str], TileRunner]:
    """fabric code -> the runner (of onnx_routes' session) the engine would use for it: the card's `routing`
    (None: one bank)."""
    if routing is None:
        run = routes(None)
        return lambda _fabric: run
    runners = {i: routes(i) for i in {*routing["fabrics"].values(), routing["fallback"]}}
    return lambda fabric: runners[routing["fabrics"].get(fabric, routing["fallback"])]
