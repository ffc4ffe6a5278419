import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  type Scalar,
  visit,
  type YAMLMap,
} from 'yaml';
import type { EnvSource } from './env.js';
import { formatPath } from './errors.js';

// Reading the parsed YAML document of a configuration file: where a config path is written
// (following aliases and merge keys), and what `toJS` would refuse, found first with a position.

type Path = readonly PropertyKey[];

/** A YAML 1.1 merge key (`<<: *defaults`): the `yaml` package reads a plain `<<` as a symbol. */
function isMergePair(p: Pair): boolean {
  return isScalar(p.key) && typeof p.key.value === 'symbol';
}

/** The mappings a merge key's value names: a mapping, an alias of one, or a list of those. */
function mergeSources(doc: Document, value: unknown): YAMLMap[] {
  const v = isAlias(value) ? value.resolve(doc) : value;
  const items: unknown[] = isSeq(v) ? v.items : [v];
  return items.map((i) => (isAlias(i) ? i.resolve(doc) : i)).filter((m) => isMap(m));
}

/**
 * The pairs a mapping's value is read from, by key, as the `yaml` package merges: the mapping's
 * own keys win, then each merge key in order, the mappings of a list in order (the first wins).
 */
function effectivePairs(doc: Document, map: YAMLMap, depth = 0): Map<string, Pair> {
  const out = new Map<string, Pair>();
  for (const p of map.items)
    if (!isMergePair(p)) out.set(String(isScalar(p.key) ? p.key.value : p.key), p);
  if (depth > 32) return out;
  for (const p of map.items) {
    if (!isMergePair(p)) continue;
    for (const src of mergeSources(doc, p.value))
      for (const [k, q] of effectivePairs(doc, src, depth + 1)) if (!out.has(k)) out.set(k, q);
  }
  return out;
}

/**
 * Finds the YAML node at a config path; falls back to the deepest node that exists. Through an
 * alias or a merge key it finds the node where the value is written (in the anchored mapping).
 */
export function nodeAt(doc: Document, path: Path, atKey: boolean): Node | undefined {
  let node: unknown = doc.contents;
  let last: Node | undefined = isNode(node) ? node : undefined;
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    const seg = path[i];
    if (isMap(node)) {
      const pair = effectivePairs(doc, node).get(String(seg));
      if (pair === undefined) return last;
      if (i === path.length - 1 && atKey && isNode(pair.key)) return pair.key;
      // a key without a value (`outbound:`): point at the key
      const vr = isNode(pair.value) ? pair.value.range : undefined;
      if (
        !isNode(pair.value) ||
        vr === undefined ||
        vr === null ||
        (isScalar(pair.value) && pair.value.value === null && vr[0] === vr[1])
      ) {
        return isNode(pair.key) ? pair.key : last;
      }
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (!isNode(item)) return last;
      node = item;
    } else return last;
    if (isNode(node)) last = node;
  }
  return last;
}

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && 'range' in v;
}

/** Calls `fn` for each scalar the configuration reads, at its config path (aliases, merges followed). */
function eachScalar(
  doc: Document,
  fn: (node: Scalar, path: readonly (string | number)[]) => void,
): void {
  const open = new Set<unknown>();
  const walk = (n: unknown, path: (string | number)[]): void => {
    const node = isAlias(n) ? n.resolve(doc) : n;
    if (isScalar(node)) {
      fn(node, path);
      return;
    }
    if ((!isMap(node) && !isSeq(node)) || open.has(node) || path.length > 64) return;
    open.add(node);
    if (isSeq(node)) for (const [i, it] of node.items.entries()) walk(it, [...path, i]);
    else for (const [k, p] of effectivePairs(doc, node)) walk(p.value, [...path, k]);
    open.delete(node);
  };
  walk(doc.contents, []);
}

/**
 * What `toJS` would throw on, found first with a position: an alias without its anchor, an alias
 * inside its own anchor, a merge key whose value is not a mapping (or alias of one, or list of them).
 */
export function aliasIssues(doc: Document): { offset: number; message: string }[] {
  const out: { offset: number; message: string }[] = [];
  visit(doc, {
    Alias(_, node, ancestors) {
      const target = node.resolve(doc);
      if (target === undefined)
        out.push({
          offset: node.range?.[0] ?? 0,
          message: `unknown alias *${node.source}: the anchor &${node.source} must come before it`,
        });
      else if (ancestors.includes(target as never))
        out.push({
          offset: node.range?.[0] ?? 0,
          message: `alias *${node.source} is inside its own anchor &${node.source}`,
        });
    },
    Pair(_, pair) {
      if (!isMergePair(pair)) return;
      const v = isAlias(pair.value) ? pair.value.resolve(doc) : pair.value;
      const items: unknown[] = isSeq(v) ? v.items : [pair.value];
      for (const it of items) {
        const m = isAlias(it) ? it.resolve(doc) : it;
        if (m === undefined && isAlias(it)) continue; // reported as an unknown alias
        if (isMap(m)) continue;
        const at = isNode(it) ? it.range?.[0] : undefined;
        out.push({
          offset: at ?? (isNode(pair.key) ? (pair.key.range?.[0] ?? 0) : 0),
          message:
            'a merge key (<<) takes a mapping, an alias of one (<<: *defaults) or a list of them (<<: [*a, *b])',
        });
      }
    },
  });
  return out;
}

/** An unquoted `proto:[IPv6]` listen string, e.g. `udp:[::1]:5060`. */
const UNQUOTED_IPV6_LISTEN = /(?<!["'\w])(?:udp|tcp|tls|sctp|wss?):\[[0-9a-f:.%]*\]/i;

/**
 * The hint for a YAML syntax error caused by an IPv6 listen string in a `[ ]` flow list, where
 * `[` and `:` are YAML syntax: `listen: [udp:[::1]:5060]` does not parse. Empty for other errors.
 */
export function ipv6ListenHint(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', Math.max(0, offset - 1)) + 1;
  const lineEnd = text.indexOf('\n', offset);
  const line = text.slice(lineStart, lineEnd === -1 ? text.length : lineEnd);
  if (!line.includes('[') || !UNQUOTED_IPV6_LISTEN.test(line)) return '';
  return ' (an IPv6 listen string inside a [ ] list must be quoted: listen: ["udp:[::1]:5060"], or written one per line as - udp:[::1]:5060)';
}

/** Each environment value also at the paths an alias or a merge key reads it at. */
export function withAliases(doc: Document, sources: readonly EnvSource[]): EnvSource[] {
  const out = [...sources];
  const byNode = new Map<Scalar, EnvSource>();
  for (const s of sources) if (s.node !== undefined) byNode.set(s.node, s);
  if (byNode.size === 0) return out;
  eachScalar(doc, (node, path) => {
    const s = byNode.get(node);
    if (s !== undefined && formatPath(path) !== formatPath(s.path)) out.push({ ...s, path });
  });
  return out;
}
