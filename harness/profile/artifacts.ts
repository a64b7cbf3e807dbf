import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { ReportContext } from "../report/exporter.js";
import type { DiffRecord } from "./comparisons.js";
import type { SampleCheck } from "./samples.js";

interface ProfileRecord {
  variants: Array<{ variant: string; check: SampleCheck }>;
  /** absent in a profile.json written before the differential flamegraphs */
  diffs?: DiffRecord[];
}

/** What `profile` wrote beside the flamegraphs (flame/profile.json): the sample checks and the differential flamegraphs. */
function profileRecord(flame: string): ProfileRecord {
  const file = join(flame, "profile.json");
  if (!existsSync(file)) return { variants: [] };
  return JSON.parse(readFileSync(file, "utf8")) as ProfileRecord;
}

/** Each variant's differential flamegraph against the reference, first (the one picture of where the time went), then the folded stacks. */
function diffLinks(
  runDir: string,
  flame: string,
  diffs: readonly DiffRecord[],
): Array<{ label: string; href: string }> {
  const links = diffs
    .filter((d) => existsSync(join(flame, d.file)))
    .map((d) => ({
      label: `differential flamegraph: ${d.candidate} against ${d.reference}, per ${d.unit} (red: more time, blue: less)`,
      href: relative(runDir, join(flame, d.file)),
    }));
  const folded = readdirSync(flame)
    .filter((f) => f.endsWith(".folded"))
    .map((f) => ({
      label: `${f.slice(0, -".folded".length)}: folded stacks, for speedscope, flamegraph.pl or Pyroscope`,
      href: relative(runDir, join(flame, f)),
    }));
  return [...links, ...folded];
}

/** Flamegraphs, their differential flamegraphs, folded stacks and the hot-path diff under <runDir>/flame/, as report links (relative paths). */
export function profileArtifacts(runDir: string): Pick<ReportContext, "links" | "hotPath"> {
  const flame = join(runDir, "flame");
  if (!existsSync(flame)) return {};
  const record = profileRecord(flame);
  const links = diffLinks(runDir, flame, record.diffs ?? []);
  const checks = new Map(record.variants.map((v) => [v.variant, v.check]));
  for (const variant of readdirSync(flame, { withFileTypes: true }).filter((e) => e.isDirectory())) {
    const c = checks.get(variant.name);
    // what the flamegraph holds, so an empty one cannot pass for a real one
    const held = c
      ? ` — ${c.samples.toLocaleString("en-US")} samples, ${(c.coverage * 100).toFixed(0)}% of expected${c.ok ? "" : ": ⚠ too few, the graph shows almost nothing"}`
      : "";
    for (const f of readdirSync(join(flame, variant.name))) {
      if (f.endsWith(".html"))
        links.push({ label: `${variant.name}: ${f}${held}`, href: relative(runDir, join(flame, variant.name, f)) });
      else if (f.endsWith(".cpuprofile"))
        links.push({
          label: `${variant.name}: ${f} (open in Chrome DevTools → Performance)${held}`,
          href: relative(runDir, join(flame, variant.name, f)),
        });
    }
  }
  const diff = join(flame, "hot-path-diff.md");
  return { links, hotPath: existsSync(diff) ? readFileSync(diff, "utf8") : undefined };
}
