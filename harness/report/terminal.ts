import type { ChalkInstance } from "chalk";
import type { Results } from "../results/schema.js";
import { STATUS_TEXT, ratioText } from "./format.js";

/** The verdict block printed at the end of a run (a pure function of the results). */
export function verdictText(r: Results, chalk: ChalkInstance): string {
  const s = r.summary;
  const out: string[] = [];
  for (const t of (s.targets ?? []).filter((x) => x.kind === "headline")) {
    const colour = t.status === "fail" ? chalk.red : t.status === "not-measured" ? chalk.dim : chalk.green;
    out.push(colour(`${STATUS_TEXT[t.status]}  ${t.label}: ${t.measured === undefined ? "–" : ratioText(t.measured)} (needs ${t.requirement}${t.note ? `; ${t.note}` : ""})`));
  }
  const table = (s.targets ?? []).filter((x) => x.kind === "table");
  if (table.length) {
    const counts = (st: string) => table.filter((t) => t.status === st).length;
    out.push(`guide's targets on ${table[0]!.variant}: ${counts("stretch-met")} stretch met, ${counts("pass")} pass, ${counts("fail")} fail, ${counts("not-measured")} not measured`);
    for (const t of table.filter((x) => x.status === "fail")) out.push(chalk.red(`  ✗ ${t.label}: ${t.measured?.toPrecision(3)} (needs ${t.requirement})`));
  }
  if (s.verdict) out.push(s.verdict.pass ? chalk.green.bold("verdict: PASS") : chalk.red.bold(`verdict: FAIL — ${s.verdict.reasons.join("; ")}`));
  return out.join("\n");
}
