import assert from "node:assert/strict";
import { test } from "node:test";
import { Chalk } from "chalk";
import { progressListener } from "../../../harness/cli/progress.js";
import type { JobEvent } from "../../../harness/api/context.js";

test("a duet slice's trials start together on a TTY: one live line at a time, and none left running after the run", () => {
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
  const before = timers();
  let text = "";
  const listen = progressListener({ write: (t) => (text += t), isTTY: true }, new Chalk({ level: 0 }));
  const spec = (name: string, index: number) =>
    ({ index, variant: { name, kind: "preset", env: {} }, scenario: "latency", round: 1 }) as unknown as Extract<
      JobEvent,
      { type: "trial-start" }
    >["spec"];
  listen({ type: "trial-start", spec: spec("baseline", 0), total: 2, estimateS: 2 });
  listen({ type: "trial-start", spec: spec("optimized", 1), total: 2, estimateS: 2 });
  assert.equal(timers(), before + 1, "one live line");
  listen({ type: "done", results: {} as never });
  assert.equal(timers(), before, "no live line left");
  assert.match(text, /optimized · latency · round 1/);
});
