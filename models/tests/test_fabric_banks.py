"""One memory bank per fabric routed inside the graph, the edge mask, operating points, and the release."""
import json

import numpy as np
import pytest
import torch

from loomwatch_models.export import export_graph
from loomwatch_models.operating_points import RATES, clopper_pearson, operating_points
from loomwatch_models.patchcore import FeatureExtractor, PatchCoreConfig, PatchCoreMap, RoutedPatchCoreMap
from loomwatch_models.paths import SPLITS_DIR
from loomwatch_models.scoring import onnx_routes


@pytest.fixture(scope="module")
def features():
    return FeatureExtractor(weights=False)


def test_each_bank_index_searches_its_own_bank_only(isolated, features):
    g = torch.Generator().manual_seed(0)
    banks = [torch.rand(40, 152, generator=g), torch.rand(60, 152, generator=g) + 1.0]
    routed = RoutedPatchCoreMap(features, banks, [1.5, 3.0])
    x = torch.rand(2, 1, 256, 256, generator=g)
    path = export_graph(routed, isolated / "routed.onnx", fold_constants=False, routed=True)
    routes = onnx_routes(path)
    for i, (bank, scale) in enumerate(zip(banks, [1.5, 3.0], strict=True)):
        alone = PatchCoreMap(features, bank.half().float(), scale)     # the routed graph stores fp16
        with torch.no_grad():
            expected = alone(x).numpy()
            assert np.abs(routed(x, torch.tensor([i])).numpy() - expected).max() < 1e-5
        assert np.abs(routes(i)(x.numpy()) - expected).max() < 1e-4
    assert path.stat().st_size < 100 * 152 * 2 + 3.5e6          # banks stored once, in fp16
    with pytest.raises(ValueError, match="bank index"):
        routes(None)


def test_the_saturated_band_beside_the_cloth_and_its_edge_never_score(features):
    g = torch.Generator().manual_seed(1)
    graph = RoutedPatchCoreMap(features, [torch.rand(30, 152, generator=g)], [1.0], edge=16)
    x = torch.rand(1, 1, 256, 256, generator=g) * 0.8
    x[..., :64] = 1.0                                            # a white band, 64 columns wide
    x[0, 0, 3, 100] = 1.0                                        # one saturated pixel inside the cloth
    with torch.no_grad():
        m = graph(x, torch.tensor([0]))[0, 0]
    assert float(m[:, : 64 + 16].max()) == 0.0
    assert float(m[:, 64 + 16:].min()) > 0.0                     # the cloth, the glinting pixel's column too


def test_operating_points_give_lower_thresholds_for_higher_rates_and_count_what_they_let_through():
    scores = np.random.default_rng(0).normal(0.6, 0.03, 40)
    ops = operating_points(scores, "test")
    thresholds = [p["imageThreshold"] for p in ops["points"]]
    assert [p["falseAlarmRate"] for p in ops["points"]] == list(RATES)
    assert all(a > b for a, b in zip(thresholds, thresholds[1:], strict=False))
    for p in ops["points"]:
        assert p["observed"]["falseAlarms"] == int((scores >= p["imageThreshold"]).sum())
        assert p["observed"]["low"] <= p["observed"]["falseAlarms"] / 40 <= p["observed"]["high"]


def test_the_clopper_pearson_interval_of_no_false_alarm_in_twenty_frames():
    lo, hi = clopper_pearson(0, 20)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 20), abs=1e-9)


def test_fit_patchcore_fabrics_writes_a_routed_card_with_operating_points(isolated, aitex):
    """The release end to end on a small split: two fabrics with 4 training frames each, 2 folds."""
    from loomwatch_models.registry import read_card, validate_card
    from loomwatch_models.release_fabric_banks import release_fabric_banks
    split = json.loads((SPLITS_DIR / "aitex-split-v1.json").read_text())
    train = [e for fab in ("02", "03") for e in [t for t in split["train"] if t["fabric"] == fab][:4]]
    val = [next(e for e in split["validation"]
                if e["label"] == lab and e["fabric"] == fab and (e["hasMask"] or not lab))
           for fab in ("02", "03") for lab in (0, 1)]
    val.append(next(e for e in split["validation"] if e["fabric"] == "08"))          # no bank: the fallback
    mini = isolated / "mini-split.json"
    mini.write_text(json.dumps({**split, "train": train, "validation": val}))
    cfg = PatchCoreConfig(coreset_ratio=0.002)
    release_fabric_banks(name="patchcore-test", version="0.1.0", data=aitex, split=mini, cfg=cfg, folds=2,
                         pool=5_000, registry=isolated / "reg", mlflow=False, log=lambda _: None)
    vdir = isolated / "reg" / "patchcore-test" / "0.1.0"
    card = read_card(vdir)
    validate_card(card)
    assert card["routing"] == {"input": "bank", "fabrics": {"02": 0, "03": 1}, "fallback": 2}
    pp = card["postprocess"]
    assert set(pp["fabrics"]) == {"02", "03"}
    for cal in [pp, *pp["fabrics"].values()]:
        five = next(p for p in cal["operatingPoints"]["points"] if p["falseAlarmRate"] == 0.05)
        assert cal["imageThreshold"] == five["imageThreshold"]
    # per fabric: 4 out-of-fold training normals + 1 validation normal; pooled: every normal, by the fallback bank
    assert [pp["fabrics"][f]["operatingPoints"]["frames"] for f in ("02", "03")] == [5, 5]
    assert pp["operatingPoints"]["frames"] == 10
    assert json.loads((vdir / "eval" / "parity.json").read_text())["maxAbsDiff"] <= 1e-4
    ops = json.loads((vdir / "eval" / "operating_points.json").read_text())
    assert len(ops["outOfFold"]) == 8 and set(ops["rates"]["0.05"]) == {"inSample", "crossCalibrated"}
