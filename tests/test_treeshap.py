"""models.treeshap: per-leaf-table TreeSHAP equals LightGBM's pred_contrib on every kind of split it reads."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from models.treeshap import Unsupported, booster_shap, leaf_tables


def _data(n=3000, p=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    X[rng.random((n, p)) < 0.15] = np.nan
    X[:, 2] = np.round(X[:, 2])  # many exact zeros: exercises missing_type 'Zero'
    signal = np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) * np.nan_to_num(X[:, 2]) - np.isnan(X[:, 3])
    y = (signal + rng.normal(size=n) > 0).astype(int)
    return X, y


@pytest.mark.parametrize("params", [
    {},  # NaN goes to a learned side ('NaN' and 'None' missing types)
    {"zero_as_missing": True},  # 'Zero': zeros and NaN take the default side
    {"use_missing": False},  # 'None': NaN is read as 0
    {"num_leaves": 63, "min_data_in_leaf": 5},  # deep paths that split on the same feature several times
])
def test_matches_lightgbm_pred_contrib(params):
    X, y = _data()
    booster = lgb.train({"objective": "binary", "num_leaves": 15, "verbose": -1, **params},
                        lgb.Dataset(X, y), num_boost_round=40)
    tables = leaf_tables(booster)
    if params.get("num_leaves") == 63:  # the case is only meaningful if some path repeats a feature
        assert (np.diff(tables.leaf_steps) > np.diff(tables.leaf_slots)).any()
    phi, expected = booster_shap(booster, X, tables)
    reference = booster.predict(X, pred_contrib=True)
    np.testing.assert_allclose(phi, reference[:, :-1], atol=1e-9)
    assert expected == pytest.approx(reference[0, -1], abs=1e-9)
    # additivity: contributions plus the expected value give the raw score
    np.testing.assert_allclose(phi.sum(axis=1) + expected, booster.predict(X, raw_score=True), atol=1e-9)


def test_stumps_and_empty_input():
    X, y = _data(n=200)
    booster = lgb.train({"objective": "binary", "verbose": -1, "min_data_in_leaf": 150}, lgb.Dataset(X, y), 3)
    phi, expected = booster_shap(booster, X[:0])
    assert phi.shape == (0, X.shape[1])
    reference = booster.predict(X, pred_contrib=True)
    np.testing.assert_allclose(booster_shap(booster, X)[0], reference[:, :-1], atol=1e-9)
    assert expected == pytest.approx(reference[0, -1])


def test_wrong_width_and_categorical_splits_are_refused():
    X, y = _data()
    booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, y), 5)
    with pytest.raises(ValueError, match="8 feature columns"):
        booster_shap(booster, X[:, :5])
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    frame["cat"] = pd.Categorical(np.random.default_rng(1).choice(list("abcd"), len(frame)))
    y_cat = (frame["cat"].isin(["a", "b"]) ^ (np.random.default_rng(2).random(len(frame)) < 0.1)).astype(int)
    cat_booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(frame, y_cat), 5)
    with pytest.raises(Unsupported, match="categorical"):
        leaf_tables(cat_booster)


def test_kernels_agree_with_their_python_source():
    """The numba kernels run compiled elsewhere; here their Python source runs too, on a few rows, and
    must give the compiled (and LightGBM's) answer: a mistake that only the compiled path hides shows."""
    from models.treeshap import _leaf_table, _shap_rows, _shapley_weights

    X, y = _data(n=400)
    booster = lgb.train({"objective": "binary", "num_leaves": 7, "verbose": -1}, lgb.Dataset(X, y), 5)
    t = leaf_tables(booster)
    args = (X[:20], t.node_feature, t.node_threshold, t.node_default_left, t.node_missing, t.tree_nodes,
            t.tree_leaves, t.leaf_steps, t.step_node, t.step_left, t.step_slot, t.leaf_slots, t.slot_feature,
            t.leaf_table, t.table, t.n_features)
    np.testing.assert_allclose(_shap_rows.py_func(*args), booster.predict(X[:20], pred_contrib=True)[:, :-1],
                               atol=1e-9)
    z, w = np.array([0.3, 0.6, 0.8]), _shapley_weights(3)
    np.testing.assert_allclose(_leaf_table.py_func(1.5, z, w), _leaf_table(1.5, z, w), atol=1e-12)
    # efficiency: for each pattern the leaf's Shapley values sum to v * (prod of o_j) - v * (prod of z_j)
    table = _leaf_table.py_func(1.5, z, w)
    for pattern in range(8):
        o = np.array([(pattern >> j) & 1 for j in range(3)])
        assert table[pattern].sum() == pytest.approx(1.5 * o.prod() - 1.5 * z.prod())
