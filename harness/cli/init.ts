/** `perfpack init`: the job (api/init.ts), then what it wrote and what happens next. */
import { HISTORY_BRANCH, init, type InitDocument } from "../api/init.js";
import type { IO } from "./io.js";

/** What init did, one line each, and the next steps: a pure function of its document. */
export function initLines(d: InitDocument): string[] {
  const g = d.gitignore;
  return [
    ...d.written.map((f) => `wrote ${f}`),
    g.error
      ? `could not add .perfpack/ to ${g.path} (${g.error}): add it by hand, the history store is kept there`
      : g.added
        ? `added .perfpack/ to ${g.path} (the history store's folder)`
        : `${g.path} ignores .perfpack/ already`,
    "next: npx perfpack run (your service against itself under each variant), then commit these files.",
    `CI: pull requests are gated against their merge base; each push to ${d.branch} is gated against the branch's previous tip and kept in the history (the ${HISTORY_BRANCH} branch); every Monday the history job fails when a change point or a creep stands (docs/cli.md, "CI")`,
  ];
}

export function initCommand(o: { executorCmd?: string }, io: IO): void {
  const d = init(o, io);
  for (const l of initLines(d)) (l.startsWith("could not") ? io.err : io.out).write(l + "\n");
}
