/** Opens the store a spec names: the embedded file, or a team's Postgres. */
import { HistoryStoreError } from "./store.js";
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { HistoryStore, OpenOptions } from "./store.js";

/** Where the history goes when nothing names it: a file under the working directory. */
export const DEFAULT_HISTORY_FILE = join(".perfpack", "history.db");

const isPostgresUrl = (spec: string): boolean => /^postgres(ql)?:\/\//i.test(spec);

/** The file a spec names: relative to `cwd`; a folder holds `history.db`; empty is the default. */
function historyFile(spec: string, cwd: string): string {
  const file = resolve(cwd, spec.trim() === "" ? DEFAULT_HISTORY_FILE : spec);
  return existsSync(file) && statSync(file).isDirectory() ? join(file, "history.db") : file;
}

/**
 * Opens the store `spec` names: a `postgres://` (or `postgresql://`) URL, or a file path
 * (resolved against `cwd`; a new file and its folder are created). The store is checked before
 * anything is written: a newer schema, a file that is not a perfpack history or a damaged one is a
 * HistoryStoreError that names it, and the store is left untouched. With `mustExist`, a store
 * that holds no history yet is an error too, and nothing is created.
 */
export async function openStore(spec: string, cwd: string, o: OpenOptions = {}): Promise<HistoryStore> {
  if (isPostgresUrl(spec)) {
    const { openPostgresStore } = await import("./postgres.js");
    return openPostgresStore(spec, o);
  }
  const { openSqliteStore } = await import("./sqlite.js").catch((err: unknown) => {
    throw withoutSqlite(err);
  });
  return openSqliteStore(historyFile(spec, cwd), o);
}

/**
 * better-sqlite3 is an optional dependency: it compiles from source where its prebuilt binary
 * cannot be downloaded (python3, make and a C++ compiler), and a team's install must not fail
 * for a store it may never use. Without it, the embedded store says so and what to do.
 */
function withoutSqlite(err: unknown): unknown {
  const e = err as { code?: string; message?: string };
  if (e.code !== "ERR_MODULE_NOT_FOUND" || !/better-sqlite3/.test(e.message ?? "")) return err;
  return new HistoryStoreError(
    "unreachable",
    "the embedded history store needs the optional dependency better-sqlite3, which is not installed (its build from source needs python3, make and a C++ compiler): install it with `npm install better-sqlite3@12`, or give a Postgres store (--history postgres://…)",
  );
}
