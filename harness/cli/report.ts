/** The commands on results files: each calls its job (api/report.ts) and prints what it returns; the comparison tables the gate prints too. */
import Table from "cli-table3";
import { EXIT } from "../errors.js";
import { compareFiles, renderReports } from "../api/report.js";
import { comparisonDimensions } from "../report/format.js";
import { verdictText } from "../report/terminal.js";
import type { Comparison } from "../results/schema.js";
import type { GateDecision } from "../verdict/gate.js";
import type { MetricCall } from "../verdict/sequential.js";
import type { IO } from "./io.js";

/** `perfpack report <results.json> [--out DIR]`: every report format again, nothing re-run. */
export function reportCommand(file: string, outDir: string | undefined, io: IO): number {
  const { results: r, written, errors } = renderReports(file, outDir, io);
  io.out.write(verdictText(r, io.paint) + "\n");
  for (const f of written) io.out.write(`report: ${f}\n`);
  for (const e of errors) io.err.write(io.paint.red(`failed: ${e}\n`));
  return errors.length ? EXIT.runFailure : EXIT.ok;
}

const CALL_TEXT: Record<MetricCall, string> = {
  regression: "✗ regression: wholly beyond the line",
  clear: "✓ clear of the line",
  undecided: "? undecided: across the line",
};

/** Across two runs the arms are one variant in A and in B: the comparison's columns, renamed. */
const acrossRuns = comparisonDimensions
  .filter((d) => d.label !== "candidate")
  .map((d) =>
    d.label === "reference median"
      ? { ...d, label: "A median" }
      : d.label === "candidate median"
        ? { ...d, label: "B median" }
        : d.label.startsWith("ratio")
          ? { ...d, label: "B / A (geo. mean)" }
          : d,
  );
const variantColumn = { label: "variant", format: (c: Comparison) => c.reference.replace(" (baseline run)", "") };
/** The columns a gate's calls replace: the 95% interval, the Holm p and its direction. */
const CALLED = ["p (Holm)", "", "95% interval (unadjusted)"];

function table(
  dims: ReadonlyArray<{ label: string; format: (c: Comparison) => string }>,
  rows: readonly Comparison[],
): string {
  const t = new Table({ head: dims.map((d) => d.label), style: { head: [], border: [], compact: true } });
  for (const c of rows) t.push(dims.map((d) => d.format(c)));
  return t.toString();
}

/** A gate's table: each metric's interval at the gate's level, and its call against the line (`across`: two stored runs). */
export function callTable(d: Pick<GateDecision, "comparisons" | "calls">, across: boolean): string {
  const level = d.comparisons[0]?.estimate.level ?? 0.95;
  const calls = new Map(d.comparisons.map((c, i) => [c, d.calls[i]!]));
  const keep = (across ? [variantColumn, ...acrossRuns] : comparisonDimensions).filter(
    (x) => !CALLED.includes(x.label),
  );
  return table(
    [
      ...keep,
      {
        label: `${(level * 100).toFixed(2)}% interval`,
        format: (c) => `${c.estimate.lo.toFixed(3)}–${c.estimate.hi.toFixed(3)}`,
      },
      { label: "call", format: (c) => CALL_TEXT[calls.get(c)!] },
    ],
    d.comparisons,
  );
}

const comparisonTable = (rows: readonly Comparison[]): string => table([variantColumn, ...acrossRuns], rows);

/** `perfpack compare a.json b.json [--json]`. */
export function compareCommand(a: string, b: string, o: { json?: boolean }, io: IO): number {
  const d = compareFiles(a, b, io.cwd);
  if (o.json) {
    io.out.write(JSON.stringify(d, null, 2) + "\n");
    return EXIT.ok;
  }
  io.out.write(`A: ${a} (${d.a.runId}, ${d.a.rounds} rounds)\nB: ${b} (${d.b.runId}, ${d.b.rounds} rounds)\n`);
  io.out.write(comparisonTable(d.comparisons) + "\n");
  io.out.write(
    "ratio = B / A: geometric mean of B's rounds over A's (the medians beside it are for reading); intervals unpaired (the runs share no rounds); p Holm-adjusted over the rows.\n",
  );
  return EXIT.ok;
}
