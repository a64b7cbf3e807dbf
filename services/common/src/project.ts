import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// The same sources run from dist/ (tsc) and from services/executor/dist/bundle.cjs (esbuild),
// at different depths, so the project root is found by walking up, not by a fixed "../..".
let cached: string | undefined;
export function projectRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        if (JSON.parse(readFileSync(pkg, "utf8")).name === "perfpack") return (cached = dir);
      } catch {
        // not our package.json; keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error("perfpack: cannot find the project root (package.json named perfpack)");
    dir = up;
  }
}

/** perfpack's version: package.json's, the one place it is written. */
export const packageVersion = (): string =>
  (JSON.parse(readFileSync(join(projectRoot(), "package.json"), "utf8")) as { version: string }).version;

export const fixturePath = (...parts: string[]): string => join(projectRoot(), "fixtures", ...parts);

/** The loopback TLS material in fixtures/tls (test only). */
export const tlsFixture = {
  ca: () => fixturePath("tls", "ca.pem"),
  cert: () => fixturePath("tls", "cert.pem"),
  key: () => fixturePath("tls", "key.pem"),
};
