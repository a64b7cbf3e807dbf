/**
 * The allocation agent: preloaded into the service of the allocation pass (NODE_OPTIONS="--import
 * <this file>", PERFPACK_ALLOC_FILE set). The first SIGUSR2 starts V8's allocation tracker
 * (HeapProfiler.startTrackingHeapObjects with trackAllocations, which counts every object the
 * JavaScript heap allocates, by the function that allocated it); the second stops it and writes
 * PERFPACK_ALLOC_FILE.<pid>.<n>.json (n = 1, 2 … per window): objects and bytes allocated
 * between the two, and the top allocating functions. At load it writes PERFPACK_ALLOC_FILE.<pid>.ready,
 * so that perfpack signals only a process that has it (SIGUSR2 would end any other). Every Node
 * process under that NODE_OPTIONS loads it; only the signalled one writes counts.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { writeFileAtomic } from "../../services/common/src/atomic-file.js";

const file = process.env.PERFPACK_ALLOC_FILE;
if (file) {
  writeFileSync(`${file}.${process.pid}.ready`, "");
  const session = new Session();
  session.connect();
  let tracking = false;
  let t0 = 0;
  let windows = 0;
  process.on("SIGUSR2", () => {
    if (!tracking) {
      tracking = true;
      session.post("HeapProfiler.enable");
      session.post("HeapProfiler.startTrackingHeapObjects", { trackAllocations: true });
      t0 = performance.now();
      return;
    }
    tracking = false;
    const windowMs = performance.now() - t0;
    const chunks: string[] = [];
    const onChunk = (m: { params: { chunk: string } }) => chunks.push(m.params.chunk);
    session.on("HeapProfiler.addHeapSnapshotChunk", onChunk);
    // stopping writes a heap snapshot whose trace_tree holds the tracker's counts
    session.post("HeapProfiler.stopTrackingHeapObjects", { reportProgress: false }, (err) => {
      session.off("HeapProfiler.addHeapSnapshotChunk", onChunk);
      const out = `${file}.${process.pid}.${++windows}.json`;
      // atomic: perfpack polls for this file, and must never read half of it
      if (err) return writeFileAtomic(out, JSON.stringify({ error: err.message }));
      writeFileAtomic(out, JSON.stringify({ windowMs, ...countAllocations(JSON.parse(chunks.join(""))) }));
      session.post("HeapProfiler.disable");
    });
  });
}

interface Snapshot {
  snapshot: { meta: { trace_function_info_fields: string[]; trace_node_fields: string[] } };
  trace_function_infos: number[];
  trace_tree: number[];
  strings: string[];
}

/** The allocation tracker's trace tree summed: objects and bytes, overall and by allocating function. */
function countAllocations(s: Snapshot) {
  const nf = s.snapshot.meta.trace_node_fields;
  const ff = s.snapshot.meta.trace_function_info_fields;
  const [fi, cnt, sz, ch] = ["function_info_index", "count", "size", "children"].map((k) => nf.indexOf(k)) as [
    number,
    number,
    number,
    number,
  ];
  const byFn = new Map<number, { objects: number; bytes: number }>();
  let objects = 0;
  let bytes = 0;
  const walk = (nodes: unknown[]) => {
    for (let i = 0; i < nodes.length; i += nf.length) {
      const f = nodes[i + fi] as number;
      const c = nodes[i + cnt] as number;
      const b = nodes[i + sz] as number;
      objects += c;
      bytes += b;
      const e = byFn.get(f) ?? { objects: 0, bytes: 0 };
      e.objects += c;
      e.bytes += b;
      byFn.set(f, e);
      walk(nodes[i + ch] as unknown[]);
    }
  };
  walk(s.trace_tree);
  const name = (f: number) => {
    const base = f * ff.length;
    const str = (k: string) => s.strings[s.trace_function_infos[base + ff.indexOf(k)]!] ?? "";
    const line = s.trace_function_infos[base + ff.indexOf("line")]!;
    return { fn: str("name") || "(anonymous)", script: str("script_name"), line: line >= 0 ? line + 1 : undefined };
  };
  const top = [...byFn.entries()]
    .sort((a, b) => b[1].objects - a[1].objects)
    .slice(0, 8)
    .map(([f, e]) => ({ ...name(f), ...e }));
  return { objects, bytes, top };
}
