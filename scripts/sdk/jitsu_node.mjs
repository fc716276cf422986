// Drives the real @jitsu/js SDK in Node.js against websight's `serve`: visitors of a shop
// whose server forwards their events, half of them through Jitsu's browser endpoints
// (`/api/s/<type>`) and half server-to-server (`s2s`: `/api/s/s2s/<type>`), the write key in
// Jitsu's `X-Write-Key` header (`key:secret`). Jitsu stamps every event with the time of the
// call, so the visits happen now.
//
//   node scripts/sdk/jitsu_node.mjs COLLECTOR_URL WRITE_KEY OUT_DIR [VISITORS]
//
// Each visitor: a page view, `Product Viewed`, a login (`identify` with an e-mail, a name and
// a phone number) and `Order Completed` with a product; the visitor's user agent and address
// are forwarded in the context, as a shop's server does (one provider's /24, an address each:
// senders the gate tells apart, though they are kept as one truncated address). OUT_DIR/truth.json: sessions, visitors, orders,
// revenue, channels, events per type, and every piece of personal data sent (for the leak
// scan), and the events withheld for consent. Any failed call fails the script (the SDK's
// `errorPolicy: "rethrow"`).

import fs from "node:fs";
import path from "node:path";
import { jitsuAnalytics } from "@jitsu/js";

const [collector, writeKey, outDir, visitorsArg] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: jitsu_node.mjs COLLECTOR_URL WRITE_KEY OUT_DIR [VISITORS]");
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });
const VISITORS = Number(visitorsArg ?? 6);
const AGENT = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0";

// Every third visitor denies the consent category "Analytics" in the shop's consent tool
// (Jitsu stamps it as `context.consent.categoryPreferences`): a collector told to honour it
// withholds their events (`withheld`), so the truth counts the others alone. Landing pages
// without a referrer or campaign: every visit is Direct.
const denies = (v) => v % 3 === 2;
const consenting = [...Array(VISITORS).keys()].filter((v) => !denies(v)).length;
const truth = {
  sessions: consenting, visitors: consenting, orders: 0, revenue: {}, channels: { Direct: consenting },
  events: {}, withheld: 0, personal: [],
};
const count = (type, v) => {
  if (denies(v)) truth.withheld += 1;
  else truth.events[type] = (truth.events[type] ?? 0) + 1;
};
for (let v = 0; v < VISITORS; v++) {
  const who = {
    anonymousId: `jitsu-anon-${v}-7f3a`,
    userId: `jitsu-customer-${v}`,
    email: `jitsu${v}@example.com`,
    name: `Jitsu Visitor${v}`,
    phone: `+49 30 5555 ${2000 + v}`,
    ip: `198.51.100.${20 + v}`,
  };
  truth.personal.push(...Object.values(who));
  const analytics = jitsuAnalytics({
    host: collector,
    writeKey,
    s2s: v % 2 === 1,
    errorPolicy: "rethrow",
    defaultPayloadContext: { userAgent: AGENT, ip: who.ip, locale: "de-DE" },
    // Granted, denied, or no consent tool at all.
    privacy: v % 3 === 0 ? {} : { consentCategories: { Analytics: !denies(v), Marketing: true } },
  });
  // The SDK keeps ids and traits in one store per process in Node.js: a new visitor resets
  // it, or the last one's user id would follow.
  await analytics.reset();
  analytics.setAnonymousId(who.anonymousId);
  const price = 89.5 + v;
  await analytics.page("Chair Bergen", { url: "https://shop.example/products/chair", path: "/products/chair", title: "Chair Bergen" });
  count("page", v);
  await analytics.track("Product Viewed", { product_id: "chair-2", name: "Chair Bergen", price, currency: "EUR" });
  count("track", v);
  await analytics.identify(who.userId, { email: who.email, name: who.name, phone: who.phone });
  count("identify", v);
  await analytics.track("Order Completed", {
    order_id: `jitsu-order-${v}`, revenue: price * 2, currency: "EUR",
    products: [{ product_id: "chair-2", price, quantity: 2 }],
  });
  count("track", v);
  if (denies(v)) continue;
  truth.orders += 1;
  truth.revenue.EUR = Math.round(((truth.revenue.EUR ?? 0) + price * 2) * 100) / 100;
}
fs.writeFileSync(path.join(outDir, "truth.json"), JSON.stringify(truth, null, 2) + "\n");
console.log(JSON.stringify(truth));
