/**
 * Compares V8 heap snapshots (.heapsnapshot, e.g. from `node --heapsnapshot-signal=SIGUSR2`):
 * object counts and self sizes by constructor (type:name) in each, and the biggest growers from
 * the first to the last.
 * Run: node dist/bench/heap-snapshot-diff.js <first.heapsnapshot> [<middle>...] <last.heapsnapshot> [--top N]
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Count and self size per `type:name`. */
export type Census = Map<string, { count: number; size: number }>;

/** Objects of one snapshot grouped by type and constructor/name (strings grouped by type only). */
export function census(snapshot: HeapSnapshot): Census {
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const out: Census = new Map();
  const { nodes, strings } = snapshot;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const byName = type === 'object' || type === 'closure' || type === 'native' || type === 'hidden';
    const name = byName ? strings[nodes[i + nameAt]].slice(0, 60) : '';
    const key = `${type}:${name}`;
    const entry = out.get(key) ?? { count: 0, size: 0 };
    entry.count += 1;
    entry.size += nodes[i + sizeAt];
    out.set(key, entry);
  }
  return out;
}

function main(argv: string[]): void {
  let top = 30;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--top') top = Number(argv[++i]);
    else files.push(argv[i]);
  }
  if (files.length < 2) throw new Error('usage: heap-snapshot-diff <first> [...] <last> [--top N]');
  const all = files.map((f) => census(JSON.parse(readFileSync(f, 'utf8')) as HeapSnapshot));
  for (const [i, c] of all.entries()) {
    let count = 0;
    let size = 0;
    for (const v of c.values()) {
      count += v.count;
      size += v.size;
    }
    console.log(`${basename(files[i])}: ${count} nodes, ${(size / 1048576).toFixed(1)} MiB self size`);
  }
  const first = all[0];
  const last = all[all.length - 1];
  const keys = new Set([...first.keys(), ...last.keys()]);
  const rows = [...keys].map((k) => ({
    key: k,
    counts: all.map((c) => c.get(k)?.count ?? 0),
    sizes: all.map((c) => c.get(k)?.size ?? 0),
  }));
  rows.sort((a, b) => b.sizes[b.sizes.length - 1] - b.sizes[0] - (a.sizes[a.sizes.length - 1] - a.sizes[0]));
  console.log(`\ntop ${top} growers by self size (first → … → last): count / KiB`);
  for (const r of rows.slice(0, top)) {
    const cells = r.counts.map((c, i) => `${c} / ${(r.sizes[i] / 1024).toFixed(0)}`).join('  →  ');
    console.log(`${r.key.padEnd(50)} ${cells}`);
  }
}

if (require.main === module) main(process.argv.slice(2));
