#!/usr/bin/env python3
"""EVALUATE's work written in numpy, for the ratio to recodb's EVALUATE on Gowalla (BENCHMARKS.md).

Reads LightGCN's `train.txt` and `test.txt` (one user per line: `user item item ...`) and, for every user
with test items, ranks all items by a score, the user's training items excluded, and averages NDCG@K
and Recall@K with the definitions of docs/evaluation.md §5 (binary relevance, IDCG over min(K, |T|),
Recall = hits / |T|). Users are scored in blocks of 1,024: a dense block of scores, the seen items set
to -inf, `argpartition` for the top K, then a sort of those K. This is what a careful numpy script does.

Two scorers, timed apart from reading the files:
- `pop`: every item's training count (ties broken by the item's first appearance in `train.txt`, as
  recodb's ids are). Its metrics must equal recodb's `pop` (NDCG@20 0.0317 on Gowalla).
- `factors`: a dot product of random 128-dimensional float32 user and item factors, the arithmetic of
  scoring an `als WITH (factors = 128)` model (metrics meaningless: only the time is compared).

    python3 -m venv /tmp/np && /tmp/np/bin/pip install numpy
    /tmp/np/bin/python bench/numpy_evaluate.py --data ../shared/data/gowalla [--k 20] [--runs 3]
"""

import argparse
import os
import statistics
import time

import numpy as np

BLOCK = 1024


def read_lightgcn(path):
    """Returns {user: [items]} in file order."""
    rows = {}
    with open(path) as f:
        for line in f:
            fields = line.split()
            if fields:
                rows[int(fields[0])] = [int(x) for x in fields[1:]]
    return rows


def load(data):
    train = read_lightgcn(os.path.join(data, "train.txt"))
    test = read_lightgcn(os.path.join(data, "test.txt"))
    # Dense ids in order of first appearance in train.txt, as recodb's import gives them.
    user_ids, item_ids = {}, {}
    for user, items in train.items():
        user_ids.setdefault(user, len(user_ids))
        for item in items:
            item_ids.setdefault(item, len(item_ids))
    indptr = [0]
    indices = []
    for user in user_ids:
        indices.extend(item_ids[i] for i in train[user])
        indptr.append(len(indices))
    seen = (np.array(indptr, dtype=np.int64), np.array(indices, dtype=np.int64))
    # Test users known to training, each with its known test items (CSR) and its |T|; users unknown to
    # training can never be hit but count in the averages.
    users, test_indptr, test_indices, totals = [], [0], [], []
    n_tests = 0
    for user, items in test.items():
        if not items:
            continue
        n_tests += 1
        if user in user_ids:
            users.append(user_ids[user])
            test_indices.extend(item_ids[i] for i in items if i in item_ids)
            test_indptr.append(len(test_indices))
            totals.append(len(items))
    relevant = (np.array(test_indptr, dtype=np.int64), np.array(test_indices, dtype=np.int64))
    tests = (np.array(users, dtype=np.int64), relevant, np.array(totals), n_tests)
    return seen, tests, len(user_ids), len(item_ids)


def block_rows(pairs, users):
    """The (row, item) coordinates of the CSR `pairs` rows of `users`, for fancy indexing."""
    indptr, indices = pairs
    lengths = indptr[users + 1] - indptr[users]
    rows = np.repeat(np.arange(len(users)), lengths)
    cols = np.concatenate([indices[indptr[u] : indptr[u + 1]] for u in users])
    return rows, cols


def evaluate(score_block, seen, tests, k):
    """Mean NDCG@k and Recall@k over `tests`; `score_block(users)` gives a (len, items) score array."""
    users, relevant, totals, n_tests = tests
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discount)[np.minimum(k, totals) - 1]
    ndcg = np.zeros(len(users))
    recall = np.zeros(len(users))
    for start in range(0, len(users), BLOCK):
        block = np.arange(start, min(start + BLOCK, len(users)))
        scores = score_block(users[block])
        scores[block_rows(seen, users[block])] = -np.inf
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        truth = np.zeros(scores.shape, dtype=bool)
        truth[block_rows(relevant, block)] = True
        hit = np.take_along_axis(truth, top, axis=1)
        ndcg[block] = (hit * discount).sum(axis=1) / ideal[block]
        recall[block] = hit.sum(axis=1) / totals[block]
    # Test users unknown to training are in the denominators (scored 0), as in recodb.
    return ndcg.sum() / n_tests, recall.sum() / n_tests


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/gowalla")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    seen, tests, n_users, n_items = load(args.data)
    print(f"{n_users} users x {n_items} items, {tests[3]} test users, K = {args.k}")

    counts = np.bincount(seen[1], minlength=n_items).astype(np.float64)
    # Ties by first appearance: a tiny decreasing offset that never reorders distinct counts.
    pop = counts - np.arange(n_items) / (2 * n_items)
    rng = np.random.default_rng(1)
    user_factors = rng.standard_normal((n_users, 128), dtype=np.float32)
    item_factors = rng.standard_normal((n_items, 128), dtype=np.float32)
    scorers = {
        "pop": lambda users: np.broadcast_to(pop, (len(users), n_items)).copy(),
        "factors": lambda users: user_factors[users] @ item_factors.T,
    }
    for name, score_block in scorers.items():
        seconds = []
        for _ in range(args.runs):
            started = time.perf_counter()
            ndcg, recall = evaluate(score_block, seen, tests, args.k)
            seconds.append(time.perf_counter() - started)
        print(
            f"{name}: NDCG@{args.k} {ndcg:.4f} Recall@{args.k} {recall:.4f} "
            f"evaluate s median {statistics.median(seconds):.2f} (runs: {', '.join(f'{s:.2f}' for s in seconds)})"
        )


if __name__ == "__main__":
    main()
