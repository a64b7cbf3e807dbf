/**
 * `perfpack history` as jobs: the history read back from its store. `historyTrend` gives every
 * series with its change points and chained trend (verdict/trend.ts decides; this module reads the
 * records, finds the anchor in git, and writes history.md and history.html); `historyRuns` lists the
 * runs; `historyShow` gives one run's or commit's points.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { gitOut } from "../history/git.js";
import { UsageError } from "../errors.js";
import { openStore } from "../history/open.js";
import type { HistoryRecord } from "../history/record.js";
import type { HistoryStore, RecordFilter, RunEntry } from "../history/store.js";
import { historyTrend, type HistoryDocument } from "../verdict/trend.js";
import { layeredFlags } from "../plan/file.js";
import { historyMarkdown } from "../report/history-text.js";
import { historyHtml } from "../report/history-html.js";
import { writeFileAtomic } from "../../services/common/src/atomic-file.js";
import type { JobContext } from "./context.js";

/** The creep's default anchor when no tag is found: the last this-many links (Otava's window). */
const DEFAULT_ANCHOR_LINKS = 50;

export interface HistoryReadOptions {
  /** The store: a file or a postgres:// URL (default: the config file's `history`, else .perfpack/history.db). */
  history?: string;
  config?: string;
  testbed?: string;
  branch?: string;
  variant?: string;
  scenario?: string;
  metric?: string;
}

export interface HistoryTrendOptions extends HistoryReadOptions {
  /** The creep's anchor: a revision (a tag, a commit) … */
  since?: string;
  /** … or the last N links. Default: the newest tag reachable from the newest stored commit, when its commit is stored, else the last 50 links. */
  last?: number;
  /** The line (default: the config's maxRegression, else 0.05). */
  maxRegression?: number;
  /** Where history.md and history.html go (default reports/history); null: write nothing. */
  out?: string | null;
}

export interface HistoryTrendJob {
  doc: HistoryDocument;
  /** The files written (history.md, history.html), absolute. */
  written: string[];
}

type Ctx = Pick<JobContext, "cwd" | "env">;

/** Opens the configured store (it must exist: reading never creates one), runs `f`, closes it. */
async function withStore<T>(
  o: HistoryReadOptions,
  ctx: Ctx,
  f: (s: HistoryStore, configLine: number | undefined) => Promise<T>,
) {
  const { flags } = layeredFlags(ctx.cwd, { history: o.history, config: o.config });
  const store = await openStore(flags.history ?? "", ctx.cwd, { mustExist: true });
  const line = Number((flags as { maxRegression?: unknown }).maxRegression);
  try {
    return await f(store, line > 0 && line < 1 ? line : undefined);
  } finally {
    await store.close();
  }
}

const filterOf = (o: HistoryReadOptions): RecordFilter & HistoryDocument["filter"] => ({
  ...(o.testbed ? { testbed: o.testbed } : {}),
  ...(o.branch ? { branch: o.branch } : {}),
  ...(o.variant ? { variant: o.variant } : {}),
  ...(o.scenario ? { scenario: o.scenario } : {}),
  ...(o.metric ? { metric: o.metric } : {}),
});

/**
 * `perfpack history`: every series' trend, change points and creep; history.md and history.html
 * written. The line: --max-regression, else the config's maxRegression, else the newest gate's own.
 */
export async function historyTrendJob(o: HistoryTrendOptions, ctx: Ctx): Promise<HistoryTrendJob> {
  checkTrendOptions(o);
  return withStore(o, ctx, async (store, configLine) => {
    const filter = filterOf(o);
    const records = await store.records(filter);
    if (records.length === 0) throw new UsageError(noRecords(store.location, filter));
    const doc = historyTrend(records, {
      store: store.location,
      line: o.maxRegression ?? configLine ?? [...records].reverse().find((r) => r.gate)?.gate?.maxRegression ?? 0.05,
      anchor: anchorOf(o, records, ctx.cwd),
      filter,
    });
    return {
      doc,
      written: o.out === null ? [] : writeHistory(doc, resolve(ctx.cwd, o.out ?? join("reports", "history")), ctx.cwd),
    };
  });
}

function checkTrendOptions(o: HistoryTrendOptions): void {
  if (o.since !== undefined && o.last !== undefined)
    throw new UsageError("--since and --last both name the creep's anchor: give one");
  if (o.last !== undefined && !(Number.isInteger(o.last) && o.last >= 1))
    throw new UsageError(`--last ${o.last} is not valid: expected a whole number of gate links, 1 or more`);
  if (o.maxRegression !== undefined && !(o.maxRegression > 0 && o.maxRegression < 1))
    throw new UsageError(
      `--max-regression ${o.maxRegression} is not valid: expected a share between 0 and 1 (0.05 is 5%)`,
    );
}

const noRecords = (store: string, f: RecordFilter): string =>
  Object.keys(f).length
    ? `no history in ${store} matches ${Object.entries(f)
        .map(([k, v]) => `--${k} ${v}`)
        .join(" ")}: \`perfpack history list\` shows what it holds`
    : `the history store ${store} holds no runs yet (run or gate with --history, or perfpack history add)`;

/** Writes history.md and history.html into `dir` (atomically: a reader never sees half a page). */
function writeHistory(doc: HistoryDocument, dir: string, cwd: string): string[] {
  mkdirSync(dir, { recursive: true });
  const md = join(dir, "history.md");
  const html = join(dir, "history.html");
  writeFileAtomic(md, historyMarkdown(doc));
  writeFileAtomic(html, historyHtml(doc, { outDir: dir, cwd }));
  return [md, html];
}

/**
 * The creep's anchor: `--since REV` (resolved by git in the working directory, else taken as a
 * stored commit or its prefix), `--last N`, or by default the newest tag git knows on the newest
 * stored commit (when that tag's commit is in the history), else the last 50 links.
 */
export function anchorOf(
  o: HistoryTrendOptions,
  records: readonly HistoryRecord[],
  cwd: string,
): HistoryDocument["anchor"] {
  if (o.last !== undefined) return { links: o.last, why: `the last ${o.last} gate links (--last)` };
  const commits = new Set(records.map((r) => r.commit));
  if (o.since !== undefined) {
    const commit = gitCommit(cwd, o.since) ?? [...commits].find((c) => c.startsWith(o.since!.toLowerCase()));
    if (!commit)
      throw new UsageError(
        `--since ${JSON.stringify(o.since)} names no commit: not a revision of the repository here, nor a stored commit (perfpack history list shows them)`,
      );
    return { commit, why: `--since ${o.since}` };
  }
  const newest = records.at(-1)?.commit;
  const tag = newest ? gitOut(cwd, ["describe", "--tags", "--abbrev=0", newest]) : undefined;
  const tagCommit = tag ? gitCommit(cwd, tag) : undefined;
  if (tag && tagCommit && commits.has(tagCommit)) return { commit: tagCommit, tag, why: `the newest tag, ${tag}` };
  return {
    links: DEFAULT_ANCHOR_LINKS,
    why: `the last ${DEFAULT_ANCHOR_LINKS} gate links (no tag of a stored commit: --since REV or --last N sets it)`,
  };
}

const gitCommit = (cwd: string, rev: string): string | undefined =>
  gitOut(cwd, ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]);

/** `perfpack history list`: the runs, oldest first. */
export async function historyRuns(o: HistoryReadOptions, ctx: Ctx): Promise<{ store: string; runs: RunEntry[] }> {
  return withStore(o, ctx, async (store) => ({
    store: store.location,
    runs: await store.runs({
      ...(o.testbed ? { testbed: o.testbed } : {}),
      ...(o.branch ? { branch: o.branch } : {}),
    }),
  }));
}

/** `perfpack history show <commit | run id>`: that run's (or commit's runs') points. */
export async function historyShow(
  which: string,
  o: HistoryReadOptions,
  ctx: Ctx,
): Promise<{ store: string; records: HistoryRecord[] }> {
  return withStore(o, ctx, async (store) => {
    const runs = await store.runs();
    const w = which.toLowerCase();
    const ids = runs.filter((r) => r.runId === which || r.commit.startsWith(w)).map((r) => r.runId);
    if (ids.length === 0 || (!/^[0-9a-f]{4,40}$/.test(w) && !runs.some((r) => r.runId === which)))
      throw new UsageError(
        `${JSON.stringify(which)} is no stored run id nor a stored commit (4 or more hex digits): perfpack history list shows them`,
      );
    const records = (await store.records(filterOf(o))).filter((r) => ids.includes(r.runId));
    return { store: store.location, records };
  });
}
