// Soak (hardening): a netpeer ENet server in this process and 100 clients in 2 forked processes
// (bench/soak-clients.ts), all at 60 Hz for a bounded time, with 5% datagram loss on every client link (each client
// peer runs SimulatedDriver over ENetDriver, lossRate 0.05 both ways, seeded per client).
//
// Every tick each client sends one numbered ReliableOrdered message and one numbered Unreliable message. The server
// checks each client's reliable sequence on arrival (it must be complete and in order), echoes every reliable message
// back to its sender (ReliableOrdered), counts the unreliable ones, and broadcasts a small Unreliable snapshot to all
// clients every tick (one multicast). Clients check the echoes.
//
//   node -r ts-node/register/transpile-only bench/soak.ts [seconds] [--clients 100] [--processes 2] [--loss 0.05]
//     [--drain 5000]
//
// `seconds` (default 300) is the sending time; add about 10 s for start-up and the drain at the end. Every 10 s it
// prints: elapsed, server RSS and heapUsed, the server pool in use / high water, messages/s in and out, reliable
// messages out of order so far on the server and in the clients' echoes, and echoes still in flight. At the end: lost
// and reordered totals (must be 0), the RSS curve, whether RSS is flat after warm-up (mean of the last 2 minutes
// against the minute after warm-up; warm-up is the first minute), and whether the pool use grows.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NetworkChannelType, NetworkEvent, NetworkEventType, NetworkPeer, NetworkStats, type NetworkConnection } from '../lib';
import { argInt, argValue, formatFixed, formatInt, machineInfo, waitForQuiet } from './bench-common';
import { Kind, type SoakClientOptions, type SoakClientTotals, type SoakCommand } from './soak-clients';

const TICK_MS = 1000 / 60;
const SAMPLE_EVERY_S = 10;

interface Sample {
  readonly elapsedS: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly poolInUse: number;
  readonly poolHighWater: number;
  readonly inPerSecond: number;
  readonly outPerSecond: number;
  readonly serverOutOfOrder: number;
  readonly echoOutOfOrder: number;
  readonly inFlight: number;
  readonly clientRssBytes: number;
  readonly tickP99Ms: number;
}

const mb = (bytes: number): string => formatFixed(bytes / 1048576, 1);
const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

async function main(): Promise<void> {
  const positional = process.argv.slice(2).find((arg) => /^\d+$/.test(arg));
  const seconds = Number(positional ?? argValue('seconds', '300'));
  const clientCount = argInt('clients', 100);
  const processCount = argInt('processes', 2);
  const lossRate = Number(argValue('loss', '0.05'));
  const drainMs = argInt('drain', 5000);
  if (!(seconds >= 20)) throw new RangeError('Expected at least 20 seconds');
  const info = machineInfo();
  console.log(
    `soak: ${clientCount} clients in ${processCount} processes, ${formatFixed(lossRate * 100, 1)}% datagram loss each way on every client link, 60 Hz, ${seconds} s; ` +
      'each client sends 1 ReliableOrdered + 1 Unreliable numbered message per tick, the server echoes the reliable ones and broadcasts an Unreliable snapshot per tick',
  );
  console.log(`${info.date}, ${info.cpu} (${info.cores} cores), Node ${info.node}, Linux ${info.kernel}, commit ${info.commit}, load ${info.load}`);
  await waitForQuiet();

  const server = NetworkPeer.createPeer({ driver: 'enet', address: '127.0.0.1', port: 0, connectionsLimit: Math.max(128, clientCount), messagePoolSize: 4096 });
  server.listen();
  const event = new NetworkEvent();
  const everyone: NetworkConnection[] = [];
  const expectedReliable = new Uint32Array(clientCount);
  const unreliableReceived = new Float64Array(clientCount);
  let serverOutOfOrder = 0;
  let reliableReceived = 0;
  let unreliableTotal = 0;
  let connectionsEnded = 0;
  let snapshotsSent = 0;
  let tick = 0;
  let isStopping = false;
  const tickDurations = new Float64Array(SAMPLE_EVERY_S * 60);
  let tickSlot = 0;

  const serverTick = (): void => {
    while (server.popEvent(event)) {
      const type = event.eventType;
      if (type === NetworkEventType.Message) {
        const message = event.message as NonNullable<NetworkEvent['message']>;
        const kind = message.readUInt8();
        const index = message.readUInt32();
        const seq = message.readUInt32();
        if (kind === Kind.Reliable && index < clientCount) {
          if (seq !== expectedReliable[index]) {
            serverOutOfOrder++;
            console.error(`[soak] server: client ${index} reliable ${seq} while expecting ${expectedReliable[index]}`);
          }
          expectedReliable[index] = seq + 1;
          reliableReceived++;
          const echo = server.beginSendMessage();
          echo.writeUInt8(Kind.Reliable);
          echo.writeUInt32(index);
          echo.writeUInt32(seq);
          server.endSendMessage(NetworkChannelType.ReliableOrdered, echo, event.sender);
        } else if (kind === Kind.Unreliable && index < clientCount) {
          unreliableReceived[index]++;
          unreliableTotal++;
        }
        server.recycleMessage(message);
      } else if (type === NetworkEventType.Connected) {
        everyone.push(event.sender);
      } else {
        const at = everyone.indexOf(event.sender);
        if (at >= 0) everyone.splice(at, 1);
        if (!isStopping) {
          connectionsEnded++;
          console.error(`[soak] server: connection ${event.sender.connectionId} ended (event ${type}, reason ${event.reason})`);
        }
      }
    }
    if (everyone.length > 0) {
      const snapshot = server.beginSendMessage();
      snapshot.writeUInt8(Kind.Snapshot);
      snapshot.writeUInt32(tick);
      for (let i = 0; i < 4; i++) snapshot.writeUInt32(tick + i);
      server.endSendMessage(NetworkChannelType.Unreliable, snapshot, everyone);
      snapshotsSent += everyone.length;
    }
    server.flush();
  };

  let timer: NodeJS.Timeout | undefined;
  let isDone = false;
  let nextTickAt = performance.now();
  const loop = (): void => {
    const began = performance.now();
    serverTick();
    tickDurations[tickSlot++ % tickDurations.length] = performance.now() - began;
    tick++;
    nextTickAt += TICK_MS;
    const now = performance.now();
    if (nextTickAt < now - TICK_MS) nextTickAt = now;
    if (!isDone) timer = setTimeout(loop, Math.max(0, nextTickAt - now));
  };
  loop();

  // ---- client processes ---------------------------------------------------------------------------------------
  const children: ChildProcess[] = [];
  const latest = new Map<ChildProcess, SoakClientTotals>();
  const reports = new Map<ChildProcess, SoakClientTotals>();
  let ready = 0;
  let firstIndex = 0;
  let childFailure: Error | undefined;
  for (let p = 0; p < processCount; p++) {
    const count = Math.floor(clientCount / processCount) + (p < clientCount % processCount ? 1 : 0);
    const options: SoakClientOptions = { port: server.localPort, count, firstIndex, lossRate, drainMs, statusEveryMs: SAMPLE_EVERY_S * 1000 };
    firstIndex += count;
    const child = fork(join(__dirname, 'soak-clients.ts'), [JSON.stringify(options)], {
      execArgv: process.execArgv.filter((flag) => !/^--(cpu-prof|heap-prof|prof)/.test(flag)),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('message', (message: { type: string; totals?: SoakClientTotals }) => {
      if (message.type === 'ready') ready++;
      else if (message.type === 'status') latest.set(child, message.totals as SoakClientTotals);
      else if (message.type === 'report') reports.set(child, message.totals as SoakClientTotals);
    });
    child.on('exit', (code) => {
      if (code !== 0 && !reports.has(child)) childFailure = new Error(`A client process exited with code ${code}`);
    });
    children.push(child);
  }
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  const waitUntil = async (predicate: () => boolean, timeoutMs: number, what: string): Promise<void> => {
    const deadline = performance.now() + timeoutMs;
    while (!predicate()) {
      if (childFailure !== undefined) throw childFailure;
      if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
      await sleep(20);
    }
  };
  const tellAll = (command: SoakCommand): void => {
    for (const child of children) child.send(command);
  };
  const sumOf = (source: Map<ChildProcess, SoakClientTotals>, pick: (t: SoakClientTotals) => number): number => {
    let total = 0;
    for (const totals of source.values()) total += pick(totals);
    return total;
  };

  const samples: Sample[] = [];
  const stats = new NetworkStats();
  try {
    await waitUntil(() => ready === processCount, 120_000, 'the client processes to start');
    await waitUntil(() => everyone.length === clientCount, 60_000, `${clientCount} clients to connect`);
    console.log(`${clientCount} clients connected; sending for ${seconds} s`);
    console.log('');
    console.log('| Elapsed | Server RSS | heapUsed | Pool in use / high water | Messages/s in / out | Reliable out of order (server / echoes) | Echoes in flight | Clients RSS | Server tick p99 (last 10 s) |');
    console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    tellAll({ type: 'start' });
    const startedAt = performance.now();
    server.getStats(undefined, stats); // opens the rate window
    for (let sampleAt = SAMPLE_EVERY_S; sampleAt <= seconds; sampleAt += SAMPLE_EVERY_S) {
      await sleep(Math.max(0, startedAt + sampleAt * 1000 - performance.now()));
      if (childFailure !== undefined) throw childFailure;
      server.getStats(undefined, stats);
      const memory = process.memoryUsage();
      const recent = Float64Array.from(tickDurations).sort();
      const sample: Sample = {
        elapsedS: (performance.now() - startedAt) / 1000,
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        poolInUse: stats.poolInUse,
        poolHighWater: stats.poolHighWater,
        inPerSecond: stats.messagesReceivedPerSecond,
        outPerSecond: stats.messagesSentPerSecond,
        serverOutOfOrder,
        echoOutOfOrder: sumOf(latest, (t) => t.echoOutOfOrder),
        inFlight: sumOf(latest, (t) => t.reliableSent - t.echoed),
        clientRssBytes: sumOf(latest, (t) => t.rssBytes),
        tickP99Ms: recent[Math.floor(0.99 * recent.length)],
      };
      samples.push(sample);
      console.log(
        `| ${formatFixed(sample.elapsedS, 0)} s | ${mb(sample.rssBytes)} MB | ${mb(sample.heapUsedBytes)} MB | ${sample.poolInUse} / ${sample.poolHighWater} | ` +
          `${formatInt(sample.inPerSecond)} / ${formatInt(sample.outPerSecond)} | ${sample.serverOutOfOrder} / ${sample.echoOutOfOrder} | ${formatInt(sample.inFlight)} | ` +
          `${mb(sample.clientRssBytes)} MB | ${formatFixed(sample.tickP99Ms, 2)} ms |`,
      );
    }
    isStopping = true;
    tellAll({ type: 'stop' });
    await waitUntil(() => reports.size === processCount, drainMs + 30_000, 'the client reports');
  } finally {
    isDone = true;
    if (timer !== undefined) clearTimeout(timer);
    for (const child of children) if (child.exitCode === null && !reports.has(child)) child.kill();
    server.getStats(undefined, stats);
    NetworkPeer.shutdownPeer(server);
  }

  // ---- verdict ------------------------------------------------------------------------------------------------
  const reliableSent = sumOf(reports, (t) => t.reliableSent);
  const echoed = sumOf(reports, (t) => t.echoed);
  const unreliableSent = sumOf(reports, (t) => t.unreliableSent);
  const echoOutOfOrder = sumOf(reports, (t) => t.echoOutOfOrder);
  const lostToServer = reliableSent - reliableReceived;
  const lostEchoes = reliableSent - echoed;
  const warmupS = Math.min(60, seconds / 5);
  const afterWarmup = samples.filter((s) => s.elapsedS > warmupS + 1 && s.elapsedS <= warmupS + Math.min(60, seconds / 5) + 1);
  const lastSpan = Math.min(120, (2 * seconds) / 5);
  const last = samples.filter((s) => s.elapsedS > seconds - lastSpan + 1);
  const rssAfter = mean(afterWarmup.map((s) => s.rssBytes));
  const rssLast = mean(last.map((s) => s.rssBytes));
  const rssGrowth = rssLast - rssAfter;
  const isRssFlat = rssGrowth < Math.max(1048576, 0.02 * rssAfter);
  const clientRssAfter = mean(afterWarmup.map((s) => s.clientRssBytes));
  const clientRssLast = mean(last.map((s) => s.clientRssBytes));
  const heapAfter = mean(afterWarmup.map((s) => s.heapUsedBytes));
  const heapLast = mean(last.map((s) => s.heapUsedBytes));
  const inUse = samples.map((s) => s.poolInUse);
  const highWaterAfterWarmup = afterWarmup.length > 0 ? afterWarmup[afterWarmup.length - 1].poolHighWater : NaN;
  const highWaterEnd = samples.length > 0 ? samples[samples.length - 1].poolHighWater : NaN;
  const isPoolFlat = Math.max(...inUse) <= 16 && highWaterEnd <= highWaterAfterWarmup * 1.5 + 16;

  console.log('');
  console.log('| Result | Value |');
  console.log('| --- | ---: |');
  const row = (name: string, value: string): void => console.log(`| ${name} | ${value} |`);
  row('Connections that ended during the run (server / clients)', `${connectionsEnded} / ${sumOf(reports, (t) => t.dropped)}`);
  row('Reliable sent by clients / arrived at server / echoes back', `${formatInt(reliableSent)} / ${formatInt(reliableReceived)} / ${formatInt(echoed)}`);
  row('Reliable lost (client → server / echo)', `${formatInt(lostToServer)} / ${formatInt(lostEchoes)}`);
  row('Reliable out of order (on arrival at server / echoes) / duplicate echoes', `${serverOutOfOrder} / ${echoOutOfOrder} / ${sumOf(reports, (t) => t.echoDuplicates)}`);
  row('Unreliable sent / arrived at server (delivered share)', `${formatInt(unreliableSent)} / ${formatInt(unreliableTotal)} (${formatFixed((100 * unreliableTotal) / Math.max(1, unreliableSent), 2)}%)`);
  row('Snapshots sent (one per client per tick) / received by clients (delivered share)', `${formatInt(snapshotsSent)} / ${formatInt(sumOf(reports, (t) => t.snapshots))} (${formatFixed((100 * sumOf(reports, (t) => t.snapshots)) / Math.max(1, snapshotsSent), 2)}%)`);
  row('Datagrams dropped by the simulation (client out / in)', `${formatInt(sumOf(reports, (t) => t.droppedOut))} / ${formatInt(sumOf(reports, (t) => t.droppedIn))}`);
  row('Server reliable commands sent / resent', `${formatInt(stats.packetsSent)} / ${formatInt(stats.packetsLost)}`);
  row(`Server RSS: mean ${formatInt(warmupS)}-${formatInt(warmupS + Math.min(60, seconds / 5))} s / mean of the last ${formatInt(lastSpan)} s / growth`, `${mb(rssAfter)} / ${mb(rssLast)} MB / ${formatFixed(rssGrowth / 1024, 0)} KiB → ${isRssFlat ? 'flat' : '**growing**'}`);
  row('Server heapUsed: same windows', `${mb(heapAfter)} / ${mb(heapLast)} MB`);
  row('Client processes RSS (sum): same windows', `${mb(clientRssAfter)} / ${mb(clientRssLast)} MB`);
  row('Server pool in use at the samples (min / max) / high water after warm-up → end', `${Math.min(...inUse)} / ${Math.max(...inUse)} / ${highWaterAfterWarmup} → ${highWaterEnd} → ${isPoolFlat ? 'not growing' : '**growing**'}`);
  row('Client pools in use, max over clients at the end', `${Math.max(...[...reports.values()].map((t) => t.poolInUseMax))}`);
  row('Server receive stalls / service errors', `${stats.receiveStalls} / ${stats.serviceErrors}`);
  console.log('');
  console.log(`RSS curve (server, MB, every ${SAMPLE_EVERY_S} s): ${samples.map((s) => mb(s.rssBytes)).join(' ')}`);
  console.log(`RSS curve (client processes summed, MB): ${samples.map((s) => mb(s.clientRssBytes)).join(' ')}`);
  const isSound = lostToServer === 0 && lostEchoes === 0 && serverOutOfOrder === 0 && echoOutOfOrder === 0 && connectionsEnded === 0;
  console.log(`Verdict: reliable ${isSound ? 'complete and in order' : '**BROKEN**'}; RSS ${isRssFlat ? 'flat' : '**growing**'}; pool ${isPoolFlat ? 'not growing' : '**growing**'}`);
  if (!isSound) process.exitCode = 1;
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
