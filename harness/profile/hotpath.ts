/** Hot-path tables from V8 .cpuprofile files: self time per function, and its change between arms. Pure. */

export interface CpuProfile {
  /** µs on the monotonic clock (process.hrtime's): where the samples' times start */
  startTime?: number;
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }>;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTimes {
  /** function key → self time in ms */
  byFunction: Map<string, number>;
  /** sampled time that was not idle, ms */
  busyMs: number;
}

export const shortUrl = (url: string): string => {
  if (!url) return "";
  const u = url.replace(/^file:\/\//, "");
  const nm = u.lastIndexOf("node_modules/");
  if (nm >= 0) return u.slice(nm + "node_modules/".length);
  const parts = u.split("/");
  return parts.slice(-3).join("/");
};

/** A frame's name in every table and graph: the function and its short file:line (1-based), so equal frames match across profiles. */
export function frameName(f: CpuProfile["nodes"][number]["callFrame"]): string {
  const loc = shortUrl(f.url);
  return `${f.functionName || "(anonymous)"}${loc ? ` ${loc}:${f.lineNumber + 1}` : ""}`;
}

/** Self time per function: each sample's time goes to the frame on top of the stack. */
export function selfTimes(p: CpuProfile): SelfTimes {
  const key = new Map<number, string>();
  for (const n of p.nodes) key.set(n.id, frameName(n.callFrame));
  const byFunction = new Map<string, number>();
  let busy = 0;
  p.samples.forEach((id, i) => {
    const ms = (p.timeDeltas[i] ?? 0) / 1000;
    const k = key.get(id) ?? "(unknown)";
    byFunction.set(k, (byFunction.get(k) ?? 0) + ms);
    if (k !== "(idle)") busy += ms;
  });
  return { byFunction, busyMs: busy };
}

export interface HotRow {
  fn: string;
  base: { ms: number; share: number };
  cand: { ms: number; share: number };
  /** change of the share of busy time, in percentage points */
  deltaPp: number;
}

/** The top functions by self time in either arm, as shares of each arm's busy (non-idle) time. */
export function hotPathDiff(base: SelfTimes, cand: SelfTimes, top = 20): HotRow[] {
  const keys = new Set([...base.byFunction.keys(), ...cand.byFunction.keys()]);
  keys.delete("(idle)");
  const rows = [...keys].map((fn) => {
    const b = base.byFunction.get(fn) ?? 0;
    const c = cand.byFunction.get(fn) ?? 0;
    const bs = base.busyMs > 0 ? b / base.busyMs : 0;
    const cs = cand.busyMs > 0 ? c / cand.busyMs : 0;
    return { fn, base: { ms: b, share: bs }, cand: { ms: c, share: cs }, deltaPp: (cs - bs) * 100 };
  });
  rows.sort((x, y) => Math.max(y.base.share, y.cand.share) - Math.max(x.base.share, x.cand.share));
  return rows.slice(0, top);
}

export function hotPathMarkdown(
  rows: readonly HotRow[],
  baseName: string,
  candName: string,
  base: SelfTimes,
  cand: SelfTimes,
  source?: string,
): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  return [
    `# Hot path: ${baseName} → ${candName}`,
    "",
    `Top functions by **self time** (time on top of the stack), as a share of each arm's busy (non-idle) sampled time: ${base.busyMs.toFixed(0)} ms in ${baseName}, ${cand.busyMs.toFixed(0)} ms in ${candName}. Shares, not milliseconds, are compared, because the arms served different amounts of work.`,
    ...(source ? ["", `Samples: ${source}.`] : []),
    "",
    `| function | ${baseName} self | ${candName} self | change | ${baseName} ms | ${candName} ms |`,
    "|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| \`${esc(r.fn)}\` | ${pct(r.base.share)} | ${pct(r.cand.share)} | ${r.deltaPp >= 0 ? "+" : ""}${r.deltaPp.toFixed(1)} pp | ${r.base.ms.toFixed(0)} | ${r.cand.ms.toFixed(0)} |`,
    ),
    "",
  ].join("\n");
}
