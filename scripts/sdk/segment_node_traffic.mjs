// Drives the real @segment/analytics-node SDK with the scripted shop of shop.mjs (which says
// what is written where) against a local capture endpoint or websight's collector.
//
//   node scripts/sdk/segment_node_traffic.mjs OUT_DIR [VISITORS]

import { Analytics } from "@segment/analytics-node";
import { runShop, WRITE_KEY } from "./shop.mjs";

await runShop("segment_node_traffic.mjs", ({ host, maxRetries }) => {
  const analytics = new Analytics({
    writeKey: WRITE_KEY,
    host,
    flushAt: 25,
    flushInterval: 200,
    maxRetries,
  });
  analytics.on("error", (e) => console.error("sdk error:", e?.reason ?? e));
  return {
    page: (m) => analytics.page(m),
    track: (m) => analytics.track(m),
    identify: (m) => analytics.identify(m),
    alias: (m) => analytics.alias(m),
    close: () => analytics.closeAndFlush({ timeout: 60000 }),
  };
});
