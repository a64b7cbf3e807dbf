/**
 * The processes perfpack started, for the CLI's process edge, which may not reach into the engine:
 * a Ctrl-C stops them all at once (SIGTERM, then SIGKILL after the grace), a second one kills them.
 */
export { killAll, releaseWatchdog, stopAll } from "../../services/common/src/children.js";
