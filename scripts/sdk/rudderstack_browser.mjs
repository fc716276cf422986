// Drives headless Chromium (playwright-core, Debian's /usr/bin/chromium) against websight's
// `serve`: a shop page runs the real @rudderstack/analytics-js (v3, its bundled build) with
// the collector as its data plane, once with each of its transports — the XHR queue (its
// default: one request per event to /v1/<type>, with its own `SentAt` and `AnonymousId`
// headers, so every request is preflighted) and the beacon queue (`useBeacon`: batches to
// /beacon/v1/batch?writeKey=…, a text/plain body, no headers at all).
//
//   node scripts/sdk/rudderstack_browser.mjs COLLECTOR_URL WRITE_KEY OUT_DIR
//
// Each visit: a page view, `Product Viewed`, a login (`identify` with an e-mail and a name)
// and `Order Completed` (order `rs-<transport>`, 2 x 499.90 EUR). Prints one JSON line: per
// transport, the collector's answers (method, path, status) and any request that failed;
// the personal data the shop sent (for the leak scan); and errors seen in the pages.
// OUT_DIR/truth.json holds the same. The source configuration comes from the load option
// `getSourceConfig` and the SDK from node_modules, served with the shop's pages by a server
// here: nothing leaves the machine (a request that would is reported as an error).

import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { driverArgs, launch, newVisitor, until } from "./browser.mjs";

const { collector, writeKey, outDir } = driverArgs("rudderstack_browser.mjs");
const here = path.dirname(fileURLToPath(import.meta.url));
const bundle = path.join(here, "node_modules/@rudderstack/analytics-js/dist/npm/modern/bundled/umd/index.js");

// A source with no device-mode destinations: what the control plane would answer.
const source = {
  source: {
    id: "websight-test-source", name: "websight test", workspaceId: "websight-test",
    writeKey, enabled: true, config: {}, destinations: [],
  },
};

const visitor = (transport) => ({
  email: `rudder-${transport}@example.com`,
  name: `Rudder Visitor ${transport}`,
  userId: `rudder-customer-${transport}`,
});

const shop = (transport) => `<!DOCTYPE html><html><head><title>Sofa Oslo</title>
<script src="/rsa.js"></script></head><body><h1>Sofa Oslo</h1><script>
const who = ${JSON.stringify(visitor(transport))};
const analytics = new window.rudderanalytics.RudderAnalytics();
analytics.load(${JSON.stringify(writeKey)}, ${JSON.stringify(collector)}, {
  getSourceConfig: () => (${JSON.stringify(source)}),
  useBeacon: ${transport === "beacon"},
  beaconQueueOptions: { flushQueueInterval: 300, maxItems: 10 },
  queueOptions: { batch: { enabled: false } },
  logLevel: "ERROR",
});
analytics.ready(() => {
  analytics.page("Product", "Sofa Oslo", { path: "/sofa-oslo" });
  analytics.track("Product Viewed", { product_id: "sofa-1", name: "Sofa Oslo", price: 499.9, currency: "EUR" });
  analytics.identify(who.userId, { email: who.email, name: who.name });
  analytics.track("Order Completed", {
    order_id: "rs-${transport}", revenue: 999.8, currency: "EUR",
    products: [{ product_id: "sofa-1", price: 499.9, quantity: 2 }],
  });
  document.body.setAttribute("data-sent", "4");
});
</script></body></html>`;

// The shop: its pages and the SDK's bundle, on a port of its own (another origin than the
// collector's, as a shop's site is).
const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  if (url.pathname === "/rsa.js") {
    res.writeHead(200, { "content-type": "application/javascript" });
    return fs.createReadStream(bundle).pipe(res);
  }
  const transport = url.pathname.slice(1);
  if (transport !== "xhr" && transport !== "beacon") {
    res.writeHead(url.pathname === "/favicon.ico" ? 204 : 404);
    return res.end();
  }
  res.writeHead(200, { "content-type": "text/html" });
  res.end(shop(transport));
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const shopOrigin = `http://localhost:${server.address().port}`;

const browser = await launch();
const errors = [];
const transports = {};
for (const transport of ["xhr", "beacon"]) {
  const { context, answers, failed } = await newVisitor(browser, { shopOrigin, collector, errors });
  const page = await context.newPage();
  page.on("pageerror", (e) => errors.push(`${transport}: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") errors.push(`${transport} console: ${m.text()}`); });
  await page.goto(`${shopOrigin}/${transport}`);
  await page.waitForFunction(() => document.body.dataset.sent === "4", null, { timeout: 20000 })
    .catch((e) => errors.push(`${transport}: ${e.message}`));
  // Every event answered (or failed), then the page closed: the beacon queue's last flush.
  const posted = () => answers.filter((a) => a.method === "POST");
  await until(() => posted().length + failed.length >= (transport === "xhr" ? 4 : 1));
  await page.close({ runBeforeUnload: true });
  await new Promise((ok) => setTimeout(ok, 300));
  await context.close();
  transports[transport] = { answers, failed };
}
await browser.close();
server.close();
const personal = ["xhr", "beacon"].flatMap((t) => Object.values(visitor(t)));
const result = { transports, personal, errors };
fs.writeFileSync(path.join(outDir, "truth.json"), JSON.stringify(result, null, 2) + "\n");
console.log(JSON.stringify(result));
