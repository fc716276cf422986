#!/usr/bin/env python3
"""Events per second of the last `cargo bench -p websight-core --bench realtime` run, and each
entry's ratio to the baselines measured beside it: the two bare parses (`serde_json_value`,
`sonic_rs_value`) and `floor`, the least any design of the path must do for a message.

    cargo bench -p websight-core --bench realtime
    python3 scripts/bench_ratios.py [target/criterion] [--json]

Reads criterion's own files (`<dir>/realtime/<name>/new/{benchmark,estimates}.json`): the mean
time per iteration and the elements (messages) one iteration handles. Ratios only mean
something between entries of one run on one machine. The baselines run first in a run, so
the script says which entries were not measured in the baselines' run: finished before the
first baseline, or more than half an hour after it (a whole run takes a few minutes).
"""

import json
import sys
from pathlib import Path

BASELINES = ("serde_json_value", "sonic_rs_value", "floor")


def entries(root: Path):
    """(name, events per second, modified time) of every realtime entry with results."""
    for bench in sorted((root / "realtime").glob("*/new/benchmark.json")):
        new = bench.parent
        meta = json.loads(bench.read_text())
        estimates = json.loads((new / "estimates.json").read_text())
        elements = (meta.get("throughput") or {}).get("Elements")
        seconds = estimates["mean"]["point_estimate"] / 1e9
        if not elements or seconds <= 0:
            continue
        yield meta["function_id"], elements / seconds, (new / "estimates.json").stat().st_mtime


def main(argv):
    as_json = "--json" in argv
    paths = [a for a in argv if not a.startswith("--")]
    root = Path(paths[0] if paths else "target/criterion")
    rows = list(entries(root))
    if not rows:
        sys.exit(f"no realtime results under {root}: run cargo bench -p websight-core --bench realtime")
    rate = {name: r for name, r, _ in rows}
    baseline_times = [t for name, _, t in rows if name in BASELINES]
    run_start = min(baseline_times) if baseline_times else max(t for _, _, t in rows)
    out = []
    for name, r, modified in rows:
        row = {"name": name, "events_per_second": round(r)}
        for base in BASELINES:
            if base in rate:
                row[f"x_{base}"] = round(r / rate[base], 3)
        row["stale"] = not 0 <= modified - run_start <= 1800
        out.append(row)
    if as_json:
        print(json.dumps(out, indent=2))
        return
    header = f"{'entry':<40}{'events/s':>12}" + "".join(f"{'× ' + b:>22}" for b in BASELINES)
    print(header)
    for row in out:
        line = f"{row['name']:<40}{row['events_per_second']:>12,}"
        line += "".join(f"{row.get('x_' + b, float('nan')):>22.3f}" for b in BASELINES)
        print(line + ("  (not from the baselines' run)" if row["stale"] else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
