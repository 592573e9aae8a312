// Prints the top self-time functions of V8 .cpuprofile files (as written by `node --cpu-prof`), with their share of
// the profile and of the non-idle time, so profiles of the two bench processes can be read without DevTools.
//
//   node --cpu-prof --cpu-prof-dir=/tmp/prof -r ts-node/register/transpile-only bench/enet-throughput.bench.ts \
//     --channel reliable --trials 1
//   node -r ts-node/register/transpile-only bench/cpuprofile-top.ts /tmp/prof/*.cpuprofile [--top 25]
//     [--under sendStream,receiveStream]
//
// --under keeps only the samples taken inside one of the named functions (the bench loops), which leaves start-up
// (ts-node compiling, the connection handshake) out of the percentages.
//
// Time spent inside a native addon call is charged to that call's own node (for example `service` or `send`);
// `(program)` is V8/native work outside any JS frame, `(garbage collector)` is GC, `(idle)` is the event loop waiting.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Self time per function (name + file + line), in microseconds, and the profile's total. */
export function selfTimes(
  profile: Profile,
  under: readonly string[] = [],
): { total: number; idle: number; byFunction: Map<string, number> } {
  const byId = new Map<number, ProfileNode>();
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  }
  const inside = new Map<number, boolean>();
  const isInside = (id: number): boolean => {
    if (under.length === 0) return true;
    let known = inside.get(id);
    if (known === undefined) {
      const node = byId.get(id);
      const parent = parentOf.get(id);
      known = (node !== undefined && under.includes(node.callFrame.functionName)) || (parent !== undefined && isInside(parent));
      inside.set(id, known);
    }
    return known;
  };
  const byFunction = new Map<string, number>();
  let total = 0;
  let idle = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // Each sample's time is the delta to the next sample (V8's convention: deltas[i] precedes samples[i]).
  for (let i = 0; i < samples.length; i++) {
    const dt = i + 1 < deltas.length ? deltas[i + 1] : 0;
    const node = byId.get(samples[i]);
    if (node === undefined || dt <= 0 || !isInside(node.id)) continue;
    const frame = node.callFrame;
    const name = frame.functionName || '(anonymous)';
    const where = frame.url ? ` ${basename(frame.url)}:${frame.lineNumber + 1}` : '';
    const key = `${name}${where}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + dt);
    total += dt;
    if (name === '(idle)') idle += dt;
  }
  return { total, idle, byFunction };
}

function main(): void {
  const args = process.argv.slice(2);
  let top = 25;
  let under: string[] = [];
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--top') top = Number(args[++i]);
    else if (args[i] === '--under') under = args[++i].split(',');
    else files.push(args[i]);
  }
  if (files.length === 0) throw new Error('Expected one or more .cpuprofile files');
  for (const file of files) {
    const { total, idle, byFunction } = selfTimes(JSON.parse(readFileSync(file, 'utf8')) as Profile, under);
    const busy = total - idle;
    const scope = under.length > 0 ? ` inside ${under.join(' or ')}` : '';
    console.log(`${basename(file)}: ${(total / 1e6).toFixed(2)} s sampled${scope}, ${(busy / 1e6).toFixed(2)} s not idle`);
    console.log('   self ms   % all  % busy  function');
    const rows = [...byFunction.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
    for (const [name, us] of rows) {
      const pctAll = ((100 * us) / total).toFixed(1).padStart(6);
      const pctBusy = name.startsWith('(idle)') ? '     -' : ((100 * us) / busy).toFixed(1).padStart(6);
      console.log(`${(us / 1000).toFixed(1).padStart(10)}  ${pctAll}  ${pctBusy}  ${name}`);
    }
    console.log('');
  }
}

if (require.main === module) main();
