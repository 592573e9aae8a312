// The client side of bench/scale.ts: N netpeer ENet clients in one process, all driven by one 60 Hz loop. Forked by
// scale.ts (one process per share of the clients); not meant to be run by hand.
//
// Each client numbers its ReliableOrdered messages (32 bytes: u32 sequence, u32 client index, f64 send time, 16
// filler bytes), sends one every `sendEveryTicks` ticks (client i on the ticks where (tick + i) % sendEveryTicks is 0,
// so the clients are spread evenly over the ticks), and checks the echoes: they must come back complete and in order.
// It reports over IPC: `ready` (peers created), `connected` (all of its clients connected), and when told to stop,
// after a drain period, `report` with its totals.
import { performance } from 'node:perf_hooks';
import { NetworkChannelType, NetworkEvent, NetworkEventType, NetworkPeer, type NetworkConnection } from '../lib';
import './bench-common'; // applies NETPEER_BENCH_ADDON, as the parent does

export interface ScaleClientOptions {
  readonly port: number;
  readonly count: number;
  /** Index of this process's first client among all clients (the echo carries it, so the server can check order). */
  readonly firstIndex: number;
  readonly sendEveryTicks: number;
  /** Time the clients keep ticking after `stop` so the last echoes come back. */
  readonly drainMs: number;
}

/** Messages from the parent. */
export type ScaleCommand = { type: 'connect' } | { type: 'start' } | { type: 'stop' };

/** What a client process reports at the end. */
export interface ScaleClientReport {
  readonly clients: number;
  readonly connected: number;
  /** Connections that ended (timeout or disconnect) before the end. */
  readonly dropped: number;
  readonly sent: number;
  readonly echoed: number;
  /** Sent messages whose echo never came back (sent − echoed, per client, summed). */
  readonly missing: number;
  /** Echoes that came back with another sequence number than the next expected one. */
  readonly outOfOrder: number;
  /** Echoes of a sequence number already seen. */
  readonly duplicates: number;
  /** Echo round trips (send to echo received, both in this process) as a histogram of 0.25 ms buckets. */
  readonly rttHistogram: number[];
  /** This process's loop: tick durations over the sending phase (ms), ticks run, ticks started over a tick late. */
  readonly tickP50Ms: number;
  readonly tickP99Ms: number;
  readonly tickMaxMs: number;
  readonly ticks: number;
  readonly lateTicks: number;
  /** CPU time of this process over the sending phase, in % of one core, and its RSS at the end. */
  readonly cpuPercent: number;
  readonly rssBytes: number;
  readonly connectMs: number;
}

export const MESSAGE_BYTES = 32;
export const RTT_BUCKET_MS = 0.25;
export const RTT_BUCKETS = 8000;
const TICK_MS = 1000 / 60;

interface Client {
  readonly index: number;
  readonly peer: NetworkPeer;
  server: NetworkConnection | undefined;
  isConnected: boolean;
  isDropped: boolean;
  nextSeq: number;
  expectedEcho: number;
  echoed: number;
}

function percentile(sorted: Float64Array, share: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))];
}

function run(options: ScaleClientOptions): void {
  const send = (message: object): void => {
    process.send?.(message);
  };
  const clients: Client[] = [];
  for (let i = 0; i < options.count; i++) {
    const peer = NetworkPeer.createPeer({ driver: 'enet', address: '127.0.0.1', port: options.port, messagePoolSize: 256, messageSize: 64 });
    clients.push({ index: options.firstIndex + i, peer, server: undefined, isConnected: false, isDropped: false, nextSeq: 0, expectedEcho: 0, echoed: 0 });
  }
  const event = new NetworkEvent();
  const rttHistogram = new Float64Array(RTT_BUCKETS);
  const tickDurations = new Float64Array(60 * 600);
  let tickCount = 0;
  let measuredTicks = 0;
  let lateTicks = 0;
  let connected = 0;
  let dropped = 0;
  let outOfOrder = 0;
  let duplicates = 0;
  let isSending = false;
  let isStopping = false;
  let connectStartedAt = 0;
  let connectMs = NaN;
  let cpuAtStart = process.cpuUsage();
  let sendingStartedAt = 0;
  let cpuWhileSending = { user: 0, system: 0 };
  let secondsSending = 0;
  let timer: NodeJS.Timeout | undefined;

  const tickClient = (client: Client, tick: number, now: number): void => {
    const peer = client.peer;
    while (peer.popEvent(event)) {
      const type = event.eventType;
      if (type === NetworkEventType.Message) {
        const message = event.message as NonNullable<NetworkEvent['message']>;
        const seq = message.readUInt32();
        message.readUInt32(); // client index
        const sentAt = message.readDouble();
        peer.recycleMessage(message);
        if (seq === client.expectedEcho) {
          client.expectedEcho = seq + 1;
        } else if (seq > client.expectedEcho) {
          outOfOrder++;
          client.expectedEcho = seq + 1;
        } else {
          duplicates++;
          continue;
        }
        client.echoed++;
        const bucket = Math.min(RTT_BUCKETS - 1, Math.floor((now - sentAt) / RTT_BUCKET_MS));
        rttHistogram[bucket]++;
      } else if (type === NetworkEventType.Connected) {
        client.isConnected = true;
        if (++connected === clients.length) {
          connectMs = performance.now() - connectStartedAt;
          send({ type: 'connected', count: connected, ms: connectMs });
        }
      } else {
        if (!client.isDropped) dropped++;
        client.isDropped = true;
        client.isConnected = false;
        console.error(`[scale-clients] client ${client.index}: event ${type}, reason ${event.reason}`);
      }
    }
    if (isSending && client.isConnected && (tick + client.index) % options.sendEveryTicks === 0) {
      const message = peer.beginSendMessage();
      message.writeUInt32(client.nextSeq++);
      message.writeUInt32(client.index);
      message.writeDouble(now);
      message.writeUInt32(0x1111_1111);
      message.writeUInt32(0x2222_2222);
      message.writeUInt32(0x3333_3333);
      message.writeUInt32(0x4444_4444);
      peer.endSendMessage(NetworkChannelType.ReliableOrdered, message);
      peer.flush();
    }
  };

  let nextTickAt = 0;
  const loop = (): void => {
    const began = performance.now();
    if (began - nextTickAt > TICK_MS) lateTicks += isSending ? 1 : 0;
    const tick = tickCount++;
    for (let i = 0; i < clients.length; i++) tickClient(clients[i], tick, began);
    const took = performance.now() - began;
    if (isSending && measuredTicks < tickDurations.length) tickDurations[measuredTicks++] = took;
    nextTickAt += TICK_MS;
    const now = performance.now();
    // Behind by more than a tick: start again from now rather than run a burst of catch-up ticks.
    if (nextTickAt < now - TICK_MS) nextTickAt = now;
    timer = setTimeout(loop, Math.max(0, nextTickAt - now));
  };

  const finish = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    const cpu = cpuWhileSending;
    const seconds = secondsSending;
    const durations = tickDurations.slice(0, measuredTicks).sort();
    let sent = 0;
    let echoed = 0;
    for (const client of clients) {
      sent += client.nextSeq;
      echoed += client.echoed;
    }
    const report: ScaleClientReport = {
      clients: clients.length,
      connected,
      dropped,
      sent,
      echoed,
      missing: sent - echoed,
      outOfOrder,
      duplicates,
      rttHistogram: Array.from(rttHistogram),
      tickP50Ms: percentile(durations, 0.5),
      tickP99Ms: percentile(durations, 0.99),
      tickMaxMs: durations.length > 0 ? durations[durations.length - 1] : NaN,
      ticks: measuredTicks,
      lateTicks,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / 1000 / seconds) * 100,
      rssBytes: process.memoryUsage.rss(),
      connectMs,
    };
    for (const client of clients) NetworkPeer.shutdownPeer(client.peer);
    process.send?.({ type: 'report', report }, () => process.exit(0));
  };

  process.on('message', (command: ScaleCommand) => {
    if (command.type === 'connect') {
      connectStartedAt = performance.now();
      for (const client of clients) client.server = client.peer.connect();
      nextTickAt = performance.now();
      loop();
    } else if (command.type === 'start') {
      isSending = true;
      sendingStartedAt = performance.now();
      cpuAtStart = process.cpuUsage();
    } else if (command.type === 'stop' && !isStopping) {
      isStopping = true;
      isSending = false;
      cpuWhileSending = process.cpuUsage(cpuAtStart);
      secondsSending = (performance.now() - sendingStartedAt) / 1000;
      setTimeout(finish, options.drainMs);
    }
  });
  process.on('disconnect', () => process.exit(1));
  send({ type: 'ready' });
}

if (require.main === module) {
  run(JSON.parse(process.argv[2]) as ScaleClientOptions);
}
