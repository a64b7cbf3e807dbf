import type { ChalkInstance } from "chalk";
import type { Results } from "../results/schema.js";
import { claimNote, STATUS_TEXT, ratioText } from "./format.js";

/** The verdict block printed at the end of a run (a pure function of the results). */
export function verdictText(r: Results, chalk: ChalkInstance): string {
  const s = r.summary;
  const out: string[] = [];
  const headline = (s.targets ?? []).filter((x) => x.kind === "headline");
  const several = new Set(headline.map((t) => t.variant)).size > 1;
  for (const t of headline) {
    const colour =
      t.status === "fail" ? (t.gate ? chalk.red : chalk.yellow) : t.status === "not-measured" ? chalk.dim : chalk.green;
    out.push(
      colour(
        `${STATUS_TEXT[t.status]}  ${several ? `${t.variant}: ` : ""}${t.label}: ${t.measured === undefined ? "–" : ratioText(t.measured)} (needs ${t.requirement}${t.note ? `; ${t.note}` : ""})`,
      ),
    );
  }
  if (several || (headline.length && !headline.some((t) => t.gate))) out.push(chalk.dim(claimNote(headline)));
  const table = (s.targets ?? []).filter((x) => x.kind === "table");
  for (const variant of new Set(table.map((t) => t.variant))) {
    const rows = table.filter((t) => t.variant === variant);
    const counts = (st: string) => rows.filter((t) => t.status === st).length;
    out.push(
      `guide's targets on ${variant}: ${counts("stretch-met")} stretch met, ${counts("pass")} pass, ${counts("fail")} fail, ${counts("not-measured")} not measured`,
    );
    for (const t of rows.filter((x) => x.status === "fail"))
      out.push(chalk.red(`  ✗ ${t.label}: ${t.measured?.toPrecision(3)} (needs ${t.requirement})`));
  }
  if (s.verdict)
    out.push(
      s.verdict.pass
        ? chalk.green.bold("verdict: PASS")
        : chalk.red.bold(`verdict: FAIL — ${s.verdict.reasons.join("; ")}`),
    );
  return out.join("\n");
}
