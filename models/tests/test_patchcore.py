"""The PatchCore family on a small bank: pretrained weights, coreset, export with the tile contract, parity."""
import numpy as np
import torch

from loomwatch_models.data import load_split, read_gray
from loomwatch_models.export import export_graph, graph_parity
from loomwatch_models.patchcore import (
    FeatureExtractor,
    PatchCoreConfig,
    PatchCoreMap,
    extract,
    fit_bank,
    greedy_coreset,
    nearest_distance,
)
from loomwatch_models.paths import SPLITS_DIR
from loomwatch_models.scoring import onnx_runner, to_tiles


def test_greedy_coreset_covers_every_cluster_that_random_sampling_can_miss():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0], [100.0, 100.0]])
    sizes = [997, 1, 1, 1]                              # three far-off outliers among 1000 points
    x = torch.cat([c + torch.randn(n, 2, generator=g) for c, n in zip(centres, sizes, strict=True)])
    chosen = greedy_coreset(x, 4, projection_dim=128)
    assert sorted({int(torch.argmin(((centres - x[i]) ** 2).sum(1))) for i in chosen}) == [0, 1, 2, 3]
    assert nearest_distance(x, x[chosen]).max() < 10          # every point near a centre (clusters are 100 apart)


def test_nearest_distance_is_the_brute_force_minimum():
    g = torch.Generator().manual_seed(1)
    q, bank = torch.randn(50, 7, generator=g), torch.randn(300, 7, generator=g)
    expected = torch.cdist(q, bank).min(1).values
    assert torch.allclose(nearest_distance(q, bank, chunk=64), expected, atol=1e-4)


def test_the_pretrained_backbone_is_loaded_not_random():
    a, b = FeatureExtractor(), FeatureExtractor(weights=False)
    stem = "stem.0.weight"
    assert not torch.equal(a.state_dict()[stem], b.state_dict()[stem])
    # ImageNet BatchNorm statistics, not the identity a fresh network starts with
    assert not torch.allclose(a.state_dict()["stem.1.running_var"], torch.ones(32))


def test_a_fitted_bank_exports_with_the_tile_contract_and_matches_pytorch(isolated, aitex):
    train, val, _ = load_split(SPLITS_DIR / "aitex-split-v1.json", aitex)
    cfg = PatchCoreConfig(coreset_ratio=0.002, coreset_pool=20_000)
    features = FeatureExtractor(cfg.blocks, cfg.pool, reflect_pad=cfg.reflect_pad)
    bank = fit_bank(train[:2], cfg, features, log=lambda _: None)
    assert bank.total_patches == 2 * 16 * 32 * 32 and len(bank.patches) == round(0.002 * bank.total_patches)
    assert bank.patches.shape[1] == features.dims == 152 and bank.scale > 0
    graph = PatchCoreMap(features, bank.patches, bank.scale, cfg.sigma, chunk=25)   # several chunks
    path = export_graph(graph, isolated / "patchcore.onnx", fold_constants=False)
    assert path.stat().st_size < 1.5 * bank.patches.numel() * 4 + 3e6      # the bank is stored once
    defect = next(f for f in val if f.label and f.masks)
    tiles = np.concatenate([to_tiles(read_gray(f.path), 256)[:2] for f in (train[0], defect)])
    assert graph_parity(graph, path, tiles) <= 1e-4
    out = onnx_runner(path)(tiles[:3])
    assert out.shape == (3, 1, 256, 256) and out.min() >= 0 and out.max() < 1
    # the graph's augmented-matmul nearest neighbour is the brute-force one
    with torch.no_grad():
        d = graph.distances(torch.from_numpy(tiles[:1]))
    own = torch.cdist(extract(features, tiles[:1]), bank.patches,
                      compute_mode="donot_use_mm_for_euclid_dist").min(1).values
    assert float((d.flatten() - own).abs().max()) < 1e-3


def test_features_of_a_batch_equal_features_of_single_tiles(aitex):
    train, _, _ = load_split(SPLITS_DIR / "aitex-split-v1.json", aitex)
    tiles = to_tiles(read_gray(train[0].path), 256)[:3]
    fe = FeatureExtractor()
    together = extract(fe, tiles)
    apart = torch.cat([extract(fe, tiles[i:i + 1]) for i in range(3)])
    assert torch.allclose(together, apart, atol=1e-5)


def test_fit_patchcore_writes_a_valid_card_with_parity_metrics_and_fit_facts(isolated, aitex):
    """The release path end to end on a four-frame validation split
    (a defect and a normal frame each of two fabrics)."""
    import json

    from loomwatch_models.registry import read_card, validate_card
    from loomwatch_models.release_patchcore import release_patchcore
    split = json.loads((SPLITS_DIR / "aitex-split-v1.json").read_text())
    val = split["validation"]
    pick = [next(e for e in val if e["label"] == lab and e["fabric"] == fab and (e["hasMask"] or not lab))
            for fab in ("02", "03") for lab in (0, 1)]
    mini = isolated / "mini-split.json"
    mini.write_text(json.dumps({**split, "train": split["train"][:2], "validation": pick}))
    cfg = PatchCoreConfig(coreset_ratio=0.002, coreset_pool=20_000)
    out = release_patchcore(name="patchcore-test", version="0.1.0", data=aitex, split=mini, cfg=cfg,
                            registry=isolated / "reg", mlflow=False, log=lambda _: None)
    vdir = isolated / "reg" / "patchcore-test" / "0.1.0"
    card = read_card(vdir)
    validate_card(card)
    assert card["architecture"] == {"family": "patchcore", "backbone": "efficientnet-lite0", "blocks": [4, 10],
                                    "featureDims": 152, "bankSize": out["fit"]["bankSize"], "coresetRatio": 0.002,
                                    "parameters": card["architecture"]["parameters"]}
    assert card["postprocess"]["smoothingKernel"] == 1 and card["metrics"]["frames"] == 4
    assert json.loads((vdir / "eval" / "parity.json").read_text())["maxAbsDiff"] <= 1e-4
    assert len(json.loads((vdir / "eval" / "scores.json").read_text())) == 4
    assert json.loads((vdir / "eval" / "fit.json").read_text())["trainingPatches"] == 2 * 16 * 32 * 32
