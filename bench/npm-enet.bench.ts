// One-way 64-byte messages between two processes on 127.0.0.1 over the npm package `enet` 0.2.9 (stock ENet 1.3.5
// compiled to JavaScript with emscripten, its socket a Node `dgram` socket): what a Node user who wants ENet would
// pick today. Same layout as enet-throughput.bench.ts: this process is the sender (client), a forked child the
// receiver (server); data on ENet channel 0 (u32 little-endian sequence + 60 filler bytes), control messages (credit,
// done, end marker) reliable on channel 1. The receiver times from the first timed message to the last one and
// reports messages/s; a reliable run must deliver every message, in order.
//
//   node -r ts-node/register/transpile-only bench/npm-enet.bench.ts [--channel reliable|unreliable|both]
//     [--trials 5] [--messages 500000] [--warmup 50000] [--burst 64] [--window N] [--credit-every N]
//     [--max-send-queue 65536]
//
// Pumping: the package services a host from its own 10 ms setInterval; here both sides turn that off and call
// host._service() themselves (as spec/helpers/stock-enet.ts does), once per turn of the event loop (setImmediate).
// They cannot pump in a synchronous loop like the netpeer benches do: datagrams reach the emscripten socket only
// through Node's event loop ('message' events fill a JS queue that enet_host_service reads), and its sends are
// dgram socket.send() calls.
//
// Pacing (defaults in DEFAULT_NPM_ENET_OPTIONS; why):
// - The sender sends `burst` (64) messages per turn, then services the host (ENet packs the queued commands into
//   datagrams of up to 1400 bytes and hands them to socket.send) and yields to the event loop, which takes in
//   credits and acks.
// - Credit window: the sender runs at most `window` messages ahead of the highest sequence number the receiver has
//   acknowledged in a reliable credit message (sent every `creditEvery` messages). The package exposes nothing that
//   bounds ENet's queue: peer.reliableDataInTransit() throws (it calls `jsapi._peer_get_reliableDataInTransit`, a
//   typo for `jsapi_`), and that figure is data in flight, not data queued. Reliable: ENet 1.3.5 walks the whole
//   outgoing reliable queue on every service once its 64 KiB window is full, so an unbounded queue slows the sender
//   down the more it gets ahead; the window keeps the queue under `window` messages. Unreliable: without it the
//   receiver's socket buffer (and its JS queue) overflows.
// - No new burst while the dgram socket's send queue (socket.getSendQueueSize()) holds more than `maxSendQueue`
//   bytes: sends that the kernel did not take at once wait there, unbounded.
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:dgram';
import type { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ChildSide, argInt, checkReliableStream, argValue, formatFixed, formatInt, isChildRole, runChildSide, summarize, waitForQuiet } from './bench-common';

// ---- The parts of the package we call (it ships no types). ----

interface RawPacket {
  data(): Buffer;
}

interface RawPeer extends EventEmitter {
  send(channel: number, packet: RawPacket): boolean;
  disconnectNow(data?: number): RawPeer;
}

interface RawHost extends EventEmitter {
  _socket: Socket;
  connect(address: { address: string; port: number }, channelCount: number, data: number): RawPeer | undefined;
  address(): AddressInfo | undefined;
  destroy(): void;
  flush(): void;
  firstStart(): void;
  _service(): void;
}

interface RawEnetModule {
  createServer(
    options: { address: { address: string; port: number }; peers: number; channels: number },
    callback: (err: Error | undefined, host: RawHost) => void,
  ): RawHost | undefined;
  createClient(options: { peers: number; channels: number }): RawHost | undefined;
  Packet: new (bytes: Buffer, flags: number) => RawPacket;
  PACKET_FLAG: { RELIABLE: number; UNSEQUENCED: number };
}

let enetModule: RawEnetModule | undefined;
/** Loaded on first use: the emscripten module is 0.5 MB of asm.js and registers a process-wide uncaughtException hook. */
function enet(): RawEnetModule {
  enetModule ??= require('enet') as RawEnetModule;
  return enetModule;
}

// ---- Options and results. ----

export const NPM_ENET_MESSAGE_BYTES = 64;
const DATA_CHANNEL = 0;
const CONTROL_CHANNEL = 1;
const KIND_CREDIT = 1;
const KIND_DONE = 2;
const KIND_END = 3;
const STALL_MS = 10_000;

export type NpmEnetChannel = 'reliable' | 'unreliable';

export interface NpmEnetOptions {
  readonly channel: NpmEnetChannel;
  readonly messages: number;
  readonly warmup: number;
  readonly burst: number;
  readonly window: number;
  readonly creditEvery: number;
  /** Bytes in the dgram socket's send queue above which the sender holds back. */
  readonly maxSendQueue: number;
}

export interface NpmEnetResult {
  /** Messages/s at the receiver, first to last timed message. */
  readonly rate: number;
  readonly seconds: number;
  readonly measured: number;
  readonly sent: number;
  readonly received: number;
  /** Share of the timed messages that never arrived (0 for reliable). */
  readonly lossRate: number;
  readonly orderErrors: number;
}

/**
 * Tried on the 2-core bench machine (3 trials each, 200,000 messages): reliable ran the same with windows of 2048,
 * 4096 and 8192 messages (medians 230-237 k/s); unreliable lost 0.7-1.6% with a window of 2048 (ENet packs about 19
 * messages into a datagram, and 100 such datagrams fill the receiver's default 208 KiB socket buffer) and nothing with
 * 1024. 500,000 timed messages after 50,000 warm-up keep a trial at about 2 s (200,000 ran 0.5-1.1 s and varied more).
 */
export const DEFAULT_NPM_ENET_OPTIONS: Readonly<Record<NpmEnetChannel, Omit<NpmEnetOptions, 'channel'>>> = {
  reliable: { messages: 500_000, warmup: 50_000, burst: 64, window: 4096, creditEvery: 1024, maxSendQueue: 65_536 },
  unreliable: { messages: 500_000, warmup: 50_000, burst: 64, window: 1024, creditEvery: 256, maxSendQueue: 65_536 },
};

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function control(kind: number, value: number): RawPacket {
  const bytes = Buffer.alloc(8);
  bytes.writeUInt32LE(kind, 0);
  bytes.writeUInt32LE(value, 4);
  return new (enet().Packet)(bytes, enet().PACKET_FLAG.RELIABLE);
}

/** One trial: forks the receiver, sends the stream from this process, returns the receiver's figures. */
export async function runNpmEnetThroughput(options: NpmEnetOptions): Promise<NpmEnetResult> {
  const receiver = new ChildSide<NpmEnetResult>(__filename, 'receiver', options);
  try {
    const port = await receiver.port;
    await sendStream(port, options);
  } catch (error) {
    receiver.kill();
    throw error;
  }
  const result = await receiver.result;
  return { ...result, lossRate: 1 - result.measured / options.messages };
}

async function sendStream(port: number, options: NpmEnetOptions): Promise<void> {
  const lib = enet();
  const host = lib.createClient({ peers: 1, channels: 2 });
  if (host === undefined) throw new Error('enet: could not create a client host');
  host.firstStart = () => undefined; // no setInterval: we service the host ourselves
  try {
    const peer = host.connect({ address: '127.0.0.1', port }, 2, 0);
    if (peer === undefined) throw new Error('enet: no free peer');
    let isConnected = false;
    let isGone = false;
    let isDone = false;
    let credit = 0;
    let lastProgress = performance.now();
    peer.on('connect', () => (isConnected = true));
    peer.on('disconnect', () => (isGone = true));
    host.on('message', (_from: RawPeer, packet: RawPacket, channel: number) => {
      if (channel !== CONTROL_CHANNEL) return;
      const bytes = packet.data();
      const kind = bytes.readUInt32LE(0);
      const value = bytes.readUInt32LE(4);
      if (kind === KIND_CREDIT && value > credit) {
        credit = value;
        lastProgress = performance.now();
      } else if (kind === KIND_DONE) {
        isDone = true;
      }
    });
    const connectBy = performance.now() + 5000;
    while (!isConnected) {
      if (isGone || performance.now() > connectBy) throw new Error('enet: could not connect to the receiver');
      host._service();
      await nextTurn();
    }

    const flags = options.channel === 'reliable' ? lib.PACKET_FLAG.RELIABLE : lib.PACKET_FLAG.UNSEQUENCED;
    const total = options.warmup + options.messages;
    const { burst, window, maxSendQueue } = options;
    const bytes = Buffer.alloc(NPM_ENET_MESSAGE_BYTES, 0xab);
    const socket = host._socket;
    let seq = 0;
    let isEndSent = false;
    while (!isDone) {
      if (isGone) throw new Error(`enet: the receiver went away after ${seq} messages`);
      const limit = socket.getSendQueueSize() > maxSendQueue ? seq : Math.min(total, credit + window);
      for (let n = 0; seq < limit && n < burst; n++, seq++) {
        bytes.writeUInt32LE(seq, 0);
        // The Packet copies the bytes into the emscripten heap, so one Buffer serves every message.
        if (peer.send(DATA_CHANNEL, new lib.Packet(bytes, flags))) throw new Error(`enet: peer.send refused message ${seq}`);
      }
      host._service();
      // That service put every earlier unreliable message on the wire: the marker follows them.
      if (seq >= total && !isEndSent && options.channel === 'unreliable') {
        peer.send(CONTROL_CHANNEL, control(KIND_END, seq));
        host.flush();
        isEndSent = true;
      }
      if (performance.now() - lastProgress > STALL_MS) throw new Error(`No credit for ${STALL_MS} ms (sent ${seq}, credited ${credit})`);
      await nextTurn();
    }
  } finally {
    host.destroy(); // disconnect-now to the receiver, then closes the socket
  }
}

async function receiveStream(options: NpmEnetOptions, ready: (port: number) => Promise<void>): Promise<NpmEnetResult> {
  const lib = enet();
  const host = await new Promise<RawHost>((resolve, reject) => {
    const raw = lib.createServer({ address: { address: '127.0.0.1', port: 0 }, peers: 1, channels: 2 }, (err, h) =>
      err !== undefined ? reject(err) : resolve(h),
    );
    if (raw === undefined) reject(new Error('enet: could not create a server host'));
  });
  host.firstStart = () => undefined;
  try {
    const isReliable = options.channel === 'reliable';
    const total = options.warmup + options.messages;
    const { warmup, creditEvery } = options;
    let sender: RawPeer | undefined;
    let isGone = false;
    let received = 0;
    let measured = 0;
    let expected = 0;
    let orderErrors = 0;
    let highest = 0;
    let credited = 0;
    let first = 0;
    let last = 0;
    let endAt = 0;
    let isFinished = false;
    let hasEnd = false;
    host.on('connect', (peer: RawPeer) => {
      sender = peer;
      peer.on('disconnect', () => (isGone = true));
    });
    host.on('message', (_from: RawPeer, packet: RawPacket, channel: number) => {
      const bytes = packet.data();
      if (channel === CONTROL_CHANNEL) {
        if (bytes.readUInt32LE(0) === KIND_END) {
          hasEnd = true;
          endAt = performance.now();
        }
        return;
      }
      const seq = bytes.readUInt32LE(0);
      if (isReliable && seq !== expected) orderErrors++;
      expected = seq + 1;
      if (seq + 1 > highest) highest = seq + 1;
      received++;
      if (seq >= warmup) {
        // One clock read per message: the package hands messages over one callback at a time.
        last = performance.now();
        if (measured++ === 0) first = last;
      }
      if (isReliable && received === total) isFinished = true;
    });
    await ready(host.address()?.port ?? 0);

    const connectBy = performance.now() + 30_000;
    let lastProgress = performance.now();
    let lastReceived = 0;
    while (!isFinished) {
      host._service();
      const now = performance.now();
      if (sender === undefined) {
        if (now > connectBy) throw new Error('The sender did not connect');
      } else {
        if (isGone) throw new Error(`The sender went away after ${received} messages`);
        if (received - credited >= creditEvery) {
          credited = received;
          sender.send(CONTROL_CHANNEL, control(KIND_CREDIT, highest));
          host.flush();
        }
        if (received !== lastReceived) {
          lastReceived = received;
          lastProgress = now;
        } else if (now - lastProgress > STALL_MS) {
          throw new Error(`No message for ${STALL_MS} ms after ${received} of ${total}`);
        }
        // Unreliable: after the end marker, wait a little for stragglers.
        if (hasEnd && now - endAt > 50) isFinished = true;
      }
      await nextTurn();
    }
    sender!.send(CONTROL_CHANNEL, control(KIND_DONE, received));
    host.flush();
    // Until the sender hangs up (it does on DONE), so DONE surely gets there.
    const lingerUntil = performance.now() + 3000;
    while (!isGone && performance.now() < lingerUntil) {
      host._service();
      await nextTurn();
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
    host.destroy();
  }
}

/** Throws unless a reliable stream arrived whole and in order. */
export function checkNpmEnet(result: NpmEnetResult, options: NpmEnetOptions): void {
  checkReliableStream('npm enet', options.channel === 'reliable', result.received, result.sent, result.orderErrors);
}

export function npmEnetOptionsFromArgs(channel: NpmEnetChannel): NpmEnetOptions {
  const d = DEFAULT_NPM_ENET_OPTIONS[channel];
  return {
    channel,
    messages: argInt('messages', d.messages),
    warmup: argInt('warmup', d.warmup),
    burst: argInt('burst', d.burst),
    window: argInt('window', d.window),
    creditEvery: argInt('credit-every', d.creditEvery),
    maxSendQueue: argInt('max-send-queue', d.maxSendQueue),
  };
}

async function main(): Promise<void> {
  const which = argValue('channel', 'both');
  const channels: NpmEnetChannel[] = which === 'both' ? ['reliable', 'unreliable'] : [which as NpmEnetChannel];
  const trials = argInt('trials', 5);
  for (const channel of channels) {
    const options = npmEnetOptionsFromArgs(channel);
    console.log(
      `npm-enet: enet 0.2.9 (ENet 1.3.5, emscripten), ${channel === 'reliable' ? 'reliable' : 'unreliable (unsequenced)'}, ` +
        `${formatInt(options.messages)} timed messages of ${NPM_ENET_MESSAGE_BYTES} bytes after ${formatInt(options.warmup)} warm-up; ` +
        `burst ${options.burst}, window ${options.window}, credit every ${options.creditEvery}, max send queue ${options.maxSendQueue} B`,
    );
    const rates: number[] = [];
    for (let trial = 1; trial <= trials; trial++) {
      await waitForQuiet();
      const result = await runNpmEnetThroughput(options);
      checkNpmEnet(result, options);
      rates.push(result.rate);
      const loss = channel === 'unreliable' ? `, loss ${formatFixed(result.lossRate * 100, 3)}%` : '';
      console.log(`  trial ${trial}: ${formatInt(result.rate)} messages/s over ${formatFixed(result.seconds, 2)} s${loss}`);
    }
    const s = summarize(rates);
    console.log(`  ${channel}: median ${formatInt(s.median)}, min ${formatInt(s.min)}, max ${formatInt(s.max)} messages/s`);
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
