#!/usr/bin/env python3
"""How a run's visits name their persons, from its `sessions.jsonl`.

    cargo run --release --example pipeline -- --stream-only --out-dir run
    python3 scripts/persons_check.py run/sessions.jsonl

Persons are the sets of ids (labels, user, anonymous and alias ids) that the visits' events
link. Prints how many visits, persons and labels there are and how many persons have visits
under more than one label; then, per hour and per day, distinct visitors counted by each
event's own id (`userId`, else `anonymousId`) against distinct persons — the over-count a
series keyed by the events' ids would show.
"""

import collections
import json
import sys


def main(path):
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a, b):
        a, b = find(a), find(b)
        if a != b:
            parent[max(a, b)] = min(a, b)

    labels = []
    by_ids = {"hour": collections.defaultdict(set), "day": collections.defaultdict(set)}
    by_label = {"hour": collections.defaultdict(set), "day": collections.defaultdict(set)}
    with open(path) as f:
        for line in f:
            visit = json.loads(line)
            label = visit["person"]
            find(label)
            labels.append(label)
            for e in visit["events"]:
                for key in ("anonymous_id", "user_id", "previous_id"):
                    if e.get(key):
                        union(label, e[key])
                own = e.get("user_id") or e.get("anonymous_id")
                for res, cut in (("hour", 13), ("day", 10)):
                    by_ids[res][e["time"][:cut]].add(own)
                    by_label[res][e["time"][:cut]].add(label)
    persons = collections.defaultdict(set)
    for label in labels:
        persons[find(label)].add(label)
    split = sum(len(s) > 1 for s in persons.values())
    print(
        f"{len(labels)} visits, {len(persons)} persons, {len(set(labels))} labels, "
        f"{split} persons under more than one label"
    )
    # Per bucket, the labels stand for persons only when no person has two.
    for res in ("hour", "day"):
        ids = sum(len(s) for s in by_ids[res].values())
        named = sum(len(s) for s in by_label[res].values())
        print(
            f"per {res} ({len(by_ids[res])} buckets): {ids} visitors by the events' ids, "
            f"{named} by the visits' labels ({100 * (ids - named) / named:.1f} % more)"
        )


if __name__ == "__main__":
    main(sys.argv[1])
