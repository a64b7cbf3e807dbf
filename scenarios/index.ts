import type { Scenario } from "./contract.js";
import { batch } from "./batch.js";
import { json } from "./json.js";
import { latency } from "./latency.js";
import { soak } from "./soak.js";
import { ws } from "./ws.js";

/** Every scenario by name, in the default order of a run; soak runs only with --soak. */
export const SCENARIOS: ReadonlyMap<string, Scenario> = new Map<string, Scenario>(
  [latency, batch, json, ws, soak].map((s) => [s.name, s]),
);
