/**
 * Secrets never reach a results file or a report: the value of every environment variable
 * whose name contains KEY, SECRET or TOKEN (any case) is replaced, in env maps, and scrubbed
 * from free text (log tails, error messages). The executor itself still gets the real value.
 */
const SECRET_NAME = /KEY|SECRET|TOKEN/i;
const REDACTED = "[redacted]";

export const isSecretName = (name: string): boolean => SECRET_NAME.test(name);

export function redactEnv(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, isSecretName(k) && v !== "" ? REDACTED : v]));
}

/** The secret values in these env maps, longest first (so a secret that contains another goes whole). */
export function secretValues(envs: Iterable<Record<string, string>>): string[] {
  const found = new Set<string>();
  for (const env of envs) for (const [k, v] of Object.entries(env)) if (isSecretName(k) && v !== "") found.add(v);
  return [...found].sort((a, b) => b.length - a.length);
}

export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join(REDACTED);
  return out;
}
