import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { projectRoot } from "../../services/common/src/project.js";

// The layer rules of docs/architecture.md, read off the sources: every relative import
// (static, type-only, re-export or dynamic) of harness/, scenarios/ and services/.
const root = projectRoot();

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const rel = join(dir, name);
    if (statSync(join(root, rel)).isDirectory()) {
      if (name !== "dist" && name !== "node_modules") out.push(...sources(rel));
    } else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(rel);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+"(\.[^"]+)"|import\("(\.[^"]+)"\)/g;

/** file → the project files it imports, as paths from the root. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of [...sources("harness"), ...sources("scenarios"), ...sources("services")]) {
    const text = readFileSync(join(root, file), "utf8");
    const targets = [...text.matchAll(IMPORT)].map((m) =>
      relative(root, resolve(root, dirname(file), m[1] ?? m[2]!)).replace(/\.js$/, ".ts"),
    );
    graph.set(file, targets);
  }
  return graph;
}

/** The layer of a file, top (cli) to bottom (the scenario contract and the services). */
function rank(file: string): number {
  if (file === "harness/cli.ts" || file.startsWith("harness/cli/")) return 6;
  if (file === "harness/index.ts" || file.startsWith("harness/api/")) return 5;
  if (/^harness\/(plan|engine|verdict|report|profile|hardening)\//.test(file)) return 4;
  if (file.startsWith("scenarios/") && file !== "scenarios/contract.ts") return 3;
  if (/^harness\/(load|results|history)\//.test(file)) return 2;
  return 1; // scenarios/contract.ts, harness/errors.ts, services/
}

const graph = importGraph();
const edges = [...graph].flatMap(([from, tos]) => tos.map((to) => ({ from, to })));

test("the import graph was read: every layer has files, and every import resolves to one", () => {
  for (const r of [1, 2, 3, 4, 5, 6])
    assert.ok(
      [...graph.keys()].some((f) => rank(f) === r),
      `no file of layer ${r}`,
    );
  const unresolved = edges.filter(({ to }) => !graph.has(to) && !to.endsWith(".d.ts"));
  assert.deepEqual(unresolved, []);
});

test("a lower layer never imports a higher one (cli → api → plan/engine/verdict/report/profile → scenarios → load/results → contract)", () => {
  const up = edges.filter(({ from, to }) => rank(to) > rank(from)).map(({ from, to }) => `${from} → ${to}`);
  assert.deepEqual(up, []);
});

test("the named rules: cli/ never reaches the engine, verdict/ is pure, scenarios reach only load/, services stand alone", () => {
  const broken = edges
    .filter(
      ({ from, to }) =>
        ((from === "harness/cli.ts" || from.startsWith("harness/cli/")) && to.startsWith("harness/engine/")) ||
        (from.startsWith("harness/verdict/") && /^harness\/(load|engine|results\/(file|writer))/.test(to)) ||
        (from.startsWith("scenarios/") && to.startsWith("harness/") && !to.startsWith("harness/load/")) ||
        (from.startsWith("services/") && !to.startsWith("services/")),
    )
    .map(({ from, to }) => `${from} → ${to}`);
  assert.deepEqual(broken, []);
  const readsFiles = [...graph.keys()].filter(
    (f) => f.startsWith("harness/verdict/") && /from "node:fs"/.test(readFileSync(join(root, f), "utf8")),
  );
  assert.deepEqual(readsFiles, [], "verdict/ reads no file: its inputs are passed in");
});

test("no import cycle, type-only imports included", () => {
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const walk = (file: string, path: string[]) => {
    state.set(file, "open");
    for (const to of graph.get(file) ?? []) {
      if (state.get(to) === "open") cycles.push([...path.slice(path.indexOf(to)), to].join(" → "));
      else if (!state.has(to)) walk(to, [...path, to]);
    }
    state.set(file, "done");
  };
  for (const file of graph.keys()) if (!state.has(file)) walk(file, [file]);
  assert.deepEqual(cycles, []);
});
