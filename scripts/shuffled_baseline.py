"""Why models fitted to shuffled labels score well below chance (docs/guides/dp.md).

A simulation shaped like the shop's visits: one in ten buys, buyers' visits lie in the
sparse tails (several cart adds, long dwell), half the others are bounces that are all
alike. Labels are shuffled over the training rows; a forest like the pipeline's (50 trees,
depth 8, half the features per split) and a network like train's (128-64, early stopping)
are fitted to them and scored against the true labels of the test rows.

- The forest gives buyers the same mean score as the others but a lower median: a row in a
  sparse region falls in a small leaf, whose share of the (random) positives is mostly
  below the base rate and now and then far above it, while a row in a dense region gets
  about the base rate. ROC-AUC compares ranks, so buyers rank below most others.
- The network starts at ½ everywhere and is pulled down towards the base rate; with ReLU
  units the pull is largest where the inputs are largest, and early stopping leaves it
  there, so buyers' larger features score lowest.

    python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn
    /tmp/skl/bin/python scripts/shuffled_baseline.py
"""

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

SEEDS = 24


def visits(seed):
    """Features, true labels and the training mask of one simulated shop."""
    rng = np.random.default_rng(seed)
    n = 2_800  # about the visits of `train --data synthetic --sessions 3000`
    buyer = rng.random(n) < 0.1
    carts = np.where(buyer, rng.poisson(3, n) + 1, rng.poisson(0.2, n))
    dwell = np.where(buyer, rng.lognormal(2.5, 0.6, n), rng.lognormal(1.0, 0.9, n))
    pages = rng.poisson(np.where(buyer, 12, 5))
    x = np.log1p(np.c_[carts, dwell, pages]).round(3)
    x[~buyer & (rng.random(n) < 0.5)] = 0.0  # bounces, all alike
    return x, buyer, rng.random(n) < 0.8, rng


def forest(x_train, y, x_test, seed):
    model = RandomForestClassifier(50, max_depth=8, max_features=0.5, random_state=seed)
    return model.fit(x_train, y).predict_proba(x_test)[:, 1]


def network(x_train, y, x_test, seed):
    scaler = StandardScaler().fit(x_train)
    model = MLPClassifier(
        (128, 64), max_iter=60, early_stopping=True, n_iter_no_change=8, random_state=seed
    )
    model.fit(scaler.transform(x_train), y)
    return model.predict_proba(scaler.transform(x_test))[:, 1]


def ranks(v):
    return np.argsort(np.argsort(v))


for name, fit in [("forest", forest), ("network", network)]:
    rows = []
    for seed in range(SEEDS):
        x, buyer, train, rng = visits(seed)
        p = fit(x[train], rng.permutation(buyer[train]), x[~train], seed)
        b = buyer[~train]
        # How far each test row lies from the training rows' centre, in their SDs.
        far = np.linalg.norm((x[~train] - x[train].mean(0)) / x[train].std(0), axis=1)
        rows.append(
            (
                roc_auc_score(b, p),
                p[b].mean(),
                np.median(p[b]),
                p[~b].mean(),
                np.median(p[~b]),
                np.corrcoef(ranks(far), ranks(p))[0, 1],
            )
        )
    auc, b_mean, b_median, o_mean, o_median, rho = np.array(rows).T
    print(
        f"{name} on shuffled labels, {SEEDS} seeds: ROC-AUC mean {auc.mean():.3f} "
        f"({auc.min():.2f} to {auc.max():.2f}, below 0.45 in {(auc < 0.45).sum()}); "
        f"scores of buyers: mean {b_mean.mean():.3f}, median {b_median.mean():.3f}; "
        f"of others: mean {o_mean.mean():.3f}, median {o_median.mean():.3f}; "
        f"rank correlation of score with distance from the centre {rho.mean():+.2f}"
    )
