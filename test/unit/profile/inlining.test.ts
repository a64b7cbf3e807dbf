import assert from "node:assert/strict";
import { test } from "node:test";
import { withoutInlining } from "../../../harness/profile/duet.js";
import type { ExecutorWrap } from "../../../harness/engine/rig.js";

const start = { command: "node", args: ["executor.js"], env: { A: "1" } };
const underCpuprof: ExecutorWrap = (s, service) =>
  service ? { ...s, env: { ...s.env, NODE_OPTIONS: "--import agent.js" } } : { ...s, args: ["--cpu-prof", ...s.args] };

test("a failed gate's profile runs with V8's inlining off: the flag for the bundled executor's node, the agent's variable for a team's service", () => {
  const wrap = withoutInlining(underCpuprof);
  assert.deepEqual(wrap(start, undefined).args, ["--no-turbo-inlining", "--cpu-prof", "executor.js"]);
  const team = wrap(start, { cmd: "node server.js", cwd: "/x", readyPath: "/health" });
  assert.deepEqual(team.env, { A: "1", NODE_OPTIONS: "--import agent.js", PERFPACK_CPUPROF_NO_INLINE: "1" });
  assert.deepEqual(team.args, ["executor.js"]);
});
