import numpy as np
from sklearn.metrics import roc_auc_score

from loomwatch_models.evaluate import BINS, _auc_from_hist, best_threshold, pro_score, rates


def test_pixel_auroc_from_histograms_matches_sklearn():
    rng = np.random.default_rng(0)
    pos, neg = rng.beta(3, 2, 5000), rng.beta(2, 3, 20000)
    hp = np.bincount((pos * BINS).astype(int), minlength=BINS + 1)
    hn = np.bincount((neg * BINS).astype(int), minlength=BINS + 1)
    ref = roc_auc_score(np.r_[np.ones(5000), np.zeros(20000)], np.r_[pos, neg])
    assert abs(_auc_from_hist(hp, hn) - ref) < 1e-4


def test_threshold_by_max_f1_sits_between_scores_and_detects_the_defects():
    scores = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    labels = np.array([0, 0, 0, 1, 1, 1])
    thr, f1 = best_threshold(scores, labels)
    assert f1 == 1.0 and 0.3 < thr < 0.6 and np.isclose(thr, 0.45)
    r = rates(scores, labels, np.array(["000"] * 3 + ["019"] * 3), thr)
    assert r["detectionRate"] == 1.0 and r["falseAlarmRate"] == 0.0 and r["perCode"]["019"]["detected"] == 3


def test_pro_is_one_for_a_perfect_map_and_about_015_for_noise():
    rng = np.random.default_rng(1)
    gts = []
    for _ in range(3):
        g = np.zeros((128, 256), bool)
        g[10:30, 10:60] = True
        g[80:84, 100:250] = True
        gts.append(g)
    assert np.isclose(pro_score([g * 0.9 + 0.05 for g in gts], gts), 1.0)
    assert abs(pro_score([rng.random(g.shape) for g in gts], gts) - 0.15) < 0.03
