// Scale (issue case h): one netpeer ENet server and 1,000 connected clients on 127.0.0.1. The server runs in this
// process on a 60 Hz tick (drain popEvent(), echo every message back to its sender on ReliableOrdered, flush()). The
// clients run in forked processes (bench/scale-clients.ts, 250 per process by default), each process's clients in
// one 60 Hz loop; every client sends 20 numbered 32-byte ReliableOrdered messages a second (one every 3rd tick,
// clients spread evenly over the ticks) and checks that every echo comes back, in order.
//
//   npm run bench:scale -- [--clients 1000] [--processes 4] [--rate 20] [--warmup 10] [--seconds 30] [--pool 8192]
//     [--drain 2000] [--receive-buffer 4194304] [--share-cores]
//
// `npm run bench:scale` compiles this file (and lib/) with tsc into bench/.build/js/ and runs it with plain node, as
// a game server runs in production. Through ts-node (`node -r ts-node/register/transpile-only bench/scale.ts`, which
// works too) the TypeScript compiler stays in the heap: ~30 MB instead of ~7, and every mark-compact takes 17-32 ms
// instead of 2-9 on this machine, longer than the 8 ms tick target.
//
// The client processes stand in for 1,000 players' machines, so by default they do not compete with the server for
// its core: the server process (all its threads) is pinned to core 0 and the client processes to the other cores, in
// Linux's SCHED_IDLE class (taskset and chrt, util-linux). --share-cores runs everything at the same priority on every
// core instead. Sharing, four clients and the server on this machine's two cores, the slowest server ticks are the
// preempted ones: one involuntary context switch and 3-4 ms on the run queue each (read from
// /proc/thread-self/schedstat while investigating; the table counts preempted ticks), a client that woke for its own
// tick running its slice on the server's core. Nice 10 or 19 clients measured the same (p99 11.6 and 10.0 ms, with
// the --client-nice option this bench had at commit f2c9814); SCHED_IDLE clients alone still took the core whenever a
// long tick used up its slice (perf sched: the server switched out runnable, an idle client switched in; p99 8.55 ms
// with --client-priority idle at commit 1fe4706). Pinned, fewer ticks are preempted (the table counts them).
//
// --warmup (default 10 s) covers V8's memory reducer: about 8 s after the last mark-compact of start-up (the full
// GCs before the baseline RSS reading), it runs a few GCs of its own to shrink the heap. They clean up start-up
// garbage and do not come back in steady state (nothing is allocated per message), so they belong in the warm-up;
// --warmup 5 puts them in the window.
//
// --receive-buffer is the server's socketReceiveBufferBytes (default 4 MiB, this machine's net.core.rmem_max): about
// 40,000 datagrams a second reach the server, ~650 between two ticks, and ENet's own 256 KiB buffer holds about 300
// small ones, so with it the kernel drops datagrams every tick and ENet resends them (run with --receive-buffer 262144
// to see that: the UDP drop counter below).
//
// Measured: time to connect all clients (from the moment the client processes are told to connect, every client
// connecting at once, until the server and every client process have seen all Connected events); over a steady
// window of `--seconds` after `--warmup` seconds of traffic: the server's tick duration p50/p99/max, how late ticks
// start, the server's CPU (process.cpuUsage) and the whole machine's, RSS and RSS per connection ((RSS with all
// clients connected − RSS before listen()) / clients, each read after a full GC; and, since V8 handing back pages
// moves RSS by tens of MB, the same difference of RSS outside the JS heap plus JS heapUsed), GCs; at the end: messages lost or out of order, from the
// clients' totals (sent − echoed) and from the server's check of each client's sequence on arrival.
//
// A profile of the server alone (client processes are started without --cpu-prof / --heap-prof):
//   node --cpu-prof --cpu-prof-dir=/tmp/scaleprof -r ts-node/register/transpile-only bench/scale.ts
//   node -r ts-node/register/transpile-only bench/cpuprofile-top.ts /tmp/scaleprof/*.cpuprofile --under serverTick
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { NetworkChannelType, NetworkEvent, NetworkEventType, NetworkPeer, NetworkStats } from '../lib';
import { IS_COMPILED, argInt, formatFixed, formatInt, machineInfo, waitForQuiet } from './bench-common';
import { RTT_BUCKET_MS, RTT_BUCKETS, type ScaleClientOptions, type ScaleClientReport, type ScaleCommand } from './scale-clients';

const TICK_MS = 1000 / 60;

interface ScaleOptions {
  readonly clients: number;
  readonly processes: number;
  readonly rate: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly pool: number;
  readonly drainMs: number;
  readonly connectTimeoutMs: number;
  readonly receiveBufferBytes: number;
  readonly shareCores: boolean;
}

const Phase = { Connecting: 0, Warmup: 1, Steady: 2, Draining: 3, Done: 4 } as const;
type Phase = (typeof Phase)[keyof typeof Phase];

/** Busy and total jiffies of the whole machine (/proc/stat), or undefined off Linux. */
function machineJiffies(): { busy: number; total: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    return { busy: total - fields[3] - (fields[4] ?? 0), total };
  } catch {
    return undefined;
  }
}

/** The machine's UDP counters (/proc/net/snmp): datagrams in and out, and datagrams dropped for a full receive buffer. */
export function udpCounters(): { inDatagrams: number; outDatagrams: number; receiveBufferErrors: number } | undefined {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((line) => line.startsWith('Udp:'));
    const names = lines[0].split(/\s+/);
    const values = lines[1].split(/\s+/).map(Number);
    const at = (name: string): number => values[names.indexOf(name)];
    return { inDatagrams: at('InDatagrams'), outDatagrams: at('OutDatagrams'), receiveBufferErrors: at('RcvbufErrors') };
  } catch {
    return undefined;
  }
}

function percentile(sorted: ArrayLike<number>, share: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))];
}

function histogramPercentile(histogram: ArrayLike<number>, share: number, bucketMs: number): number {
  let total = 0;
  for (let i = 0; i < histogram.length; i++) total += histogram[i];
  if (total === 0) return NaN;
  const wanted = share * total;
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i];
    if (seen >= wanted) return (i + 0.5) * bucketMs;
  }
  return histogram.length * bucketMs;
}

const mb = (bytes: number): string => formatFixed(bytes / 1048576, 1);

/**
 * A full GC before each RSS reading, so that garbage (ts-node's compiler above all) does not count as memory the
 * connections take, and a major GC of it does not land in the steady window.
 */
const collectGarbage: () => void =
  (globalThis as { gc?: () => void }).gc ??
  (() => {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  })();

/** Runs a util-linux tool (taskset, chrt) on a process, with an error that says how to do without it. */
function schedule(tool: string, args: string[]): void {
  try {
    execFileSync(tool, args, { stdio: 'ignore' });
  } catch (error) {
    throw new Error(`${tool} ${args.join(' ')} failed (it needs Linux and util-linux; --share-cores runs without it): ${String(error)}`);
  }
}

/** Pins a process and all its threads to core 0. */
function pinToCore0(pid: number): void {
  schedule('taskset', ['--all-tasks', '--pid', '--cpu-list', '0', String(pid)]);
}

/** Puts a client process on the cores other than 0 (when there are any) and in the SCHED_IDLE class. */
function keepOffServerCore(pid: number, cores: number): void {
  if (cores > 1) schedule('taskset', ['--all-tasks', '--pid', '--cpu-list', `1-${cores - 1}`, String(pid)]);
  schedule('chrt', ['--idle', '--all-tasks', '--pid', '0', String(pid)]);
}

/** Flags for the client processes: the parent's, without profiling (a profile is of the server alone). */
function childExecArgv(): string[] {
  return process.execArgv.filter((flag) => !/^--(cpu-prof|heap-prof|prof)/.test(flag));
}

async function main(): Promise<void> {
  const options: ScaleOptions = {
    clients: argInt('clients', 1000),
    processes: argInt('processes', 4),
    rate: argInt('rate', 20),
    warmupSeconds: argInt('warmup', 10),
    seconds: argInt('seconds', 30),
    pool: argInt('pool', 8192),
    drainMs: argInt('drain', 2000),
    connectTimeoutMs: argInt('connect-timeout', 60_000),
    receiveBufferBytes: argInt('receive-buffer', 4 * 1024 * 1024),
    shareCores: process.argv.includes('--share-cores'),
  };
  if (60 % options.rate !== 0) throw new RangeError('Expected --rate to divide 60 (a message every whole number of ticks)');
  const sendEveryTicks = 60 / options.rate;
  const info = machineInfo();
  console.log(
    `scale: ${formatInt(options.clients)} clients in ${options.processes} processes, ${options.rate} ReliableOrdered messages/s each ` +
      `(32 bytes, one every ${sendEveryTicks} ticks), server echoes each; warm-up ${options.warmupSeconds} s, steady window ${options.seconds} s`,
  );
  console.log(`${info.date}, ${info.cpu} (${info.cores} cores), Node ${info.node}, Linux ${info.kernel}, commit ${info.commit}, load ${info.load}`);
  console.log(
    `server run ${IS_COMPILED ? 'as JavaScript compiled by tsc' : 'through ts-node'}; ` +
      (options.shareCores
        ? 'server and client processes share every core at the same priority (--share-cores)'
        : `server pinned to core 0, client processes to ${info.cores > 2 ? `cores 1-${info.cores - 1}` : 'core 1'} in SCHED_IDLE (they stand in for remote machines)`),
  );
  await waitForQuiet();
  // Let V8 hand back the pages of start-up garbage (ts-node's compiler) before the baseline is read.
  for (let i = 0; i < 3; i++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  collectGarbage();
  const beforeCreate = process.memoryUsage();
  const rssBeforeCreate = beforeCreate.rss;
  const server = NetworkPeer.createPeer({
    driver: 'enet',
    address: '127.0.0.1',
    port: 0,
    connectionsLimit: Math.max(1024, options.clients),
    messagePoolSize: options.pool,
    socketReceiveBufferBytes: options.receiveBufferBytes,
  });
  collectGarbage();
  const beforeListen = process.memoryUsage();
  const rssBeforeListen = beforeListen.rss;
  if (!options.shareCores) pinToCore0(process.pid);
  server.listen();
  const port = server.localPort;

  // ---- server tick --------------------------------------------------------------------------------------------
  const event = new NetworkEvent();
  const expectedByClient = new Uint32Array(options.clients);
  const maxTicks = Math.ceil((options.seconds + 1) * 60);
  const steadyDurations = new Float64Array(maxTicks);
  const steadyLateness = new Float64Array(maxTicks);
  const steadyCpuMs = new Float64Array(maxTicks);
  const steadyMessages = new Float64Array(maxTicks);
  const steadyPreemptions = new Float64Array(maxTicks);
  let steadyTicks = 0;
  let phase: Phase = Phase.Connecting;
  let connected = 0;
  let dropped = 0;
  let received = 0;
  let echoed = 0;
  let arrivalErrors = 0;
  let allConnectedAt = 0;
  let rssAllConnected = 0;
  let memoryEndOfSteady = process.memoryUsage();
  let nextTickAt = 0;
  let tickCount = 0;
  let echoFailures = 0;
  let lastError = '';

  const serverTick = (): void => {
    while (server.popEvent(event)) {
      const type = event.eventType;
      if (type === NetworkEventType.Message) {
        const message = event.message as NonNullable<NetworkEvent['message']>;
        const seq = message.readUInt32();
        const index = message.readUInt32();
        if (index < expectedByClient.length) {
          if (seq !== expectedByClient[index]) arrivalErrors++;
          expectedByClient[index] = seq + 1;
        }
        received++;
        try {
          const echo = server.beginSendMessage();
          echo.writeUInt32(seq);
          echo.writeUInt32(index);
          // The rest is copied as int32 words: the f64 send time read as a uint32 can exceed 2^31 - 1, which V8 boxes
          // as a heap number when it is passed on, and that garbage (~8 bytes a message) set off GCs in the window.
          for (let w = 0; w < 6; w++) echo.writeInt32(message.readInt32());
          server.endSendMessage(NetworkChannelType.ReliableOrdered, echo, event.sender);
          echoed++;
        } catch (error) {
          echoFailures++;
          lastError = String(error);
        }
        server.recycleMessage(message);
      } else if (type === NetworkEventType.Connected) {
        if (++connected === options.clients) allConnectedAt = performance.now();
      } else if (phase !== Phase.Draining && phase !== Phase.Done) {
        dropped++;
        console.error(`[scale] server: connection ${event.sender.connectionId} ended (event ${type}, reason ${event.reason})`);
      }
    }
    server.flush();
  };

  let gcRuns = 0;
  let gcMaxMs = 0;
  let gcTotalMs = 0;
  const gcObserver = new PerformanceObserver((list) => {
    if (phase !== Phase.Steady) return;
    for (const entry of list.getEntries()) {
      gcRuns++;
      gcTotalMs += entry.duration;
      gcMaxMs = Math.max(gcMaxMs, entry.duration);
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });

  let timer: NodeJS.Timeout | undefined;
  const loop = (): void => {
    const isRecorded = phase === Phase.Steady && steadyTicks < maxTicks;
    const usageBefore = isRecorded ? process.resourceUsage() : undefined;
    const receivedBefore = received;
    const began = performance.now();
    const lateness = began - nextTickAt;
    serverTick();
    const took = performance.now() - began;
    if (usageBefore !== undefined) {
      const usage = process.resourceUsage();
      steadyDurations[steadyTicks] = took;
      steadyLateness[steadyTicks] = lateness;
      steadyCpuMs[steadyTicks] = (usage.userCPUTime - usageBefore.userCPUTime + usage.systemCPUTime - usageBefore.systemCPUTime) / 1000;
      steadyPreemptions[steadyTicks] = usage.involuntaryContextSwitches - usageBefore.involuntaryContextSwitches;
      steadyMessages[steadyTicks++] = received - receivedBefore;
    }
    tickCount++;
    nextTickAt += TICK_MS;
    const now = performance.now();
    if (nextTickAt < now - TICK_MS) nextTickAt = now;
    if (phase !== Phase.Done) timer = setTimeout(loop, Math.max(0, nextTickAt - now));
  };
  nextTickAt = performance.now();
  loop();

  // ---- client processes ---------------------------------------------------------------------------------------
  const children: ChildProcess[] = [];
  const reports: ScaleClientReport[] = [];
  const clientConnectMs: number[] = [];
  let readyCount = 0;
  let nextIndex = 0;
  const reportsDone = new Promise<void>((resolveReports, rejectReports) => {
    for (let p = 0; p < options.processes; p++) {
      const count = Math.floor(options.clients / options.processes) + (p < options.clients % options.processes ? 1 : 0);
      const childOptions: ScaleClientOptions = { port, count, firstIndex: nextIndex, sendEveryTicks, drainMs: options.drainMs };
      nextIndex += count;
      const child = fork(join(__dirname, `scale-clients${extname(__filename)}`), [JSON.stringify(childOptions)], {
        execArgv: childExecArgv(),
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child.on('message', (message: { type: string; report?: ScaleClientReport; ms?: number }) => {
        if (message.type === 'ready') readyCount++;
        else if (message.type === 'connected') clientConnectMs.push(message.ms as number);
        else if (message.type === 'report') {
          reports.push(message.report as ScaleClientReport);
          if (reports.length === options.processes) resolveReports();
        }
      });
      child.on('exit', (code) => {
        if (code !== 0 && phase !== Phase.Done) rejectReports(new Error(`A client process exited with code ${code}`));
      });
      if (!options.shareCores && child.pid !== undefined) keepOffServerCore(child.pid, info.cores);
      children.push(child);
    }
  });
  reportsDone.catch(() => undefined);
  const tellAll = (command: ScaleCommand): void => {
    for (const child of children) child.send(command);
  };
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  const waitUntil = async (predicate: () => boolean, timeoutMs: number): Promise<boolean> => {
    const deadline = performance.now() + timeoutMs;
    while (!predicate()) {
      if (performance.now() > deadline) return false;
      await sleep(20);
    }
    return true;
  };

  let connectMs = NaN;
  let stats = new NetworkStats();
  let udp = { inPerSecond: NaN, outPerSecond: NaN, receiveBufferErrors: NaN };
  let connectUdpErrors = NaN;
  let steady = {
    seconds: 0,
    cpuPercent: NaN,
    machineBusyPercent: NaN,
    rssMax: 0,
    rssEnd: 0,
    receivedPerSecond: NaN,
    echoedPerSecond: NaN,
  };
  try {
    if (!(await waitUntil(() => readyCount === options.processes, 120_000))) throw new Error('The client processes did not start');
    // Connect every client at once.
    const connectStartedAt = performance.now();
    const udpBeforeConnect = udpCounters();
    tellAll({ type: 'connect' });
    const isConnected = await waitUntil(() => connected === options.clients && clientConnectMs.length === options.processes, options.connectTimeoutMs);
    const udpAfterConnect = udpCounters();
    if (udpBeforeConnect !== undefined && udpAfterConnect !== undefined) connectUdpErrors = udpAfterConnect.receiveBufferErrors - udpBeforeConnect.receiveBufferErrors;
    if (!isConnected) throw new Error(`Only ${connected} of ${options.clients} clients connected within ${options.connectTimeoutMs} ms`);
    connectMs = Math.max(allConnectedAt - connectStartedAt, ...clientConnectMs);
    console.log(
      `all ${formatInt(options.clients)} clients connected in ${formatFixed(connectMs, 0)} ms (server saw the last Connected after ` +
        `${formatFixed(allConnectedAt - connectStartedAt, 0)} ms; client processes: ${clientConnectMs.map((ms) => formatFixed(ms, 0)).join(', ')} ms)`,
    );

    // No full GC here: V8's memory reducer follows a mark-compact about 8 s later with GCs of its own, which would land
    // in the steady window. The per-connection figures come from the end of the window (after a full GC, every client
    // still connected).
    rssAllConnected = process.memoryUsage.rss();
    tellAll({ type: 'start' });
    phase = Phase.Warmup;
    await sleep(options.warmupSeconds * 1000);

    phase = Phase.Steady;
    const cpuBefore = process.cpuUsage();
    const machineBefore = machineJiffies();
    const udpBefore = udpCounters();
    const startedAt = performance.now();
    const receivedBefore = received;
    const echoedBefore = echoed;
    let rssMax = 0;
    for (let second = 1; second <= options.seconds; second++) {
      await sleep(1000);
      rssMax = Math.max(rssMax, process.memoryUsage.rss());
      if (second % 5 === 0) {
        console.log(
          `  [steady ${second} s] ticks ${steadyTicks}, in ${formatInt((received - receivedBefore) / ((performance.now() - startedAt) / 1000))} msg/s, ` +
            `connections ${connected - dropped}, RSS ${mb(process.memoryUsage.rss())} MB, GCs ${gcRuns}`,
        );
      }
    }
    phase = Phase.Warmup; // stop recording ticks while the figures are read
    const seconds = (performance.now() - startedAt) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    collectGarbage();
    memoryEndOfSteady = process.memoryUsage();
    const machineAfter = machineJiffies();
    const udpAfter = udpCounters();
    if (udpBefore !== undefined && udpAfter !== undefined) {
      udp = {
        inPerSecond: (udpAfter.inDatagrams - udpBefore.inDatagrams) / seconds,
        outPerSecond: (udpAfter.outDatagrams - udpBefore.outDatagrams) / seconds,
        receiveBufferErrors: udpAfter.receiveBufferErrors - udpBefore.receiveBufferErrors,
      };
    }
    steady = {
      seconds,
      cpuPercent: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
      machineBusyPercent:
        machineBefore !== undefined && machineAfter !== undefined
          ? (100 * (machineAfter.busy - machineBefore.busy)) / (machineAfter.total - machineBefore.total)
          : NaN,
      rssMax,
      rssEnd: memoryEndOfSteady.rss,
      receivedPerSecond: (received - receivedBefore) / seconds,
      echoedPerSecond: (echoed - echoedBefore) / seconds,
    };
    stats = server.getStats(undefined, stats);

    phase = Phase.Draining;
    tellAll({ type: 'stop' });
    await reportsDone;
  } finally {
    phase = Phase.Done;
    if (timer !== undefined) clearTimeout(timer);
    gcObserver.disconnect();
    for (const child of children) if (child.exitCode === null) child.kill();
    NetworkPeer.shutdownPeer(server);
  }

  // ---- results ------------------------------------------------------------------------------------------------
  const durations = steadyDurations.slice(0, steadyTicks).sort();
  const lateness = steadyLateness.slice(0, steadyTicks).sort();
  const cpuPerTick = steadyCpuMs.slice(0, steadyTicks).sort();
  // The slowest 1% of ticks: did they burn CPU (work) or wait (the server was off the CPU)?
  const order = Array.from({ length: steadyTicks }, (_, i) => i).sort((a, b) => steadyDurations[b] - steadyDurations[a]);
  const slowest = order.slice(0, Math.max(1, Math.ceil(steadyTicks / 100)));
  const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  const slowWall = mean(slowest.map((i) => steadyDurations[i]));
  const slowCpu = mean(slowest.map((i) => steadyCpuMs[i]));
  const slowMessages = mean(slowest.map((i) => steadyMessages[i]));
  const slowPreempted = slowest.filter((i) => steadyPreemptions[i] > 0).length;
  const preemptedTicks = Array.from(steadyPreemptions.subarray(0, steadyTicks)).filter((n) => n > 0).length;
  const allMessages = mean(Array.from(steadyMessages.subarray(0, steadyTicks)));
  const sum = (pick: (r: ScaleClientReport) => number): number => reports.reduce((total, r) => total + pick(r), 0);
  const rttHistogram = new Float64Array(RTT_BUCKETS);
  for (const report of reports) for (let i = 0; i < RTT_BUCKETS; i++) rttHistogram[i] += report.rttHistogram[i];
  const lost = sum((r) => r.missing);
  const outOfOrder = sum((r) => r.outOfOrder);
  const tickP99 = percentile(durations, 0.99);
  const perConnectionConnected = (rssAllConnected - rssBeforeListen) / options.clients;
  const perConnectionSteady = (steady.rssEnd - rssBeforeListen) / options.clients;
  // RSS moves by tens of MB as V8 gives back pages of ts-node's garbage, whatever the connections take. Outside the
  // JS heap (RSS − heapTotal: ENet's peers and buffers, Buffers, malloc) plus the live JS heap (heapUsed) does not.
  const outsideHeap = (m: NodeJS.MemoryUsage): number => m.rss - m.heapTotal;
  const perConnectionNative = (outsideHeap(memoryEndOfSteady) - outsideHeap(beforeListen)) / options.clients;
  const perConnectionJs = (memoryEndOfSteady.heapUsed - beforeListen.heapUsed) / options.clients;

  console.log('');
  console.log('| Figure | Value |');
  console.log('| --- | ---: |');
  const row = (name: string, value: string): void => console.log(`| ${name} | ${value} |`);
  row('Clients connected (server / clients)', `${formatInt(connected)} / ${formatInt(sum((r) => r.connected))}`);
  row('Time to connect all', `${formatFixed(connectMs, 0)} ms`);
  row('Connections dropped (server / clients)', `${dropped} / ${sum((r) => r.dropped)}`);
  row(`Server tick p50 / p99 / max (${formatInt(durations.length)} ticks, ${formatFixed(steady.seconds, 1)} s)`, `${formatFixed(percentile(durations, 0.5), 2)} / ${formatFixed(tickP99, 2)} / ${formatFixed(durations[durations.length - 1], 2)} ms`);
  row('Server tick start lateness p50 / p99 / max', `${formatFixed(percentile(lateness, 0.5), 2)} / ${formatFixed(percentile(lateness, 0.99), 2)} / ${formatFixed(lateness[lateness.length - 1], 2)} ms`);
  row('Server CPU time per tick p50 / p99 / max', `${formatFixed(percentile(cpuPerTick, 0.5), 2)} / ${formatFixed(percentile(cpuPerTick, 0.99), 2)} / ${formatFixed(cpuPerTick[cpuPerTick.length - 1], 2)} ms`);
  row(
    `Slowest 1% of ticks (${slowest.length}): mean wall / mean CPU / mean messages (all ticks: ${formatFixed(allMessages, 0)}) / preempted (another process took the core mid-tick)`,
    `${formatFixed(slowWall, 2)} ms / ${formatFixed(slowCpu, 2)} ms / ${formatFixed(slowMessages, 0)} / ${slowPreempted} of ${slowest.length}`,
  );
  row('Ticks preempted (involuntary context switches during the tick)', `${formatInt(preemptedTicks)} of ${formatInt(steadyTicks)}`);
  row('Server messages in / echoed per second', `${formatInt(steady.receivedPerSecond)} / ${formatInt(steady.echoedPerSecond)}`);
  row('Server CPU (steady window, % of one core)', `${formatFixed(steady.cpuPercent, 1)}%`);
  row('Whole machine busy (steady window, % of all cores)', `${formatFixed(steady.machineBusyPercent, 1)}%`);
  row('Server GCs in the steady window (total / longest pause)', `${gcRuns} (${formatFixed(gcTotalMs, 1)} ms / ${formatFixed(gcMaxMs, 2)} ms)`);
  row('Server RSS: before createPeer / before listen (after a full GC) / all connected (no GC) / end of steady, all still connected (after a full GC; max during steady)', `${mb(rssBeforeCreate)} / ${mb(rssBeforeListen)} / ${mb(rssAllConnected)} / ${mb(steady.rssEnd)} (${mb(steady.rssMax)}) MB`);
  row('RSS per connection, raw (all connected / end of steady; V8 returning pages makes these noisy)', `${formatFixed(perConnectionConnected / 1024, 1)} / ${formatFixed(perConnectionSteady / 1024, 1)} KiB`);
  row('Memory per connection, end of steady vs before listen (both after a full GC): RSS outside the JS heap + JS heapUsed', `${formatFixed(perConnectionNative / 1024, 2)} + ${formatFixed(perConnectionJs / 1024, 2)} = ${formatFixed((perConnectionNative + perConnectionJs) / 1024, 2)} KiB`);
  row('UDP datagrams in / out per second, whole machine (steady)', `${formatInt(udp.inPerSecond)} / ${formatInt(udp.outPerSecond)}`);
  row('UDP datagrams dropped, receive buffer full (whole machine: connect / steady)', `${formatInt(connectUdpErrors)} / ${formatInt(udp.receiveBufferErrors)}`);
  row('Server reliable commands sent / resent (host-wide)', `${formatInt(stats.packetsSent)} / ${formatInt(stats.packetsLost)}`);
  row('Server pool in use / high water', `${stats.poolInUse} / ${stats.poolHighWater}`);
  row('Server receive stalls / service errors / echo send failures', `${stats.receiveStalls} / ${stats.serviceErrors} / ${echoFailures}${lastError === '' ? '' : ` (${lastError})`}`);
  row('Messages sent by clients / echoes received', `${formatInt(sum((r) => r.sent))} / ${formatInt(sum((r) => r.echoed))}`);
  row('Lost (sent − echoed) / out of order (clients) / duplicates', `${formatInt(lost)} / ${formatInt(outOfOrder)} / ${formatInt(sum((r) => r.duplicates))}`);
  row('Out of order on arrival at the server', formatInt(arrivalErrors));
  row('Echo round trip p50 / p99 (client send → echo popped)', `${formatFixed(histogramPercentile(rttHistogram, 0.5, RTT_BUCKET_MS), 2)} / ${formatFixed(histogramPercentile(rttHistogram, 0.99, RTT_BUCKET_MS), 2)} ms`);
  for (let i = 0; i < reports.length; i++) {
    const r = reports[i];
    row(
      `Client process ${i + 1} (${r.clients} clients): tick p50 / p99 / max, late ticks, CPU, RSS`,
      `${formatFixed(r.tickP50Ms, 2)} / ${formatFixed(r.tickP99Ms, 2)} / ${formatFixed(r.tickMaxMs, 2)} ms, ${r.lateTicks} of ${r.ticks}, ${formatFixed(r.cpuPercent, 1)}%, ${mb(r.rssBytes)} MB`,
    );
  }
  console.log('');
  const verdict = (ok: boolean): string => (ok ? 'met' : '**missed**');
  console.log(`Targets: ${formatInt(options.clients)} clients connected: ${verdict(connected === options.clients && sum((r) => r.connected) === options.clients)}; ` +
    `0 lost and 0 out of order: ${verdict(lost === 0 && outOfOrder === 0 && arrivalErrors === 0)}; server tick p99 under 8 ms: ${verdict(tickP99 < 8)} (${formatFixed(tickP99, 2)} ms)`);
  if (tickCount === 0) console.log('(no server tick ran)');
}

if (require.main === module) {
  main().then(
    () => process.exit(process.exitCode ?? 0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
