#!/usr/bin/env python3
"""Reference samples for websight-dp's exact samplers, from OpenDP 0.16 (whose integer
Laplace and Gaussian are the discrete Laplace and discrete Gaussian of Canonne, Kamath &
Steinke 2020, sampled exactly): per configuration, OpenDP's privacy map at sensitivity 1
(ε for the Laplace, ρ for the Gaussian) and a histogram of 200,000 of its samples.

    python3 -m pip install opendp==0.16.0
    python3 scripts/dp_samplers.py > websight-dp/tests/fixtures/samplers.json
"""
import json

import opendp.prelude as dp

dp.enable_features("contrib")
N = 200_000
out = []
for mechanism, scale in [("discrete-laplace", 1.5), ("discrete-laplace", 4.0),
                         ("discrete-gaussian", 1.5), ("discrete-gaussian", 4.0)]:
    make = dp.m.make_laplace if mechanism == "discrete-laplace" else dp.m.make_gaussian
    m = make(dp.atom_domain(T=int), dp.absolute_distance(T=int), scale=scale)
    counts = {}
    for _ in range(N):
        k = m(0)
        counts[k] = counts.get(k, 0) + 1
    out.append({
        "mechanism": mechanism,
        "scale": scale,
        "privacy_map_at_1": m.map(1),
        "samples": N,
        "histogram": {str(k): counts[k] for k in sorted(counts)},
    })
print(json.dumps({"opendp": "0.16.0", "configs": out}, indent=1))
