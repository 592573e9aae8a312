// Helpers shared by the ENet benches: the child-process harness (the other side of a trial runs in its own process,
// so the two sides use both cores as two game processes would), the summary of repeated trials, and the machine
// description printed beside the figures.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { extname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NetworkEvent, NetworkEventType, NetworkStats, type NetworkConnection, type NetworkPeer } from '../lib';
import { setNativeBinding } from '../lib/drivers/enet-binding';

/**
 * Whether this bench runs as JavaScript compiled by `tsc -p bench/tsconfig.compiled.json` (into
 * bench/.build/js/bench/) rather than through ts-node.
 */
export const IS_COMPILED = extname(__filename) === '.js';

/** Repository root: bench/ is one level down, or four from bench/.build/js/bench/ when compiled. */
export const REPO_ROOT = IS_COMPILED ? join(__dirname, '..', '..', '..', '..') : join(__dirname, '..');

/**
 * NETPEER_BENCH_ADDON=/path/to/netpeer_enet.node runs the benches on another build of the addon (to try a change to
 * native-bindings/ side by side with the current build, or to keep a fixed build while the tree is being rebuilt).
 * Forked children inherit it.
 */
export const ADDON_OVERRIDE = process.env.NETPEER_BENCH_ADDON;
if (ADDON_OVERRIDE !== undefined && ADDON_OVERRIDE !== '') setNativeBinding(ADDON_OVERRIDE);
// Compiled, lib/ sits in bench/.build/js/lib/, where its own path to the addon does not lead to the build.
else if (IS_COMPILED) setNativeBinding(join(REPO_ROOT, 'native-bindings', 'build', 'Release', 'netpeer_enet.node'));

/** Median, min and max of repeated trials. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly values: readonly number[];
}

/** Summarizes trial values; the median of an even count is the mean of the middle two. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN, values };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], values };
}

/** `1,234,567` */
export function formatInt(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

/** `12.3` */
export function formatFixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

/** A value of `process.argv` given as `--name=value` or `--name value`, or `fallback`. */
export function argValue(name: string, fallback: string): string {
  const argv = process.argv;
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === `--${name}` && i + 1 < argv.length) return argv[i + 1];
    if (argv[i].startsWith(`--${name}=`)) return argv[i].slice(name.length + 3);
  }
  return fallback;
}

/** A positive integer option (underscores allowed: `--messages 2_000_000`). */
export function argInt(name: string, fallback: number): number {
  const value = Number(argValue(name, String(fallback)).replace(/_/g, ''));
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`Expected --${name} to be a non-negative integer`);
  return value;
}

/**
 * The far side of a trial: this same bench file forked with `--child <role> <json options>`. It inherits the
 * parent's execArgv (so `-r ts-node/register/transpile-only`, and `--cpu-prof` when profiling). It first sends
 * `{ port }` over IPC, and at the end `{ result }` or `{ error }`.
 */
export class ChildSide<TResult> {
  readonly process: ChildProcess;
  readonly port: Promise<number>;
  readonly result: Promise<TResult>;

  constructor(file: string, role: string, options: object) {
    const child = fork(file, ['--child', role, JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.process = child;
    let resolvePort: (port: number) => void = () => undefined;
    let rejectPort: (error: Error) => void = () => undefined;
    this.port = new Promise<number>((resolve, reject) => {
      resolvePort = resolve;
      rejectPort = reject;
    });
    this.result = new Promise<TResult>((resolve, reject) => {
      let settled = false;
      child.on('message', (message: { port?: number; result?: TResult; error?: string }) => {
        if (message.port !== undefined) resolvePort(message.port);
        if (message.result !== undefined) {
          settled = true;
          resolve(message.result);
        }
        if (message.error !== undefined) {
          settled = true;
          const error = new Error(`${role} failed: ${message.error}`);
          rejectPort(error);
          reject(error);
        }
      });
      child.on('exit', (code, signal) => {
        if (settled) return;
        const error = new Error(`${role} exited (code ${code}, signal ${signal}) without a result`);
        rejectPort(error);
        reject(error);
      });
    });
    // Whoever awaits `port` reports a failure; this keeps an unawaited rejection of `result` from crashing us first.
    this.result.catch(() => undefined);
  }

  /** Ends the child if it is still there (after a failure on our side). */
  kill(): void {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill();
  }
}

/** Runs `body` as the child side of a trial: reports its port through `ready`, then its result, then exits. */
export function runChildSide<TOptions, TResult>(
  body: (options: TOptions, ready: (port: number) => Promise<void>) => TResult,
): void {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error('Expected to run as a forked child (with an IPC channel)');
  const options = JSON.parse(process.argv[4]) as TOptions;
  const ready = (port: number): Promise<void> => new Promise((resolve) => send({ port }, undefined, {}, () => resolve()));
  // The body runs a tight synchronous loop once it has the port out, so it must start after the IPC write is done.
  void (async () => {
    let message: object;
    try {
      message = { result: await body(options, ready) };
    } catch (error) {
      message = { error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
    }
    send(message, undefined, {}, () => process.exit(0));
  })();
}

/** True when this file was forked as the child side of a trial with the given role. */
export function isChildRole(role: string): boolean {
  return process.argv[2] === '--child' && process.argv[3] === role;
}

/** What a result table must say about where it was measured. */
export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly date: string;
  readonly commit: string;
  readonly load: string;
  readonly kernel: string;
}

export function machineInfo(): MachineInfo {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((each) => each.startsWith('model name'));
    if (line !== undefined) cpu = line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // not Linux: keep os.cpus()
  }
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    if (dirty.length > 0) commit += ' (plus uncommitted changes)';
  } catch {
    // not a git checkout
  }
  let kernel: string = process.platform;
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // not Linux
  }
  return {
    cpu,
    cores: cpus().length,
    node: process.version,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commit,
    load: loadavg()
      .map((each) => each.toFixed(2))
      .join(' '),
    kernel,
  };
}

/** CPU time of the whole machine from /proc/stat: busy and total jiffies, or undefined off Linux. */
function readCpuJiffies(): { busy: number; total: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = fields[3] + (fields[4] ?? 0); // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Share (0-1) of the machine's CPU time that was busy over the next `ms` milliseconds. */
export async function busyShare(ms: number): Promise<number> {
  const before = readCpuJiffies();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = readCpuJiffies();
  if (before === undefined || after === undefined || after.total === before.total) return 0;
  return (after.busy - before.busy) / (after.total - before.total);
}

/**
 * Waits until the machine is quiet (under `threshold` of all cores busy over 300 ms) before a trial starts: each
 * trial needs both cores, and anything else running (a test suite, a build) makes ENet's RTT estimate jump and its
 * throttle cut the window. Gives up after `maxWaitMs`.
 * @returns how long it waited and whether the machine was quiet in the end
 */
export async function waitForQuiet(threshold = 0.2, maxWaitMs = 60_000): Promise<{ waitedMs: number; isQuiet: boolean }> {
  const started = performance.now();
  for (;;) {
    const share = await busyShare(300);
    const waitedMs = performance.now() - started;
    if (share < threshold) return { waitedMs, isQuiet: true };
    if (waitedMs > maxWaitMs) return { waitedMs, isQuiet: false };
    await new Promise((resolve) => setTimeout(resolve, 700));
  }
}

/** Busy-waits (the bench loops are synchronous) until `predicate` holds or `timeoutMs` passes. */
export function spinUntil(predicate: () => boolean, timeoutMs: number, what: string): void {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}

const IS_DEBUG = process.env.BENCH_DEBUG !== undefined && process.env.BENCH_DEBUG !== '';

/**
 * BENCH_DEBUG=1: samples the reliable bytes a connection has queued in ENet and not yet put on the wire
 * (`getStats().pendingReliableBytes`, which walks ENet's queue), to check that a pacing keeps that queue short.
 * Undefined when off.
 */
export function debugQueueSampler(peer: NetworkPeer, connection: NetworkConnection): { sample(): void; report(label: string): void } | undefined {
  if (!IS_DEBUG) return undefined;
  const stats = new NetworkStats();
  let max = 0;
  let sum = 0;
  let count = 0;
  return {
    sample(): void {
      peer.getStats(connection, stats);
      max = Math.max(max, stats.pendingReliableBytes);
      sum += stats.pendingReliableBytes;
      count++;
    },
    report(label: string): void {
      console.error(`[${label}] ENet queued reliable bytes: max ${max}, mean ${(sum / Math.max(1, count)).toFixed(0)} (${count} samples)`);
    },
  };
}

/**
 * BENCH_DEBUG=1: records the gaps between two turns of a bench loop (a turn normally takes microseconds), to find
 * stalls: GC pauses, JIT work or the other process stealing the core. Undefined when off.
 */
export function debugGapRecorder(): { note(now: number): void; report(label: string): void } | undefined {
  if (!IS_DEBUG) return undefined;
  let previous = 0;
  let over1ms = 0;
  let over1msTotal = 0;
  const worst: { at: number; gap: number }[] = [];
  const started = performance.now();
  return {
    note(now: number): void {
      const gap = previous === 0 ? 0 : now - previous;
      previous = now;
      if (gap < 1) return;
      over1ms++;
      over1msTotal += gap;
      worst.push({ at: now - started, gap });
      worst.sort((a, b) => b.gap - a.gap);
      if (worst.length > 5) worst.length = 5;
    },
    report(label: string): void {
      const list = worst.map((w) => `${w.gap.toFixed(1)} ms at ${w.at.toFixed(0)} ms`).join(', ');
      console.error(`[${label}] loop stalls over 1 ms: ${over1ms}, ${over1msTotal.toFixed(1)} ms in all; worst: ${list}`);
    },
  };
}

/**
 * BENCH_DEBUG=2: a line every 100 ms with the connection's ENet figures (round trip, resends, bytes queued and
 * unacknowledged) and how many messages went through, to watch a run that slows down. Undefined when off.
 */
export function debugTimeline(peer: NetworkPeer, connection: NetworkConnection, label: string): { tick(count: number): void } | undefined {
  if (process.env.BENCH_DEBUG !== '2') return undefined;
  const stats = new NetworkStats();
  const started = performance.now();
  let next = started + 100;
  let lastCount = 0;
  return {
    tick(count: number): void {
      const now = performance.now();
      if (now < next) return;
      next = now + 100;
      peer.getStats(connection, stats);
      console.error(
        `[${label} ${(now - started).toFixed(0).padStart(5)} ms] +${count - lastCount} messages, rtt ${stats.rttMs} ms ` +
          `(var ${stats.rttVarianceMs}), resent ${stats.packetsLost}, queued ${stats.pendingReliableBytes} B, ` +
          `unacked ${stats.unacknowledgedBytes} B`,
      );
      lastCount = count;
    },
  };
}

/** BENCH_DEBUG=1: prints a connection's ENet figures (round trip, resends, queues) from `getStats()`. */
export function debugEnetStats(peer: NetworkPeer, connection: NetworkConnection, label: string): void {
  if (!IS_DEBUG) return;
  const c = peer.getStats(connection);
  const host = peer.getStats();
  console.error(
    `[${label}] rtt ${c.rttMs} ms (variance ${c.rttVarianceMs}), reliable commands sent ${c.packetsSent}, resent ${c.packetsLost}, ` +
      `messages sent ${c.messagesSent}, received ${c.messagesReceived}, pool high water ${host.poolHighWater}, ` +
      `receive stalls ${host.receiveStalls}, service errors ${host.serviceErrors}`,
  );
}

/**
 * The listening side of a two-process trial: listens on `peer`, hands its OS-picked port to `ready`, and waits (at
 * most 30 s) for the one peer of the trial to connect.
 * @returns the connection to that peer
 */
export async function listenForOne(peer: NetworkPeer, ready: (port: number) => Promise<void>, what: string): Promise<NetworkConnection> {
  peer.listen();
  await ready(peer.localPort);
  const event = new NetworkEvent();
  spinUntil(() => peer.popEvent(event) && event.eventType === NetworkEventType.Connected, 30_000, what);
  return event.sender;
}

/** Throws unless a reliable stream arrived whole and in order; unreliable streams may lose messages. */
export function checkReliableStream(who: string, isReliable: boolean, received: number, sent: number, orderErrors: number): void {
  if (isReliable && (received !== sent || orderErrors !== 0)) {
    throw new Error(`${who}: reliable stream broken: ${received} of ${sent} arrived, ${orderErrors} out of order`);
  }
}
