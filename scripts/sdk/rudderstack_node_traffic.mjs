// Drives the real @rudderstack/rudder-sdk-node SDK with the scripted shop of shop.mjs (which
// says what is written where) against a local capture endpoint or websight's collector.
// RudderStack's wire format differs from Segment's SDK in ways a collector must take: gzip
// bodies (its default), identify traits copied into `context.traits`, a batch-level
// `timestamp` beside `sentAt`, `channel` and `_metadata` on every message.
//
//   node scripts/sdk/rudderstack_node_traffic.mjs OUT_DIR [VISITORS]

import Analytics from "@rudderstack/rudder-sdk-node";
import { runShop, WRITE_KEY } from "./shop.mjs";

await runShop("rudderstack_node_traffic.mjs", ({ host, maxRetries }) => {
  const analytics = new Analytics(WRITE_KEY, {
    dataPlaneUrl: host,
    flushAt: 25,
    flushInterval: 200,
    retryCount: maxRetries,
    logLevel: "error",
    errorHandler: (e) => console.error("sdk error:", e?.message ?? e),
  });
  return {
    page: (m) => analytics.page(m),
    track: (m) => analytics.track(m),
    identify: (m) => analytics.identify(m),
    alias: (m) => analytics.alias(m),
    close: () => analytics.flush(),
  };
});
