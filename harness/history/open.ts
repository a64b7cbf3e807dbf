/** Opens the store a spec names: the embedded file, or a team's Postgres. */
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
  const { openSqliteStore } = await import("./sqlite.js");
  return openSqliteStore(historyFile(spec, cwd), o);
}
