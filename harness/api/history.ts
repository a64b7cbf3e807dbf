/**
 * The run history's jobs: a run or gate appended to a store (`--history` after a run or gate, and
 * `perfpack history add` for one stored earlier). The store is harness/history/; reading the
 * history back (`perfpack history`: trends, change points, creep) is still to come.
 */
import { dirname, resolve } from "node:path";
import { commitPlace } from "../history/git.js";
import { openStore } from "../history/open.js";
import { readStoredRun, recordsOf, type StoredRun } from "../history/records.js";
import { layeredFlags } from "../plan/file.js";
import { projectRoot } from "../../services/common/src/project.js";
import type { JobContext } from "./context.js";

/** What an append did. */
export interface HistoryAppend {
  /** The store's file, or its URL without the password. */
  store: string;
  runId: string;
  commit: string;
  parent?: string;
  branch?: string;
  /** The run's points (variant × scenario × metric). */
  points: number;
  /** false: the store held this run already (by run id), and it was left as it was. */
  added: boolean;
}

/** What the caller knows better than the stored run: the commit measured, its branch. */
export interface HistoryAddOptions {
  /** The store: a file path or a postgres:// URL (default: the config file's `history`, else .perfpack/history.db). */
  history?: string;
  commit?: string;
  branch?: string;
  /** The config file (default: perfpack.config.json in cwd). */
  config?: string;
}

/**
 * Appends a stored run to the history. The commit is the one the run recorded (or `commit`); its
 * first parent and branch come from git (the working directory's repository, else perfpack's own
 * checkout) and from CI, unless given.
 */
export async function appendRun(
  spec: string,
  run: StoredRun,
  o: Pick<HistoryAddOptions, "commit" | "branch">,
  ctx: Pick<JobContext, "cwd" | "env">,
): Promise<HistoryAppend> {
  const commit = o.commit ?? run.results.plan.checkout?.commit;
  const place = commit ? commitPlace([ctx.cwd, dirname(run.source), projectRoot()], commit, ctx.env) : {};
  const branch = o.branch ?? place.branch;
  const records = recordsOf(run.results, run.gate, { commit, parent: place.parent, branch, source: run.source });
  const store = await openStore(spec, ctx.cwd);
  try {
    const r = await store.append(records);
    return {
      store: store.location,
      runId: run.results.runId,
      commit: records[0]?.commit ?? commit ?? "",
      ...(place.parent ? { parent: place.parent } : {}),
      ...(branch ? { branch } : {}),
      points: records.length,
      added: r.added.includes(run.results.runId),
    };
  } finally {
    await store.close();
  }
}

/** `perfpack history add <results.json | run folder>`: a run or gate stored earlier (a CI artifact, an old run), appended once. */
export async function historyAdd(
  path: string,
  o: HistoryAddOptions,
  ctx: Pick<JobContext, "cwd" | "env">,
): Promise<HistoryAppend> {
  const { flags } = layeredFlags(ctx.cwd, { history: o.history, config: o.config });
  const run = readStoredRun(resolve(ctx.cwd, path));
  return appendRun(flags.history ?? "", run, o, ctx);
}
