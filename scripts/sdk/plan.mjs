// Writes the scripted shop of shop.mjs for SDKs in other languages (python_traffic.py):
// OUT_DIR/plan.json, its calls in order (`{ visitor, method, message }`, times as RFC 3339
// strings), and OUT_DIR/truth.json.
//
//   node scripts/sdk/plan.mjs OUT_DIR [VISITORS]

import fs from "node:fs";
import path from "node:path";
import { planShop } from "./shop.mjs";

const [outDir, visitors] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: plan.mjs OUT_DIR [VISITORS]");
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });
const { calls, truth } = planShop(Number(visitors ?? 40));
fs.writeFileSync(path.join(outDir, "plan.json"), JSON.stringify(calls) + "\n");
fs.writeFileSync(path.join(outDir, "truth.json"), JSON.stringify(truth, null, 2) + "\n");
