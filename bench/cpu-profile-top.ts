/**
 * Prints the top self-time and inclusive frames of V8 .cpuprofile files (from `node --cpu-prof`).
 * Run: node dist/bench/cpu-profile-top.js <file-or-dir>... [--top N] [--match text]
 * Inclusive time counts a function once per sample even when it recurses.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Self and inclusive microseconds per frame key, plus the profile's total. */
export interface FrameTimes {
  totalUs: number;
  self: Map<string, number>;
  inclusive: Map<string, number>;
}

function frameKey(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const url = frame.url.replace(/^file:\/\//, '');
  const short = url.includes('node_modules/')
    ? url.slice(url.lastIndexOf('node_modules/') + 13)
    : url.replace(/^.*\/dist\//, 'dist/');
  return `${name} ${short}:${frame.lineNumber + 1}`;
}

/** Self and inclusive time per frame of one profile. */
export function frameTimes(profile: CpuProfile): FrameTimes {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    totalUs += us;
    const node = byId.get(id);
    if (!node) continue;
    const key = frameKey(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = frameKey((byId.get(cur) as ProfileNode).callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  return { totalUs, self, inclusive };
}

function top(map: Map<string, number>, totalUs: number, n: number, match?: string): string[] {
  return [...map.entries()]
    .filter(([k]) => !match || k.includes(match))
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([k, us]) =>
        `${((100 * us) / totalUs).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`,
    );
}

function files(paths: string[]): string[] {
  return paths.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p)
          .filter((f) => f.endsWith('.cpuprofile'))
          .map((f) => join(p, f))
      : [p],
  );
}

function main(argv: string[]): void {
  let n = 25;
  let match: string | undefined;
  const paths: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--top') n = Number(argv[++i]);
    else if (argv[i] === '--match') match = argv[++i];
    else paths.push(argv[i]);
  }
  for (const file of files(paths)) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const t = frameTimes(profile);
    const idle = t.self.get('(idle)') ?? 0;
    console.log(
      `\n=== ${basename(file)}: ${(t.totalUs / 1e6).toFixed(1)} s sampled, busy ${((100 * (t.totalUs - idle)) / t.totalUs).toFixed(1)} %`,
    );
    console.log('--- self');
    for (const line of top(t.self, t.totalUs, n, match)) console.log(line);
    console.log('--- inclusive');
    for (const line of top(t.inclusive, t.totalUs, n, match)) console.log(line);
  }
}

if (require.main === module) main(process.argv.slice(2));
