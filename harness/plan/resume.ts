/**
 * `perfpack run --resume <folder>`: whether a recorded run can be continued by this perfpack, its
 * config as results.json records it, and which of its planned trials remain. Pure: the caller
 * reads the folder, the machine and the checkout, and passes them in.
 */
import { UsageError } from "../errors.js";
import type { Machine, PlanRecord, Results, TrialRecord } from "../results/schema.js";
import type { RequestSpec } from "../load/request.js";
import type { RunConfig } from "./config.js";
import { resolveCapacityConfig } from "./capacity-config.js";
import { RUN_DEFAULTS } from "./defaults.js";
import { flagOf, RUN_OPTIONS, type PROFILE_TOOLS, type RunFlags } from "./options.js";
import type { Plan, TrialSpec } from "./order.js";
import { withHarness, type Variant } from "./variants.js";

const REDACTED = "[redacted]";

/** The run options given beside --resume that it refuses: every one but --json (the plan and its options are the folder's). */
export function clashingFlags(flags: RunFlags): string[] {
  return (Object.keys(RUN_OPTIONS) as Array<keyof RunFlags>)
    .filter((k) => k !== "json")
    .filter((k) => {
      const v = flags[k];
      return v !== undefined && !(Array.isArray(v) && v.length === 0);
    })
    .map((k) => flagOf(RUN_OPTIONS[k]) || k);
}

/** What the machine is, for the question "are these trials one run": the CPU, its cores, the Node version. */
const machineText = (m: Pick<Machine, "cpuModel" | "cores" | "node">) =>
  `${m.cpuModel}, ${m.cores} cores, Node ${m.node}`;

/** The secret values results.json does not keep (redacted), which a resumed run would not have: where they are. */
function redactedSecrets(p: PlanRecord): string[] {
  const env = p.variants.flatMap((v) =>
    Object.entries(v.env)
      .filter(([, x]) => x === REDACTED)
      .map(([k]) => `variant ${v.name}'s ${k}`),
  );
  const headers = Object.entries(p.requests ?? {}).flatMap(([name, r]) =>
    Object.entries(r.headers)
      .filter(([, x]) => x === REDACTED)
      .map(([h]) => `the ${name} request's header ${h}`),
  );
  return [...env, ...headers];
}

/**
 * Why this perfpack cannot resume the recorded run, or undefined when it can: another version,
 * a gate, imported trials, another machine, a plan it cannot rebuild (no order, an unknown
 * scenario, a secret it does not keep).
 */
export function resumeRefusal(
  r: Results,
  o: { version: string; machine: Machine; gate: boolean; scenarios: readonly string[] },
): string | undefined {
  const p = r.plan;
  if (r.perfpack !== o.version)
    return `its results.json was written by perfpack ${r.perfpack}, and this is perfpack ${o.version}: another version may plan and measure differently, so its trials and ours would not be one run (resume it with perfpack ${r.perfpack}, or start a new run)`;
  if (o.gate || p.variants.some((v) => v.system?.kind === "revision"))
    return "it is a gate's run (gate --baseline-ref): a sequential gate spends its error rate look by look within its time budget, so its looks cannot be resumed; rerun the gate (the finished rounds stay in this folder's results.json)";
  if (p.imported)
    return "its trials were imported from Artillery reports (perfpack import artillery): perfpack runs none of them";
  if (!Array.isArray(p.order) || p.order.length === 0) return "its results.json records no trial order";
  const m = r.machine;
  if (m.cpuModel !== o.machine.cpuModel || m.cores !== o.machine.cores || m.node !== o.machine.node)
    return `its trials were measured on ${machineText(m)}, and this is ${machineText(o.machine)}: trials from two machines or Node versions are not one run`;
  const unknown = p.scenarios.filter((s) => !o.scenarios.includes(s));
  if (unknown.length) return `its scenario ${unknown.join(", ")} is not in this perfpack`;
  const secrets = redactedSecrets(p);
  if (secrets.length)
    return `${secrets.join(", ")} held a secret, which results.json does not keep (it is redacted), so the remaining trials could not send it (a header that reads \${env:NAME} is kept, and resumes)`;
  if (p.design === "duet" && p.duetSeed === undefined)
    return "it is a duet whose slices' seed is not recorded (a perfpack before --resume wrote it), so the remaining slices could not make the same choices";
  return undefined;
}

/** The recorded system of a variant as the runner starts it: the reference (undefined), or the team's command run in `cwd`. */
function systemOf(v: PlanRecord["variants"][number], cwd: string): Variant["system"] {
  const s = v.system;
  if (!s || s.kind === "reference") return undefined;
  if (s.kind === "command") return { kind: "command", cmd: s.cmd, cwd, readyPath: s.readyPath ?? "/health" };
  throw new UsageError(`variant ${v.name} ran a revision (${s.ref}): only the gate builds one`);
}

/**
 * The run's config from what its results.json records: the same variants, scenarios, rounds and
 * load, into the same folder. `cwd` is where a team's command runs (the resumed run's directory).
 */
export function recordedConfig(
  r: Results,
  o: { outDir: string; cwd: string; updateLatest: boolean; requestDefaults: Readonly<Record<string, RequestSpec>> },
): RunConfig {
  const p = r.plan;
  const variants = p.variants.map((v) => {
    const system = systemOf(v, o.cwd);
    const variant = { name: v.name, kind: v.kind as Variant["kind"], env: { ...v.env }, ...(system ? { system } : {}) };
    // as config.ts makes them: --target's variant has no settings of perfpack's to parse
    return v.kind === "target" ? variant : withHarness(variant);
  });
  const soak = p.scenarios.includes("soak");
  return {
    variants,
    scenarios: [...p.scenarios],
    rounds: p.rounds,
    durationS: p.durationS,
    warmupS: p.warmupS,
    connections: p.connections,
    rate: p.rate ?? undefined,
    wsClients: p.wsClients,
    wsRate: p.wsRate,
    quick: p.quick,
    target: p.target ?? undefined,
    runId: r.runId,
    outDir: o.outDir,
    updateLatest: o.updateLatest,
    warnings: [],
    profile: p.profile as (typeof PROFILE_TOOLS)[number] | undefined,
    readyTimeoutMs: (p.readyTimeoutS ?? RUN_DEFAULTS.readyTimeoutMs / 1000) * 1000,
    stopGraceMs: (p.stopGraceS ?? RUN_DEFAULTS.stopGraceMs / 1000) * 1000,
    warm: p.warm === true,
    ...(p.capacity
      ? { capacity: resolveCapacityConfig({ slo: p.capacity.slo, resolution: String(p.capacity.resolution) }) }
      : {}),
    allocation: p.skipAllocation !== true && p.scenarios.includes("latency") && !p.target && !soak,
    requests: { ...o.requestDefaults, ...(p.requests ?? {}) },
    maxErrors: p.maxErrors ?? RUN_DEFAULTS.maxErrors,
    design: p.design ?? "alternate",
    duetExchange: p.duetExchange ?? "shared",
  };
}

/** JSON with sorted keys: two records compare equal whatever order their keys were written in. */
const canonical = (x: unknown): string =>
  JSON.stringify(x, (_, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );

/**
 * The keys of the plan record that differ between the recorded one and the one this perfpack
 * makes of the same config (its scenarios' headlines, a request's defaults, the order …); the
 * checkout is compared apart (`checkoutChange`).
 */
export function planDiff(recorded: PlanRecord, rebuilt: PlanRecord): string[] {
  const keys = [...new Set([...Object.keys(recorded), ...Object.keys(rebuilt)])].filter((k) => k !== "checkout");
  return keys.filter((k) => canonical(recorded[k as keyof PlanRecord]) !== canonical(rebuilt[k as keyof PlanRecord]));
}

type Checkout = PlanRecord["checkout"];

/**
 * The code under test now against the run's: another commit, or uncommitted changes that came or
 * went, is a refusal (the remaining trials would measure other code); changes then and now are a
 * warning (perfpack cannot tell whether they are the same).
 */
export function checkoutChange(recorded: Checkout, now: Checkout): { refusal?: string; warning?: string } {
  if (!recorded) return {};
  const short = (c: string) => c.slice(0, 10);
  if (!now || now.commit !== recorded.commit)
    return {
      refusal: `the checkout under test was at ${short(recorded.commit)} and is now ${now ? `at ${short(now.commit)}` : "not a git checkout"}: the remaining trials would measure other code (check out ${short(recorded.commit)} again, or start a new run)`,
    };
  if (recorded.dirty !== now.dirty)
    return {
      refusal: `the checkout under test ${recorded.dirty ? "had uncommitted changes, and has none now" : "has uncommitted changes since the run started"}: the remaining trials would measure other code`,
    };
  if (recorded.dirty)
    return {
      warning: `the run started from a checkout with uncommitted changes, and it has some now: perfpack cannot tell whether they are the same`,
    };
  return {};
}

const trialName = (t: Pick<TrialRecord, "variant" | "scenario" | "round">) =>
  `${t.variant} · ${t.scenario} · round ${t.round}`;

/**
 * The plan's trials that results.json holds (by index, each the plan's trial at its index) and
 * the ones that remain, in plan order. A recorded trial that is not the plan's, or is there
 * twice, is a usage error: the file and the plan disagree, and nothing is run.
 */
export function remainingTrials(
  plan: Pick<Plan, "trials">,
  trials: readonly Pick<TrialRecord, "index" | "variant" | "scenario" | "round">[],
): { done: Set<number>; remaining: TrialSpec[] } {
  const done = new Set<number>();
  for (const t of trials) {
    const spec = plan.trials[t.index];
    if (!spec || spec.variant.name !== t.variant || spec.scenario !== t.scenario || spec.round !== t.round)
      throw new UsageError(
        `its trial #${t.index + 1} (${trialName(t)}) is not the plan's ${spec ? `(${trialName({ ...spec, variant: spec.variant.name })})` : "(the plan has no such trial)"}: results.json's trials and its plan disagree`,
      );
    if (done.has(t.index)) throw new UsageError(`its trial #${t.index + 1} (${trialName(t)}) is recorded twice`);
    done.add(t.index);
  }
  return { done, remaining: plan.trials.filter((s) => !done.has(s.index)) };
}
