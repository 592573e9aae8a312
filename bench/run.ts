// Runs every ENet bench case for netpeer and for C ENet (the same trials, alternating netpeer and C so that drift on
// the machine hits both), prints a table of median/min/max with the netpeer/C ratios and the targets, and writes it
// to bench/RESULTS.md with the machine, Node version, date and commit. About 2 minutes on 2 cores.
//
//   node -r ts-node/register/transpile-only bench/run.ts [--trials 5] [--messages 2000000] [--round-trips 100000]
//     [--no-cross] [--no-others] [--no-write]
//
// --no-cross skips the mixed pairs (C sender to netpeer receiver and the reverse), which show which side of a
// netpeer pair limits its one-way rate. --no-others skips the other Node options (the npm package `enet`,
// bench/npm-enet.bench.ts, and raw `dgram`, bench/dgram.bench.ts), run after the ENet cases with their own
// defaults. --no-write prints the table without touching bench/RESULTS.md.
import { copyFileSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setNativeBinding, DEFAULT_ADDON_PATH } from '../lib/drivers/enet-binding';
import { compileCommand, ensureBuilt, runCPingPong } from './c-enet';
import {
  ADDON_OVERRIDE,
  argInt,
  busyShare,
  formatFixed,
  formatInt,
  machineInfo,
  summarize,
  waitForQuiet,
  type MachineInfo,
  type Summary,
} from './bench-common';
import { DEFAULT_DGRAM_OPTIONS, runDgramThroughput, type DgramResult } from './dgram.bench';
import { DEFAULT_NPM_ENET_OPTIONS, checkNpmEnet, runNpmEnetThroughput, type NpmEnetOptions, type NpmEnetResult } from './npm-enet.bench';
import { DEFAULT_PINGPONG_OPTIONS, runNetpeerPingPong, type PingPongOptions, type PingPongResult } from './enet-pingpong.bench';
import {
  DEFAULT_THROUGHPUT_OPTIONS,
  checkThroughput,
  runMixedThroughput,
  type Implementation,
  type ThroughputChannel,
  type ThroughputOptions,
  type ThroughputResult,
} from './enet-throughput.bench';

/** What the issue asks of netpeer. */
const TARGET_RELIABLE_RATE = 1_500_000;
const TARGET_RTT_RATIO = 1.25;

interface Row {
  readonly label: string;
  readonly unit: string;
  readonly digits: number;
  readonly netpeer: Summary;
  readonly c?: Summary;
  /** How the ratio reads: netpeer/C for both rates and times. */
  readonly ratioNote?: string;
}

const hasFlag = (name: string): boolean => process.argv.includes(`--${name}`);

let busyTrials = 0;
let rerunTrials = 0;
/**
 * Runs one trial on a quiet machine: waits for quiet first, and runs the trial again (twice at most) when the machine
 * is busy right after it, since something else then most likely ran during it. Other work on the machine (a test
 * suite, a build) takes one of the two cores from a busy-polling side and can halve a figure.
 */
async function quietly<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const { isQuiet } = await waitForQuiet();
    const result = await run();
    const share = await busyShare(300);
    if (share < 0.2 || attempt === 2) {
      if (!isQuiet || share >= 0.2) busyTrials++;
      return result;
    }
    rerunTrials++;
    console.log(`  (machine busy after the trial: ${(share * 100).toFixed(0)}% CPU; running it again)`);
  }
}

async function throughputCase(
  channel: ThroughputChannel,
  trials: number,
  messages: number,
): Promise<{ netpeer: ThroughputResult[]; c: ThroughputResult[] }> {
  const options: ThroughputOptions = { ...DEFAULT_THROUGHPUT_OPTIONS[channel], channel, messages };
  const results = { netpeer: [] as ThroughputResult[], c: [] as ThroughputResult[] };
  for (let trial = 1; trial <= trials; trial++) {
    for (const kind of ['netpeer', 'c'] as const) {
      const result = await quietly(() => runMixedThroughput(options, kind, kind));
      checkThroughput(result, options, kind);
      results[kind].push(result);
      const loss = channel === 'unreliable' ? `, loss ${formatFixed(result.lossRate * 100, 3)}%` : '';
      console.log(`  ${channel} trial ${trial} ${kind.padEnd(7)} ${formatInt(result.rate).padStart(10)} messages/s${loss}`);
    }
  }
  return results;
}

async function crossCase(trials: number, messages: number): Promise<Record<string, ThroughputResult[]>> {
  const options: ThroughputOptions = { ...DEFAULT_THROUGHPUT_OPTIONS.reliable, channel: 'reliable', messages };
  const pairs: [Implementation, Implementation][] = [
    ['c', 'netpeer'],
    ['netpeer', 'c'],
  ];
  const results: Record<string, ThroughputResult[]> = {};
  for (let trial = 1; trial <= trials; trial++) {
    for (const [sender, receiver] of pairs) {
      const key = `${sender}->${receiver}`;
      const result = await quietly(() => runMixedThroughput(options, sender, receiver));
      checkThroughput(result, options, key);
      (results[key] ??= []).push(result);
      console.log(`  cross trial ${trial} ${key.padEnd(12)} ${formatInt(result.rate).padStart(10)} messages/s`);
    }
  }
  return results;
}

async function pingPongCase(trials: number, options: PingPongOptions): Promise<{ netpeer: PingPongResult[]; c: PingPongResult[] }> {
  const results = { netpeer: [] as PingPongResult[], c: [] as PingPongResult[] };
  for (let trial = 1; trial <= trials; trial++) {
    for (const kind of ['netpeer', 'c'] as const) {
      const result = await quietly(() => (kind === 'netpeer' ? runNetpeerPingPong(options) : runCPingPong(options)));
      results[kind].push(result);
      console.log(
        `  ping-pong trial ${trial} ${kind.padEnd(7)} ${formatInt(result.perSecond).padStart(7)} round trips/s, ` +
          `mean ${formatFixed(result.meanUs, 2)} us, p99 ${formatFixed(result.p99Us, 2)} us`,
      );
    }
  }
  return results;
}

interface OtherResults {
  readonly npmReliable: NpmEnetResult[];
  readonly npmUnreliable: NpmEnetResult[];
  readonly dgram: DgramResult[];
}

/** The other Node options, alternating within each trial: npm `enet` reliable, npm `enet` unreliable, raw dgram. */
async function otherCase(trials: number): Promise<OtherResults> {
  const results: OtherResults = { npmReliable: [], npmUnreliable: [], dgram: [] };
  for (let trial = 1; trial <= trials; trial++) {
    for (const channel of ['reliable', 'unreliable'] as const) {
      const options: NpmEnetOptions = { ...DEFAULT_NPM_ENET_OPTIONS[channel], channel };
      const result = await quietly(() => runNpmEnetThroughput(options));
      checkNpmEnet(result, options);
      (channel === 'reliable' ? results.npmReliable : results.npmUnreliable).push(result);
      const loss = channel === 'unreliable' ? `, loss ${formatFixed(result.lossRate * 100, 3)}%` : '';
      console.log(`  npm enet ${channel.padEnd(10)} trial ${trial} ${formatInt(result.rate).padStart(10)} messages/s${loss}`);
    }
    const result = await quietly(() => runDgramThroughput(DEFAULT_DGRAM_OPTIONS));
    results.dgram.push(result);
    console.log(
      `  dgram               trial ${trial} ${formatInt(result.rate).padStart(10)} datagrams/s received, ` +
        `${formatInt(result.sendRate)}/s sent, loss ${formatFixed(result.lossRate * 100, 2)}%`,
    );
  }
  return results;
}

/** A row of the other-options table: its figures, and the netpeer row it is compared with (netpeer / this). */
interface OtherRow {
  readonly label: string;
  readonly unit: string;
  readonly digits: number;
  readonly value: Summary;
  readonly netpeer?: { readonly label: string; readonly median: number };
}

function renderOtherTable(rows: readonly OtherRow[]): string {
  const lines = [
    '| Case | median | min | max | netpeer case (median) | netpeer / this (medians) |',
    '| --- | ---: | ---: | ---: | --- | ---: |',
  ];
  for (const row of rows) {
    const f = (v: number): string => formatValue(v, row.digits);
    const n = row.netpeer;
    lines.push(
      `| ${row.label} (${row.unit}) | ${f(row.value.median)} | ${f(row.value.min)} | ${f(row.value.max)} | ` +
        `${n ? `${n.label} (${formatInt(n.median)})` : ''} | ${n && row.value.median > 0 ? (n.median / row.value.median).toFixed(2) : ''} |`,
    );
  }
  return lines.join('\n');
}

function formatValue(value: number, digits: number): string {
  return digits === 0 ? formatInt(value) : formatFixed(value, digits);
}

function renderTable(rows: readonly Row[]): string {
  const lines = [
    '| Case | netpeer median | netpeer min | netpeer max | C ENet median | C ENet min | C ENet max | netpeer / C (medians) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of rows) {
    const f = (v: number): string => formatValue(v, row.digits);
    const c = row.c;
    const ratio = c !== undefined && c.median !== 0 ? `${(row.netpeer.median / c.median).toFixed(2)}${row.ratioNote ?? ''}` : '';
    lines.push(
      `| ${row.label} (${row.unit}) | ${f(row.netpeer.median)} | ${f(row.netpeer.min)} | ${f(row.netpeer.max)} | ` +
        `${c ? f(c.median) : ''} | ${c ? f(c.min) : ''} | ${c ? f(c.max) : ''} | ${ratio} |`,
    );
  }
  return lines.join('\n');
}

function renderReport(
  machine: MachineInfo,
  addon: string,
  rows: readonly Row[],
  crossRows: readonly Row[],
  otherRows: readonly OtherRow[],
  verdicts: readonly string[],
  settings: readonly string[],
  seconds: number,
): string {
  const cross =
    crossRows.length === 0
      ? ''
      : [
          '',
          '### Mixed pairs (which side limits the one-way rate)',
          '',
          'The C twin speaks the same protocol, so either side of a reliable one-way trial can be C. A pair runs at the rate of',
          'its slower side.',
          '',
          '| Sender → receiver | median | min | max |',
          '| --- | ---: | ---: | ---: |',
          ...crossRows.map(
            (row) => `| ${row.label} | ${formatInt(row.netpeer.median)} | ${formatInt(row.netpeer.min)} | ${formatInt(row.netpeer.max)} |`,
          ),
        ].join('\n');
  const others =
    otherRows.length === 0
      ? ''
      : [
          '',
          '### Other Node options (same one-way trial, 64-byte messages)',
          '',
          'The npm package `enet` 0.2.9 (ENet 1.3.5 compiled to JavaScript with emscripten; bench/npm-enet.bench.ts) and raw',
          '`dgram`, one datagram per message (bench/dgram.bench.ts). The last column divides the matching netpeer median above',
          'by this one.',
          '',
          renderOtherTable(otherRows),
        ].join('\n');
  return [
    '# ENet benchmark results',
    '',
    'Written by `bench/run.ts` (see bench/README.md); do not edit by hand, run the benches again.',
    '',
    `- Date: ${machine.date}`,
    `- Commit: ${machine.commit}`,
    `- Machine: ${machine.cpu}, ${machine.cores} cores, Linux ${machine.kernel}; load average at start ${machine.load}`,
    `- Node: ${machine.node}; addon: ${addon}`,
    `- C ENet: npm package enet.c, built with \`${compileCommand('enet-throughput').slice(0, 3).join(' ')}\``,
    `- Whole run: ${seconds.toFixed(0)} s; ${rerunTrials} trials run again because the machine was busy right after them` +
      (busyTrials > 0 ? `; ${busyTrials} trials kept although the machine stayed busy (figures less reliable)` : ''),
    '',
    '## Results',
    '',
    renderTable(rows),
    cross,
    others,
    '',
    '## Targets',
    '',
    ...verdicts.map((each) => `- ${each}`),
    '',
    '## Settings',
    '',
    ...settings.map((each) => `- ${each}`),
    '',
  ].join('\n');
}

/**
 * Runs every trial on a copy of the addon taken now, so a rebuild of native-bindings/ during the run (npm ci, a
 * test script) cannot pull the file from under a trial. Children inherit the environment variable.
 */
function snapshotAddon(): string {
  if (ADDON_OVERRIDE !== undefined && ADDON_OVERRIDE !== '') return `NETPEER_BENCH_ADDON=${ADDON_OVERRIDE}`;
  if (!existsSync(DEFAULT_ADDON_PATH)) throw new Error(`No addon at ${DEFAULT_ADDON_PATH}: build it with node native-bindings/build.js`);
  const dir = join(__dirname, '.build');
  mkdirSync(dir, { recursive: true });
  const snapshot = join(dir, 'netpeer_enet.snapshot.node');
  copyFileSync(DEFAULT_ADDON_PATH, snapshot);
  process.env.NETPEER_BENCH_ADDON = snapshot;
  setNativeBinding(snapshot);
  return `native-bindings/build/Release/netpeer_enet.node built ${statSync(DEFAULT_ADDON_PATH).mtime.toISOString().replace(/\.\d+Z$/, 'Z')} (copied at start)`;
}

async function main(): Promise<void> {
  const started = Date.now();
  const addon = snapshotAddon();
  const trials = argInt('trials', 5);
  const messages = argInt('messages', DEFAULT_THROUGHPUT_OPTIONS.reliable.messages);
  const pingPong: PingPongOptions = { ...DEFAULT_PINGPONG_OPTIONS, roundTrips: argInt('round-trips', DEFAULT_PINGPONG_OPTIONS.roundTrips) };
  const machine = machineInfo();
  ensureBuilt();
  console.log(`bench/run.ts: ${trials} trials per case on ${machine.cpu} (${machine.cores} cores), Node ${machine.node}, ${machine.commit}`);

  const reliable = await throughputCase('reliable', trials, messages);
  const unreliable = await throughputCase('unreliable', trials, messages);
  const cross = hasFlag('no-cross') ? {} : await crossCase(trials, messages);
  const pp = await pingPongCase(trials, pingPong);
  const other = hasFlag('no-others') ? undefined : await otherCase(trials);

  const rate = (results: ThroughputResult[]): Summary => summarize(results.map((r) => r.rate));
  const lossPct = (results: ThroughputResult[]): Summary => summarize(results.map((r) => r.lossRate * 100));
  const ppOf = (results: PingPongResult[], key: 'perSecond' | 'meanUs' | 'p50Us' | 'p99Us'): Summary =>
    summarize(results.map((r) => r[key]));
  const rows: Row[] = [
    { label: 'One-way ReliableOrdered 64 B', unit: 'messages/s', digits: 0, netpeer: rate(reliable.netpeer), c: rate(reliable.c) },
    { label: 'One-way Unreliable 64 B', unit: 'messages/s', digits: 0, netpeer: rate(unreliable.netpeer), c: rate(unreliable.c) },
    { label: 'One-way Unreliable 64 B loss', unit: '%', digits: 3, netpeer: lossPct(unreliable.netpeer), c: lossPct(unreliable.c) },
    { label: 'Ping-pong ReliableOrdered', unit: 'round trips/s', digits: 0, netpeer: ppOf(pp.netpeer, 'perSecond'), c: ppOf(pp.c, 'perSecond') },
    { label: 'Ping-pong RTT mean', unit: 'µs', digits: 2, netpeer: ppOf(pp.netpeer, 'meanUs'), c: ppOf(pp.c, 'meanUs') },
    { label: 'Ping-pong RTT p50', unit: 'µs', digits: 2, netpeer: ppOf(pp.netpeer, 'p50Us'), c: ppOf(pp.c, 'p50Us') },
    { label: 'Ping-pong RTT p99', unit: 'µs', digits: 2, netpeer: ppOf(pp.netpeer, 'p99Us'), c: ppOf(pp.c, 'p99Us') },
  ];
  const crossRows: Row[] = Object.entries(cross).map(([pair, results]) => ({
    label: pair.replace('->', ' → ').replace(/\bc\b/g, 'C ENet'),
    unit: 'messages/s',
    digits: 0,
    netpeer: rate(results),
  }));

  const netpeerReliable = { label: 'ReliableOrdered', median: rows[0].netpeer.median };
  const netpeerUnreliable = { label: 'Unreliable', median: rows[1].netpeer.median };
  const otherRows: OtherRow[] =
    other === undefined
      ? []
      : [
          { label: 'npm enet, reliable', unit: 'messages/s', digits: 0, value: rate(other.npmReliable), netpeer: netpeerReliable },
          { label: 'npm enet, unreliable (unsequenced)', unit: 'messages/s', digits: 0, value: rate(other.npmUnreliable), netpeer: netpeerUnreliable },
          { label: 'npm enet, unreliable loss', unit: '%', digits: 3, value: lossPct(other.npmUnreliable) },
          { label: 'dgram, received', unit: 'datagrams/s', digits: 0, value: summarize(other.dgram.map((r) => r.rate)), netpeer: netpeerUnreliable },
          { label: 'dgram, sent', unit: 'datagrams/s', digits: 0, value: summarize(other.dgram.map((r) => r.sendRate)) },
          { label: 'dgram, loss', unit: '%', digits: 2, value: summarize(other.dgram.map((r) => r.lossRate * 100)) },
        ];

  const reliableMedian = rows[0].netpeer.median;
  const rttRatio = rows[4].netpeer.median / (rows[4].c?.median ?? NaN);
  const p99Ratio = rows[6].netpeer.median / (rows[6].c?.median ?? NaN);
  const verdicts = [
    `One-way ReliableOrdered >= ${formatInt(TARGET_RELIABLE_RATE)} messages/s (median): ${formatInt(reliableMedian)} → ` +
      `**${reliableMedian >= TARGET_RELIABLE_RATE ? 'met' : 'missed'}** (C ENet: ${formatInt(rows[0].c!.median)}, netpeer/C ${(reliableMedian / rows[0].c!.median).toFixed(2)})`,
    `Ping-pong RTT within ${TARGET_RTT_RATIO}x of C ENet (median of per-trial means): ${rttRatio.toFixed(2)}x → ` +
      `**${rttRatio <= TARGET_RTT_RATIO ? 'met' : 'missed'}** (p99: ${p99Ratio.toFixed(2)}x)`,
  ];
  const r = DEFAULT_THROUGHPUT_OPTIONS.reliable;
  const u = DEFAULT_THROUGHPUT_OPTIONS.unreliable;
  const settings = [
    `One-way: ${formatInt(messages)} timed messages after ${formatInt(r.warmup)} warm-up on the same connection, 64 bytes each ` +
      '(u32 sequence + 60 filler bytes), timed at the receiver from the first to the last timed message; messagePoolSize ' +
      `${r.pool}. The sender sends bursts of ${r.burst} and services ENet between bursts. Reliable: no new burst while ENet ` +
      `holds more than ${formatInt(r.maxQueuedBytes)} queued bytes (getStats().pendingReliableBytes; the C twin reads the ` +
      `same list); every run is checked complete and in order. Unreliable: at most ${formatInt(u.window)} messages ahead of ` +
      `the receiver's credit, sent every ${formatInt(u.creditEvery)} messages. Why: bench/enet-throughput.bench.ts.`,
    `Ping-pong: ${formatInt(pingPong.roundTrips)} timed round trips after ${formatInt(pingPong.warmup)} warm-up, 64-byte ReliableOrdered ` +
      'message echoed by the server, flush() after each send on both sides, tight popEvent() loops.',
    ...(other === undefined
      ? []
      : [
          `npm enet (bench/npm-enet.bench.ts): ${formatInt(DEFAULT_NPM_ENET_OPTIONS.reliable.messages)} timed messages after ` +
            `${formatInt(DEFAULT_NPM_ENET_OPTIONS.reliable.warmup)} warm-up, the same layout and timing; both hosts serviced by ` +
            `hand (host._service() once per event-loop turn, not the package's 10 ms interval); the sender sends bursts of ` +
            `${DEFAULT_NPM_ENET_OPTIONS.reliable.burst}, at most ${formatInt(DEFAULT_NPM_ENET_OPTIONS.reliable.window)} (reliable) / ` +
            `${formatInt(DEFAULT_NPM_ENET_OPTIONS.unreliable.window)} (unreliable) messages ahead of the receiver's reliable credit, ` +
            `and holds back while its dgram send queue holds over ${formatInt(DEFAULT_NPM_ENET_OPTIONS.reliable.maxSendQueue)} bytes; ` +
            'reliable runs are checked complete and in order.',
          `dgram (bench/dgram.bench.ts): ${formatInt(DEFAULT_DGRAM_OPTIONS.messages)} timed datagrams after ` +
            `${formatInt(DEFAULT_DGRAM_OPTIONS.warmup)} warm-up, one 64-byte datagram per message from a connected socket, ` +
            `bursts of ${DEFAULT_DGRAM_OPTIONS.burst} per event-loop turn with the send queue kept under ` +
            `${DEFAULT_DGRAM_OPTIONS.maxSendQueue} datagrams and no credit window (the sender runs as fast as it can; the kernel ` +
            'drops what the receiver cannot take); received datagrams/s first to last, loss = timed datagrams that never arrived.',
        ]),
    `${trials} trials per case, netpeer and C alternating; every trial is a fresh pair of processes (netpeer: the ` +
      'measuring side is the bench process, the other side a forked child), started once the machine is quiet ' +
      '(under 20% CPU busy), since both processes busy-poll one core each.',
    'Commands: `node -r ts-node/register/transpile-only bench/run.ts` (all of this); `bench/enet-throughput.bench.ts`, ' +
      '`bench/enet-pingpong.bench.ts` and `bench/c-enet.ts` run their part alone.',
  ];

  const seconds = (Date.now() - started) / 1000;
  const report = renderReport(machine, addon, rows, crossRows, otherRows, verdicts, settings, seconds);
  console.log('');
  console.log(report);
  if (!hasFlag('no-write')) {
    writeFileSync(join(__dirname, 'RESULTS.md'), report);
    console.log(`Written to bench/RESULTS.md`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
