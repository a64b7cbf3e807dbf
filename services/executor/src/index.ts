/** Stand-alone entry (services/executor/dist/bundle.cjs): `node bundle.cjs [--port N] [--host H]`. */
import { parseArgs } from "node:util";
import { executorMain } from "./main.js";

const { values } = parseArgs({ options: { port: { type: "string" }, host: { type: "string" } }, strict: true });
executorMain(values).catch((err) => {
  process.stderr.write(`perfpack executor: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
