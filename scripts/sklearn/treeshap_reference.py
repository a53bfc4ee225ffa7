"""Reference SHAP values of small tree ensembles, for the TreeSHAP tests.

Usage: /usr/bin/python3 -I scripts/sklearn/treeshap_reference.py   (after generate.sh)

For a few tree fixtures of testdata/sklearn, takes up to four trees of the
fitted ensemble whose splits use at most 10 columns in all, and computes, on
held-out rows (as the pipeline's transformers make them) and on edited copies
carrying missing values and categories the model never saw, the exact
Shapley values of the game v(S) = E[f(x) | x_S] of path-dependent TreeSHAP
(Lundberg, Erion & Lee 2018): a split on a known column sends x where
scikit-learn's own predictor sends it, a split on an unknown column weighs its
children by their training weight (DecisionTreeRegressor
weighted_n_node_samples, TreePredictor count), each read from the fitted
objects. The Shapley values come from enumerating every subset of the split
columns. Where x goes at a split is asked of scikit-learn itself: a
one-split tree made of that node and two leaves (values 0 and 1) predicts on
every row, so missing values, categorical bitsets and unknown categories
take scikit-learn's routes, not a re-implementation of them. SHAP's own
TreeExplainer is not used (no Debian package).

Writes testdata/sklearn/treeshap_reference.json: per case, the pickle's
SHA-256, the trees, the rows (the columns the trees take; null for missing),
each row's values per column, and E[f] of the small ensemble (times the
learning rate, plus the initial score, as the raw score adds them).
"""

import hashlib
import json
import math
import os
import pickle
import sys
import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
from sklearn.pipeline import Pipeline
from sklearn.tree._tree import Tree

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIR = os.path.join(ROOT, "testdata", "sklearn")
CASES = ["cohort_gbc", "lung_gbc", "cohort_hgbc", "lung_hgbc", "cohort_hgbc_categorical", "lung_hgbc_categorical"]
MAX_COLUMNS = 10
ROW_STEP = 10


def check(ok, message):
    if not ok:
        sys.exit("treeshap_reference.py: " + message)


def heldout(case):
    """The held-out rows as the Go tests read them (see make_fixtures.read_csv)."""
    cols = case["input_columns"]
    path = os.path.join(DIR, case["heldout"])
    head = pd.read_csv(path, nrows=0).columns
    dtypes = {head[0]: str}
    dtypes.update({c["name"]: (str if c["type"] == "categorical" else np.float64) for c in cols})
    d = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values=[""], float_precision="round_trip")
    for c in cols:
        if c["type"] == "categorical":
            d[c["name"]] = d[c["name"]].astype(object)
    return d[[c["name"] for c in cols]]


class SmallTree:
    """One tree as the brute force reads it: children, split column, cover,
    leaf value, and go_left[node] over the rows, asked of scikit-learn."""

    def __init__(self, left, right, feature, cover, value, go_left, scale):
        self.left, self.right, self.feature = left, right, feature
        self.cover, self.value, self.go_left, self.scale = cover, value, go_left, scale

    def expect(self, node, known):
        """E[f | x_S] over the rows: a vector."""
        if self.left[node] < 0:
            return np.full(self.go_left.shape[1], self.value[node])
        l, r = self.left[node], self.right[node]
        el, er = self.expect(l, known), self.expect(r, known)
        if self.feature[node] in known:
            return np.where(self.go_left[node], el, er)
        return (self.cover[l] * el + self.cover[r] * er) / self.cover[node]

    def splits(self):
        return {int(self.feature[i]) for i in range(len(self.left)) if self.left[i] >= 0}


def gbc_tree(est, X32):
    t = est.tree_
    n = t.node_count
    left, right = t.children_left.copy(), t.children_right.copy()
    go_left = np.zeros((n, X32.shape[0]), dtype=bool)
    nodes = t.__getstate__()["nodes"]
    for i in range(n):
        if left[i] < 0:
            continue
        # A three-node tree of this split and two leaves: apply() says
        # which leaf, i.e. which side, each row takes.
        small = np.zeros(3, dtype=nodes.dtype)
        small[0] = nodes[i]
        small[0]["left_child"], small[0]["right_child"] = 1, 2
        for k in (1, 2):
            small[k]["left_child"] = small[k]["right_child"] = -1
            small[k]["feature"] = -2
            small[k]["threshold"] = -2.0
            small[k]["n_node_samples"] = 1
            small[k]["weighted_n_node_samples"] = 1.0
        tr = Tree(t.n_features, np.array([1], dtype=np.intp), 1)
        tr.__setstate__({"max_depth": 1, "node_count": 3, "nodes": small, "values": np.zeros((3, 1, 1))})
        go_left[i] = tr.apply(X32) == 1
    return SmallTree(left, right, t.feature, t.weighted_n_node_samples, t.value[:, 0, 0], go_left, None)


def hgb_tree(pred, X, known, f_idx):
    nodes = pred.nodes
    n = len(nodes)
    left = np.where(nodes["is_leaf"] == 1, -1, nodes["left"].astype(np.int64))
    right = nodes["right"].astype(np.int64)
    go_left = np.zeros((n, X.shape[0]), dtype=bool)
    for i in range(n):
        if left[i] < 0:
            continue
        small = np.zeros(3, dtype=PREDICTOR_RECORD_DTYPE)
        small[0] = nodes[i]
        small[0]["left"], small[0]["right"] = 1, 2
        small[1]["is_leaf"] = small[2]["is_leaf"] = 1
        small[1]["value"], small[2]["value"] = 0.0, 1.0
        tp = TreePredictor(small, pred.binned_left_cat_bitsets, pred.raw_left_cat_bitsets)
        go_left[i] = tp.predict(X, known, f_idx, 1) == 0.0
    return SmallTree(left, right, nodes["feature_idx"].astype(np.int64), nodes["count"].astype(np.float64),
                     nodes["value"], go_left, 1.0)


def pick(trees, prefer):
    chosen, cols = [], set()
    for want in (True, False):
        for k, t in enumerate(trees):
            if len(chosen) == 4 or k in chosen or prefer(k) != want:
                continue
            if len(cols | t.splits()) > MAX_COLUMNS:
                continue
            cols |= t.splits()
            chosen.append(k)
    return chosen


def shapley(trees, width):
    used = sorted(set().union(*(t.splits() for t in trees)))
    m = len(used)
    v = {}
    for mask in range(1 << m):
        known = {used[k] for k in range(m) if mask >> k & 1}
        v[mask] = sum(t.scale * t.expect(0, known) for t in trees)
    rows = trees[0].go_left.shape[1]
    phi = np.zeros((rows, width))
    for k, f in enumerate(used):
        for mask in range(1 << m):
            if mask >> k & 1:
                continue
            s = bin(mask).count("1")
            w = math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m)
            phi[:, f] += w * (v[mask | 1 << k] - v[mask])
    return phi, v[0]


def main():
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    out = {"description": __doc__.strip().split("\n")[0], "max_columns": MAX_COLUMNS, "cases": []}
    rng = np.random.default_rng(18)
    for name in CASES:
        with open(os.path.join(DIR, name + ".json"), encoding="utf-8") as f:
            case = json.load(f)
        path = os.path.join(DIR, case["files"]["p5"])
        with open(path, "rb") as f:
            file_bytes = f.read()
        model = pickle.loads(file_bytes)
        est = model.steps[-1][1] if isinstance(model, Pipeline) else model
        x = heldout(case).iloc[::ROW_STEP]
        X = model[:-1].transform(x) if isinstance(model, Pipeline) else x.to_numpy(dtype=np.float64)
        X = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
        variants = [X]
        if type(est).__name__ == "HistGradientBoostingClassifier":
            gap = X.copy()
            gap[rng.random(gap.shape) < 1 / 3] = np.nan
            variants.append(gap)
            known, f_idx = est._bin_mapper.make_known_categories_bitsets()
            if est.is_categorical_ is not None:
                odd = X.copy()
                for j in np.flatnonzero(est.is_categorical_):
                    seen = set(est._bin_mapper.bin_thresholds_[j].astype(int))
                    unseen = max(c for c in range(256) if c not in seen)
                    odd[:, j] = np.where(rng.random(len(odd)) < 0.5, unseen, np.nan)
                variants.append(odd)
            X = np.ascontiguousarray(np.vstack(variants))
            preds = [p[0] for p in est._predictors]
            trees = [hgb_tree(p, X, known, f_idx) for p in preds]
            prefer = lambda k: bool((preds[k].nodes["is_categorical"] & (preds[k].nodes["is_leaf"] == 0)).any())
            init = float(est._baseline_prediction.ravel()[0])
        else:
            check(not np.isnan(X).any(), name + ": a missing value reaches GradientBoostingClassifier")
            X32 = X.astype(np.float32)
            trees = [gbc_tree(e, X32) for e in est.estimators_[:, 0]]
            for t in trees:
                t.scale = est.learning_rate
            prefer = lambda k: True
            init = float(est._raw_predict_init(X[:1])[0, 0])
        # The routes asked of one-split trees, followed from the root with
        # every column known, give scikit-learn's raw score of the whole
        # ensemble.
        every = set(range(X.shape[1]))
        full = init + sum(t.scale * t.expect(0, every) for t in trees)
        check(np.allclose(full, est.decision_function(X), rtol=0, atol=1e-12), name + ": routes disagree with decision_function")
        chosen = pick(trees, prefer)
        check(len(chosen) >= 3, "%s: only trees %s fit in %d columns" % (name, chosen, MAX_COLUMNS))
        small = [trees[k] for k in chosen]
        phi, empty = shapley(small, X.shape[1])
        # The values and E[f] add up to the small ensemble's raw score.
        raw = init + sum(t.scale * t.expect(0, every) for t in small)
        check(np.allclose(init + empty + phi.sum(axis=1), raw, rtol=0, atol=1e-12), name + ": values do not add up")
        check(np.all(empty == empty[0]), name + ": E[f] depends on the row")
        out["cases"].append({
            "case": name,
            "file": case["files"]["p5"],
            "sha256": hashlib.sha256(file_bytes).hexdigest(),
            "trees": chosen,
            "rows": [[None if math.isnan(v) else float(v) for v in row] for row in X],
            "phi": phi.tolist(),
            "expected": float(init + empty[0]),
        })
        print("%s: trees %s, %d rows" % (name, chosen, X.shape[0]))
    with open(os.path.join(DIR, "treeshap_reference.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(out, f, indent=None, allow_nan=False)
        f.write("\n")


if __name__ == "__main__":
    main()
