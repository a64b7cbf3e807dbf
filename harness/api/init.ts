/**
 * `perfpack init` as a job: what a team's repository needs. perfpack.config.json, and a workflow
 * (harness/api/init-workflow.ts) that gates each pull request against its merge base, records each
 * push to the default branch in the run history, and reads that history every week. It never
 * overwrites either file. It also makes git ignore .perfpack/, where the history store is kept:
 * an edit of the team's .gitignore, not a file of init's own.
 */
import { gitOut } from "../history/git.js";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { UsageError } from "../errors.js";
import { gitTop, serviceCommandOf } from "../engine/systems.js";
import type { JobContext } from "./context.js";
import { workflowText } from "./init-workflow.js";

export { HISTORY_BRANCH } from "./init-workflow.js";

export interface InitDocument {
  /** The files written, absolute. */
  written: string[];
  /** The branch whose pushes the workflow records in the history (the default branch, as git tells it). */
  branch: string;
  /**
   * The .gitignore at the repository's top: whether `.perfpack/` was added, or was there already;
   * `error` when the file could not be read or written (init's own files stand).
   */
  gitignore: { path: string; added: boolean; error?: string };
}

const CONFIG = "perfpack.config.json";
const WORKFLOW = join(".github", "workflows", "perfpack.yml");
/** The folder of the history store (.perfpack/history.db): a local file, never committed. */
const IGNORED = ".perfpack/";

/** The config file: the service's command, and the scenarios its routes serve (latency and batch by default). */
function configText(executorCmd: string | undefined): string {
  const config = {
    $schema: "./node_modules/perfpack/perfpack.schema.json",
    executorCmd,
    scenarios: ["latency", "batch"],
  };
  return JSON.stringify(config, null, 2) + "\n";
}

/**
 * The repository's default branch: origin's HEAD (set by a clone), else a local main or master,
 * else the branch checked out, else main. A repository created locally and pushed has no
 * origin/HEAD, and init may be run on a feature branch: hence main and master before HEAD.
 */
function defaultBranch(top: string): string {
  const origin = gitOut(top, ["symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD"]);
  if (origin) return origin.replace(/^origin\//, "");
  const local = ["main", "master"].find((b) => gitOut(top, ["rev-parse", "-q", "--verify", `refs/heads/${b}`]));
  return local ?? gitOut(top, ["symbolic-ref", "-q", "--short", "HEAD"]) ?? "main";
}

/**
 * Adds `.perfpack/` to the .gitignore at `top` (creating it) unless a line already ignores the
 * store's folder: at any depth, or (`sub` empty: perfpack runs at the top) at the top. Nothing
 * else in the file changes. A file that cannot be read or written is said, not thrown: the edit
 * is a courtesy, and init's own files are written by then.
 */
export function ignoreStore(top: string, sub = ""): InitDocument["gitignore"] {
  const path = join(top, ".gitignore");
  const pattern = sub ? /^(\*\*\/)?\.perfpack\/?(\*\*?)?$/ : /^(\*\*\/|\/)?\.perfpack\/?(\*\*?)?$/;
  try {
    const text = existsSync(path) ? readFileSync(path, "utf8") : "";
    if (text.split(/\r?\n/).some((l) => pattern.test(l.trim()))) return { path, added: false };
    const eol = text.includes("\r\n") ? "\r\n" : "\n"; // the file's own line ends
    const sep = text === "" || text.endsWith("\n") ? "" : eol;
    writeFileSync(path, `${text}${sep}${IGNORED}${eol}`);
    return { path, added: true };
  } catch (err) {
    return { path, added: false, error: (err as Error).message };
  }
}

/**
 * Writes perfpack.config.json in `cwd` and the workflow at the top of its git repository (or in
 * `cwd` outside one), then makes the .gitignore there ignore `.perfpack/`. A file that exists
 * already is a usage error naming it; then nothing is written, the .gitignore included.
 */
export function init(o: { executorCmd?: string }, ctx: Pick<JobContext, "cwd">): InitDocument {
  serviceCommandOf(o, ctx.cwd); // the same checks as run's --executor-cmd
  const top = gitTop(ctx.cwd) ?? ctx.cwd;
  const sub = relative(top, ctx.cwd);
  const branch = defaultBranch(top);
  const files = [
    { path: join(ctx.cwd, CONFIG), text: configText(o.executorCmd) },
    { path: join(top, WORKFLOW), text: workflowText(sub, branch) },
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
  return { written: files.map((f) => f.path), branch, gitignore: ignoreStore(top, sub) };
}
