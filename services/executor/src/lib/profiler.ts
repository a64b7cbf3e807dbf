import { mkdirSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";
import { writeFileAtomic } from "../../../common/src/atomic-file.js";

/** CPU_PROFILING=true: a V8 CPU profile of the whole process life, written on stop. */
export class CpuProfiler {
  private readonly session = new Session();

  constructor(private readonly dir: string) {}

  start(): Promise<void> {
    this.session.connect();
    return new Promise((resolve, reject) =>
      this.session.post("Profiler.enable", (e) =>
        e ? reject(e) : this.session.post("Profiler.start", (e2) => (e2 ? reject(e2) : resolve())),
      ),
    );
  }

  /** Stops profiling and writes the .cpuprofile; returns its path. */
  stop(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.session.post("Profiler.stop", (err, res) => {
        if (err) return reject(err);
        mkdirSync(this.dir, { recursive: true });
        const stamp = new Date().toISOString().replace(/[:.]/g, "-");
        const file = join(this.dir, `executor-${stamp}-${process.pid}.cpuprofile`);
        // atomic: never a torn profile, even if the process is killed while it writes
        writeFileAtomic(file, JSON.stringify(res.profile));
        this.session.disconnect();
        resolve(file);
      });
    });
  }
}
