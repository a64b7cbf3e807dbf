// Builds services/executor/dist/bundle.cjs, so the guide's own commands work as written:
//   node --cpu-prof --cpu-prof-dir=runtime/perf services/executor/dist/bundle.cjs
// Dependencies stay in node_modules (external); only our sources are bundled.
import { build } from "esbuild";

await build({
  entryPoints: ["services/executor/src/index.ts"],
  outfile: "services/executor/dist/bundle.cjs",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  packages: "external",
  sourcemap: true,
  // the sources are ES modules; in CommonJS, import.meta.url comes from __filename
  define: { "import.meta.url": "__bundleUrl" },
  banner: { js: 'const __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  logLevel: "warning",
});
