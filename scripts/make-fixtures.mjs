// Writes fixtures/open-orders-{50,500}.json from the mock exchange's deterministic book
// (seed 1), so the JSON scenario serializes exactly what the exchange serves.
// Usage: npm run build && node scripts/make-fixtures.mjs
import { writeFileSync } from "node:fs";
import { OrderBook } from "../dist/services/exchange/src/book.js";

for (const n of [50, 500]) {
  const book = new OrderBook(n);
  book.seed(n, 1);
  writeFileSync(`fixtures/open-orders-${n}.json`, JSON.stringify(book.openOrders(), null, 1) + "\n");
}
