/**
 * `perfpack link` for the CLI, which may not reach into the engine: the link process's main
 * (harness/engine/link.ts) as it is. It runs until a signal, so it takes no JobContext.
 */
export { linkMain } from "../engine/link.js";
