// TEMPORARY STUB (not committed): the helper's history-html.ts replaces it
import type { HistoryDocument } from "../verdict/trend.js";
export function historyHtml(doc: HistoryDocument, _o: { outDir: string }): string {
  return `<!doctype html><pre>${JSON.stringify(doc.series.length)}</pre>`;
}
