// The executor's JSON work per open order as the answer grows (docs/performance.md, the
// open-orders curve): parse the exchange's answer, copy the views, serialize with both
// serializers, in this process, no network. A benchmark, not a test.
//   node scripts/bench/json-size.mjs
import { readFileSync } from "node:fs";
import { compileSerializers, toOpenOrderView } from "../../dist/services/executor/src/lib/fastJson.js";
import { fixturePath } from "../../dist/services/common/src/project.js";
import { usPerCall } from "./procs.mjs";

const base = JSON.parse(readFileSync(fixturePath("open-orders-500.json"), "utf8"));
const ordersOf = (n) => Array.from({ length: n }, (_, i) => ({ ...base[i % base.length], orderId: 1e9 + i, clientOrderId: `c-${i}` }));
const fast = compileSerializers("fast");
const native = compileSerializers("native");
console.log("| open orders | answer bytes | parse µs/order | view µs/order | fast µs/order | native µs/order |\n|---|---|---|---|---|---|");
for (const n of [50, 500, 5000]) {
  const text = JSON.stringify(ordersOf(n));
  const views = JSON.parse(text).map(toOpenOrderView);
  const perOrder = (fn) => (usPerCall(fn, 5) / n).toFixed(2);
  const parse = perOrder(() => JSON.parse(text));
  const view = perOrder(() => views.map(toOpenOrderView));
  const f = perOrder(() => fast.openOrders({ count: n, orders: views }));
  const nat = perOrder(() => native.openOrders({ count: n, orders: views }));
  console.log(`| ${n} | ${text.length} | ${parse} | ${view} | ${f} | ${nat} |`);
}
