#!/usr/bin/env python3
"""Golden values from datasketch 2.0 for websight-lsh's tests.

    python3 -m pip install datasketch==2.0.0
    python3 scripts/lsh_fixtures.py > websight-lsh/tests/fixtures/datasketch/extra.json
"""
import json

import datasketch
from datasketch import MinHash
from datasketch.lsh import _optimal_param

assert datasketch.__version__ == "2.0.0", datasketch.__version__

params = []
for num_perm in (16, 64, 128, 200, 256):
    for threshold in (0.1, 0.3, 0.5, 0.7, 0.9):
        for weights in ((0.5, 0.5), (0.2, 0.8), (0.8, 0.2)):
            b, r = _optimal_param(threshold, num_perm, *weights)
            params.append({"num_perm": num_perm, "threshold": threshold,
                           "weights": list(weights), "b": b, "r": r})

token_sets = [
    ["viewed=sofa", "viewed=coffee table", "referrer=Google", "device=mobile"],
    ["viewed=bed", "cart=bed", "state=Ohio", "part_of_day=Evening", "payment=PayPal"],
    [str(i) for i in range(200)],
    ["ünïcödé=✓", "emoji=😍"],
    [],
]
signatures = []
for num_perm, seed in ((64, 7), (256, 42), (128, 1), (32, 4294967295)):
    for tokens in token_sets:
        m = MinHash(num_perm=num_perm, seed=seed)
        for t in tokens:
            m.update(t.encode("utf-8"))
        signatures.append({"num_perm": num_perm, "seed": seed, "tokens": tokens,
                           "hashvalues": [int(v) for v in m.hashvalues]})

print(json.dumps({"datasketch": datasketch.__version__, "optimal_params": params,
                  "signatures": signatures}))
