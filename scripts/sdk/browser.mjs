// What the headless-Chromium drivers share (browser_live.mjs, rudderstack_browser.mjs,
// jitsu_browser.mjs): Debian's Chromium through playwright-core, a visitor's user agent,
// and (for the drivers that intercept nothing, so the collector itself answers every
// request, CORS preflights included) a visitor's context watched for what reaches the
// collector.

import fs from "node:fs";
import { chromium } from "playwright-core";

// The drivers' command line, `SCRIPT COLLECTOR_URL WRITE_KEY OUT_DIR`: OUT_DIR made, or the
// usage printed and exit 2.
export function driverArgs(script) {
  const [collector, writeKey, outDir] = process.argv.slice(2);
  if (!outDir) {
    console.error(`usage: ${script} COLLECTOR_URL WRITE_KEY OUT_DIR`);
    process.exit(2);
  }
  fs.mkdirSync(outDir, { recursive: true });
  return { collector, writeKey, outDir };
}

// A visitor's browser, not "HeadlessChrome" (which the gate rightly rejects as a bot).
export const VISITOR_AGENT =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";

export function launch() {
  return chromium.launch({
    executablePath: process.env.WEBSIGHT_CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

// A new visitor's context on `browser`. `errors` collects any request to neither the shop
// nor the collector; the returned `answers` (method, path, status) and `failed` (path,
// error) are the collector's, as they happen.
export async function newVisitor(browser, { shopOrigin, collector, errors }) {
  const context = await browser.newContext({ userAgent: VISITOR_AGENT });
  await context.grantPermissions(["local-network-access"]).catch((e) => errors.push(`permission: ${e.message}`));
  const collectorOrigin = new URL(collector).origin;
  context.on("request", (request) => {
    const { origin } = new URL(request.url());
    if (origin !== shopOrigin && origin !== collectorOrigin) errors.push(`left the machine: ${request.url()}`);
  });
  const answers = [];
  const failed = [];
  const toCollector = (request) => request.url().startsWith(collector);
  context.on("response", (response) => {
    const request = response.request();
    if (toCollector(request)) {
      const url = new URL(request.url());
      answers.push({ method: request.method(), path: url.pathname, status: response.status() });
    }
  });
  context.on("requestfailed", (request) => {
    if (toCollector(request)) failed.push({ path: new URL(request.url()).pathname, error: request.failure()?.errorText });
  });
  return { context, answers, failed };
}

// Waits until `done()` or 20 s have passed.
export async function until(done) {
  const started = Date.now();
  while (!done() && Date.now() - started < 20000) await new Promise((ok) => setTimeout(ok, 50));
}
