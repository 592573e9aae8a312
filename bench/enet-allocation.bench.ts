// Allocation per message over ENet (issue case f): 1,000,000 ReliableOrdered 64-byte messages between two netpeer
// peers in two processes on 127.0.0.1, through the public API only. This process is the sender (client): begin,
// writeUInt32(seq) + writeBytes(60 filler bytes), end. A forked child is the receiver (server): popEvent,
// readUInt32 + readBytes(60 bytes into a reused array), recycle. With `--payload words` both sides write and read
// the 60 bytes as 15 UInt32 instead (no byte-array call on either side).
//
// In each process, after the warm-up messages and a forced full GC, it measures over the timed messages:
// - heap growth: heapUsed after a final forced full GC minus heapUsed after the first one;
// - GC runs: PerformanceObserver 'gc' entries (by kind), and v8.GCProfiler as a cross-check (its count is collected
//   in V8, so it does not depend on the event loop delivering entries: the bench loops are synchronous);
// - bytes allocated: heapUsed growth between collections (from GCProfiler's before/after figures) plus the growth
//   after the last one, divided by the messages: what the side allocates per message.
//
//   node --expose-gc -r ts-node/register/transpile-only bench/enet-allocation.bench.ts [--messages 1000000]
//     [--warmup 100000] [--payload bytes|words] [--burst 128] [--max-queued 8192] [--pool 4096] [--trials 1]
//     [--sample-allocations]
//
// Pacing as in enet-throughput.bench.ts (reliable): bursts of `burst` messages with popEvent() drained between
// them, and no new burst while ENet holds more than `max-queued` bytes in its outgoing reliable queue
// (getStats(connection).pendingReliableBytes), so ENet's queue stays short and its memory flat.
//
// Find what allocates: `--sample-allocations` runs V8's sampling heap profiler in each process over the timed
// messages (keeping objects that GC already collected, which `node --heap-prof` drops) and prints the call paths
// that allocated most, with bytes per message. `node --trace-gc` shows when each GC ran.
import { Session } from 'node:inspector';
import { performance, PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { GCProfiler } from 'node:v8';
import { NetworkChannelType, NetworkEvent, NetworkEventType, NetworkPeer, NetworkStats, type NetworkConnection } from '../lib';
import { ChildSide, argInt, argValue, formatFixed, formatInt, isChildRole, machineInfo, listenForOne, runChildSide, spinUntil, waitForQuiet } from './bench-common';

/** Bytes of a data message: u32 sequence number + 60 payload bytes. */
const MESSAGE_BYTES = 64;
const PAYLOAD_WORDS = (MESSAGE_BYTES - 4) / 4;
/** Control messages (8 bytes: kind, value) from the receiver. */
const CONTROL_BYTES = 8;
const KIND_MEASURING = 1;
const KIND_DONE = 2;
const STALL_MS = 10_000;

type Payload = 'bytes' | 'words';

interface AllocationOptions {
  readonly messages: number;
  readonly warmup: number;
  readonly payload: Payload;
  readonly burst: number;
  readonly maxQueuedBytes: number;
  readonly pool: number;
  /** Run V8's sampling heap profiler over the timed messages in each process. */
  readonly sampleAllocations: boolean;
}

/** What one side measured over the timed messages. */
interface SideFigures {
  readonly messages: number;
  readonly seconds: number;
  readonly heapBeforeBytes: number;
  readonly heapAfterBytes: number;
  /** heapUsed after the final forced GC minus after the first: what the run left behind. */
  readonly heapGrowthBytes: number;
  /** PerformanceObserver 'gc' entries during the timed messages, and their kinds. */
  readonly gcRuns: number;
  readonly gcByKind: Record<string, number>;
  readonly gcPauseMs: number;
  /** GCs seen by v8.GCProfiler over the same span, and their V8 type names. */
  readonly gcProfilerRuns: number;
  readonly gcProfilerTypes: Record<string, number>;
  /** Bytes allocated on the JS heap over the timed messages (estimate: heapUsed growth summed across GCs). */
  readonly allocatedBytes: number;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  /** Receiver: messages that arrived out of order (must be 0). Sender: 0. */
  readonly orderErrors: number;
  readonly received: number;
  /** With --sample-allocations: the call paths that allocated most, with sampled bytes. */
  readonly topAllocations: { path: string; bytes: number }[];
}

const forceGc = (globalThis as { gc?: () => void }).gc;

const GC_KIND_NAMES: Record<number, string> = {
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** Lets the event loop run: 'gc' performance entries are delivered from it, never during a synchronous loop. */
async function letEventLoopRun(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 5));
}

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result as T))));
}

function frameName(frame: SamplingNode['callFrame']): string {
  const file = frame.url === '' ? '' : ` ${frame.url.replace(/^.*\/(lib|bench|node_modules)\//, '$1/')}:${frame.lineNumber + 1}`;
  return `${frame.functionName || '(anonymous)'}${file}`;
}

/** Sampled bytes by call path (the allocating function and its two callers), largest first. */
function topAllocationPaths(root: SamplingNode, count: number): { path: string; bytes: number }[] {
  const byPath = new Map<string, number>();
  const walk = (node: SamplingNode, stack: string[]): void => {
    const here = [...stack, frameName(node.callFrame)];
    if (node.selfSize > 0) {
      const path = here.slice(-3).reverse().join(' ← ');
      byPath.set(path, (byPath.get(path) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, here);
  };
  walk(root, []);
  return [...byPath.entries()]
    .map(([path, bytes]) => ({ path, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, count);
}

interface GcProfile {
  statistics: { gcType: string; beforeGC: { heapStatistics: { usedHeapSize: number } }; afterGC: { heapStatistics: { usedHeapSize: number } } }[];
}

/** Heap and GC figures over a span of a synchronous loop. */
class GcMeter {
  private observer: PerformanceObserver | undefined;
  private profiler: GCProfiler | undefined;
  private gcRuns = 0;
  private gcPauseMs = 0;
  private readonly gcByKind: Record<string, number> = {};
  private heapBefore = 0;
  private rssBefore = 0;
  private startedAt = 0;
  private session: Session | undefined;

  constructor(private readonly isSampling: boolean) {}

  /** Forces a full GC, lets its entry go by, then starts counting. */
  async start(): Promise<void> {
    if (this.isSampling) {
      this.session = new Session();
      this.session.connect();
      await post(this.session, 'HeapProfiler.enable');
      await post(this.session, 'HeapProfiler.startSampling', {
        samplingInterval: 4096,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    }
    if (forceGc === undefined) throw new Error('Run with node --expose-gc');
    forceGc();
    await letEventLoopRun();
    forceGc();
    await letEventLoopRun();
    this.heapBefore = process.memoryUsage().heapUsed;
    this.rssBefore = process.memoryUsage.rss();
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        this.gcRuns++;
        this.gcPauseMs += entry.duration;
        const kind = GC_KIND_NAMES[(entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'other';
        this.gcByKind[kind] = (this.gcByKind[kind] ?? 0) + 1;
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
    this.profiler = new GCProfiler();
    this.profiler.start();
    this.startedAt = performance.now();
  }

  /** Stops counting (after the event loop has delivered the pending entries), forces a full GC and reads the heap. */
  async stop(messages: number, extra: { orderErrors: number; received: number }): Promise<SideFigures> {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const heapAtEnd = process.memoryUsage().heapUsed;
    const profile = (this.profiler as GCProfiler).stop() as unknown as GcProfile | undefined;
    await letEventLoopRun();
    (this.observer as PerformanceObserver).disconnect();
    let topAllocations: { path: string; bytes: number }[] = [];
    if (this.session !== undefined) {
      const sampled = await post<{ profile: { head: SamplingNode } }>(this.session, 'HeapProfiler.stopSampling');
      topAllocations = topAllocationPaths(sampled.profile.head, 8);
      this.session.disconnect();
    }
    const statistics = profile?.statistics ?? [];
    const gcProfilerTypes: Record<string, number> = {};
    let allocated = 0;
    let usedAfterPrevious = this.heapBefore;
    for (const each of statistics) {
      gcProfilerTypes[each.gcType] = (gcProfilerTypes[each.gcType] ?? 0) + 1;
      allocated += Math.max(0, each.beforeGC.heapStatistics.usedHeapSize - usedAfterPrevious);
      usedAfterPrevious = each.afterGC.heapStatistics.usedHeapSize;
    }
    allocated += Math.max(0, heapAtEnd - usedAfterPrevious);
    (forceGc as () => void)();
    await letEventLoopRun();
    (forceGc as () => void)();
    const heapAfter = process.memoryUsage().heapUsed;
    return {
      messages,
      seconds,
      heapBeforeBytes: this.heapBefore,
      heapAfterBytes: heapAfter,
      heapGrowthBytes: heapAfter - this.heapBefore,
      gcRuns: this.gcRuns,
      gcByKind: this.gcByKind,
      gcPauseMs: this.gcPauseMs,
      gcProfilerRuns: statistics.length,
      gcProfilerTypes,
      allocatedBytes: allocated,
      rssBeforeBytes: this.rssBefore,
      rssAfterBytes: process.memoryUsage.rss(),
      orderErrors: extra.orderErrors,
      received: extra.received,
      topAllocations,
    };
  }
}

function sendControl(peer: NetworkPeer, target: NetworkConnection, kind: number, value: number): void {
  const message = peer.beginSendMessage();
  message.writeUInt32(kind);
  message.writeUInt32(value);
  peer.endSendMessage(NetworkChannelType.ReliableOrdered, message, target);
  peer.flush();
}

// ---------------------------------------------------------------------------------------------------------------
// Receiver (forked child)

async function receive(options: AllocationOptions, ready: (port: number) => Promise<void>): Promise<SideFigures> {
  const peer = NetworkPeer.createPeer({ driver: 'enet', address: '127.0.0.1', port: 0, messagePoolSize: options.pool });
  try {
    const sender = await listenForOne(peer, ready, 'the sender to connect');
    const event = new NetworkEvent();
    const scratch = new Uint8Array(MESSAGE_BYTES - 4);
    const isWords = options.payload === 'words';
    let expected = 0;
    let received = 0;
    let orderErrors = 0;
    let checksum = 0;

    /** Receives until `count` data messages in all have arrived (synchronous: no allocation from the harness). */
    const receiveUntil = (count: number): void => {
      let lastProgress = performance.now();
      let idle = 0;
      while (received < count) {
        if (!peer.popEvent(event)) {
          if ((++idle & 4095) === 0 && performance.now() - lastProgress > STALL_MS) {
            throw new Error(`No message for ${STALL_MS} ms after ${received} of ${count}`);
          }
          continue;
        }
        if (event.eventType === NetworkEventType.Message) {
          const message = event.message as NetworkMessageLike;
          const seq = message.readUInt32();
          if (seq !== expected) orderErrors++;
          expected = seq + 1;
          if (isWords) {
            for (let w = 0; w < PAYLOAD_WORDS; w++) checksum = (checksum + message.readUInt32()) | 0;
          } else {
            message.readBytes(scratch);
            checksum = (checksum + scratch[seq % scratch.length]) | 0;
          }
          received++;
          peer.recycleMessage(event.message!);
          if ((received & 1023) === 0) {
            lastProgress = performance.now();
            idle = 0;
          }
        } else if (event.eventType === NetworkEventType.Disconnected || event.eventType === NetworkEventType.Timeout) {
          throw new Error(`The sender went away after ${received} messages (event ${event.eventType})`);
        }
      }
    };

    receiveUntil(options.warmup);
    const meter = new GcMeter(options.sampleAllocations);
    await meter.start();
    sendControl(peer, sender, KIND_MEASURING, received);
    receiveUntil(options.warmup + options.messages);
    const figures = await meter.stop(options.messages, { orderErrors, received });
    sendControl(peer, sender, KIND_DONE, received);
    // Until the sender hangs up (it does on DONE), so DONE surely gets there.
    const lingerUntil = performance.now() + 3000;
    while (performance.now() < lingerUntil) {
      if (!peer.popEvent(event)) continue;
      if (event.message !== null) peer.recycleMessage(event.message);
      if (event.eventType === NetworkEventType.Disconnected || event.eventType === NetworkEventType.Timeout) break;
    }
    if (checksum === 0x7fff_ffff) console.error('(checksum)'); // keeps the reads from being optimized away
    return figures;
  } finally {
    NetworkPeer.shutdownPeer(peer);
  }
}

type NetworkMessageLike = NonNullable<NetworkEvent['message']>;

// ---------------------------------------------------------------------------------------------------------------
// Sender (this process)

async function runTrial(options: AllocationOptions): Promise<{ sender: SideFigures; receiver: SideFigures }> {
  const child = new ChildSide<SideFigures>(__filename, 'receiver', options);
  let peer: NetworkPeer | undefined;
  let senderFigures: SideFigures;
  try {
    const port = await child.port;
    peer = NetworkPeer.createPeer({ driver: 'enet', address: '127.0.0.1', port, messagePoolSize: options.pool });
    const server = peer.connect();
    const event = new NetworkEvent();
    spinUntil(() => peer!.popEvent(event) && event.eventType === NetworkEventType.Connected, 5000, 'the connection');

    const filler = new Uint8Array(MESSAGE_BYTES - 4).fill(0xab);
    const isWords = options.payload === 'words';
    const stats = new NetworkStats();
    const p = peer;
    let seq = 0;
    let lastKind = 0;

    /** Drains events, noting the kind of the last control message seen in `lastKind`. */
    const drain = (): void => {
      while (p.popEvent(event)) {
        if (event.eventType === NetworkEventType.Message) {
          const message = event.message as NetworkMessageLike;
          if (message.length === CONTROL_BYTES) lastKind = message.readUInt32();
          p.recycleMessage(message);
        } else if (event.eventType === NetworkEventType.Disconnected || event.eventType === NetworkEventType.Timeout) {
          throw new Error(`The receiver went away (event ${event.eventType}, reason ${event.reason})`);
        }
      }
    };
    /** Sends up to `total` messages in all, paced on ENet's queue, servicing between bursts. */
    const sendUntil = (total: number): void => {
      while (seq < total) {
        if (p.getStats(server, stats).pendingReliableBytes <= options.maxQueuedBytes) {
          for (let n = 0; seq < total && n < options.burst; n++, seq++) {
            const message = p.beginSendMessage();
            message.writeUInt32(seq);
            if (isWords) {
              for (let w = 0; w < PAYLOAD_WORDS; w++) message.writeUInt32(seq + w);
            } else {
              message.writeBytes(filler);
            }
            p.endSendMessage(NetworkChannelType.ReliableOrdered, message);
          }
        }
        drain();
      }
    };
    /** Services ENet until the receiver sends `kind`. */
    const waitFor = (kind: number, what: string): void => {
      const deadline = performance.now() + STALL_MS;
      let rounds = 0;
      while (lastKind !== kind) {
        drain();
        if ((++rounds & 1023) === 0 && performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
      }
    };

    sendUntil(options.warmup);
    waitFor(KIND_MEASURING, 'the receiver to finish the warm-up');
    const meter = new GcMeter(options.sampleAllocations);
    await meter.start();
    sendUntil(options.warmup + options.messages);
    waitFor(KIND_DONE, 'the receiver to get every message');
    senderFigures = await meter.stop(options.messages, { orderErrors: 0, received: 0 });
  } catch (error) {
    child.kill();
    throw error;
  } finally {
    if (peer !== undefined) NetworkPeer.shutdownPeer(peer);
  }
  return { sender: senderFigures, receiver: await child.result };
}

const kib = (bytes: number): string => `${formatFixed(bytes / 1024, 1)} KiB`;
const kinds = (record: Record<string, number>): string =>
  Object.keys(record).length === 0 ? '-' : Object.entries(record).map(([k, v]) => `${k} ${v}`).join(', ');

function printTable(rows: { side: string; figures: SideFigures }[]): void {
  console.log('| Side | Messages/s | Heap growth (after full GC) | GC runs (PerformanceObserver) | GC pause | GC runs (GCProfiler) | Allocated on the JS heap | Per message | RSS before → after |');
  console.log('| --- | ---: | ---: | --- | ---: | --- | ---: | ---: | --- |');
  for (const { side, figures: f } of rows) {
    console.log(
      `| ${side} | ${formatInt(f.messages / f.seconds)} | ${kib(f.heapGrowthBytes)} | ${f.gcRuns} (${kinds(f.gcByKind)}) | ${formatFixed(f.gcPauseMs, 2)} ms | ` +
        `${f.gcProfilerRuns} (${kinds(f.gcProfilerTypes)}) | ${kib(f.allocatedBytes)} | ${formatFixed(f.allocatedBytes / f.messages, 2)} B | ` +
        `${formatFixed(f.rssBeforeBytes / 1048576, 1)} → ${formatFixed(f.rssAfterBytes / 1048576, 1)} MB |`,
    );
  }
}

async function main(): Promise<void> {
  if (forceGc === undefined) throw new Error('Run with node --expose-gc (the heap is read after forced full collections)');
  const options: AllocationOptions = {
    messages: argInt('messages', 1_000_000),
    warmup: argInt('warmup', 100_000),
    payload: argValue('payload', 'bytes') as Payload,
    burst: argInt('burst', 128),
    maxQueuedBytes: argInt('max-queued', 8192),
    pool: argInt('pool', 4096),
    sampleAllocations: process.argv.includes('--sample-allocations'),
  };
  if (options.payload !== 'bytes' && options.payload !== 'words') throw new RangeError('Expected --payload bytes or words');
  const trials = argInt('trials', 1);
  const info = machineInfo();
  console.log(
    `enet-allocation: ${formatInt(options.messages)} ReliableOrdered messages of ${MESSAGE_BYTES} bytes after ${formatInt(options.warmup)} warm-up, ` +
      `payload as ${options.payload === 'bytes' ? 'writeBytes/readBytes (60 bytes)' : '15 x writeUInt32/readUInt32'}; burst ${options.burst}, ` +
      `max queued ${options.maxQueuedBytes} B, pool ${options.pool}`,
  );
  console.log(`${info.date}, ${info.cpu} (${info.cores} cores), Node ${info.node}, Linux ${info.kernel}, commit ${info.commit}`);
  for (let trial = 1; trial <= trials; trial++) {
    await waitForQuiet();
    const { sender, receiver } = await runTrial(options);
    if (receiver.received !== options.warmup + options.messages || receiver.orderErrors !== 0) {
      throw new Error(`Reliable stream broken: ${receiver.received} arrived, ${receiver.orderErrors} out of order`);
    }
    console.log(`trial ${trial}: all ${formatInt(receiver.received)} messages arrived in order`);
    printTable([
      { side: 'sender (bench process)', figures: sender },
      { side: 'receiver (child)', figures: receiver },
    ]);
    for (const [side, figures] of [['sender', sender], ['receiver', receiver]] as const) {
      if (figures.topAllocations.length === 0) continue;
      console.log(`Sampled allocations, ${side} (call path: allocating function ← caller ← caller; bytes per timed message):`);
      for (const each of figures.topAllocations) console.log(`  ${formatFixed(each.bytes / figures.messages, 2).padStart(7)} B  ${each.path}`);
    }
  }
}

if (isChildRole('receiver')) {
  runChildSide(receive);
} else if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
