// Reliable ping-pong between two netpeer peers in two processes over ENet on 127.0.0.1, through the public API. This
// process is the client: it sends one 64-byte ReliableOrdered message (writeUInt32(i) + 60 filler bytes), calls
// flush() so ENet sends it at once, then calls popEvent() in a tight loop until the echo arrives. A forked child is
// the server: popEvent() in a tight loop, and for each message an echo (same bytes), then flush(). Prints round
// trips/s and the RTT mean, p50 and p99 in microseconds, after a warm-up.
//
//   node -r ts-node/register/transpile-only bench/enet-pingpong.bench.ts [--trials 5] [--round-trips 100000]
//     [--warmup 10000]
//
// The C twin (same messages, channel and flushes over stock ENet) is bench/c/enet-pingpong.c.
import { performance } from 'node:perf_hooks';
import { NetworkChannelType, NetworkEvent, NetworkEventType, NetworkPeer } from '../lib';
import { ChildSide, argInt, formatFixed, formatInt, isChildRole, listenForOne, runChildSide, spinUntil, summarize, waitForQuiet } from './bench-common';

const MESSAGE_BYTES = 64;
/** A round trip that takes this long has failed. */
const STALL_MS = 10_000;

export interface PingPongOptions {
  /** Round trips timed, after `warmup` untimed ones on the same connection. */
  readonly roundTrips: number;
  readonly warmup: number;
}

export interface PingPongResult {
  readonly roundTrips: number;
  readonly seconds: number;
  /** Round trips per second over the timed part (one message in flight at a time). */
  readonly perSecond: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly minUs: number;
  readonly maxUs: number;
}

export const DEFAULT_PINGPONG_OPTIONS: PingPongOptions = { roundTrips: 100_000, warmup: 10_000 };

/** One trial: forks the server, pings it from this process, returns the figures. */
export async function runNetpeerPingPong(options: PingPongOptions): Promise<PingPongResult> {
  const server = new ChildSide<{ echoed: number }>(__filename, 'server', options);
  let peer: NetworkPeer | undefined;
  let result: PingPongResult;
  try {
    const port = await server.port;
    peer = NetworkPeer.createPeer({ driver: 'enet', address: '127.0.0.1', port });
    peer.connect();
    const event = new NetworkEvent();
    spinUntil(() => peer!.popEvent(event) && event.eventType === NetworkEventType.Connected, 5000, 'the connection');
    result = ping(peer, options, event);
  } catch (error) {
    server.kill();
    throw error;
  } finally {
    // The server ends when this connection does.
    if (peer !== undefined) NetworkPeer.shutdownPeer(peer);
  }
  const { echoed } = await server.result;
  if (echoed !== options.warmup + options.roundTrips) throw new Error(`The server echoed ${echoed} messages`);
  return result;
}

function ping(peer: NetworkPeer, options: PingPongOptions, event: NetworkEvent): PingPongResult {
  const { warmup, roundTrips } = options;
  const filler = new Uint8Array(MESSAGE_BYTES - 4).fill(0xab);
  const rtt = new Float64Array(roundTrips);
  let started = 0;
  for (let i = 0; i < warmup + roundTrips; i++) {
    if (i === warmup) started = performance.now();
    const t0 = performance.now();
    const message = peer.beginSendMessage();
    message.writeUInt32(i);
    message.writeBytes(filler);
    peer.endSendMessage(NetworkChannelType.ReliableOrdered, message);
    peer.flush();
    for (;;) {
      if (!peer.popEvent(event)) {
        if (performance.now() - t0 > STALL_MS) throw new Error(`No echo of message ${i} for ${STALL_MS} ms`);
        continue;
      }
      if (event.eventType === NetworkEventType.Message) {
        const echo = event.message!;
        const seq = echo.length === MESSAGE_BYTES ? echo.readUInt32() : -1;
        peer.recycleMessage(echo);
        if (seq !== i) throw new Error(`Expected the echo of message ${i}, got ${seq}`);
        break;
      }
      throw new Error(`The server went away (event ${event.eventType}, reason ${event.reason})`);
    }
    if (i >= warmup) rtt[i - warmup] = (performance.now() - t0) * 1000;
  }
  const seconds = (performance.now() - started) / 1000;
  return summarizeRtt(rtt, seconds);
}

/** Mean and nearest-rank percentiles of round-trip times in microseconds (the C twin computes them the same way). */
export function summarizeRtt(rtt: Float64Array, seconds: number): PingPongResult {
  let sum = 0;
  for (let i = 0; i < rtt.length; i++) sum += rtt[i];
  const sorted = Float64Array.from(rtt).sort();
  const rank = (p: number): number => sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1];
  return {
    roundTrips: rtt.length,
    seconds,
    perSecond: rtt.length / seconds,
    meanUs: sum / rtt.length,
    p50Us: rank(0.5),
    p99Us: rank(0.99),
    minUs: sorted[0],
    maxUs: sorted[sorted.length - 1],
  };
}

async function serve(options: PingPongOptions, ready: (port: number) => Promise<void>): Promise<{ echoed: number }> {
  const peer = NetworkPeer.createPeer({ driver: 'enet', address: '127.0.0.1', port: 0 });
  try {
    await listenForOne(peer, ready, 'the client to connect');
    const event = new NetworkEvent();
    const filler = new Uint8Array(MESSAGE_BYTES - 4).fill(0xab);
    const total = options.warmup + options.roundTrips;
    let echoed = 0;
    // A client silent for 30 s (between two clock reads, every 1024 echoes) is a failed run.
    let lastActivity = performance.now();
    for (;;) {
      if (!peer.popEvent(event)) {
        if (performance.now() - lastActivity > 30_000) throw new Error('The client was silent for 30 s');
        continue;
      }
      if (event.eventType === NetworkEventType.Message) {
        const ping = event.message!;
        const seq = ping.readUInt32();
        peer.recycleMessage(ping);
        const pong = peer.beginSendMessage();
        pong.writeUInt32(seq);
        pong.writeBytes(filler);
        peer.endSendMessage(NetworkChannelType.ReliableOrdered, pong, event.sender);
        peer.flush();
        echoed++;
        if ((echoed & 1023) === 0 || echoed >= total) lastActivity = performance.now();
      } else if (event.eventType === NetworkEventType.Disconnected || event.eventType === NetworkEventType.Timeout) {
        return { echoed };
      }
    }
  } finally {
    NetworkPeer.shutdownPeer(peer);
  }
}

export function pingPongOptionsFromArgs(): PingPongOptions {
  return {
    roundTrips: argInt('round-trips', DEFAULT_PINGPONG_OPTIONS.roundTrips),
    warmup: argInt('warmup', DEFAULT_PINGPONG_OPTIONS.warmup),
  };
}

async function main(): Promise<void> {
  const options = pingPongOptionsFromArgs();
  const trials = argInt('trials', 5);
  console.log(
    `enet-pingpong: netpeer, ReliableOrdered, ${MESSAGE_BYTES}-byte messages, ${formatInt(options.roundTrips)} timed round trips ` +
      `after ${formatInt(options.warmup)} warm-up, flush() after each send`,
  );
  const means: number[] = [];
  const p99s: number[] = [];
  const rates: number[] = [];
  for (let trial = 1; trial <= trials; trial++) {
    await waitForQuiet();
    const r = await runNetpeerPingPong(options);
    means.push(r.meanUs);
    p99s.push(r.p99Us);
    rates.push(r.perSecond);
    console.log(
      `  trial ${trial}: ${formatInt(r.perSecond)} round trips/s, RTT mean ${formatFixed(r.meanUs, 2)} us, ` +
        `p50 ${formatFixed(r.p50Us, 2)} us, p99 ${formatFixed(r.p99Us, 2)} us, max ${formatFixed(r.maxUs, 0)} us`,
    );
  }
  const [m, p, r] = [summarize(means), summarize(p99s), summarize(rates)];
  console.log(`  round trips/s median ${formatInt(r.median)}, min ${formatInt(r.min)}, max ${formatInt(r.max)}`);
  console.log(`  RTT mean (us)  median ${formatFixed(m.median, 2)}, min ${formatFixed(m.min, 2)}, max ${formatFixed(m.max, 2)}`);
  console.log(`  RTT p99 (us)   median ${formatFixed(p.median, 2)}, min ${formatFixed(p.min, 2)}, max ${formatFixed(p.max, 2)}`);
}

if (isChildRole('server')) {
  runChildSide(serve);
} else if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
