// Drives headless Chromium (playwright-core, Debian's /usr/bin/chromium) against websight's
// `serve`: a shop page runs the real @segment/analytics-next, configured to post to the
// local collector, while the live dashboard is open; the dashboard must change over
// server-sent events. The shop is a single-page one: its landing is reported twice (the
// snippet's page view and its router's), as such shops do, then a second page and an order.
//
//   node scripts/sdk/browser_live.mjs COLLECTOR_URL WRITE_KEY OUT_DIR
//
// Prints one JSON line: the dashboard's "Visitors now" tile and traffic chart before and
// after, how many updates it received, and what the shop page sent. Writes OUT_DIR/live.png.
// The shop page is served by the browser itself (request interception) from
// http://localhost:9/, the SDK's bundle and chunks from node_modules: nothing leaves the machine.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { VISITOR_AGENT, driverArgs, launch } from "./browser.mjs";

const { collector, writeKey, outDir } = driverArgs("browser_live.mjs");
const here = path.dirname(fileURLToPath(import.meta.url));
const bundles = path.join(here, "node_modules/@segment/analytics-next/dist/umd");
const apiHost = `${new URL(collector).host}/v1`;
const settings = {
  integrations: { "Segment.io": { apiKey: writeKey, apiHost, protocol: "http" } },
  plan: { track: { __default: { enabled: true } } },
};

const SHOP = `<!DOCTYPE html><html><head><title>Shop</title>
<script src="http://localhost:9/analytics.js"></script></head><body><h1>Sofa Oslo</h1><script>
window.sent = [];
const { AnalyticsBrowser } = window.AnalyticsNext;
const analytics = AnalyticsBrowser.load(
  { writeKey: ${JSON.stringify(writeKey)}, cdnSettings: ${JSON.stringify(settings)} },
  { integrations: { "Segment.io": { apiHost: ${JSON.stringify(apiHost)}, protocol: "http" } } });
// A single-page shop: the snippet reports the landing, and so does the router for its
// first route; the visitor opens the sofa 300 ms later (the router's page view again, the
// path read from the address bar), looks at it and orders.
const open = async (path) => {
  history.pushState({}, "", path);
  await analytics.page();
  window.sent.push("page");
};
(async () => {
  await analytics.page();
  window.sent.push("page");
  await analytics.page();
  window.sent.push("page");
  await new Promise((ok) => setTimeout(ok, 300));
  await open("/sofa-oslo");
  await analytics.track("Product Viewed", { product_id: "sofa-1", name: "Sofa Oslo", price: 499.9 });
  window.sent.push("track");
  await analytics.track("Order Completed", {
    order_id: "browser-order-1", revenue: 499.9, currency: "EUR",
    products: [{ product_id: "sofa-1", name: "Sofa Oslo", price: 499.9, quantity: 1 }],
  });
  window.sent.push("track");
  document.body.setAttribute("data-sent", window.sent.length);
})().catch((e) => document.body.setAttribute("data-error", String(e)));
</script></body></html>`;

const browser = await launch();
const errors = [];
const context = await browser.newContext({ viewport: { width: 1280, height: 2400 }, userAgent: VISITOR_AGENT });
// The shop (served on localhost here) may reach the collector on the loopback address, as a
// shop's visitors reach a collector on the shop's own domain.
await context.grantPermissions(["local-network-access"]).catch((e) => errors.push(`permission: ${e.message}`));
// Only the collector and the intercepted shop are reachable.
await context.route("**/*", async (route) => {
  const url = new URL(route.request().url());
  if (url.origin === new URL(collector).origin) return route.continue();
  if (url.host === "localhost:9" && url.pathname === "/") {
    return route.fulfill({ contentType: "text/html", body: SHOP });
  }
  const file = url.pathname === "/analytics.js" ? "index.js" : path.basename(url.pathname);
  if (file.endsWith(".js") && fs.existsSync(path.join(bundles, file))) {
    return route.fulfill({ contentType: "application/javascript", path: path.join(bundles, file) });
  }
  if (url.pathname.endsWith("/settings")) {
    return route.fulfill({ contentType: "application/json", body: JSON.stringify(settings) });
  }
  errors.push(`blocked ${url.href}`);
  return route.abort();
});

const board = await context.newPage();
board.on("pageerror", (e) => errors.push(`dashboard: ${e.message}`));
await board.goto(`${collector}/`);
await board.waitForFunction(() => Number(document.body.dataset.updates ?? 0) >= 1, null, { timeout: 20000 });
const read = () => board.evaluate(() => {
  const tile = [...document.querySelectorAll(".tile")].find((t) => t.textContent.includes("Visitors now"));
  const chart = document.querySelector('[data-chart="traffic"]');
  return {
    visitors_now: tile ? tile.querySelector(".v").textContent : null,
    traffic: chart ? chart.innerHTML.length : 0,
    bars: chart ? chart.querySelectorAll(".s-minute-visitors rect").length : 0,
    updates: Number(document.body.dataset.updates ?? 0),
    charts: document.body.dataset.charts ?? null,
  };
});
const before = await read();

const shop = await context.newPage();
shop.on("pageerror", (e) => errors.push(`shop: ${e.message}`));
await shop.goto("http://localhost:9/");
await shop.waitForFunction(() => document.body.dataset.sent === "5" || document.body.dataset.error, null, { timeout: 20000 });
const shopError = await shop.evaluate(() => document.body.dataset.error ?? null);

// The dashboard changes without a reload.
await board.waitForFunction(
  (was) => {
    const tile = [...document.querySelectorAll(".tile")].find((t) => t.textContent.includes("Visitors now"));
    return tile && tile.querySelector(".v").textContent !== was;
  },
  before.visitors_now,
  { timeout: 20000 },
).catch(() => {});
const after = await read();
await board.screenshot({ path: path.join(outDir, "live.png"), fullPage: true });
await browser.close();
console.log(JSON.stringify({ before, after, shop_error: shopError, errors }));
