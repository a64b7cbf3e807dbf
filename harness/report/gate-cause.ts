/**
 * A failed gate's cause as the reports and the terminal show it: the functions whose time per unit
 * of work grew most (report.md is the pull-request comment), the profiles and the differential
 * flamegraph they link, or the one line that says why the arms were not profiled. Pure.
 */
import type { GateCause, GrewRow } from "../results/schema.js";
import type { Dimension } from "./format.js";

type Profiled = Extract<GateCause, { status: "profiled" }>;

/** µs per unit, with a thousands separator and a sign when asked. */
const us = (v: number, sign = false): string =>
  `${sign && v >= 0 ? "+" : ""}${v.toLocaleString("en-US", { maximumFractionDigits: v !== 0 && Math.abs(v) < 10 ? 1 : 0 })}`;

/** The unit of work, short: "req", "order", "msg". */
const UNIT_SHORT = { request: "req", order: "order", message: "msg" } as const;

/** The table of what grew: a row per function, the arms' µs per unit of work and the change. */
export function grewDimensions(c: Profiled): Dimension<GrewRow>[] {
  const u = UNIT_SHORT[c.unit];
  return [
    { label: "function", format: (r) => r.fn },
    { label: "where", format: (r) => r.location || "(built-in)" },
    { label: `${c.reference.variant} µs/${u}`, format: (r) => us(r.referenceUs) },
    { label: `${c.candidate.variant} µs/${u}`, format: (r) => us(r.candidateUs) },
    { label: `change µs/${u}`, format: (r) => us(r.deltaUs, true) },
  ];
}

/** How the table was measured, under it. */
export const grewNote = (c: Profiled): string =>
  `Both arms ran ${c.scenario} at once (a duet) under cpuprof for ${c.loadS.toFixed(1)} s: ${c.reference.units.toLocaleString("en-US")} ${c.unit}s for ${c.reference.variant} (${c.reference.samples.toLocaleString("en-US")} samples), ${c.candidate.units.toLocaleString("en-US")} for ${c.candidate.variant} (${c.candidate.samples.toLocaleString("en-US")}). ` +
  `Each function's own time per ${c.unit}, with that of the Node and V8 built-ins it called (the differential flamegraph's samples, each arm's sampled time scaled to its main thread's CPU over the load), per ${c.unit} so that arms serving different rates compare${c.reference.busyUsPerUnit !== undefined && c.candidate.busyUsPerUnit !== undefined ? `; all busy time per ${c.unit}: ${us(c.reference.busyUsPerUnit)} µs → ${us(c.candidate.busyUsPerUnit)} µs` : ""}. ` +
  `Profiling took ${c.wallS.toFixed(1)} s after the decision (--no-profile skips it).`;

/** What the cause links, relative to the run folder: the differential flamegraph first, then both profiles. */
export function causeLinks(c: Profiled): Array<{ label: string; href: string }> {
  return [
    ...(c.diff
      ? [
          {
            label: `differential flamegraph, per ${c.unit} (${c.candidate.variant} against ${c.reference.variant})`,
            href: c.diff,
          },
        ]
      : []),
    { label: `${c.reference.variant}: ${c.reference.profile}`, href: c.reference.profile },
    { label: `${c.candidate.variant}: ${c.candidate.profile}`, href: c.candidate.profile },
  ];
}

/** Why there is no differential flamegraph, as a sentence of the reports. */
export const diffNoteText = (c: Profiled): string => {
  const note = c.diffNote ?? "no differential flamegraph";
  return `${note[0]!.toUpperCase()}${note.slice(1)}.`;
};

/** The section's title. */
export const causeTitle = (c: GateCause): string =>
  c.status === "profiled" ? `Where the time went (${c.scenario}, per ${c.unit})` : "Where the time went";

/** The one line of a cause that was not profiled. */
export const notProfiledText = (c: Extract<GateCause, { status: "not-profiled" }>): string =>
  `The arms were not profiled: ${c.reason}. The gate's decision stands.`;

/** The terminal's lines of a cause (after the gate's outcome): the top rows, the flamegraph, the time it took. */
export function causeLines(c: GateCause, runDir: (rel: string) => string): string[] {
  if (c.status === "not-profiled") return [`gate: not profiled: ${c.reason}`];
  const u = UNIT_SHORT[c.unit];
  const rows = c.grew.map(
    (r) =>
      `  ${us(r.deltaUs, true).padStart(9)} µs/${u}  ${r.fn}${r.location ? ` ${r.location}` : ""} (${us(r.referenceUs)} → ${us(r.candidateUs)})`,
  );
  return [
    `gate: where the time went (${c.scenario}, both arms under cpuprof at once for ${c.loadS.toFixed(1)} s; own time per ${c.unit}, the most grown first):`,
    ...(rows.length ? rows : ["  no function's time per unit grew"]),
    c.diff ? `gate: differential flamegraph: ${runDir(c.diff)}` : `gate: ${c.diffNote ?? "no differential flamegraph"}`,
    `gate: profiles: ${runDir(c.reference.profile)}, ${runDir(c.candidate.profile)}; profiling took ${c.wallS.toFixed(1)} s`,
  ];
}
