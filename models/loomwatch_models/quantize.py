"""INT8 static quantisation (onnxruntime, QDQ, per-channel weights) calibrated on normal training tiles."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .data import read_gray
from .scoring import to_tiles


class _Tiles:
    """CalibrationDataReader over float32 tiles [N,1,T,T], one tile per call."""

    def __init__(self, name: str, tiles: np.ndarray):
        self.name, self.it = name, iter(tiles)

    def get_next(self):
        t = next(self.it, None)
        return None if t is None else {self.name: t[None]}

    def rewind(self):                            # newer onnxruntime versions may call it
        pass


def calibration_tiles(train_frames, n: int = 64, tile: int = 256, seed: int = 0) -> np.ndarray:
    """n tiles from the normal training frames (seeded: frames and tile columns)."""
    rng = np.random.default_rng(seed)
    frames = [train_frames[i] for i in rng.permutation(len(train_frames))[:n]]
    out: list[np.ndarray] = []
    while len(out) < n:
        for f in frames:
            tiles = to_tiles(read_gray(f.path), tile)
            out.append(tiles[rng.integers(len(tiles))])
            if len(out) == n:
                break
    return np.stack(out)


def quantize(fp32: Path, int8: Path, tiles: np.ndarray) -> Path:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process
    pre = Path(int8).with_suffix(".pre.onnx")
    quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
    import onnxruntime as ort
    name = ort.InferenceSession(str(pre), providers=["CPUExecutionProvider"]).get_inputs()[0].name
    quantize_static(str(pre), str(int8), _Tiles(name, tiles), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax)
    pre.unlink(missing_ok=True)
    return Path(int8)


def bench(onnx_path: Path, tiles: np.ndarray, threads: int = 2, repeats: int = 3) -> float:
    """Seconds per batch of `tiles` (one frame = 16 tiles), best of `repeats` after a warm-up."""
    from .scoring import onnx_runner
    run = onnx_runner(onnx_path, threads)
    run(tiles)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        run(tiles)
        best = min(best, time.perf_counter() - t)
    return best
