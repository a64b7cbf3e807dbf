import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import pg from "pg";
import { freePort } from "../../harness/engine/stack.js";

/**
 * The folder of Debian's PostgreSQL server binaries (initdb, postgres): PG_BIN, else the newest
 * /usr/lib/postgresql/<major>/bin that has them.
 */
export function postgresBin(): string | undefined {
  const root = "/usr/lib/postgresql";
  const majors = existsSync(root) ? readdirSync(root).filter((d) => /^\d+$/.test(d)) : [];
  majors.sort((a, b) => Number(b) - Number(a));
  const dirs = process.env.PG_BIN ? [process.env.PG_BIN] : majors.map((m) => join(root, m, "bin"));
  return dirs.find((d) => existsSync(join(d, "initdb")) && existsSync(join(d, "postgres")));
}

/**
 * Whether a PostgreSQL server can be started here. Without one the test skips, naming the package;
 * under CI it fails, because .ci/run installs it.
 */
export function hasPostgres(t: TestContext): boolean {
  if (postgresBin()) return true;
  if (process.env.CI) assert.fail("PostgreSQL's server binaries are missing: .ci/run installs Debian's postgresql");
  t.skip("PostgreSQL's server is not installed (apt-get install postgresql, or set PG_BIN to its bin folder)");
  return false;
}

export interface Postgres {
  /** postgres://perfpack@127.0.0.1:<port>/<db> */
  url(db?: string): string;
  /** Creates a database and returns its URL. */
  createDb(name: string): Promise<string>;
  pid: number;
  stop(): Promise<void>;
}

/** The user the server runs as: this one, or Debian's `postgres` when this is root (the server refuses root). */
function serverUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => spawnSync("id", [flag, "postgres"], { encoding: "utf8" });
  const uid = id("-u");
  const gid = id("-g");
  if (uid.status !== 0 || gid.status !== 0)
    throw new Error(
      "running as root, and there is no `postgres` user to run the server as (Debian's postgresql creates it)",
    );
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * A throwaway cluster: initdb into a temporary folder, the server on a free loopback port (its
 * socket in that folder too), trusted local logins as `perfpack`. `stop` ends it by its PID and
 * removes the folder.
 */
export async function startPostgres(): Promise<Postgres> {
  const bin = postgresBin()!;
  const dir = mkdtempSync(join(tmpdir(), "perfpack-pg-"));
  const user = serverUser();
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid!);
  const data = join(dir, "data");
  const init = spawnSync(
    join(bin, "initdb"),
    ["-D", data, "-A", "trust", "-U", "perfpack", "-E", "UTF8", "--locale=C", "--no-sync"],
    { ...user, cwd: dir, encoding: "utf8" },
  );
  if (init.status !== 0) throw new Error(`initdb failed (${init.status}): ${init.stderr || init.error?.message}`);
  const port = await freePort();
  const server = spawn(
    join(bin, "postgres"),
    ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
    { ...user, cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  server.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  server.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
  const url = (db = "postgres") => `postgres://perfpack@127.0.0.1:${port}/${db}`;
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) {
      process.kill(server.pid!, "SIGINT"); // fast shutdown: the server ends its sessions and exits
      const kill = setTimeout(() => server.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(kill);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url(), server, () => log);
  } catch (err) {
    await stop();
    throw err;
  }
  const createDb = async (name: string) => {
    const c = new pg.Client({ connectionString: url() });
    await c.connect();
    try {
      await c.query(`CREATE DATABASE "${name}"`);
    } finally {
      await c.end();
    }
    return url(name);
  };
  return { url, createDb, pid: server.pid!, stop };
}

async function waitReady(url: string, server: { exitCode: number | null }, log: () => string): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    if (server.exitCode !== null) throw new Error(`postgres exited with ${server.exitCode}:\n${log().slice(-2000)}`);
    const c = new pg.Client({ connectionString: url });
    try {
      await c.connect();
      await c.query("SELECT 1");
      await c.end();
      return;
    } catch {
      await c.end().catch(() => {});
    }
    if (Date.now() - t0 > 30_000)
      throw new Error(`postgres did not accept connections in 30 s:\n${log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
