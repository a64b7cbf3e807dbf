import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { ReportContext } from "../report/exporter.js";
import type { SampleCheck } from "./samples.js";

/** The sample checks that `profile` wrote beside the flamegraphs (flame/profile.json), by variant. */
function sampleChecks(flame: string): Map<string, SampleCheck> {
  const file = join(flame, "profile.json");
  if (!existsSync(file)) return new Map();
  const p = JSON.parse(readFileSync(file, "utf8")) as { variants: Array<{ variant: string; check: SampleCheck }> };
  return new Map(p.variants.map((v) => [v.variant, v.check]));
}

/** Flamegraphs and the hot-path diff under <runDir>/flame/, as report links (relative paths). */
export function profileArtifacts(runDir: string): Pick<ReportContext, "links" | "hotPath"> {
  const flame = join(runDir, "flame");
  if (!existsSync(flame)) return {};
  const links: Array<{ label: string; href: string }> = [];
  const checks = sampleChecks(flame);
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
