import type { Exporter } from "./exporter.js";
import { html } from "./html.js";
import { json } from "./json.js";
import { markdown } from "./markdown.js";

/** Every file format, written into the run folder by `run` and by `report`. */
export const EXPORTERS: readonly Exporter[] = [markdown, html, json];
