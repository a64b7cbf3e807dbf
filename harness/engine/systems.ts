/**
 * The system under test: the bundled executor of this checkout, or the same executor at another
 * git revision, built in a cached working tree. The exchange, the load and the analysis always
 * come from this checkout, so only the system differs between arms.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { EXIT, PerfpackError, UsageError } from "../errors.js";
import { projectRoot } from "../../services/common/src/project.js";
import { runGroup } from "../../services/common/src/child-group.js";

/** The perfpack CLI as built (dist/harness/cli.js), run by this very node binary. */
export const cliPath = (): string => join(projectRoot(), "dist", "harness", "cli.js");

export type System =
  | { kind: "reference" }
  | { kind: "revision"; ref: string; commit: string; root: string }
  /** A user's own service: a shell command run in `cwd`, ready when it says so or `readyPath` answers. */
  | { kind: "command"; cmd: string; cwd: string; readyPath: string };

/** The CLI whose `executor` command starts the system's executor. */
export const executorCli = (s: System | undefined): string => (s?.kind === "revision" ? join(s.root, "dist", "harness", "cli.js") : cliPath());

/** How results.json records a system: no local paths. */
export const describeSystem = (s: System | undefined) =>
  s?.kind === "revision" ? { kind: s.kind, ref: s.ref, commit: s.commit } : s?.kind === "command" ? { kind: s.kind, cmd: s.cmd } : { kind: "reference" as const };

/**
 * The shell line that starts a user's command. A simple command is exec'd, so the process perfpack
 * started (and samples for CPU) is the service itself, not a shell waiting for it.
 */
export const shellLine = (cmd: string): string => (/[;&|()<>`$]|\n/.test(cmd) ? cmd : `exec ${cmd}`);

const git = (root: string, args: string[]) => spawnSync("git", args, { cwd: root, encoding: "utf8" });

/** The commit of the checkout at `root`, and whether its tree has uncommitted changes. */
export function checkoutCommit(root: string): { commit: string; dirty: boolean } | undefined {
  const head = git(root, ["rev-parse", "HEAD"]);
  if (head.status !== 0) return undefined;
  const status = git(root, ["status", "--porcelain", "--untracked-files=no"]);
  return { commit: head.stdout.trim(), dirty: status.stdout.trim() !== "" };
}

/** Where built revisions are kept: $XDG_CACHE_HOME/perfpack/revisions, else ~/.cache/perfpack/revisions. */
const revisionCache = (env: Readonly<NodeJS.ProcessEnv>): string => join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache"), "perfpack", "revisions");

const hash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 12);

/**
 * Runs a build step in a process group of its own (an interrupt stops npm and whatever it started:
 * tsc, esbuild); its output goes to the log file. Resolves with the exit code (null: interrupted or
 * not started). npm needs a PATH (the library API's callers may pass no environment): this node's
 * own folder and the system's.
 */
async function step(command: string, args: string[], cwd: string, log: string, signal: AbortSignal, env: Readonly<NodeJS.ProcessEnv>): Promise<number | null> {
  const r = await runGroup(command, args, {
    cwd,
    signal,
    env: { PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`, ...env, npm_config_audit: "false", npm_config_fund: "false" },
    keep: 10_000_000,
  }).catch((err: Error) => ({ code: null, output: `${command} could not be started: ${err.message}\n` }));
  writeFileSync(log, r.output, { flag: "a" });
  return r.code;
}

/**
 * Builds the executor of `ref` (a branch, tag, commit or merge base) in a working tree of its own:
 * `git archive` of the commit, its dependencies (a hard-linked copy of this checkout's node_modules
 * when the lockfile is the same, else `npm ci`), `npm run build`. Kept under the cache, keyed by commit and lockfile
 * hash, and reused; nothing is registered in the repository. An unknown ref is a usage error; a
 * revision that does not build is a run failure with the build log's tail.
 */
export async function prepareRevision(root: string, ref: string, env: Readonly<NodeJS.ProcessEnv>, log: (line: string) => void, signal: AbortSignal): Promise<System> {
  const parsed = git(root, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  if (parsed.status !== 0 || !parsed.stdout.trim()) throw new UsageError(`--baseline-ref ${JSON.stringify(ref)} is not a revision of this repository (git rev-parse found no commit)`);
  const commit = parsed.stdout.trim();
  const lock = git(root, ["show", `${commit}:package-lock.json`]);
  const lockHash = hash(lock.status === 0 ? lock.stdout : "");
  const dir = join(revisionCache(env), `${commit.slice(0, 12)}-${lockHash}`);
  const stamp = join(dir, ".perfpack-built");
  const system: System = { kind: "revision", ref, commit, root: dir };
  if (existsSync(stamp) && existsSync(join(dir, "node_modules"))) {
    log(`baseline ${ref} (${commit.slice(0, 10)}): built tree reused from ${dir}`);
    return system;
  }
  // a tree without the stamp is a build that did not finish: start it again from nothing
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const buildLog = join(dir, ".perfpack-build.log");
  const fail = (what: string): never => {
    if (signal.aborted) {
      // Ctrl-C: nothing half-built stays in the cache
      rmSync(dir, { recursive: true, force: true });
      throw new PerfpackError(`the build of the baseline revision ${ref} (${commit.slice(0, 10)}) was interrupted; its partial tree is removed`, EXIT.interrupted);
    }
    const tail = existsSync(buildLog) ? readFileSync(buildLog, "utf8").split("\n").slice(-30).join("\n") : "";
    throw new PerfpackError(`the baseline revision ${ref} (${commit.slice(0, 10)}) ${what}; its build is in ${dir}`, EXIT.runFailure, `--- last lines of the build log ---\n${tail}`);
  };
  log(`baseline ${ref} (${commit.slice(0, 10)}): building its executor in ${dir} …`);
  const archive = await step("sh", ["-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", root, commit, dir], dir, buildLog, signal, env);
  if (archive !== 0) fail("could not be checked out (git archive)");
  const sameLock = existsSync(join(root, "package-lock.json")) && hash(readFileSync(join(root, "package-lock.json"), "utf8")) === lockHash && existsSync(join(root, "node_modules"));
  // the same lockfile: this checkout's dependencies, copied as hard links (fast, and kept when this
  // checkout goes away, where a symlink would dangle), else copied, else installed with npm ci
  const deps = join(dir, "node_modules");
  const copy = async (flag: string) => (await step("cp", [flag, join(root, "node_modules"), deps], dir, buildLog, signal, env)) === 0 || (rmSync(deps, { recursive: true, force: true }), false);
  const copied = sameLock && ((await copy("-al")) || (await copy("-a")));
  if (!copied && (await step("npm", ["ci", "--no-audit", "--no-fund"], dir, buildLog, signal, env)) !== 0) fail("failed `npm ci`");
  if ((await step("npm", ["run", "build"], dir, buildLog, signal, env)) !== 0) fail("failed `npm run build`");
  if (!existsSync(executorCli(system))) fail("built no dist/harness/cli.js");
  writeFileSync(stamp, `${commit}\n`);
  return system;
}
