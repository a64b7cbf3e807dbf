/**
 * `perfpack init` as a job: the two files a team's repository needs, perfpack.config.json and a
 * pull-request workflow that gates each pull request against its merge base. It never overwrites.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { UsageError } from "../errors.js";
import { gitTop, serviceCommandOf } from "../engine/systems.js";
import type { JobContext } from "./context.js";

export interface InitDocument {
  /** The files written, absolute. */
  written: string[];
}

const CONFIG = "perfpack.config.json";
const WORKFLOW = join(".github", "workflows", "perfpack.yml");

/** The config file: the service's command, and the scenarios its routes serve (latency and batch by default). */
function configText(executorCmd: string | undefined): string {
  const config = {
    $schema: "./node_modules/perfpack/perfpack.schema.json",
    executorCmd,
    scenarios: ["latency", "batch"],
  };
  return JSON.stringify(config, null, 2) + "\n";
}

/** The workflow: `working-directory` is the config's folder within the repository (a monorepo's package). */
function workflowText(sub: string): string {
  const wd = sub ? `\n    defaults:\n      run:\n        working-directory: ${sub}` : "";
  return `# perfpack's regression gate (written by \`perfpack init\`): each pull request against its merge base.
# perfpack builds the merge base of your repository in a cached tree (npm ci, then npm run build when
# package.json has a build script; --build-cmd changes that), runs its service beside the pull
# request's, interleaved in one run, and adds rounds until every gate metric is decided or --budget
# ends. The Markdown report goes into the job summary. Exit codes: 0 pass (or inconclusive: a
# warning; --strict makes it 1), 1 regression, 2 bad revision or options, 3 a service crashed,
# never became ready, or the merge base did not build.
name: perfpack

on:
  pull_request:

jobs:
  gate:
    runs-on: ubuntu-latest${wd}
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0 # the merge base must be in the clone
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - run: npm ci
      # the built merge-base trees are kept across runs, keyed by commit and lockfile
      - uses: actions/cache@v4
        with:
          path: ~/.cache/perfpack/revisions
          key: perfpack-revisions-\${{ github.base_ref }}-\${{ hashFiles('**/package-lock.json') }}
      # options (executorCmd, scenarios, maxRegression, budget …) come from perfpack.config.json
      - name: Gate against the merge base
        run: npx perfpack gate --baseline-ref "$(git merge-base HEAD origin/\${{ github.base_ref }})" --out perfpack-gate
      - if: always()
        uses: actions/upload-artifact@v4
        with:
          name: perfpack-gate
          path: ${sub ? `${sub}/` : ""}perfpack-gate/
`;
}

/**
 * Writes perfpack.config.json in `cwd` and the workflow at the top of its git repository (or in
 * `cwd` outside one). A file that exists already is a usage error naming it; then nothing is written.
 */
export function init(o: { executorCmd?: string }, ctx: Pick<JobContext, "cwd">): InitDocument {
  serviceCommandOf(o, ctx.cwd); // the same checks as run's --executor-cmd
  const top = gitTop(ctx.cwd) ?? ctx.cwd;
  const files = [
    { path: join(ctx.cwd, CONFIG), text: configText(o.executorCmd) },
    { path: join(top, WORKFLOW), text: workflowText(relative(top, ctx.cwd)) },
  ];
  const there = files.filter((f) => existsSync(f.path)).map((f) => f.path);
  if (there.length)
    throw new UsageError(
      `perfpack init never overwrites a file, and ${there.join(" and ")} ${there.length > 1 ? "exist" : "exists"} already: move ${there.length > 1 ? "them" : "it"} away, or edit ${there.length > 1 ? "them" : "it"} by hand`,
    );
  for (const f of files) {
    mkdirSync(dirname(f.path), { recursive: true });
    writeFileSync(f.path, f.text, { flag: "wx" });
  }
  return { written: files.map((f) => f.path) };
}
