/**
 * An arm checked before its load: the bundled executor's health gives its toggles (and, under
 * --target, its exchange and pid); a user's own service (--executor-cmd) owes no /health of ours
 * and no metrics, and must serve every route the scenario sends to. Each returns a new arm.
 */
import { getJson } from "./launcher.js";
import { missingRoutes } from "./probes.js";
import type { MeasureArm } from "./measure.js";
import type { LiveRequest, Scenario } from "../../scenarios/contract.js";

export type UncheckedArm = Omit<MeasureArm, "metricsOptional">;

/**
 * A user's service: each missing route named with the config entry that sets it (the soak sends
 * three scenarios' requests); a soak with no subscribers (--ws-clients 0) sends nothing to the
 * WebSocket route.
 */
export async function checkRoutes(
  arm: UncheckedArm,
  scenario: Scenario,
  requests: Readonly<Record<string, LiveRequest>>,
): Promise<MeasureArm> {
  const missing: string[] = [];
  const uses = scenario.uses.filter((u) => !(u === "ws" && arm.wsClients === 0));
  for (const u of uses)
    for (const m of await missingRoutes(arm.target.executorUrl, [requests[u]!]))
      missing.push(`${m}, set by requests.${u}`);
  if (missing.length)
    throw new Error(
      `the service does not serve ${missing.join("; ")}, which the ${scenario.name} scenario needs (the config file's requests key sets each)`,
    );
  return { ...arm, metricsOptional: true };
}

/** The bundled executor: its health answers 200 with its toggles; an executor perfpack did not start (--target) also names its upstream and pid. */
export async function checkHealth(arm: UncheckedArm, started: boolean): Promise<MeasureArm> {
  const health = await getJson(`${arm.target.executorUrl}/health`);
  if (health.status !== 200) throw new Error(`executor health answered ${health.status}`);
  const h = health.body as { toggles?: Record<string, unknown>; pid?: number; upstream?: string };
  const toggles = h.toggles ?? {};
  if (started) return { ...arm, target: { ...arm.target, toggles }, metricsOptional: false };
  return {
    ...arm,
    target: { ...arm.target, toggles, exchangeUrl: h.upstream },
    pids: h.pid ? { executor: h.pid } : {},
    metricsOptional: false,
  };
}
