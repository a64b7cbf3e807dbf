/** `perfpack gate`: its flags (over the config file's) → its config → the job (api/gate.ts) → its decision printed and its exit code. */
import { join, resolve } from "node:path";
import { EXIT, UsageError } from "../errors.js";
import { gateRevision, gateRuns } from "../api/gate.js";
import type { JobEvent } from "../api/context.js";
import { layeredFlags, splitGateFlags, type FileFlags } from "../plan/file.js";
import { resolveGateConfig, type GateConfig } from "../plan/gate-config.js";
import { readResultsFile } from "../results/file.js";
import { causeLines } from "../report/gate-cause.js";
import type { Results } from "../results/schema.js";
import type { GateDecision } from "../verdict/gate.js";
import type { RunFlags } from "../plan/options.js";
import type { Scenario } from "../../scenarios/contract.js";
import type { IO } from "./io.js";
import { callTable } from "./report.js";
import { interruptedLine, jobContext, runExit, runPaths, runView, shownRun } from "./run.js";

/** The exit code of a gate's outcome: 1 for a regression, and for inconclusive under --strict. */
const gateExit = (d: Pick<GateDecision, "outcome">, strict: boolean): number =>
  d.outcome === "regression" || (d.outcome === "inconclusive" && strict) ? EXIT.gateFailed : EXIT.ok;

/** The closing lines of a gate: its outcome, what to do about an inconclusive one, and the reasons. */
function outcomeText(
  d: Pick<GateDecision, "outcome" | "reasons">,
  strict: boolean,
  line: number,
  io: IO,
  inconclusiveWhy: string,
  passAlso = "",
): string {
  const list = d.reasons.map((x) => `  - ${x}`).join("\n") + "\n";
  if (d.outcome === "pass")
    return (
      io.paint.green.bold("gate: PASS") +
      ` — every gate metric's interval is wholly better than ${(line * 100).toFixed(0)}% worse${passAlso}\n`
    );
  if (d.outcome === "regression") return io.paint.red.bold("gate: FAIL (regression)\n") + list;
  return (
    (strict
      ? io.paint.red.bold("gate: FAIL (inconclusive, --strict)\n")
      : io.paint.yellow.bold("gate: INCONCLUSIVE") + ` — ${inconclusiveWhy}; exit 0 (--strict makes this exit 1)\n`) +
    list
  );
}

/** The stored-run gate's decision, printed: exit 1 on a regression or a failed gating target; inconclusive exits 0 with a warning, 1 under --strict. */
function storedGate(
  base: Results,
  current: Results,
  g: Extract<GateConfig, { kind: "stored" }>,
  json: boolean,
  io: IO,
): number {
  const d = gateRuns(base, current, g.maxRegression, g.strict);
  const human = json ? io.err : io.out;
  const level = d.comparisons[0]?.estimate.level ?? 0.95;
  human.write(
    "gate: against a stored run: the comparison is unpaired and carries whatever changed on the machine between the two runs (--baseline-ref avoids that)\n",
  );
  human.write(
    `gate: current ${d.current} against baseline ${d.baseline}; ${d.comparisons.length} gate metrics (per variant and scenario), intervals at ${(level * 100).toFixed(2)}% (Bonferroni over them), line ${(g.maxRegression * 100).toFixed(0)}% worse\n`,
  );
  human.write(callTable(d, true) + "\n");
  human.write(
    outcomeText(
      d,
      g.strict,
      g.maxRegression,
      io,
      "too few rounds or too much noise to decide every metric: give both runs more --rounds, or use --baseline-ref",
      ", and every gating target holds",
    ),
  );
  if (json) io.out.write(JSON.stringify(d, null, 2) + "\n");
  return gateExit(d, g.strict);
}

/** A look of the sequential gate, as one line on stderr. */
function lookLine(e: Extract<JobEvent, { type: "look" }>): string {
  const { look: l } = e;
  const verdict = e.outcome ? `: ${e.outcome}` : `; ${e.undecided} undecided, ${e.batchRounds} more rounds`;
  return `gate: look ${l.look}/${e.maxLooks} after ${l.rounds} rounds (${l.elapsedS.toFixed(0)} s), intervals at ${(l.level * 100).toFixed(2)}%${verdict}\n`;
}

/**
 * `perfpack gate --baseline-ref REV`: builds REV's executor, runs it beside this checkout's in one
 * interleaved run (each round in a seeded random order), and gates on the paired comparison.
 */
async function revisionGate(
  flags: RunFlags,
  g: Extract<GateConfig, { kind: "revision" }>,
  json: boolean,
  scenarios: ReadonlyMap<string, Scenario>,
  io: IO,
): Promise<number> {
  const human = json ? io.err : io.out;
  const view = runView(io, human, { verdict: false, warningPrefix: "perfpack gate" });
  const events = (e: JobEvent) => (e.type === "look" ? io.err.write(lookLine(e)) : view(e));
  const { run, doc } = await gateRevision(flags, g, scenarios, { ...jobContext(io, interruptedLine("gate")), events });
  if (!run) return EXIT.interrupted;
  runPaths(run, io, human);
  if (!doc) return runExit(run, io);
  const rounds = doc.looks.at(-1)?.rounds ?? doc.design.minRounds;
  human.write(
    `gate: ${g.candidateRef !== undefined ? `${g.candidateRef} (${run.results.plan.checkout?.commit.slice(0, 10) ?? "?"})` : "this checkout"} against ${doc.baseline}, interleaved in one run (seed ${g.seed}), paired by round; ${rounds} rounds in ${doc.looks.length} look(s) of at most ${doc.design.maxLooks}, ${doc.wallS.toFixed(0)} s of a ${doc.budgetS} s budget; line ${(g.maxRegression * 100).toFixed(0)}% worse\n`,
  );
  human.write(callTable(doc, false) + "\n");
  human.write(outcomeText(doc, g.strict, g.maxRegression, io, "the budget ended before every metric was decided"));
  // a regression's cause (or why it has none): its lines change nothing of the exit code
  if (doc.cause) human.write(causeLines(doc.cause, (rel) => join(run.outDir, rel)).join("\n") + "\n");
  if (json) io.out.write(JSON.stringify(doc, null, 2) + "\n");
  const code = gateExit(doc, g.strict);
  // asked to record the gate and could not (said in red by runPaths): a history job must not pass silently
  return code === EXIT.ok && run.history && "error" in run.history ? EXIT.runFailure : code;
}

/**
 * --no-profile arrives as `profile: false`: commander names a negated flag after its positive, and
 * --profile <tool> is a run option. It is the gate's noProfile, and the run's --profile stays unset.
 */
function withNoProfile<T extends FileFlags>(f: T): T {
  if ((f as { profile?: unknown }).profile !== false) return f;
  const { profile: _, ...rest } = f as T & { profile?: unknown };
  return { ...rest, noProfile: true } as T;
}

/** `perfpack gate`: against a revision, or a stored run. */
export async function gateCommand(
  { resume, ...flags }: FileFlags & { resume?: string },
  scenarios: ReadonlyMap<string, Scenario>,
  io: IO,
): Promise<number> {
  if (resume !== undefined)
    throw new UsageError(
      `gate --resume: a sequential gate's looks cannot be resumed (it spends its error rate look by look within its --budget, and the machine has moved on since): rerun the gate; the finished rounds are in ${resolve(io.cwd, resume, "results.json")}`,
    );
  // the gate's own options may come from the config file too (the run's are read by the run)
  const { flags: layered, from } = layeredFlags(io.cwd, withNoProfile(flags));
  const { run } = splitGateFlags(withNoProfile(flags));
  const g = resolveGateConfig(splitGateFlags(layered).gate, { soak: run.soak, from });
  const json = run.json === true;
  if (g.kind === "revision") return revisionGate(run, g, json, scenarios, io);
  const base = readResultsFile(resolve(io.cwd, g.baseline), "baseline");
  let current: Results;
  if (g.current) current = readResultsFile(resolve(io.cwd, g.current), "current run");
  else {
    // the run's own --json would be a second document on stdout: the gate prints its decision instead
    const { doc } = await shownRun({ ...run, json: false }, scenarios, io, json ? io.err : io.out);
    if (doc.interrupted || doc.results.summary.failedTrials > 0) return runExit(doc, io);
    current = doc.results;
  }
  return storedGate(base, current, g, json, io);
}
