#!/usr/bin/env python3
"""The `implicit` library's ALS and BPR on the standard split, for the ratio to recodb's `als` and `bpr`.

Trains on ../shared/data/splits/ml-1m-r4/train.tsv and evaluates against test.tsv with full ranking over
all items, each user's training items excluded, metrics as in docs/evaluation.md §5 (NDCG@10 with binary
relevance and IDCG over min(10, |test|); Recall@20 = hits / |test|; test items unknown to training count
in |test| but can never be hit; test users without training data score 0). Prints one line per model:
NDCG@10, Recall@20 and the median fit time of `--runs` fits.

    python3 -m venv /tmp/implicit-venv && /tmp/implicit-venv/bin/pip install implicit numpy scipy
    OPENBLAS_NUM_THREADS=1 /tmp/implicit-venv/bin/python bench/implicit_compare.py \
        [--runs 3] [--threads 2] [--model als|bpr|both]

implicit's ALS confidence is `alpha · weight` (here 10) where recodb's is `1 + alpha · weight` (9); its
regularization is the same λ, not scaled by counts.
"""

import argparse
import os
import statistics
import time

import numpy as np
import scipy.sparse as sp


def read_pairs(path):
    pairs = np.loadtxt(path, dtype=np.int64, delimiter="\t", ndmin=2)
    return pairs[:, 0], pairs[:, 1]


def load(split):
    users, items = read_pairs(os.path.join(split, "train.tsv"))
    user_ids = {u: i for i, u in enumerate(dict.fromkeys(users.tolist()))}
    item_ids = {t: i for i, t in enumerate(dict.fromkeys(items.tolist()))}
    rows = np.array([user_ids[u] for u in users.tolist()])
    cols = np.array([item_ids[t] for t in items.tolist()])
    train = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(user_ids), len(item_ids))
    )
    train.sum_duplicates()
    train.data[:] = 1.0
    test = {}
    for u, t in zip(*read_pairs(os.path.join(split, "test.tsv"))):
        test.setdefault(int(u), set()).add(int(t))
    return train, test, user_ids, item_ids


def evaluate(user_factors, item_factors, train, test, user_ids, item_ids):
    """Mean NDCG@10 and Recall@20 over the test users, full ranking, training items excluded."""
    discounts = 1.0 / np.log2(np.arange(2, 12))
    ndcg = recall = 0.0
    known = [(u, items) for u, items in test.items()]
    batch = 512
    for start in range(0, len(known), batch):
        chunk = known[start : start + batch]
        rows = [user_ids.get(u) for u, _ in chunk]
        present = [r for r in rows if r is not None]
        scores = user_factors[present] @ item_factors.T
        for r, s in zip(present, scores):
            s[train.indices[train.indptr[r] : train.indptr[r + 1]]] = -np.inf
        tops = iter(np.argsort(-scores, axis=1, kind="stable")[:, :20])
        for (u, items), r in zip(chunk, rows):
            if r is None:
                continue
            relevant = {item_ids[t] for t in items if t in item_ids}
            top = next(tops)
            hits = np.array([i in relevant for i in top])
            idcg = discounts[: min(10, len(items))].sum()
            ndcg += (hits[:10] * discounts).sum() / idcg
            recall += hits.sum() / len(items)
    return ndcg / len(test), recall / len(test)


def timed_fits(make, train, runs):
    times, model = [], None
    for _ in range(runs):
        model = make()
        started = time.perf_counter()
        model.fit(train, show_progress=False)
        times.append(time.perf_counter() - started)
    return model, statistics.median(times)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", default=os.path.join(here, "../../shared/data/splits/ml-1m-r4"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", choices=["als", "bpr", "both"], default="both")
    args = parser.parse_args()

    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    train, test, user_ids, item_ids = load(args.split)
    models = {
        "als (128 factors, reg 100, alpha 10, 15 iterations)": lambda: AlternatingLeastSquares(
            factors=128, regularization=100.0, alpha=10.0, iterations=15,
            num_threads=args.threads, random_state=42,
        ),
        "bpr (64 factors, lr 0.0025, reg 0.0004, 100 epochs)": lambda: BayesianPersonalizedRanking(
            factors=64, learning_rate=0.0025, regularization=0.0004, iterations=100,
            num_threads=args.threads, random_state=42,
        ),
    }
    for name, make in models.items():
        if args.model not in ("both", name.split()[0]):
            continue
        model, seconds = timed_fits(make, train, args.runs)
        ndcg, recall = evaluate(model.user_factors, model.item_factors, train, test, user_ids, item_ids)
        print(f"implicit {name}: NDCG@10 {ndcg:.4f}  Recall@20 {recall:.4f}  fit {seconds:.2f} s "
              f"(median of {args.runs}, {args.threads} threads)")


if __name__ == "__main__":
    main()
