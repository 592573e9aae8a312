// One-way 64-byte messages between two netpeer peers in two processes over ENet on 127.0.0.1, through the public
// API only. This process is the sender (client): begin, writeUInt32(seq) + writeBytes(60 filler bytes), end. A forked
// child is the receiver (server): popEvent, readUInt32, recycle. The receiver times from the first measured message
// to the last one it receives and reports messages/s; a reliable run must deliver every message, in order.
//
//   node -r ts-node/register/transpile-only bench/enet-throughput.bench.ts [--channel reliable|unreliable|both]
//     [--trials 5] [--messages 2000000] [--warmup 200000] [--burst 128] [--max-queued 8192] [--window N]
//     [--credit-every N] [--pool 4096] [--sender netpeer|c] [--receiver netpeer|c]
//
// Defaults and the reasons for the pacing: DEFAULT_THROUGHPUT_OPTIONS below.
//
// --sender c or --receiver c puts the C twin on that side (both speak the same protocol), which shows which side
// limits the rate.
//
// The C twin of this bench (same layout, channels, pacing and measurement over stock ENet) is bench/c/enet-throughput.c;
// bench/run.ts runs both and prints them side by side.
import { performance } from 'node:perf_hooks';
import { NetworkChannelType, NetworkEvent, NetworkEventType, NetworkPeer, NetworkStats, type NetworkConnection } from '../lib';
import { startCReceiver, startCSender } from './c-enet';
import { ChildSide, argInt, argValue, debugEnetStats, debugGapRecorder, debugQueueSampler, debugTimeline, formatFixed, formatInt, isChildRole, checkReliableStream, listenForOne, runChildSide, spinUntil, summarize, waitForQuiet } from './bench-common';

/** Bytes of a data message: u32 sequence number + 60 filler bytes. */
export const MESSAGE_BYTES = 64;
const CONTROL_BYTES = 8;
const END_MARKER = 0xffff_ffff;
const KIND_CREDIT = 1;
const KIND_DONE = 2;
/** A trial that makes no progress for this long has failed. */
const STALL_MS = 10_000;

export type ThroughputChannel = 'reliable' | 'unreliable';

export interface ThroughputOptions {
  readonly channel: ThroughputChannel;
  /** Messages timed, after `warmup` untimed ones on the same connection (JIT, ENet's RTT estimate, socket buffers). */
  readonly messages: number;
  readonly warmup: number;
  /**
   * Pacing, see `sendStream()`: most messages the sender runs ahead of the receiver's last credit, messages per burst
   * between two services of the sender, and messages between two credits from the receiver.
   */
  readonly window: number;
  readonly burst: number;
  readonly creditEvery: number;
  /** `messagePoolSize` of both peers. */
  readonly pool: number;
  /** When > 0, the sender holds back while ENet has more than this many reliable bytes queued (`getStats()`). */
  readonly maxQueuedBytes: number;
}

export interface ThroughputResult {
  /** Messages/s at the receiver, first to last timed message. */
  readonly rate: number;
  readonly seconds: number;
  /** Timed messages that arrived (reliable: all of them). */
  readonly measured: number;
  /** Messages sent, warm-up included, and how many of them arrived. */
  readonly sent: number;
  readonly received: number;
  /** Share of the timed messages that never arrived (0 for reliable). */
  readonly lossRate: number;
  /** Reliable only: messages that arrived out of order (must be 0). */
  readonly orderErrors: number;
}

/**
 * Pacing, found by trying (5 runs of each setting, netpeer and C alike; the figures are in the report that came with
 * this bench). The sender must keep servicing ENet (its popEvent() loop) so acks are processed, and must not let
 * ENet's outgoing queue grow:
 * - It sends `burst` (128) messages, then drains popEvent(), which services ENet once or more: the queued sends go to
 *   ENet in one native call, ENet puts what its 64 KiB reliable window allows on the wire and takes in acks.
 * - Reliable: before each burst it asks getStats(connection).pendingReliableBytes and holds back while ENet has more
 *   than `maxQueuedBytes` (8 KiB, one burst) queued. Without that, the queue grows whenever the receiver or an ack
 *   is late, and ENet walks the whole queue on every service once its window is full (the `windowExceeded` loop in
 *   enet_protocol_send_reliable_outgoing_commands), so the sender slows down, acks are processed later still, and a
 *   run collapses to 100-300 k messages/s for seconds (in 10-40% of netpeer runs with credit windows of 4k-16k
 *   messages and no queue check, and now and then in C too). With the check: no collapse in 40 runs.
 * - Unreliable: ENet never queues unreliable messages (each service puts them all on the wire), so only the credit
 *   window paces it: the sender runs at most `window` (4096) messages ahead of the highest sequence number the
 *   receiver has credited (sent back every `creditEvery`, 1024, messages). That keeps the receiver's socket buffer
 *   (256 KiB) from overflowing: no loss in 6 runs. Windows of 8k-64k ran up to 40% faster in C but lost 0.2-8% (and
 *   up to 30% in some netpeer runs).
 * - For reliable the credit window (65536, every 8192) is only a safety net; ENet's own window does the pacing.
 * Bursts of 64-256 did about the same; 1024 and more made the queue spike.
 */
export const DEFAULT_THROUGHPUT_OPTIONS: Readonly<Record<ThroughputChannel, Omit<ThroughputOptions, 'channel'>>> = {
  reliable: { messages: 2_000_000, warmup: 200_000, window: 65_536, creditEvery: 8192, burst: 128, maxQueuedBytes: 8192, pool: 4096 },
  unreliable: { messages: 2_000_000, warmup: 200_000, window: 4096, creditEvery: 1024, burst: 128, maxQueuedBytes: 8192, pool: 4096 },
};

const CHANNEL_TYPE: Record<ThroughputChannel, NetworkChannelType> = {
  reliable: NetworkChannelType.ReliableOrdered,
  unreliable: NetworkChannelType.Unreliable,
};

export type Implementation = 'netpeer' | 'c';

/** One netpeer trial: forks the receiver, sends the stream from this process, returns the receiver's figures. */
export function runNetpeerThroughput(options: ThroughputOptions): Promise<ThroughputResult> {
  return runMixedThroughput(options, 'netpeer', 'netpeer');
}

/**
 * One trial with each side in netpeer or in C (bench/c/enet-throughput.c speaks the same protocol). A mixed pair
 * shows which side limits the rate: a netpeer receiver fed by a C sender runs at the netpeer receiver's limit.
 */
export async function runMixedThroughput(
  options: ThroughputOptions,
  senderKind: Implementation,
  receiverKind: Implementation,
): Promise<ThroughputResult> {
  const receiver =
    receiverKind === 'netpeer' ? new ChildSide<ThroughputResult>(__filename, 'receiver', options) : startCReceiver(options);
  let peer: NetworkPeer | undefined;
  try {
    const port = await receiver.port;
    if (senderKind === 'c') {
      await startCSender(options, port).result;
    } else {
      peer = NetworkPeer.createPeer({ driver: 'enet', address: '127.0.0.1', port, messagePoolSize: options.pool });
      const server = peer.connect();
      const event = new NetworkEvent();
      spinUntil(() => peer!.popEvent(event) && event.eventType === NetworkEventType.Connected, 5000, 'the connection');
      sendStream(peer, server, options, event);
      debugEnetStats(peer, server, 'sender');
    }
  } catch (error) {
    receiver.kill();
    throw error;
  } finally {
    if (peer !== undefined) NetworkPeer.shutdownPeer(peer);
  }
  const result = await receiver.result;
  if (result === undefined) throw new Error('The receiver sent no result');
  return { ...result, lossRate: 1 - result.measured / options.messages };
}

function sendStream(peer: NetworkPeer, server: NetworkConnection, options: ThroughputOptions, event: NetworkEvent): void {
  const channel = CHANNEL_TYPE[options.channel];
  const total = options.warmup + options.messages;
  const filler = new Uint8Array(MESSAGE_BYTES - 4).fill(0xab);
  const { window, burst, maxQueuedBytes } = options;
  const stats = new NetworkStats();
  let seq = 0;
  let credit = 0;
  let isDone = false;
  let isEndSent = false;
  let lastProgress = performance.now();
  let rounds = 0;
  const queue = debugQueueSampler(peer, server);
  const gaps = debugGapRecorder();
  const timeline = debugTimeline(peer, server, 'sender');
  while (!isDone) {
    if (queue !== undefined && (rounds & 63) === 0) queue.sample();
    gaps?.note(performance.now());
    timeline?.tick(seq);
    let limit = Math.min(total, credit + window);
    // Backpressure from ENet itself: no new burst while more than maxQueuedBytes wait in ENet's outgoing queue.
    if (maxQueuedBytes > 0 && peer.getStats(server, stats).pendingReliableBytes > maxQueuedBytes) limit = seq;
    for (let n = 0; seq < limit && n < burst; n++, seq++) {
      const message = peer.beginSendMessage();
      message.writeUInt32(seq);
      message.writeBytes(filler);
      peer.endSendMessage(channel, message);
    }
    while (peer.popEvent(event)) {
      if (event.eventType === NetworkEventType.Message) {
        const message = event.message!;
        if (message.length === CONTROL_BYTES) {
          const kind = message.readUInt32();
          const value = message.readUInt32();
          if (kind === KIND_CREDIT && value > credit) {
            credit = value;
            lastProgress = performance.now();
          } else if (kind === KIND_DONE) {
            isDone = true;
          }
        }
        peer.recycleMessage(message);
      } else if (event.eventType === NetworkEventType.Disconnected || event.eventType === NetworkEventType.Timeout) {
        throw new Error(`The receiver went away (event ${event.eventType}, reason ${event.reason})`);
      }
    }
    // That popEvent() serviced ENet, which put every earlier unreliable message on the wire: the marker follows them.
    if (seq >= total && !isEndSent && options.channel === 'unreliable') {
      const message = peer.beginSendMessage();
      message.writeUInt32(END_MARKER);
      peer.endSendMessage(NetworkChannelType.ReliableOrdered, message);
      isEndSent = true;
    }
    if ((++rounds & 1023) === 0 && performance.now() - lastProgress > STALL_MS) {
      throw new Error(`No credit from the receiver for ${STALL_MS} ms (sent ${seq}, credited ${credit})`);
    }
  }
  queue?.report('sender');
  gaps?.report('sender');
}

async function receiveStream(options: ThroughputOptions, ready: (port: number) => Promise<void>): Promise<ThroughputResult> {
  const peer = NetworkPeer.createPeer({ driver: 'enet', address: '127.0.0.1', port: 0, messagePoolSize: options.pool });
  try {
    const sender = await listenForOne(peer, ready, 'the sender to connect');
    const event = new NetworkEvent();
    const isReliable = options.channel === 'reliable';
    const total = options.warmup + options.messages;
    const { warmup, creditEvery } = options;

    let received = 0;
    let measured = 0;
    let expected = 0;
    let orderErrors = 0;
    let highest = 0;
    let credited = 0;
    let first = 0;
    let last = 0;
    let endAt = 0;
    let isInBatch = false;
    let isFinished = false;
    let hasEnd = false;
    let lastProgress = performance.now();
    const gaps = debugGapRecorder();
    while (!isFinished) {
      if (peer.popEvent(event)) {
        if (event.eventType === NetworkEventType.Message) {
          const message = event.message!;
          if (message.length === MESSAGE_BYTES) {
            const seq = message.readUInt32();
            if (isReliable && seq !== expected) orderErrors++;
            expected = seq + 1;
            if (seq + 1 > highest) highest = seq + 1;
            received++;
            if (seq >= warmup && measured++ === 0) first = performance.now();
            isInBatch = true;
            if (isReliable && received === total) {
              last = performance.now();
              isFinished = true;
            }
          } else if (message.length === 4 && message.readUInt32() === END_MARKER) {
            hasEnd = true;
            endAt = performance.now();
          }
          peer.recycleMessage(message);
        } else if (event.eventType === NetworkEventType.Disconnected || event.eventType === NetworkEventType.Timeout) {
          throw new Error(`The sender went away after ${received} messages (event ${event.eventType})`);
        }
        continue;
      }
      // popEvent() returned false: this batch is drained. One clock read per batch, not per message.
      const now = performance.now();
      gaps?.note(now);
      if (isInBatch) {
        if (measured > 0) last = now;
        isInBatch = false;
        lastProgress = now;
      }
      if (received - credited >= creditEvery) {
        credited = received;
        sendControl(peer, sender, KIND_CREDIT, highest);
      }
      // Unreliable: after the end marker, wait a little for stragglers (UDP on loopback keeps order: few or none).
      if (hasEnd && now - endAt > 50) isFinished = true;
      if (now - lastProgress > STALL_MS) throw new Error(`No message for ${STALL_MS} ms after ${received} of ${total}`);
    }
    gaps?.report('receiver');
    debugEnetStats(peer, sender, 'receiver');
    sendControl(peer, sender, KIND_DONE, received);
    peer.flush();
    // Until the sender hangs up (it does on DONE), so DONE surely gets there.
    const lingerUntil = performance.now() + 3000;
    while (performance.now() < lingerUntil) {
      if (!peer.popEvent(event)) continue;
      if (event.message !== null) peer.recycleMessage(event.message);
      if (event.eventType === NetworkEventType.Disconnected || event.eventType === NetworkEventType.Timeout) break;
    }
    const seconds = (last - first) / 1000;
    return {
      rate: measured > 1 && seconds > 0 ? (measured - 1) / seconds : 0,
      seconds,
      measured,
      sent: total,
      received,
      lossRate: 1 - measured / options.messages,
      orderErrors,
    };
  } finally {
    NetworkPeer.shutdownPeer(peer);
  }
}

function sendControl(peer: NetworkPeer, target: NetworkConnection, kind: number, value: number): void {
  const message = peer.beginSendMessage();
  message.writeUInt32(kind);
  message.writeUInt32(value);
  peer.endSendMessage(NetworkChannelType.ReliableOrdered, message, target);
}

/** Throws unless a trial's result is sound: a reliable stream arrives whole and in order. */
export function checkThroughput(result: ThroughputResult, options: ThroughputOptions, who: string): void {
  checkReliableStream(who, options.channel === 'reliable', result.received, result.sent, result.orderErrors);
}

export function optionsFromArgs(channel: ThroughputChannel): ThroughputOptions {
  const d = DEFAULT_THROUGHPUT_OPTIONS[channel];
  return {
    channel,
    messages: argInt('messages', d.messages),
    warmup: argInt('warmup', d.warmup),
    window: argInt('window', d.window),
    burst: argInt('burst', d.burst),
    creditEvery: argInt('credit-every', d.creditEvery),
    pool: argInt('pool', d.pool),
    maxQueuedBytes: argInt('max-queued', d.maxQueuedBytes),
  };
}

async function main(): Promise<void> {
  const which = argValue('channel', 'both');
  const channels: ThroughputChannel[] = which === 'both' ? ['reliable', 'unreliable'] : [which as ThroughputChannel];
  const trials = argInt('trials', 5);
  const senderKind = argValue('sender', 'netpeer') as Implementation;
  const receiverKind = argValue('receiver', 'netpeer') as Implementation;
  for (const channel of channels) {
    const options = optionsFromArgs(channel);
    console.log(
      `enet-throughput: ${senderKind} sender, ${receiverKind} receiver, ${channel === 'reliable' ? 'ReliableOrdered' : 'Unreliable'}, ${formatInt(options.messages)} timed ` +
        `messages of ${MESSAGE_BYTES} bytes after ${formatInt(options.warmup)} warm-up; window ${options.window}, burst ` +
        `${options.burst}, credit every ${options.creditEvery}, pool ${options.pool}`,
    );
    const rates: number[] = [];
    for (let trial = 1; trial <= trials; trial++) {
      await waitForQuiet();
      const result = await runMixedThroughput(options, senderKind, receiverKind);
      checkThroughput(result, options, `${senderKind} to ${receiverKind}`);
      rates.push(result.rate);
      console.log(
        `  trial ${trial}: ${formatInt(result.rate)} messages/s (${formatFixed(result.seconds, 3)} s)` +
          (channel === 'unreliable' ? `, loss ${formatFixed(result.lossRate * 100, 3)}%` : ', all arrived in order'),
      );
    }
    const s = summarize(rates);
    console.log(`  messages/s median ${formatInt(s.median)}, min ${formatInt(s.min)}, max ${formatInt(s.max)}`);
  }
}

if (isChildRole('receiver')) {
  runChildSide(receiveStream);
} else if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
