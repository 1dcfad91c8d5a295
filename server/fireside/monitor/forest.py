"""scikit-learn's IsolationForest, trained as usual, kept in a compact form for scoring.

A fitted ``IsolationForest`` of 50 trees pickles to ~600 KB; a monitor with 1,000 series keeps
1,000 of them in memory and on disk. Scoring only needs, per tree node, the split feature and
threshold, the two children, and at the leaves the isolation depth (depth + the average path
length of the samples left in the leaf). :class:`CompactForest` copies exactly that from the
fitted trees (~7x smaller) and scores all trees at once with numpy; a test checks that its scores
equal ``IsolationForest.score_samples``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import IsolationForest


def average_path_length(n: np.ndarray | float) -> np.ndarray:
    """c(n): the average path length of an unsuccessful search in a binary tree of n points
    (the normalisation of Liu et al.'s isolation forest, as scikit-learn computes it)."""
    n = np.asarray(n, dtype=float)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


@dataclass
class CompactForest:
    """All trees' nodes in flat arrays; node ``k`` of tree ``i`` sits at ``offset[i] + k``."""

    feature: np.ndarray  # int8 split feature (0 at leaves)
    threshold: np.ndarray  # float32; go left when x <= threshold (scikit-learn compares float32 inputs)
    left: np.ndarray  # int32 flat index of the left child; the node itself at leaves
    right: np.ndarray  # int32 flat index of the right child; the node itself at leaves
    leaf_depth: np.ndarray  # float32; at leaves: depth + c(samples left in the leaf) - 1
    roots: np.ndarray  # int32 flat index of each tree's root
    normaliser: float  # trees * c(max_samples)
    depth: int  # longest root-to-leaf path

    @classmethod
    def fit(cls, rows: np.ndarray, n_estimators: int, max_samples: int, random_state: int) -> CompactForest:
        forest = IsolationForest(n_estimators=n_estimators, max_samples=min(max_samples, len(rows)),
                                 random_state=random_state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ties in quantised data
            forest.fit(rows)
        return cls.from_sklearn(forest)

    @classmethod
    def from_sklearn(cls, forest: IsolationForest) -> CompactForest:
        trees = [estimator.tree_ for estimator in forest.estimators_]
        sizes = np.array([t.node_count for t in trees])
        roots = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int32)
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("feature", "threshold", "left", "right", "leaf")}
        longest = 0
        for root, tree in zip(roots, trees, strict=True):
            n = tree.node_count
            own = np.arange(n) + root
            is_leaf = tree.children_left[:n] == -1
            depths = tree.compute_node_depths()
            parts["feature"].append(np.where(is_leaf, 0, tree.feature[:n]))
            parts["threshold"].append(tree.threshold[:n])
            parts["left"].append(np.where(is_leaf, own, tree.children_left[:n] + root))
            parts["right"].append(np.where(is_leaf, own, tree.children_right[:n] + root))
            parts["leaf"].append(np.where(is_leaf, depths + average_path_length(tree.n_node_samples[:n]) - 1.0, 0.0))
            longest = max(longest, int(depths.max()))
        normaliser = len(trees) * float(average_path_length(np.array([forest.max_samples_]))[0])
        return cls(
            np.concatenate(parts["feature"]).astype(np.int8),
            np.concatenate(parts["threshold"]).astype(np.float32),
            np.concatenate(parts["left"]).astype(np.int32),
            np.concatenate(parts["right"]).astype(np.int32),
            np.concatenate(parts["leaf"]).astype(np.float32),
            roots,
            normaliser,
            longest,
        )

    @property
    def n_trees(self) -> int:
        return len(self.roots)

    def isolation(self, rows: np.ndarray) -> np.ndarray:
        """The anomaly score of each row, ``-IsolationForest.score_samples(rows)``: in (0, 1],
        higher is more isolated (more anomalous)."""
        x = np.ascontiguousarray(rows, dtype=np.float32)
        m, d = x.shape
        if m == 0:
            return np.zeros(0)
        if self.normaliser == 0:  # a single training sample
            return np.ones(m)
        flat = x.ravel()
        base = (np.arange(m, dtype=np.int64) * d)[None, :]
        node = np.broadcast_to(self.roots[:, None], (self.n_trees, m)).astype(np.int64)
        for _ in range(self.depth):
            go_left = flat[base + self.feature[node]] <= self.threshold[node]
            node = np.where(go_left, self.left[node], self.right[node])
        depth = self.leaf_depth[node].sum(axis=0, dtype=np.float64)
        return 2.0 ** (-depth / self.normaliser)
