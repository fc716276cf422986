// The scripted shop the real node SDKs send (segment_node_traffic.mjs,
// rudderstack_node_traffic.mjs): one script, so every SDK is held to the same truth.
//
//   node scripts/sdk/<sdk>_node_traffic.mjs OUT_DIR [VISITORS]
//
// OUT_DIR/captured.jsonl: one line per HTTP request the SDK made (its `{"batch": [...]}` body,
// gunzipped, each message stamped with `receivedAt` on arrival, as a collector exports it).
// The first request is answered 500 after it was recorded, so the SDK retries it: its
// messages appear twice (same messageIds), as at-least-once delivery does.
// OUT_DIR/truth.json: sessions, visitors, orders, revenue per currency, channels, events per
// type, and every piece of personal data sent (for the leak scan).
//
// With WEBSIGHT_COLLECTOR=URL the SDK sends to that collector instead (websight's `serve`),
// nothing is captured here, and WEBSIGHT_SDK_MAX_RETRIES (default 5) and WEBSIGHT_SDK_PACE_MS
// (a pause after each visitor, default 0) shape the sending.
//
// The traffic is unambiguous by construction: a visitor's sessions are >= 2 hours apart,
// events inside a session <= 10 minutes apart (some visits start as a single-page shop's
// do: the landing reported twice, a second page 1.5 s later — a human, not a scraper); visitors log in mid-session (identify), later
// sessions come from a second device (anonymous id + user id) or from the shop's server
// (user id only): every visitor is one person. Telephone orders come from the shop's server
// alone, without a user agent.

import http from "node:http";
import zlib from "node:zlib";
import fs from "node:fs";
import path from "node:path";

// The SDK's write key: the collector's tests configure the same one.
export const WRITE_KEY = "websight-test-write-key";

// The shop's calls, in order — `{ visitor, method, message }` with `method` one of `page`,
// `track`, `identify` and `alias` and `message` Segment's message object, which every SDK here
// takes (`timestamp` a `Date`) — and the truth they make: sessions, visitors, orders, revenue
// per currency, channels, events per type, and every piece of personal data sent.
export function planShop(VISITORS) {
  // A deterministic generator (no Math.random: the truth must be reproducible).
  let state = 12345;
  const rand = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  const calls = [];
  const call = (visitor, method, message) => calls.push({ visitor, method, message });

  const AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
  ];
  const SHOP = "https://shop.example";
  // Landing page (URL query, referrer) and the GA4 channel it is.
  const CHANNELS = [
    ["", null, "Direct"],
    ["", "https://www.google.com/", "Organic Search"],
    ["?utm_source=newsletter&utm_medium=email&utm_campaign=spring", "https://mail.example.net/", "Email"],
    ["?gclid=Cj0KCQ", "https://www.google.com/", "Paid Search"],
    ["", "https://l.facebook.com/", "Organic Social"],
    ["", "https://blog.example.org/best-sofas", "Referral"],
    ["?utm_source=facebook&utm_medium=paid_social&utm_campaign=reels", "https://l.facebook.com/", "Paid Social"],
  ];
  const PRODUCTS = [
    ["sofa-1", "Sofa Oslo", "living room", "499.90"],
    ["chair-2", "Chair Bergen", "dining room", "89.50"],
    ["desk-3", "Desk Tromso", "office", "259.00"],
    ["lamp-4", "Lamp Narvik", "living room", "39.95"],
  ];

  const truth = {
    sessions: 0, visitors: VISITORS, orders: 0, revenue: {}, channels: {}, events: {},
    personal: [],
  };
  const count = (type) => { truth.events[type] = (truth.events[type] ?? 0) + 1; };
  // 2026-03-02 08:00 UTC; earlier for many visitors, so none lies in the collector's future.
  const base = Date.UTC(2026, 2, 2, 8, 0, 0) - Math.max(0, VISITORS - 200) * 24 * 3600e3;

  // Every tenth day a customer orders by telephone (in the afternoon, after that day's
  // visitor): the shop's backend alone tells of it (`identify`, then `Order Completed`, by
  // user id), with no user agent or address — it has none; the SDK names itself in
  // `context.library`. A new person, one visit, Direct.
  const phoneOrder = (v) => {
    const userId = `phone-customer-${v}`;
    const email = `phone${v}@example.com`;
    const phone = `+49 30 5556 ${String(1000 + v)}`;
    truth.personal.push(userId, email, phone);
    truth.visitors += 1;
    truth.sessions += 1;
    truth.channels.Direct = (truth.channels.Direct ?? 0) + 1;
    const t = base + v * 24 * 3600e3 + 14 * 3600e3;
    const context = { locale: "de-DE" };
    call(v, "identify", { userId, timestamp: new Date(t), context, traits: { email, phone } });
    count("identify");
    const [pid, pname, , price] = PRODUCTS[v % PRODUCTS.length];
    call(v, "track", {
      userId, event: "Order Completed", timestamp: new Date(t + 60e3), context,
      properties: {
        order_id: `phone-order-${v}`, revenue: Number(price), currency: "EUR",
        products: [{ product_id: pid, name: pname, price: Number(price), quantity: 1 }],
      },
    });
    count("track");
    truth.orders += 1;
    truth.revenue.EUR = Math.round(((truth.revenue.EUR ?? 0) + Number(price)) * 100) / 100;
  };

  for (let v = 0; v < VISITORS; v++) {
    const anonymousId = `anon-${v}-${Math.floor(rand() * 1e9)}`;
    const secondDevice = `anon-${v}-phone`;
    const userId = `customer-${1000 + v}`;
    const email = `visitor${v}@example.com`;
    const name = `Visitor Number${v}`;
    const phone = `+49 30 5555 ${String(1000 + v)}`;
    const ip = `198.${18 + (v % 2)}.${v}.${20 + (v % 200)}`;
    truth.personal.push(anonymousId, secondDevice, userId, email, name, phone, ip);
    const agent = AGENTS[v % AGENTS.length];
    const sessions = 1 + (v % 3);
    let loggedIn = false;
    for (let s = 0; s < sessions; s++) {
      // Visitors start a day apart, their sessions 3 hours apart.
      let t = base + v * 24 * 3600e3 + s * 3 * 3600e3;
      const [query, referrer, channel] = CHANNELS[(v + s) % CHANNELS.length];
      truth.sessions += 1;
      truth.channels[channel] = (truth.channels[channel] ?? 0) + 1;
      // Session 2 comes from a second device, session 3 from the shop's server only.
      const ids = s === 0 ? { anonymousId } : s === 1 ? { anonymousId: secondDevice, userId } : { userId };
      const context = { ip, userAgent: agent, locale: "de-DE" };
      const step = () => { t += (20 + Math.floor(rand() * 300)) * 1000; return new Date(t); };
      if (s === 1 && !loggedIn) {
        // Logged in on the second device: the shop merges the first device's history.
        call(v, "alias", { previousId: anonymousId, userId, timestamp: new Date(t), context });
        count("alias");
        loggedIn = true;
      }
      const landing = `${SHOP}/${query}`;
      call(v, "page", {
        ...ids, name: "Home", timestamp: new Date(t),
        properties: { url: landing, path: "/", referrer: referrer ?? "", title: "Home", search: query },
        context: { ...context, page: { url: landing, path: "/", referrer: referrer ?? "", search: query } },
      });
      count("page");
      if ((v + s) % 4 === 2) {
        // A single-page shop: its router reports the landing again, 40 ms after the
        // snippet's page view, and the visitor opens a category 1.5 s later.
        call(v, "page", { ...calls[calls.length - 1].message, timestamp: new Date(t + 40) });
        const sofas = `${SHOP}/sofas`;
        call(v, "page", {
          ...ids, name: "Sofas", timestamp: new Date(t + 1500),
          properties: { url: sofas, path: "/sofas", referrer: landing, title: "Sofas" },
          context: { ...context, page: { url: sofas, path: "/sofas", referrer: landing } },
        });
        count("page");
        count("page");
      }
      const [pid, pname, category, price] = PRODUCTS[(v + s) % PRODUCTS.length];
      call(v, "track", {
        ...ids, event: "Product Viewed", timestamp: step(), context,
        properties: { product_id: pid, name: pname, category, price: Number(price), currency: "EUR" },
      });
      count("track");
      if ((v + s) % 2 === 0) {
        call(v, "track", {
          ...ids, event: "Product Added", timestamp: step(), context,
          properties: { product_id: pid, name: pname, category, price: Number(price), quantity: 2 },
        });
        count("track");
        if (s === 0 && !loggedIn) {
          // Logs in mid-session: the same visitor, the same session.
          call(v, "identify", {
            anonymousId, userId, timestamp: step(), context,
            traits: { email, name, phone, address: { city: "Berlin", street: "Hauptstr. 1" } },
          });
          count("identify");
          ids.userId = userId;
          loggedIn = true;
        }
        // Some buy from the shop's Indonesian store, in rupiah (16,000 to the dollar: a
        // sofa is Rp 7,998,400).
        const currency = v % 4 === 0 ? "USD" : v % 4 === 3 ? "IDR" : "EUR";
        const rupiah = currency === "IDR";
        const unit = rupiah ? Math.round(Number(price) * 16000) : Number(price);
        const revenue = (unit * 2).toFixed(rupiah ? 0 : 2);
        const shipping = rupiah ? 80000 : 4.99;
        call(v, "track", {
          ...ids, event: "Checkout Started", timestamp: step(), context,
          properties: { products: [{ product_id: pid, price: unit, quantity: 2 }], currency },
        });
        count("track");
        call(v, "track", {
          ...ids, event: "Order Completed", timestamp: step(), context,
          properties: {
            order_id: `order-${v}-${s}`, revenue: Number(revenue), total: Number(revenue) + shipping,
            currency, payment_method: v % 3 === 0 ? "paypal" : "card",
            products: [{ product_id: pid, name: pname, price: unit, quantity: 2 }],
          },
        });
        count("track");
        truth.orders += 1;
        truth.revenue[currency] = Math.round(((truth.revenue[currency] ?? 0) + Number(revenue)) * 100) / 100;
      }
    }
    if (v % 10 === 0) phoneOrder(v);
    }
  return { calls, truth };
}

// Runs the shop through the client `connect({ host, maxRetries })` makes: an object with
// the SDK's `page`, `track`, `identify` and `alias` (taking the messages of `planShop`) and
// `close()`, a promise that settles once everything queued was sent.
export async function runShop(script, connect) {
  const outDir = process.argv[2];
  const VISITORS = Number(process.argv[3] ?? 40);
  if (!outDir) {
    console.error(`usage: ${script} OUT_DIR [VISITORS]`);
    process.exit(2);
  }
  fs.mkdirSync(outDir, { recursive: true });

  const collector = process.env.WEBSIGHT_COLLECTOR;
  const PACE_MS = Number(process.env.WEBSIGHT_SDK_PACE_MS ?? 0);
  // ---- the capture endpoint (unless a collector is given) ----
  const captured = [];
  let requests = 0;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      let body = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") body = zlib.gunzipSync(body);
      const json = JSON.parse(body.toString("utf8"));
      const receivedAt = new Date().toISOString();
      for (const m of json.batch ?? [json]) m.receivedAt = receivedAt;
      captured.push(JSON.stringify(json));
      requests += 1;
      const fail = requests === 1;
      res.writeHead(fail ? 500 : 200, { "content-type": "application/json" });
      res.end(JSON.stringify(fail ? { error: "try again" } : { success: true }));
    });
  });
  let host = collector;
  if (!collector) {
    await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
    host = `http://127.0.0.1:${server.address().port}`;
  }

  const analytics = connect({
    host,
    maxRetries: Number(process.env.WEBSIGHT_SDK_MAX_RETRIES ?? 5),
  });

  const { calls, truth } = planShop(VISITORS);
  const pause = () => (PACE_MS > 0 ? new Promise((ok) => setTimeout(ok, PACE_MS)) : null);
  for (const [i, { visitor, method, message }] of calls.entries()) {
    analytics[method](message);
    // A pause after each visitor.
    if (calls[i + 1]?.visitor !== visitor) await pause();
  }

  await analytics.close();
  if (!collector) {
    server.close();
    fs.writeFileSync(path.join(outDir, "captured.jsonl"), captured.join("\n") + "\n");
  }
  fs.writeFileSync(path.join(outDir, "truth.json"), JSON.stringify(truth, null, 2) + "\n");
  const messages = captured.reduce((n, line) => n + (JSON.parse(line).batch ?? [1]).length, 0);
  console.log(JSON.stringify({ requests, messages, sessions: truth.sessions, orders: truth.orders }));
}
