/**
 * What a profiler actually recorded: its sample count against what its sampling rate promises,
 * and self time per function from the tool's own samples. Pure, apart from reading the files.
 */
import { createReadStream, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { projectRoot } from "../../services/common/src/project.js";
import { shortUrl, type CpuProfile, type SelfTimes } from "./hotpath.js";

/** A profiler that records fewer than this share of the samples its rate promises is reported (exit 3). */
export const MIN_COVERAGE = 0.5;

/** V8's sampling interval for both `--prof` (0x, clinic flame) and `--cpu-prof`: 1 ms unless changed. */
export const V8_SAMPLE_MS = 1;
/** clinic doctor's process-stat interval (its `--sample-interval` default), in ms. */
export const DOCTOR_SAMPLE_MS = 10;

/** One tick of 0x's `ticks.json` or clinic flame's `*.clinic-flame-samples`: the stack, root first. */
export type TickStack = Array<{ name: string; type?: string }>;

export interface SampleCheck {
  samples: number;
  /** what the sampler's rate promises over `basisMs` */
  expected: number;
  /** the time the expectation rests on: the executor's main-thread CPU time capped at the wall time (stack samplers), or the profiled wall time (doctor) */
  basis: "cpu" | "wall";
  basisMs: number;
  /** the spacing the expectation rests on: the sampler's interval, plus (a timer sampler) the event-loop delay it measured */
  intervalMs: number;
  /** a timer sampler's mean measured delay past its interval (clinic doctor's `delay`), in ms */
  delayMs?: number;
  /** samples / expected */
  coverage: number;
  ok: boolean;
}

/**
 * Stack samplers tick every `intervalMs` of wall time, idle or not, so a process that was busy for
 * `busyMs` gives at least busyMs / intervalMs ticks. Coverage below MIN_COVERAGE means the sampler
 * was starved (as `--prof` is when `--cpu-prof` runs beside it).
 *
 * A timer sampler (clinic doctor) runs on the event loop it watches: each sample comes `intervalMs`
 * plus the loop's delay after the last, and it records that delay. On a starved machine the delay
 * grows and the samples thin out, which is the finding, not a fault; so its expectation rests on
 * the spacing it measured itself (`delayMs`), and a floor that holds on any machine remains.
 */
export function checkSamples(
  samples: number,
  basis: SampleCheck["basis"],
  basisMs: number,
  intervalMs: number,
  delayMs?: number,
): SampleCheck {
  const spacing = intervalMs + (delayMs ?? 0);
  const expected = basisMs / spacing;
  const coverage = expected > 0 ? samples / expected : samples > 0 ? Infinity : 0;
  return {
    samples,
    expected: Math.round(expected),
    basis,
    basisMs: Math.round(basisMs),
    intervalMs: spacing,
    // absent, not undefined: a unit test compares the check with deepStrictEqual
    ...(delayMs !== undefined ? { delayMs } : {}),
    coverage,
    ok: coverage >= MIN_COVERAGE && samples > 0,
  };
}

// A tick with no frame, or one waiting in the event loop's poll, is idle time, as "(idle)" in a .cpuprofile.
export const IDLE_TOP = /^(epoll_p?wait|epoll_wait|__epoll_wait_nocancel)\b/;

/** 0x names a JS frame "fn url:line:col"; keep the function and a short location, as the .cpuprofile table does. */
export function frameKey(f: { name: string }): string {
  const name = f.name.trim();
  const sp = name.lastIndexOf(" ");
  const loc = name.slice(sp + 1);
  const m = /^(.*?):(\d+)(?::\d+)?$/.exec(loc);
  if (!m) return name || "(anonymous)";
  const fn = sp >= 0 ? name.slice(0, sp).trim() : "(anonymous)";
  const url = shortUrl(m[1]!);
  return `${fn}${url ? ` ${url}:${m[2]}` : ""}`;
}

/** Self time per function from tick stacks: each tick's interval goes to the frame on top. */
export function selfTimesFromTicks(ticks: readonly TickStack[], intervalMs = V8_SAMPLE_MS): SelfTimes {
  const byFunction = new Map<string, number>();
  let busy = 0;
  for (const stack of ticks) {
    const top = stack.at(-1);
    const k = !top || IDLE_TOP.test(top.name) ? "(idle)" : frameKey(top);
    byFunction.set(k, (byFunction.get(k) ?? 0) + intervalMs);
    if (k !== "(idle)") busy += intervalMs;
  }
  return { byFunction, busyMs: busy };
}

const readTicks = (file: string): TickStack[] => JSON.parse(readFileSync(file, "utf8")) as TickStack[];
const readCpuProfile = (file: string): CpuProfile => JSON.parse(readFileSync(file, "utf8")) as CpuProfile;

/** The number of samples in a tool's sample file; for clinic doctor's, also their mean measured delay (ms). */
export async function countSamples(file: string): Promise<{ count: number; delayMs?: number }> {
  if (file.endsWith(".cpuprofile")) return { count: readCpuProfile(file).samples.length };
  if (file.endsWith("-processstat")) {
    const s = await readDoctorSamples(file);
    return { count: s.length, delayMs: s.length ? s.reduce((a, x) => a + x.delay, 0) / s.length : 0 };
  }
  return { count: readTicks(file).length };
}

/** clinic doctor's process-stat samples (protobuf), decoded with clinic's own decoder. */
export async function readDoctorSamples(
  file: string,
): Promise<Array<{ timestamp: number; cpu: number; delay: number }>> {
  // the decoder ships inside clinic (a dependency of ours), not as a package of its own
  const require = createRequire(join(projectRoot(), "package.json"));
  const doctorDir = require.resolve("@clinic/doctor/package.json", { paths: [require.resolve("clinic/package.json")] });
  const Decoder = require(
    join(doctorDir, "..", "format", "process-stat-decoder.js"),
  ) as new () => NodeJS.ReadWriteStream;
  return new Promise((resolve, reject) => {
    const out: Array<{ timestamp: number; cpu: number; delay: number }> = [];
    createReadStream(file)
      .on("error", reject)
      .pipe(new Decoder())
      .on("data", (d: { timestamp: number; cpu: number; delay: number }) => out.push(d))
      .on("error", reject)
      .on("end", () => resolve(out));
  });
}
