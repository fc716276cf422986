#!/usr/bin/env python3
"""The LSH benchmark's data and its datasketch baseline.

Writes a users file (one user per line, space-separated item ids) with planted
near-duplicate clusters, then times datasketch 2.0 on it: MinHash build, LSH insert and
queries of the users ⌊i·n/Q⌋, scored against exact Jaccard >= threshold — the same queries
and scoring as `cargo run --release --example lsh`.

    python3 -m pip install datasketch==2.0.0 numpy
    python3 scripts/lsh_reference.py --users 100000 --out target/lsh100k.txt \
        --report target/lsh100k-datasketch.json
"""
import argparse
import json
import random
import time
from collections import defaultdict

import datasketch
from datasketch import MinHash, MinHashLSH


def generate(n_users, n_items, cluster_frac, seed):
    rng = random.Random(seed)
    users = []
    while len(users) < n_users:
        size = rng.randint(4, 60)
        base = rng.sample(range(n_items), size)
        if rng.random() < cluster_frac:
            # A cluster of 2-6 near-duplicates: each swaps 0-30% of the base's items.
            for _ in range(rng.randint(2, 6)):
                items = set(base)
                for item in rng.sample(base, int(size * rng.uniform(0.0, 0.3))):
                    items.discard(item)
                    items.add(rng.randrange(n_items))
                users.append(sorted(items))
        else:
            users.append(sorted(base))
    return users[:n_users]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--users", type=int, default=100_000)
    p.add_argument("--items", type=int, default=5_000)
    p.add_argument("--cluster-frac", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--num-perm", type=int, default=128)
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--out", required=True)
    p.add_argument("--report", required=True)
    a = p.parse_args()

    users = generate(a.users, a.items, a.cluster_frac, a.seed)
    with open(a.out, "w") as f:
        for u in users:
            f.write(" ".join(map(str, u)) + "\n")

    t = time.perf_counter()
    sketches = []
    for u in users:
        m = MinHash(num_perm=a.num_perm, seed=1)
        m.update_batch([str(i).encode("ascii") for i in u])
        sketches.append(m)
    minhash_s = time.perf_counter() - t

    t = time.perf_counter()
    lsh = MinHashLSH(threshold=a.threshold, num_perm=a.num_perm)
    for i, m in enumerate(sketches):
        lsh.insert(i, m)
    insert_s = time.perf_counter() - t

    n = len(users)
    queries = [i * n // a.queries for i in range(a.queries)]
    t = time.perf_counter()
    candidates = [[c for c in lsh.query(sketches[q]) if c != q] for q in queries]
    query_s = time.perf_counter() - t

    postings = defaultdict(list)
    for i, u in enumerate(users):
        for item in u:
            postings[item].append(i)
    hits = true_pairs = cand_pairs = 0
    for q, cands in zip(queries, candidates):
        overlap = defaultdict(int)
        for item in users[q]:
            for o in postings[item]:
                overlap[o] += 1
        truth = {o for o, c in overlap.items()
                 if o != q and c / (len(users[q]) + len(users[o]) - c) >= a.threshold}
        hits += len(truth.intersection(cands))
        true_pairs += len(truth)
        cand_pairs += len(cands)

    report = {
        "datasketch": datasketch.__version__, "users": n, "num_perm": a.num_perm,
        "threshold": a.threshold, "b": lsh.b, "r": lsh.r,
        "minhash_s": minhash_s, "insert_s": insert_s,
        "query_us": 1e6 * query_s / len(queries), "queries": len(queries),
        "recall": hits / true_pairs if true_pairs else 1.0,
        "precision": hits / cand_pairs if cand_pairs else 1.0,
    }
    with open(a.report, "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
