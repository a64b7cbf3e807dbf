/**
 * The system under test: the bundled executor of this checkout, or the same executor at another
 * git revision, built in a cached working tree. The exchange, the load and the analysis always
 * come from this checkout, so only the system differs between arms.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { EXIT, PerfpackError, UsageError } from "../errors.js";
import { writeFileAtomic } from "../../services/common/src/atomic-file.js";
import { projectRoot } from "../../services/common/src/project.js";
import { runGroup } from "../../services/common/src/child-group.js";
import { procEntry } from "../../services/common/src/proc.js";

/** The perfpack CLI as built (dist/harness/cli.js), run by this very node binary. */
export const cliPath = (): string => join(projectRoot(), "dist", "harness", "cli.js");

/** A user's own service: a shell command run in `cwd`, ready when it says so or `readyPath` answers. */
export interface ServiceCommand {
  cmd: string;
  cwd: string;
  readyPath: string;
}

export type System =
  | { kind: "reference" }
  /**
   * A git revision built in a tree of its own (`root`): of perfpack, whose bundled executor it
   * starts, or of the team's repository, whose `command` it starts in that tree.
   */
  | {
      kind: "revision";
      ref: string;
      commit: string;
      root: string;
      command?: ServiceCommand;
      /** The candidate side of a gate between two revisions (--candidate-ref), not its baseline. */
      candidate?: true;
    }
  | ({ kind: "command" } & ServiceCommand);

/**
 * --executor-cmd and --ready-path → the user's service, run in `cwd` (undefined without a command);
 * a bad value is a usage error naming the flag and what it accepts.
 */
export function serviceCommandOf(
  f: { executorCmd?: string | undefined; readyPath?: string | undefined },
  cwd: string,
): ServiceCommand | undefined {
  if (f.executorCmd === undefined) {
    if (f.readyPath !== undefined)
      throw new UsageError("--ready-path goes with --executor-cmd: the bundled executor's readiness is its /health");
    return undefined;
  }
  if (!f.executorCmd.trim())
    throw new UsageError(
      '--executor-cmd is empty: expected the shell command that starts your service, e.g. "node server.js"',
    );
  const readyPath = f.readyPath ?? "/health";
  if (!readyPath.startsWith("/"))
    throw new UsageError(`--ready-path ${JSON.stringify(readyPath)} is not valid: expected a path such as /health`);
  return { cmd: f.executorCmd, cwd, readyPath };
}

/** The command that starts the system, when it is a user's service (this checkout's, or at a revision). */
export const serviceCommand = (s: System | undefined): ServiceCommand | undefined =>
  s?.kind === "command" ? s : s?.kind === "revision" ? s.command : undefined;

/** The CLI whose `executor` command starts the system's executor. */
export const executorCli = (s: System | undefined): string =>
  s?.kind === "revision" ? join(s.root, "dist", "harness", "cli.js") : cliPath();

/**
 * The folder of the system's own code: a team's service's folder in its tree, or perfpack's root.
 * Two revisions of one repository run from two trees; a path relative to this names the same file in both.
 */
export const codeRoot = (s: System | undefined): string =>
  serviceCommand(s)?.cwd ?? (s?.kind === "revision" ? s.root : projectRoot());

/** How results.json records a system: no local paths (a team's readiness path when it is not the default, for a resume). */
export const describeSystem = (s: System | undefined) =>
  s?.kind === "revision"
    ? {
        kind: s.kind,
        ref: s.ref,
        commit: s.commit,
        cmd: s.command?.cmd,
        ...(s.candidate ? { candidate: true as const } : {}),
      }
    : s?.kind === "command"
      ? { kind: s.kind, cmd: s.cmd, ...(s.readyPath !== "/health" ? { readyPath: s.readyPath } : {}) }
      : { kind: "reference" as const };

/**
 * The shell line that starts a user's command. A simple command is exec'd, so the process perfpack
 * started (and samples for CPU) is the service itself, not a shell waiting for it.
 */
export const shellLine = (cmd: string): string => (/[;&|()<>`$]|\n/.test(cmd) ? cmd : `exec ${cmd}`);

/** A command that starts node itself, plainly (no shell syntax): a profiler can put itself in front of it. */
const nodeCommand = (cmd: string): boolean => /^\s*node(\s|$)/.test(cmd) && !/[;&|()<>`$'"\\]|\n/.test(cmd);

/** Why `tool` cannot profile the service `cmd` starts (after the tool's name), or undefined when it can. */
export function unwrappable(tool: string, cmd: string): string | undefined {
  if (tool === "cpuprof" || nodeCommand(cmd)) return undefined;
  return `${tool} runs the service's node under itself, so it needs a command that starts node itself (e.g. "node server.js"); ${JSON.stringify(cmd)} is not one. cpuprof works for any Node service (a preloaded agent), or give the node command itself`;
}

const git = (root: string, args: string[]) => spawnSync("git", args, { cwd: root, encoding: "utf8" });

/** The commit of the checkout at `root`, and whether its tree has uncommitted changes. */
export function checkoutCommit(root: string): { commit: string; dirty: boolean } | undefined {
  const head = git(root, ["rev-parse", "HEAD"]);
  if (head.status !== 0) return undefined;
  const status = git(root, ["status", "--porcelain", "--untracked-files=no"]);
  return { commit: head.stdout.trim(), dirty: status.stdout.trim() !== "" };
}

/** Where built revisions are kept: $XDG_CACHE_HOME/perfpack/revisions, else ~/.cache/perfpack/revisions. */
const revisionCache = (env: Readonly<NodeJS.ProcessEnv>): string =>
  join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache"), "perfpack", "revisions");

const hash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 12);

/**
 * Runs a build step in a process group of its own (an interrupt stops npm and whatever it started:
 * tsc, esbuild); its output goes to the log file. Resolves with the exit code (null: interrupted or
 * not started). npm needs a PATH (the library API's callers may pass no environment): this node's
 * own folder and the system's.
 */
async function step(
  command: string,
  args: string[],
  cwd: string,
  log: string,
  signal: AbortSignal,
  env: Readonly<NodeJS.ProcessEnv>,
): Promise<number | null> {
  const r = await runGroup(command, args, {
    cwd,
    signal,
    env: {
      PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
      ...env,
      npm_config_audit: "false",
      npm_config_fund: "false",
    },
    keep: 10_000_000,
  }).catch((err: Error) => ({ code: null, output: `${command} could not be started: ${err.message}\n` }));
  writeFileSync(log, r.output, { flag: "a" });
  return r.code;
}

/** The git work tree that holds `dir` (its top folder), or undefined outside one. */
export function gitTop(dir: string): string | undefined {
  const r = git(dir, ["rev-parse", "--show-toplevel"]);
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** What to build at the revision: perfpack's own executor, or the team's service with its build command. */
export type RevisionBuild =
  | { kind: "perfpack" }
  /** `sub`: the working directory's place in the repository (a monorepo's package); `buildCmd` undefined: the default; "": none. */
  | { kind: "team"; sub: string; buildCmd: string | undefined; command: Omit<ServiceCommand, "cwd"> };

/**
 * Builds `ref` (a branch, tag, commit or merge base) of the repository at `root` in a working tree
 * of its own: `git archive` of the commit, then its build. perfpack's own: its dependencies (a
 * hard-linked copy of this checkout's node_modules when the lockfile is the same, else `npm ci`)
 * and `npm run build`. A team's, in its package's folder: `--build-cmd`, or by default the same
 * dependencies step (when it has a lockfile) and `npm run build` when its package.json has a
 * build script. Kept under the cache, keyed by commit, lockfile and build, and reused; nothing is
 * registered in the repository. An unknown ref is a usage error; a revision that does not build is
 * a run failure with the build log's tail; an interrupted build leaves no tree behind.
 */
export async function prepareRevision(
  root: string,
  ref: string,
  env: Readonly<NodeJS.ProcessEnv>,
  log: (line: string) => void,
  signal: AbortSignal,
  build: RevisionBuild = { kind: "perfpack" },
): Promise<System> {
  const commit = resolveRef(root, ref);
  const tree = revisionTree(root, commit, env, build);
  const system: System = { kind: "revision", ref, commit, root: tree.dir, command: teamCommand(build, tree.pkgDir) };
  if (builtAt(tree) === commit) {
    log(`baseline ${ref} (${commit.slice(0, 10)}): built tree reused from ${tree.dir}`);
    return system;
  }
  const b = new TreeBuild(ref, commit, tree, signal, env);
  b.startAfresh();
  log(
    `baseline ${ref} (${commit.slice(0, 10)}): building ${build.kind === "team" ? `${tree.sub || "the repository"}` : "its executor"} in ${tree.dir} …`,
  );
  await b.checkout(root);
  if (build.kind === "team" && build.buildCmd !== undefined) await b.buildCommand(build.buildCmd);
  else {
    await b.dependencies(join(root, tree.sub), tree.lockText);
    await b.buildScript(build.kind === "perfpack");
  }
  if (build.kind === "perfpack" && !existsSync(executorCli(system))) b.fail("built no dist/harness/cli.js");
  await b.seal();
  return system;
}

/** The commit `ref` names in the repository at `root`; an unknown ref is a usage error. */
function resolveRef(root: string, ref: string): string {
  const parsed = git(root, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  if (parsed.status !== 0 || !parsed.stdout.trim())
    throw new UsageError(
      `--baseline-ref ${JSON.stringify(ref)} is not a revision of this repository (git rev-parse found no commit)`,
    );
  return parsed.stdout.trim();
}

/** Where a revision's build lives in the cache, and what its key is made of. */
interface RevisionTree {
  /** The package's place in the repository ("" at its top). */
  sub: string;
  /** The revision's lockfile ("" without one). */
  lockText: string;
  dir: string;
  pkgDir: string;
  /** The commit, written last (atomically, once the tree is on disk): a tree without it is a build that did not finish. */
  stamp: string;
}

/** The commit the tree's stamp names; undefined without one (an unfinished build), so that only a whole stamp counts. */
function builtAt(tree: RevisionTree): string | undefined {
  try {
    return readFileSync(tree.stamp, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

function revisionTree(
  root: string,
  commit: string,
  env: Readonly<NodeJS.ProcessEnv>,
  build: RevisionBuild,
): RevisionTree {
  const sub = build.kind === "team" ? build.sub : "";
  const lockPath = sub ? `${sub}/package-lock.json` : "package-lock.json";
  const lock = git(root, ["show", `${commit}:${lockPath}`]);
  const lockText = lock.status === 0 ? lock.stdout : "";
  // the same commit with another lockfile or build is another tree
  const key = hash(build.kind === "team" ? `${lockText}\0${sub}\0${build.buildCmd ?? "(default)"}` : lockText);
  const dir = join(revisionCache(env), `${commit.slice(0, 12)}-${key}`);
  return { sub, lockText, dir, pkgDir: join(dir, sub), stamp: join(dir, ".perfpack-built") };
}

/** A team's service command, run in its package's folder of the built tree (none for perfpack's own). */
const teamCommand = (build: RevisionBuild, pkgDir: string): ServiceCommand | undefined =>
  build.kind === "team" ? { ...build.command, cwd: pkgDir } : undefined;

/** One build of a revision's tree: its steps share the tree, the build log, the signal and how a failure reads. */
class TreeBuild {
  private readonly buildLog: string;

  constructor(
    private readonly ref: string,
    private readonly commit: string,
    private readonly tree: RevisionTree,
    private readonly signal: AbortSignal,
    private readonly env: Readonly<NodeJS.ProcessEnv>,
  ) {
    this.buildLog = join(tree.dir, ".perfpack-build.log");
  }

  /**
   * An empty tree: one without the stamp is a build that did not finish, so it starts again from
   * nothing. The partial trees interrupted builds set aside (of processes that are gone) go now.
   */
  startAfresh(): void {
    const cache = dirname(this.tree.dir);
    for (const name of existsSync(cache) ? readdirSync(cache) : []) {
      const pid = Number(/\.partial-(\d+)$/.exec(name)?.[1]);
      if (pid && !procEntry(pid)) rmSync(join(cache, name), { recursive: true, force: true });
    }
    rmSync(this.tree.dir, { recursive: true, force: true });
    mkdirSync(this.tree.dir, { recursive: true });
  }

  /** A build step in the package's folder (or `cwd`); its exit code (null: interrupted or not started). */
  private run(command: string, args: string[], cwd = this.tree.pkgDir): Promise<number | null> {
    return step(command, args, cwd, this.buildLog, this.signal, this.env);
  }

  /** Throws: interrupted (the partial tree removed), or a run failure with the build log's tail. */
  fail(what: string): never {
    const { dir } = this.tree;
    const at = `${this.ref} (${this.commit.slice(0, 10)})`;
    if (this.signal.aborted) {
      // Ctrl-C: nothing half-built stays in the cache under its name; removing a half-installed
      // node_modules takes seconds, so it is set aside (at once) and removed by the next build
      try {
        renameSync(dir, `${dir}.partial-${process.pid}`);
      } catch {
        rmSync(dir, { recursive: true, force: true });
      }
      throw new PerfpackError(
        `the build of the baseline revision ${at} was interrupted; its partial tree is set aside, and the next build removes it`,
        EXIT.interrupted,
      );
    }
    const log = this.buildLog;
    const tail = existsSync(log) ? readFileSync(log, "utf8").split("\n").slice(-30).join("\n") : "";
    throw new PerfpackError(
      `the baseline revision ${at} ${what}; its build is in ${dir}`,
      EXIT.runFailure,
      `--- last lines of the build log ---\n${tail}`,
    );
  }

  /** The commit's files, by `git archive` (nothing is registered in the repository). */
  async checkout(root: string): Promise<void> {
    const { dir, pkgDir, sub } = this.tree;
    const archive = await this.run(
      "sh",
      ["-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", root, this.commit, dir],
      dir,
    );
    if (archive !== 0) this.fail("could not be checked out (git archive)");
    if (!existsSync(pkgDir)) this.fail(`has no folder ${sub} (where the working directory is now)`);
  }

  /**
   * The stamp, last: the build's files are flushed to disk first (`sync` of their file system: tar,
   * npm and tsc wrote them without fsync), then the stamp is written atomically, so that even after
   * a crash or a power cut a stamped tree is a whole one. A failed sync is not a failed build: the
   * tree is complete, only less sure to survive a power cut.
   */
  async seal(): Promise<void> {
    const { dir, stamp } = this.tree;
    const code = await this.run("sync", process.platform === "linux" ? ["-f", dir] : [], dir);
    if (code === null && this.signal.aborted) this.fail("was interrupted");
    writeFileAtomic(stamp, `${this.commit}\n`);
  }

  /** A team's --build-cmd ("": none). */
  async buildCommand(cmd: string): Promise<void> {
    if (cmd.trim() && (await this.run("sh", ["-c", cmd])) !== 0) this.fail(`failed its build command \`${cmd}\``);
  }

  /** The dependencies, when the revision has a lockfile: `here`'s node_modules when its lockfile is the same, else npm ci. */
  async dependencies(here: string, lockText: string): Promise<void> {
    const hasLock = lockText !== "";
    const sameLock =
      hasLock &&
      existsSync(join(here, "package-lock.json")) &&
      hash(readFileSync(join(here, "package-lock.json"), "utf8")) === hash(lockText) &&
      existsSync(join(here, "node_modules"));
    // the same lockfile: the working tree's dependencies, copied as hard links (fast, and kept when
    // it goes away, where a symlink would dangle), else copied, else installed with npm ci
    const deps = join(this.tree.pkgDir, "node_modules");
    const copy = async (flag: string) =>
      (await this.run("cp", [flag, join(here, "node_modules"), deps])) === 0 ||
      (rmSync(deps, { recursive: true, force: true }), false);
    const copied = sameLock && ((await copy("-al")) || (await copy("-a")));
    if (hasLock && !copied && (await this.run("npm", ["ci", "--no-audit", "--no-fund"])) !== 0)
      this.fail("failed `npm ci`");
  }

  /** `npm run build`: always for perfpack's own (`required`), for a team's when its package.json has a build script. */
  async buildScript(required: boolean): Promise<void> {
    if ((required || this.scripts().build) && (await this.run("npm", ["run", "build"])) !== 0)
      this.fail("failed `npm run build`");
  }

  private scripts(): Record<string, string> {
    try {
      return (
        (
          JSON.parse(readFileSync(join(this.tree.pkgDir, "package.json"), "utf8")) as {
            scripts?: Record<string, string>;
          }
        ).scripts ?? {}
      );
    } catch {
      return {};
    }
  }
}
