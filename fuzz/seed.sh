#!/usr/bin/env bash
# Seeds each fuzz target's corpus with real inputs: generated Segment messages and batches
# (the hostile-traffic shapes included), the original system's records, the reference model
# files of websight-explain's SHAP fixtures, and LSH users files. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
corpus="$here/corpus"
mkdir -p "$corpus"/{decode_gate_analytics,segment,original,sklearn_json,xgboost_json,kernel_model,lsh_users}
cd "$root"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cargo run -q --release --example generate -- --sessions 60 --users 20 --seed 5 --out "$tmp/events.jsonl"
cargo run -q --release --example generate -- --sessions 30 --users 10 --seed 6 --format sessions --out "$tmp/sessions.jsonl"
split -l 1 -d -a 4 "$tmp/events.jsonl" "$corpus/segment/event-"
split -l 1 -d -a 4 "$tmp/sessions.jsonl" "$corpus/original/session-"
split -l 40 -d -a 3 "$tmp/events.jsonl" "$corpus/decode_gate_analytics/events-"
# A Segment batch, as SDKs post it.
python3 - "$tmp/events.jsonl" > "$corpus/segment/batch" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])][:20]
print(json.dumps({"batch": lines, "sentAt": "2026-01-05T10:00:00Z"}))
PY
cp "$corpus/segment/batch" "$corpus/decode_gate_analytics/batch"
cp websight-explain/tests/fixtures/treeshap/rf_model.json "$corpus/sklearn_json/"
cp websight-explain/tests/fixtures/treeshap/xgb_model.json "$corpus/xgboost_json/"
cp websight-explain/tests/fixtures/kernelshap/model_{lr,mlp}.json "$corpus/kernel_model/"
head -n 50 websight-lsh/tests/fixtures/datasketch/users.txt > "$corpus/lsh_users/users-50"
printf '1 2 3\n\n3 4 5\n1 2 3 4\n' > "$corpus/lsh_users/small"
echo "seeded $(find "$corpus" -type f | wc -l) inputs in $corpus"
