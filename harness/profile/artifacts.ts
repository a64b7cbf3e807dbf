import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { ReportContext } from "../report/exporter.js";

/** Flamegraphs and the hot-path diff under <runDir>/flame/, as report links (relative paths). */
export function profileArtifacts(runDir: string): Pick<ReportContext, "links" | "hotPath"> {
  const flame = join(runDir, "flame");
  if (!existsSync(flame)) return {};
  const links: Array<{ label: string; href: string }> = [];
  for (const variant of readdirSync(flame, { withFileTypes: true }).filter((e) => e.isDirectory())) {
    for (const f of readdirSync(join(flame, variant.name))) {
      if (f.endsWith(".html")) links.push({ label: `${variant.name}: ${f}`, href: relative(runDir, join(flame, variant.name, f)) });
      else if (f.endsWith(".cpuprofile")) links.push({ label: `${variant.name}: ${f} (open in Chrome DevTools → Performance)`, href: relative(runDir, join(flame, variant.name, f)) });
    }
  }
  const diff = join(flame, "hot-path-diff.md");
  return { links, ...(existsSync(diff) ? { hotPath: readFileSync(diff, "utf8") } : {}) };
}
