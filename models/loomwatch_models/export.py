"""ONNX export of the inference graph (softmax inside, anomaly channel sliced) and the parity check."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .draem import Draem, DraemAnomalyMap

OPSET = 17
INPUT_NAME = "image"
OUTPUT_NAME = "anomaly_map"


def export_onnx(draem: Draem, path: Path, tile: int = 256) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    graph = DraemAnomalyMap(draem).eval()
    dummy = torch.zeros(1, draem.channels, tile, tile)
    with torch.no_grad():
        torch.onnx.export(
            graph, dummy, str(path), opset_version=OPSET, input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME], dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            do_constant_folding=True,
        )
    import onnx
    m = onnx.load(str(path))
    onnx.checker.check_model(m)
    return path


def parity(draem: Draem, onnx_path: Path, tiles: np.ndarray, threads: int = 2) -> float:
    """Max |onnxruntime - PyTorch| over the given float32 tiles [N,1,T,T]."""
    from .scoring import onnx_runner, torch_runner
    ort_out = onnx_runner(onnx_path, threads)(tiles)
    pt_out = torch_runner(DraemAnomalyMap(draem))(tiles)
    assert ort_out.shape == pt_out.shape == (tiles.shape[0], 1, *tiles.shape[2:]), (ort_out.shape, pt_out.shape)
    return float(np.abs(ort_out - pt_out).max())
