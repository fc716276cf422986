"""Drives a real Python server SDK from PyPI — Segment's `segment-analytics-python` or
RudderStack's `rudder-sdk-python` (pinned in scripts/sdk/requirements.txt) — with the
scripted shop of shop.mjs, against a local capture endpoint or websight's collector.

    python scripts/sdk/python_traffic.py segment|rudderstack OUT_DIR [VISITORS]

The shop's calls come from `node scripts/sdk/plan.mjs` (one shop for every SDK, so every SDK
is held to the same truth: OUT_DIR/truth.json). Written as the Node drivers write them:
OUT_DIR/captured.jsonl, one line per HTTP request the SDK made (gunzipped, each message
stamped with `receivedAt`); the first request is answered 500 after it was recorded, so the
SDK retries it. With WEBSIGHT_COLLECTOR=URL the SDK sends there instead and nothing is
captured. Any error the SDK reports fails the script.
"""

import gzip
import json
import os
import subprocess
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
WRITE_KEY = "websight-test-write-key"


def client(sdk, host, errors):
    """The SDK's client, batches of 25 as the Node drivers send."""
    if sdk == "segment":
        from segment.analytics import Client
    elif sdk == "rudderstack":
        from rudderstack.analytics import Client
    else:
        sys.exit(f"unknown SDK {sdk!r}: segment or rudderstack")
    return Client(
        WRITE_KEY,
        host=host,
        upload_size=25,
        max_retries=int(os.environ.get("WEBSIGHT_SDK_MAX_RETRIES", "5")),
        on_error=lambda error, batch: errors.append(f"{error} ({len(batch)} messages)"),
    )


def send(analytics, method, m):
    """One call of the plan, its camelCase message as the SDK's keyword arguments."""
    time = datetime.fromisoformat(m["timestamp"].replace("Z", "+00:00"))
    ids = {"user_id": m.get("userId"), "context": m.get("context"), "timestamp": time}
    if method == "alias":
        analytics.alias(previous_id=m["previousId"], **ids)
        return
    ids["anonymous_id"] = m.get("anonymousId")
    if method == "page":
        analytics.page(name=m.get("name"), properties=m.get("properties"), **ids)
    elif method == "track":
        analytics.track(event=m["event"], properties=m.get("properties"), **ids)
    elif method == "identify":
        analytics.identify(traits=m.get("traits"), **ids)
    else:
        raise ValueError(f"unknown call {method!r}")


class Capture(BaseHTTPRequestHandler):
    """Records each request's batch; answers the first one 500."""

    captured = []
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = json.loads(body)
        received = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        for m in request.get("batch", [request]):
            m["receivedAt"] = received.replace("+00:00", "Z")
        with self.lock:
            self.captured.append(json.dumps(request))
            fail = len(self.captured) == 1
        answer = {"error": "try again"} if fail else {"success": True}
        payload = json.dumps(answer).encode()
        self.send_response(500 if fail else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: python_traffic.py segment|rudderstack OUT_DIR [VISITORS]")
    sdk, out_dir = sys.argv[1], Path(sys.argv[2])
    visitors = sys.argv[3] if len(sys.argv) > 3 else "40"
    subprocess.run(["node", str(HERE / "plan.mjs"), str(out_dir), visitors], check=True)
    plan = json.loads((out_dir / "plan.json").read_text())
    host = os.environ.get("WEBSIGHT_COLLECTOR")
    server = None
    if not host:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        host = f"http://127.0.0.1:{server.server_address[1]}"
    errors = []
    analytics = client(sdk, host, errors)
    for call in plan:
        send(analytics, call["method"], call["message"])
    analytics.flush()
    analytics.join()
    if server:
        server.shutdown()
        lines = "\n".join(Capture.captured) + "\n"
        (out_dir / "captured.jsonl").write_text(lines)
    requests = len(Capture.captured)
    messages = sum(len(json.loads(line).get("batch", [1])) for line in Capture.captured)
    print(json.dumps({"requests": requests, "messages": messages, "errors": errors}))
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
