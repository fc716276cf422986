#!/usr/bin/env python3
"""Golden values for websight-dp's tests, from opacus 1.6 and diffprivlib 0.6.

opacus's RDP analysis (opacus/accountants/analysis/rdp.py) needs only numpy and scipy, so it
is loaded from the opacus wheel by path, without torch:

    python3 -m pip install numpy scipy "scikit-learn==1.5.2" diffprivlib==0.6.6
    python3 -m pip download --no-deps opacus==1.6.0 -d /tmp/opacus && \
        (cd /tmp/opacus && python3 -m zipfile -e opacus-1.6.0-py3-none-any.whl x)
    python3 scripts/dp_fixtures.py /tmp/opacus/x > websight-dp/tests/fixtures/reference.json
"""
import importlib.util
import itertools
import json
import sys
import time

import diffprivlib
from diffprivlib.mechanisms import GaussianAnalytic

spec = importlib.util.spec_from_file_location(
    "opacus_rdp", f"{sys.argv[1]}/opacus/accountants/analysis/rdp.py")
rdp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rdp)

# opacus.accountants.RDPAccountant.DEFAULT_ALPHAS
ALPHAS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))


def epsilon(q, sigma, steps, delta):
    curve = rdp.compute_rdp(q=q, noise_multiplier=sigma, steps=steps, orders=ALPHAS)
    eps, order = rdp.get_privacy_spent(orders=ALPHAS, rdp=curve, delta=delta)
    return float(eps), float(order)


def noise_multiplier(target, q, steps, delta, tolerance=0.01):
    """opacus.accountants.utils.get_noise_multiplier's bisection, on the same analysis."""
    eps_high, sigma_low, sigma_high = float("inf"), 0.0, 10.0
    while eps_high > target:
        sigma_high = 2 * sigma_high
        eps_high, _ = epsilon(q, sigma_high, steps, delta)
        if sigma_high > 2000:
            raise ValueError("sigma too large")
    while target - eps_high > tolerance:
        sigma = (sigma_low + sigma_high) / 2
        eps, _ = epsilon(q, sigma, steps, delta)
        if eps < target:
            sigma_high, eps_high = sigma, eps
        else:
            sigma_low = sigma
    return sigma_high


grid = []
for q, sigma, steps, delta in itertools.product(
        (0.001, 0.004, 0.01, 0.02, 0.05, 0.1), (0.5, 0.7, 1.0, 1.5, 2.0, 4.0),
        (1, 100, 1000, 10000, 100000), (1e-5, 1e-7)):
    eps, order = epsilon(q, sigma, steps, delta)
    grid.append({"q": q, "sigma": sigma, "steps": steps, "delta": delta,
                 "epsilon": eps, "order": order})

curves = []
for q, sigma in ((0.02, 1.0), (0.1, 0.5), (0.001, 4.0), (1.0, 1.3)):
    curves.append({"q": q, "sigma": sigma, "orders": ALPHAS,
                   "rdp": [float(v) for v in rdp.compute_rdp(
                       q=q, noise_multiplier=sigma, steps=1, orders=ALPHAS)]})

inverse = []
for target, q, steps, delta in ((1.0, 0.01, 1000, 1e-5), (3.0, 0.02, 500, 1e-5),
                                (8.0, 0.05, 2000, 1e-6), (0.5, 0.004, 10000, 1e-5)):
    inverse.append({"target_epsilon": target, "q": q, "steps": steps, "delta": delta,
                    "sigma_opacus": noise_multiplier(target, q, steps, delta),
                    "tolerance": 0.01})

# The 18 configurations the benchmark times, and opacus's time for them.
bench = [{"q": q, "sigma": s, "steps": t, "delta": 1e-5}
         for q, s, t in itertools.product((0.004, 0.02, 0.1), (0.8, 1.1, 2.0), (1000, 10000))]
start = time.perf_counter()
for c in bench:
    epsilon(c["q"], c["sigma"], c["steps"], c["delta"])
bench_s = time.perf_counter() - start

gaussian = [{"epsilon": e, "delta": d, "sensitivity": s,
             "sigma": GaussianAnalytic(epsilon=e, delta=d, sensitivity=s)._scale}
            for e, d, s in itertools.product((0.05, 0.3, 1.0, 2.5, 8.0), (1e-3, 1e-5, 1e-9),
                                             (0.5, 1.0, 4.0))]

print(json.dumps({
    "versions": {"opacus": "1.6.0", "diffprivlib": diffprivlib.__version__},
    "alphas": ALPHAS, "grid": grid, "curves": curves, "inverse": inverse,
    "benchmark": {"configs": bench, "opacus_seconds": bench_s},
    "analytic_gaussian": gaussian,
}))
