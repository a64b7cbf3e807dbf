/**
 * A YAML document as plain values (mappings → objects, sequences → arrays, scalars → strings, an
 * empty value → null), read with prettier's YAML parser: prettier is a dev dependency already, and
 * the project has no YAML library of its own. Enough for a workflow file: no anchors, tags, or
 * documents after the first, and scalars stay strings (`20`, `true`).
 */
import * as prettier from "prettier";
import * as yamlPlugin from "prettier/plugins/yaml";

interface YamlNode {
  type: string;
  value?: string;
  children?: (YamlNode | null)[];
}

/** prettier's parse, which its public types leave out (`__debug` is how its own tests reach it). */
const debug = (prettier as unknown as { __debug: { parse(t: string, o: object): Promise<{ ast: YamlNode }> } }).__debug;

const kids = (n: YamlNode): (YamlNode | null)[] => n.children ?? [];
const first = (n: YamlNode | null | undefined): YamlNode | null => (n ? (kids(n)[0] ?? null) : null);

function plain(n: YamlNode | null): unknown {
  if (!n) return null;
  switch (n.type) {
    case "mapping":
    case "flowMapping":
      return Object.fromEntries(
        kids(n).map((item) => [String(plain(first(kids(item!)[0]))), plain(first(kids(item!)[1]))]),
      );
    case "sequence":
    case "flowSequence":
      return kids(n).map((item) => plain(first(item)));
    case "plain":
    case "quoteDouble":
    case "quoteSingle":
    case "blockLiteral":
    case "blockFolded":
      return n.value;
    default:
      throw new Error(`a YAML ${n.type} node: not read by this helper`);
  }
}

/** The first document of `text`; a syntax error throws. */
export async function parseYaml(text: string): Promise<unknown> {
  const { ast } = await debug.parse(text, { parser: "yaml", plugins: [yamlPlugin] });
  const body = kids(first(ast)!).find((c) => c?.type === "documentBody");
  return plain(first(body));
}
