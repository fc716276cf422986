#!/usr/bin/env python3
"""diffprivlib's DP random forest on Online Shoppers: the bar websight-dp's private forest
must clear (websight-dp/tests/forest.rs).

Same data, same stratified 80/20 split (seed 42: sklearn's train_test_split — websight's own
split differs, so both are scored on theirs; the test compares mean ROC-AUC), ε = 1 and 3,
five seeds, and two ways of giving diffprivlib its feature bounds: the public ranges
websight uses (`online_shoppers_ranges`, linear, as diffprivlib takes them) and the
training data's own min/max (what diffprivlib does when given none — not private, but its
best case).

    python3 -m pip install numpy pandas "scikit-learn==1.5.2" diffprivlib==0.6.6
    python3 scripts/dp_forest_reference.py websight-core/tests/data/online_shoppers_intention.csv \
        > websight-dp/tests/fixtures/diffprivlib_forest.json
"""
import json
import sys
import warnings

import diffprivlib
import numpy as np
import pandas as pd
import sklearn
from diffprivlib.models import RandomForestClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

warnings.filterwarnings("ignore")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "June", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
VISITORS = {"New_Visitor": 0, "Other": 1, "Returning_Visitor": 2}

df = pd.read_csv(sys.argv[1])
df["Month"] = df["Month"].map(lambda m: MONTHS.index(m) + 1)
df["VisitorType"] = df["VisitorType"].map(VISITORS)
df["Weekend"] = df["Weekend"].astype(float)
y = df["Revenue"].values.astype(int)
x = df.drop(columns=["Revenue"]).values.astype(float)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=42)

public = (
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0],
    [1000, 86400, 1000, 86400, 1000, 86400, 1, 1, 1000, 1, 12, 8, 13, 9, 20, 2, 1],
)
from_data = (list(x_train.min(axis=0)), list(x_train.max(axis=0)))
rows = []
for bounds_name, bounds in [("public", public), ("training_data", from_data)]:
    for epsilon in [1.0, 3.0]:
        aucs = []
        for seed in range(5):
            model = RandomForestClassifier(epsilon=epsilon, bounds=bounds, classes=[0, 1], random_state=seed)
            model.fit(x_train, y_train)
            aucs.append(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1]))
        rows.append({"bounds": bounds_name, "epsilon": epsilon, "roc_auc": aucs,
                     "mean_roc_auc": float(np.mean(aucs))})
json.dump({"diffprivlib": diffprivlib.__version__, "scikit_learn": sklearn.__version__,
           "model": "diffprivlib.models.RandomForestClassifier (defaults: 10 trees)",
           "split": "train_test_split(test_size=0.2, stratify=y, random_state=42)",
           "rows": rows}, sys.stdout, indent=1)
print()
