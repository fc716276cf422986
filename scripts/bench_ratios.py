#!/usr/bin/env python3
"""Events per second of the last `cargo bench -p websight-core --bench realtime` run, and each
entry's ratio to the two baselines measured beside it (`serde_json_value`, `sonic_rs_value`).

    cargo bench -p websight-core --bench realtime
    python3 scripts/bench_ratios.py [target/criterion] [--json]

Reads criterion's own files (`<dir>/realtime/<name>/new/{benchmark,estimates}.json`): the mean
time per iteration and the elements (messages) one iteration handles. Ratios only mean
something between entries of one run on one machine; the script says which entries' files
are older than the newest by more than an hour (left from an earlier run).
"""

import json
import sys
from pathlib import Path

BASELINES = ("serde_json_value", "sonic_rs_value")


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
    newest = max(t for _, _, t in rows)
    out = []
    for name, r, modified in rows:
        row = {"name": name, "events_per_second": round(r)}
        for base in BASELINES:
            if base in rate:
                row[f"x_{base}"] = round(r / rate[base], 3)
        row["stale"] = newest - modified > 3600
        out.append(row)
    if as_json:
        print(json.dumps(out, indent=2))
        return
    header = f"{'entry':<40}{'events/s':>12}" + "".join(f"{'× ' + b:>22}" for b in BASELINES)
    print(header)
    for row in out:
        line = f"{row['name']:<40}{row['events_per_second']:>12,}"
        line += "".join(f"{row.get('x_' + b, float('nan')):>22.3f}" for b in BASELINES)
        print(line + ("  (from an earlier run)" if row["stale"] else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
