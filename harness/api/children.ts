/**
 * The services perfpack started, for the CLI's process edge, which may not reach into the engine:
 * a second Ctrl-C, or an error no job caught, stops them all (SIGTERM, then SIGKILL after the grace).
 */
export { stopAll } from "../engine/launcher.js";
