import { UsageError } from "../errors.js";
import type { Slo } from "../results/capacity.js";

export type { Slo };

/** The guide's HTTP P95 target, and --max-errors' default: what `capacity` holds a service to unless told otherwise. */
export const DEFAULT_SLO = "p95<100ms,errors<1%";

const ACCEPTED =
  'a comma-separated list of a latency percentile under a line and an error share under another, e.g. "p95<100ms,errors<1%": pNN from p50 to p99.9, a line in ms or s, errors in % (errors may be left out: 1%)';

/** `--slo "p95<100ms,errors<1%"` → an Slo; anything else is a usage error naming what is accepted. */
export function parseSlo(spec: string, flag = "--slo"): Slo {
  const bad = (what: string) =>
    new UsageError(`${flag} ${JSON.stringify(spec)} is not valid: ${what}; expected ${ACCEPTED}`);
  let latency: Pick<Slo, "percentile" | "label" | "maxMs"> | undefined;
  let errors: number | undefined;
  for (const part of spec.split(",").map((p) => p.trim())) {
    const p = /^p(\d+(?:\.\d+)?)\s*<\s*(\d+(?:\.\d+)?)\s*(ms|s)$/i.exec(part);
    const e = /^errors\s*<\s*(\d+(?:\.\d+)?)\s*%$/i.exec(part);
    if (p) {
      if (latency) throw bad("it names two latency lines");
      const pct = Number(p[1]);
      if (!(pct >= 50 && pct <= 99.9)) throw bad(`p${p[1]} is outside p50 … p99.9`);
      const maxMs = Number(p[2]) * (p[3]!.toLowerCase() === "s" ? 1000 : 1);
      if (!(maxMs > 0 && maxMs <= 600_000)) throw bad(`the line ${p[2]}${p[3]} is not above 0 and at most 600 s`);
      latency = { percentile: Math.round(pct * 10) / 1000, label: `p${p[1]}`, maxMs };
    } else if (e) {
      if (errors !== undefined) throw bad("it names two error lines");
      const share = Number(e[1]) / 100;
      if (!(share >= 0 && share < 1)) throw bad(`errors<${e[1]}% is not from 0% to below 100%`);
      errors = share;
    } else throw bad(part ? `${JSON.stringify(part)} is neither pNN<line nor errors<N%` : "it has an empty part");
  }
  if (!latency) throw bad("it has no latency line");
  return { ...latency, maxErrorShare: errors ?? 0.01 };
}

/** "p95 < 100 ms, errors < 1%": how reports write an SLO. */
export const sloText = (s: Slo): string =>
  `${s.label} < ${s.maxMs} ms, errors < ${Number((s.maxErrorShare * 100).toPrecision(3))}%`;

/** The spec `parseSlo` reads back into `s` ("p95<100ms,errors<1%"); without its error line when `errors` is false. */
export const sloSpec = (s: Slo, errors = true): string =>
  `${s.label}<${s.maxMs}ms${errors ? `,errors<${Number((s.maxErrorShare * 100).toPrecision(3))}%` : ""}`;
