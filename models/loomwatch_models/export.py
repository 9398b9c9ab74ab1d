"""ONNX export of an inference graph (tile contract: `image` [N,1,T,T] in [0,1] -> `anomaly_map`
[N,1,T,T] in [0,1]) and the parity check against PyTorch. DRAEM's graph has the softmax inside and
the anomaly channel sliced; PatchCore's is patchcore.PatchCoreMap."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .draem import Draem, DraemAnomalyMap

OPSET = 17
INPUT_NAME = "image"
OUTPUT_NAME = "anomaly_map"


def export_graph(graph: torch.nn.Module, path: Path, tile: int = 256, fold_constants: bool = True,
                 routed: bool = False) -> Path:
    """fold_constants=False keeps an initializer that the graph slices (PatchCore's bank) stored once;
    onnxruntime folds the slices when it loads the session. `routed`: the graph's second input is the
    bank index (int64 [1], patchcore.BANK_INPUT)."""
    from .patchcore import BANK_INPUT
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    graph.eval()
    dummy: tuple[torch.Tensor, ...] = (torch.zeros(1, 1, tile, tile),)
    if routed:
        dummy += (torch.zeros(1, dtype=torch.long),)
    with torch.no_grad():
        torch.onnx.export(
            graph, dummy, str(path), opset_version=OPSET, input_names=[INPUT_NAME] + ([BANK_INPUT] if routed else []),
            output_names=[OUTPUT_NAME], dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            do_constant_folding=fold_constants,
        )
    import onnx
    onnx.checker.check_model(str(path))
    return path


def export_onnx(draem: Draem, path: Path, tile: int = 256) -> Path:
    return export_graph(DraemAnomalyMap(draem), path, tile)


def graph_parity(graph: torch.nn.Module, onnx_path: Path, tiles: np.ndarray, threads: int = 2) -> float:
    """Max |onnxruntime - PyTorch| of an inference graph over the given float32 tiles [N,1,T,T]."""
    from .scoring import onnx_runner, torch_runner
    ort_out = onnx_runner(onnx_path, threads)(tiles)
    pt_out = torch_runner(graph)(tiles)
    assert ort_out.shape == pt_out.shape == (tiles.shape[0], 1, *tiles.shape[2:]), (ort_out.shape, pt_out.shape)
    return float(np.abs(ort_out - pt_out).max())


def parity(draem: Draem, onnx_path: Path, tiles: np.ndarray, threads: int = 2) -> float:
    return graph_parity(DraemAnomalyMap(draem), onnx_path, tiles, threads)
