/** `perfpack history add`: a stored run or gate appended to the history (api/history.ts), what it did printed. */
import { historyAdd, type HistoryAddOptions } from "../api/history.js";
import { EXIT } from "../errors.js";
import type { IO } from "./io.js";
import { historyLine } from "./run.js";

/** 0 when the run is in the store (added now, or held already); a bad path, commit or store is a usage error (2). */
export async function historyAddCommand(
  path: string,
  o: HistoryAddOptions & { json?: boolean },
  io: IO,
): Promise<number> {
  const h = await historyAdd(path, o, { cwd: io.cwd, env: io.env });
  if (o.json) io.out.write(JSON.stringify(h, null, 2) + "\n");
  else historyLine(h, io, io.out);
  return EXIT.ok;
}
