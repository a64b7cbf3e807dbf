/**
 * The cpuprof agent: preloaded into any Node service (NODE_OPTIONS="--import <this file>", since
 * --cpu-prof is not allowed in NODE_OPTIONS), it runs V8's CPU profiler through the inspector from
 * the process's start and writes CPU.<pid>.cpuprofile into PERFPACK_CPUPROF_DIR when the process
 * exits, however it ends (SIGINT or SIGTERM included; a handler of the service's own may exit first,
 * and the exit hook still writes). Every Node process under that NODE_OPTIONS gets one (npm, the
 * service); the profiler keeps the one of the process that served the load.
 */
import { Session } from "node:inspector";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { writeFileAtomic } from "../../services/common/src/atomic-file.js";

const dir = process.env.PERFPACK_CPUPROF_DIR;
// a failed gate's profile (profile/duet.ts): V8's inlining off before the service's code compiles,
// so a small function keeps its own frame
if (dir && process.env.PERFPACK_CPUPROF_NO_INLINE === "1") setFlagsFromString("--no-turbo-inlining");
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  // 1 ms, as --cpu-prof
  session.post("Profiler.setSamplingInterval", { interval: 1000 });
  session.post("Profiler.start");
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    // the inspector answers a session of the same thread synchronously, so this works in an exit hook;
    // atomic, so that a process killed while it writes leaves no torn .cpuprofile for the profiler to take
    session.post("Profiler.stop", (err, r) => {
      if (!err && r) writeFileAtomic(join(dir, `CPU.${process.pid}.cpuprofile`), JSON.stringify(r.profile));
    });
  };
  process.on("exit", write);
  // a signal without a handler of the service's would end the process without the exit hook
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      if (process.listenerCount(sig) > 1) return; // the service handles it, and exits through the hook
      write();
      process.exit(128 + (sig === "SIGINT" ? 2 : 15));
    });
  }
}
