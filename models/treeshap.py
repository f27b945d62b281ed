"""Path-dependent TreeSHAP for LightGBM boosters, with per-leaf tables (the "Fast TreeSHAP v2" idea).

Path-dependent TreeSHAP (Lundberg et al. 2020, what `booster.predict(pred_contrib=True)` computes)
sums, over the leaves of every tree, the Shapley values of a small game: for a leaf with value v
and unique path features F (d of them), a coalition S is worth

    f(S) = v * prod_{j in S} o_j * prod_{j in F, j not in S} z_j

where o_j (0 or 1) says whether the row satisfies every split on feature j along the path and z_j
is the share of training rows (LightGBM's data counts) that follow the path at those splits.
A leaf's Shapley values depend on the row only through the bit pattern of the o_j, so they can
be tabulated once per leaf for all 2^d patterns (Yang 2021, "Fast TreeSHAP"). Explaining a row
is then: evaluate each split once, form each leaf's pattern, add d table entries. That is
O(L*D) per tree instead of TreeSHAP's O(L*D^2) and runs in parallel over rows with numba.

`booster_shap(booster, X)` returns the same values as LightGBM's pred_contrib (tested to 1e-9);
boosters it cannot read (categorical splits, linear trees, multiclass) raise `Unsupported`, and
callers fall back to LightGBM.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

MISSING = {"None": 0, "Zero": 1, "NaN": 2}
K_ZERO = 1e-35  # LightGBM's kZeroThreshold


class Unsupported(ValueError):
    """The booster uses a tree feature this implementation does not cover."""


@dataclass(frozen=True)
class LeafTables:
    """Flattened trees: internal nodes, leaf paths and per-leaf Shapley tables (see module doc)."""

    node_feature: np.ndarray  # int64 (n_nodes,), over all trees
    node_threshold: np.ndarray  # float64
    node_default_left: np.ndarray  # bool
    node_missing: np.ndarray  # int8, MISSING codes
    tree_nodes: np.ndarray  # int64 (n_trees + 1,): internal nodes of tree t are [tree_nodes[t], tree_nodes[t+1])
    tree_leaves: np.ndarray  # int64 (n_trees + 1,): leaves of tree t
    leaf_steps: np.ndarray  # int64 (n_leaves + 1,): path steps of leaf l are [leaf_steps[l], leaf_steps[l+1])
    step_node: np.ndarray  # int64: global internal node of the step
    step_left: np.ndarray  # bool: the path goes left there
    step_slot: np.ndarray  # int64: position of the step's feature among the leaf's unique features
    leaf_slots: np.ndarray  # int64 (n_leaves + 1,): unique features of leaf l are slot_feature[leaf_slots[l]:...]
    slot_feature: np.ndarray  # int64
    leaf_table: np.ndarray  # int64 (n_leaves,): offset of the leaf's (2^d, d) table in `table`
    table: np.ndarray  # float64
    n_features: int
    expected_value: float


def _shapley_weights(d: int) -> np.ndarray:
    """w[k] = k! (d-k-1)! / d!, the Shapley weight of a coalition of size k among d players."""
    from math import factorial

    return np.array([factorial(k) * factorial(d - k - 1) / factorial(d) for k in range(d)], dtype="float64")


@njit(cache=True)
def _leaf_table(value, z, w):
    """(2^d, d) Shapley values of one leaf's game for every pattern of satisfied features."""
    d = len(z)
    out = np.zeros((1 << d, d))
    coef = np.zeros(d + 1)
    for pattern in range(1 << d):
        for i in range(d):
            o_i = (pattern >> i) & 1
            outside = 1.0  # features neither satisfied nor i: they can only be absent, at their cover share
            coef[:] = 0.0
            coef[0] = 1.0
            size = 0
            for j in range(d):
                if j == i:
                    continue
                if (pattern >> j) & 1:
                    # c_k = sum over S within the satisfied features, |S| = k, of prod of z outside S
                    for k in range(size + 1, 0, -1):
                        coef[k] = coef[k] * z[j] + coef[k - 1]
                    coef[0] *= z[j]
                    size += 1
                else:
                    outside *= z[j]
            total = 0.0
            for k in range(size + 1):
                total += w[k] * coef[k]
            out[pattern, i] = value * (o_i - z[i]) * outside * total
    return out


def leaf_tables(booster) -> LeafTables:
    """Read a LightGBM booster's trees into `LeafTables` (raises Unsupported when it can't)."""
    model = booster.dump_model()
    if model.get("num_tree_per_iteration", 1) != 1:
        raise Unsupported("multiclass boosters are not supported")
    nodes: dict[str, list] = {"feature": [], "threshold": [], "default_left": [], "missing": []}
    tree_nodes, tree_leaves = [0], [0]
    leaf_steps, step_node, step_left, step_slot = [0], [], [], []
    leaf_slots, slot_feature, leaf_table, tables = [0], [], [], []
    table_size, expected = 0, 0.0
    for tree in model["tree_info"]:
        root = tree["tree_structure"]
        if "leaf_value" in root:  # a stump: a constant, no feature takes credit
            expected += float(root["leaf_value"])
            tree_nodes.append(len(nodes["feature"]))
            tree_leaves.append(len(leaf_table))
            continue
        root_count = float(root["internal_count"])
        stack = [(root, [])]  # (node, path of (global node, went left, feature, cover share))
        while stack:
            node, path = stack.pop()
            if "leaf_value" in node:
                value = float(node["leaf_value"])
                expected += value * float(node["leaf_count"]) / root_count
                features = list(dict.fromkeys(step[2] for step in path))
                z = np.ones(len(features))
                for g, left, f, share in path:
                    z[features.index(f)] *= share
                    step_node.append(g)
                    step_left.append(left)
                    step_slot.append(features.index(f))
                leaf_steps.append(len(step_node))
                slot_feature.extend(features)
                leaf_slots.append(len(slot_feature))
                table = _leaf_table(value, z, _shapley_weights(len(features)))
                leaf_table.append(table_size)
                tables.append(table.ravel())
                table_size += table.size
                continue
            if node.get("decision_type") != "<=":
                raise Unsupported(f"split type {node.get('decision_type')!r} (categorical) is not supported")
            g = len(nodes["feature"])
            nodes["feature"].append(int(node["split_feature"]))
            nodes["threshold"].append(float(node["threshold"]))
            nodes["default_left"].append(bool(node["default_left"]))
            nodes["missing"].append(MISSING[node["missing_type"]])
            count = float(node["internal_count"])
            for child, left in ((node["left_child"], True), (node["right_child"], False)):
                share = float(child.get("internal_count", child.get("leaf_count", 0))) / count
                stack.append((child, path + [(g, left, int(node["split_feature"]), share)]))
        tree_nodes.append(len(nodes["feature"]))
        tree_leaves.append(len(leaf_table))
    as_int = lambda v: np.asarray(v, dtype=np.int64)  # noqa: E731
    return LeafTables(
        node_feature=as_int(nodes["feature"]), node_threshold=np.asarray(nodes["threshold"], dtype="float64"),
        node_default_left=np.asarray(nodes["default_left"], dtype=bool),
        node_missing=np.asarray(nodes["missing"], dtype=np.int8),
        tree_nodes=as_int(tree_nodes), tree_leaves=as_int(tree_leaves), leaf_steps=as_int(leaf_steps),
        step_node=as_int(step_node), step_left=np.asarray(step_left, dtype=bool), step_slot=as_int(step_slot),
        leaf_slots=as_int(leaf_slots), slot_feature=as_int(slot_feature), leaf_table=as_int(leaf_table),
        table=np.concatenate(tables) if tables else np.zeros(0), n_features=int(model["max_feature_idx"]) + 1,
        expected_value=expected)


@njit(parallel=True, cache=True)
def _shap_rows(X, node_feature, node_threshold, node_default_left, node_missing, tree_nodes, tree_leaves,
               leaf_steps, step_node, step_left, step_slot, leaf_slots, slot_feature, leaf_table, table,
               n_features):
    n = X.shape[0]
    phi = np.zeros((n, n_features))
    widest = 1
    for t in range(len(tree_nodes) - 1):
        widest = max(widest, tree_nodes[t + 1] - tree_nodes[t])
    for r in prange(n):
        goes_left = np.empty(widest, dtype=np.bool_)  # this row's decision at each split of the tree
        for t in range(len(tree_nodes) - 1):
            first_node = tree_nodes[t]
            for g in range(first_node, tree_nodes[t + 1]):
                x = X[r, node_feature[g]]
                kind = node_missing[g]
                if np.isnan(x) and kind != 2:
                    x = 0.0
                if (kind == 1 and -K_ZERO <= x <= K_ZERO) or (kind == 2 and np.isnan(x)):
                    goes_left[g - first_node] = node_default_left[g]
                else:
                    goes_left[g - first_node] = x <= node_threshold[g]
            for leaf in range(tree_leaves[t], tree_leaves[t + 1]):
                first, last = leaf_slots[leaf], leaf_slots[leaf + 1]
                d = last - first
                pattern = (1 << d) - 1
                for s in range(leaf_steps[leaf], leaf_steps[leaf + 1]):
                    if goes_left[step_node[s] - first_node] != step_left[s]:
                        pattern &= ~(1 << step_slot[s])
                base = leaf_table[leaf] + pattern * d
                for k in range(d):
                    phi[r, slot_feature[first + k]] += table[base + k]
    return phi


def booster_shap(booster, X, tables: LeafTables | None = None) -> tuple[np.ndarray, float]:
    """SHAP values (n_rows, n_features) in raw score units and the expected value, as pred_contrib."""
    t = tables or leaf_tables(booster)
    M = np.ascontiguousarray(np.asarray(X, dtype="float64"))
    if M.ndim != 2 or M.shape[1] != t.n_features:
        raise ValueError(f"expected a matrix with {t.n_features} feature columns, got shape {M.shape}")
    phi = _shap_rows(M, t.node_feature, t.node_threshold, t.node_default_left, t.node_missing, t.tree_nodes,
                     t.tree_leaves, t.leaf_steps, t.step_node, t.step_left, t.step_slot, t.leaf_slots,
                     t.slot_feature, t.leaf_table, t.table, t.n_features)
    return phi, t.expected_value
