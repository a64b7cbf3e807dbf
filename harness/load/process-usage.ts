/**
 * What the OS says of processes (pidusage): cumulative CPU time and resident memory. The one
 * probe of a process's CPU and RSS: the runner's sampler and the soak (for a service without
 * metrics) both read it.
 */
import pidusage from "pidusage";

export interface ProcessUsage {
  /** CPU time (user + system) since the process started, ms. */
  cpuMs: number;
  rssBytes: number;
}

/**
 * Each process's usage now, by pid. A process that is gone is missing from the map; undefined
 * when pidusage fails, as it does when a lone pid asked for is gone.
 */
export async function processUsage(pids: readonly number[]): Promise<Map<number, ProcessUsage> | undefined> {
  let stats: Record<string, pidusage.Status>;
  try {
    stats = (await pidusage([...pids])) as unknown as Record<string, pidusage.Status>;
  } catch {
    return undefined;
  }
  const out = new Map<number, ProcessUsage>();
  for (const pid of pids) {
    const st = stats[pid];
    if (st) out.set(pid, { cpuMs: st.ctime, rssBytes: st.memory });
  }
  return out;
}

/** Drops pidusage's per-process history, and the timer that expires it. */
export const forgetProcessUsage = (): void => pidusage.clear();
