#!/usr/bin/env python3
"""Reference models, SHAP values and timings for websight-explain, made with shap.

Two jobs:

  explain_reference.py fixtures OUT_DIR
      Small golden files in the format of websight-explain/tests/fixtures: a scikit-learn
      forest exported as `sklearn-forest-v1`, an XGBoost `save_model` JSON, shap's
      path-dependent TreeExplainer values, and KernelExplainer values (all coalitions) of a
      logistic regression and a one-hidden-layer MLP stored as JSON.

  explain_reference.py bench OUT_DIR
      The benchmark's same-shaped models on the Online Shoppers data (17 ordinal features,
      stratified 80/20 split, seed 42): a random forest of 50 trees of depth 8 and XGBoost
      with 100 rounds of depth 6, exported for `cargo bench -p websight-explain`, and the
      reference speeds measured here: shap TreeExplainer rows/s, xgboost's C++ pred_contribs
      rows/s on one thread, shap KernelExplainer rows/s on 8 features with 50 background rows
      (logistic regression and MLP). Writes OUT_DIR/shap_timings.json.

Setup: python3 -m venv /tmp/shapenv && /tmp/shapenv/bin/pip install shap==0.51.0 \
       scikit-learn==1.8.0 xgboost==3.2.0
"""

import json
import os
import sys
import time

import numpy as np
import shap
import sklearn
import xgboost as xgb
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHOPPERS = os.path.join(ROOT, "websight-core", "tests", "data", "online_shoppers_intention.csv")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "June", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
VISITORS = ["New_Visitor", "Other", "Returning_Visitor"]


def shoppers():
    """The 17 features as websight_core::datasets::online_shoppers encodes them."""
    with open(SHOPPERS) as f:
        header = f.readline().strip().split(",")
        rows, labels = [], []
        for line in f:
            v = line.strip().split(",")
            if len(v) != 18:
                continue
            row = []
            for j, field in enumerate(v[:17]):
                if j == 10:
                    row.append(MONTHS.index(field) + 1.0)
                elif j == 15:
                    row.append(float(VISITORS.index(field)))
                elif j == 16:
                    row.append(1.0 if field == "TRUE" else 0.0)
                else:
                    row.append(float(field))
            rows.append(row)
            labels.append(1 if v[17] == "TRUE" else 0)
    return np.array(rows), np.array(labels), header[:17]


def export_forest(rf, n_features):
    trees = []
    for est in rf.estimators_:
        t = est.tree_
        value = t.value[:, 0, :]
        value = value / value.sum(axis=1, keepdims=True)
        trees.append({
            "node_count": int(t.node_count),
            "max_depth": int(t.max_depth),
            "children_left": t.children_left.tolist(),
            "children_right": t.children_right.tolist(),
            "feature": t.feature.tolist(),
            "threshold": t.threshold.tolist(),
            "value": value.tolist(),
            "n_node_samples": t.n_node_samples.tolist(),
            "weighted_n_node_samples": t.weighted_n_node_samples.tolist(),
            "missing_go_to_left": t.missing_go_to_left.astype(int).tolist(),
        })
    return {"format": "sklearn-forest-v1", "n_estimators": len(trees), "n_features": n_features,
            "classes": [0, 1], "trees": trees}


def write(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)


def rows_per_s(fn, n, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return n / best


def mlp_json(scaler, mlp, features):
    return {"features": features, "scaler_mean": scaler.mean_.tolist(),
            "scaler_scale": scaler.scale_.tolist(), "W1": mlp.coefs_[0].tolist(),
            "b1": mlp.intercepts_[0].tolist(), "W2": mlp.coefs_[1].tolist(),
            "b2": mlp.intercepts_[1].tolist(), "activation": "relu", "out_activation": "logistic"}


def fixtures(root):
    out = os.path.join(root, "treeshap")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    n, d = 2000, 8
    x = rng.normal(size=(n, d)).round(4)
    x[:, 3] = rng.integers(0, 6, n)
    y = ((x[:, 0] + 0.5 * x[:, 3] * x[:, 4] + rng.normal(size=n)) > 0.8).astype(int)
    header = ",".join([f"f{j}" for j in range(d)] + ["label"])
    np.savetxt(os.path.join(out, "features.csv"), np.column_stack([x, y]), delimiter=",",
               header=header, comments="", fmt="%.4f")
    rows = list(range(0, 200))
    rf = RandomForestClassifier(n_estimators=8, max_depth=6, random_state=7).fit(x, y)
    write(os.path.join(out, "rf_model.json"), export_forest(rf, d))
    e = shap.TreeExplainer(rf)
    sv = e.shap_values(x[rows])[:, :, 1]
    write(os.path.join(out, "shap_rf.json"), {
        "rows": rows, "expected_value": float(e.expected_value[1]), "shap_values": sv.tolist(),
        "model_output": rf.predict_proba(x[rows])[:, 1].tolist()})
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 4, "eta": 0.3},
                        xgb.DMatrix(x, label=y), num_boost_round=12)
    booster.save_model(os.path.join(out, "xgb_model.json"))
    contribs = booster.predict(xgb.DMatrix(x[rows]), pred_contribs=True)
    write(os.path.join(out, "shap_xgb.json"), {
        "rows": rows, "expected_value": float(contribs[0, -1]),
        "shap_values": contribs[:, :-1].tolist(),
        "model_output": booster.predict(xgb.DMatrix(x[rows]), output_margin=True).tolist()})
    write(os.path.join(out, "meta.json"), {"shap": shap.__version__, "sklearn": sklearn.__version__,
                                           "xgboost": xgb.__version__, "numpy": np.__version__})
    out = os.path.join(root, "kernelshap")
    os.makedirs(out, exist_ok=True)
    k = 6
    xk = x[:, :k]
    background = xk[:20]
    header = ",".join([f"f{j}" for j in range(k)] + ["label"])
    np.savetxt(os.path.join(out, "features.csv"), np.column_stack([xk, y]), delimiter=",",
               header=header, comments="", fmt="%.4f")
    lr = LogisticRegression().fit(xk, y)
    write(os.path.join(out, "model_lr.json"), {"w": lr.coef_[0].tolist(), "b": float(lr.intercept_[0])})
    scaler = StandardScaler().fit(xk)
    mlp = MLPClassifier(hidden_layer_sizes=(16,), max_iter=500, random_state=7)
    mlp.fit(scaler.transform(xk), y)
    write(os.path.join(out, "model_mlp.json"), mlp_json(scaler, mlp, [f"f{j}" for j in range(k)]))
    write(os.path.join(out, "background.json"), {"values": background.tolist()})
    for name, f in [("lr", lambda a: a @ lr.coef_[0] + lr.intercept_[0]),
                    ("mlp", lambda a: mlp.predict_proba(scaler.transform(a))[:, 1])]:
        ke = shap.KernelExplainer(f, background)
        kr = list(range(40))
        write(os.path.join(out, f"kernelshap_{name}.json"), {
            "rows": kr, "expected_value": float(ke.expected_value),
            "kernelshap_full": ke.shap_values(xk[kr], nsamples=2 ** k, silent=True).tolist(),
            "model_output": f(xk[kr]).tolist()})
    write(os.path.join(out, "meta.json"), {"shap": shap.__version__, "sklearn": sklearn.__version__,
                                           "xgboost": xgb.__version__, "numpy": np.__version__})


def bench(out):
    os.makedirs(out, exist_ok=True)
    x, y, names = shoppers()
    train, test = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=42)
    xt, yt, xe = x[train], y[train], x[test]
    timings = {"versions": {"shap": shap.__version__, "sklearn": sklearn.__version__,
                            "xgboost": xgb.__version__}}
    rf = RandomForestClassifier(n_estimators=50, max_depth=8, random_state=42).fit(xt, yt)
    write(os.path.join(out, "shoppers_rf.json"), export_forest(rf, x.shape[1]))
    rows = xe[:1000]
    e = shap.TreeExplainer(rf)
    timings["forest_50x8_shap_rows_per_s"] = rows_per_s(lambda: e.shap_values(rows), len(rows), 1)
    timings["forest_leaves"] = int(sum(t.tree_.n_leaves for t in rf.estimators_))
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 6, "eta": 0.3,
                         "nthread": 1, "tree_method": "hist"},
                        xgb.DMatrix(xt, label=yt), num_boost_round=100)
    booster.save_model(os.path.join(out, "shoppers_xgb.json"))
    dm = xgb.DMatrix(rows, nthread=1)
    timings["xgboost_100x6_pred_contribs_1thread_rows_per_s"] = rows_per_s(
        lambda: booster.predict(dm, pred_contribs=True), len(rows))
    k = 8
    background = xt[:50, :k]
    few = xe[:40, :k]
    lr = LogisticRegression(max_iter=1000).fit(xt[:, :k], yt)
    write(os.path.join(out, "shoppers_lr8.json"), {"w": lr.coef_[0].tolist(), "b": float(lr.intercept_[0])})
    scaler = StandardScaler().fit(xt[:, :k])
    mlp = MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=42)
    mlp.fit(scaler.transform(xt[:, :k]), yt)
    write(os.path.join(out, "shoppers_mlp8.json"), mlp_json(scaler, mlp, names[:k]))
    write(os.path.join(out, "shoppers_background8.json"), {"values": background.tolist()})
    np.savetxt(os.path.join(out, "shoppers_test.csv"), xe, delimiter=",",
               header=",".join(names), comments="")
    for name, f in [("logistic", lambda a: a @ lr.coef_[0] + lr.intercept_[0]),
                    ("mlp", lambda a: mlp.predict_proba(scaler.transform(a))[:, 1])]:
        ke = shap.KernelExplainer(f, background)
        timings[f"kernel_8f_50bg_{name}_shap_rows_per_s"] = rows_per_s(
            lambda: ke.shap_values(few, silent=True), len(few), 1)
    write(os.path.join(out, "shap_timings.json"), timings)
    print(json.dumps(timings, indent=1))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("fixtures", "bench"):
        sys.exit(__doc__)
    (fixtures if sys.argv[1] == "fixtures" else bench)(sys.argv[2])
