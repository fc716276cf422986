// Drives headless Chromium against websight's `serve` with Jitsu's script tag, the way most
// Jitsu sites load it: `<script async src="https://HOST/p.js" data-write-key="…">`. The
// real `p.js` of @jitsu/js takes the host it sends to from its own URL, so it must be served
// by the collector (`serve --asset /p.js=…/p.js.txt`); the shop's page is on another origin.
//
//   node scripts/sdk/jitsu_browser.mjs COLLECTOR_URL WRITE_KEY OUT_DIR
//
// One visit: the page view p.js sends on load, then through `jitsuQ` `Product Viewed`, a
// login (`identify` with an e-mail and a name) and `Order Completed` (order `jitsu-tag`,
// 2 x 89.50 EUR). Prints one JSON line: the collector's answers (method, path, status), any
// request that failed, the personal data sent (for the leak scan) and errors seen in the
// page; OUT_DIR/truth.json holds the same.

import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { driverArgs, launch, newVisitor, until } from "./browser.mjs";

const { collector, writeKey, outDir } = driverArgs("jitsu_browser.mjs");

const who = { email: "jitsu-tag@example.com", name: "Jitsu Tag Visitor", userId: "jitsu-tag-customer" };

const shop = `<!DOCTYPE html><html><head><title>Chair Bergen</title>
<script>
window.jitsuQ = window.jitsuQ || [];
window.jitsuQ.push(async (jitsu) => {
  await jitsu.track("Product Viewed", { product_id: "chair-2", name: "Chair Bergen", price: 89.5, currency: "EUR" });
  await jitsu.identify(${JSON.stringify(who.userId)}, { email: ${JSON.stringify(who.email)}, name: ${JSON.stringify(who.name)} });
  await jitsu.track("Order Completed", {
    order_id: "jitsu-tag", revenue: 179, currency: "EUR",
    products: [{ product_id: "chair-2", price: 89.5, quantity: 2 }],
  });
  document.body.setAttribute("data-sent", "3");
});
</script>
<script async src="${collector}/p.js" data-write-key="${writeKey}"></script>
</head><body><h1>Chair Bergen</h1></body></html>`;

const server = http.createServer((req, res) => {
  const { pathname } = new URL(req.url, "http://localhost");
  if (pathname !== "/chair") {
    res.writeHead(pathname === "/favicon.ico" ? 204 : 404);
    return res.end();
  }
  res.writeHead(200, { "content-type": "text/html" });
  res.end(shop);
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const shopOrigin = `http://localhost:${server.address().port}`;

const browser = await launch();
const errors = [];
const { context, answers, failed } = await newVisitor(browser, { shopOrigin, collector, errors });
const page = await context.newPage();
page.on("pageerror", (e) => errors.push(e.message));
page.on("console", (m) => { if (m.type() === "error") errors.push(`console: ${m.text()}`); });
await page.goto(`${shopOrigin}/chair`);
await page.waitForFunction(() => document.body.dataset.sent === "3", null, { timeout: 20000 })
  .catch((e) => errors.push(e.message));
// The page view and the three calls answered (or failed).
await until(() => answers.filter((a) => a.method === "POST").length + failed.length >= 4);
await context.close();
await browser.close();
server.close();
const result = { answers, failed, personal: Object.values(who), errors };
fs.writeFileSync(path.join(outDir, "truth.json"), JSON.stringify(result, null, 2) + "\n");
console.log(JSON.stringify(result));
