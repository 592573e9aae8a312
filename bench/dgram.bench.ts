// Raw Node `dgram`: one-way 64-byte UDP datagrams between two processes on 127.0.0.1, one message per datagram, no
// protocol at all. The ceiling of any one-datagram-per-message design in Node (what a library that sends each
// message in its own datagram through `dgram` could reach at best). This process is the sender, a forked child the
// receiver; each datagram carries a u32 little-endian sequence number and 60 filler bytes.
//
//   node -r ts-node/register/transpile-only bench/dgram.bench.ts [--trials 5] [--messages 500000] [--warmup 50000]
//     [--burst 64] [--max-send-queue 256] [--window 0] [--credit-every 1024] [--recv-buffer 0]
//
// Sender: a connected socket (socket.connect(), so send() skips the address lookup), sending `burst` datagrams per
// turn of the event loop, as fast as it can. send() without a callback first tries the kernel at once (libuv's
// uv_udp_try_send); whatever the kernel does not take waits in the socket's send queue, so no new burst starts while
// socket.getSendQueueCount() > `maxSendQueue` datagrams. The datagrams come from a ring of buffers larger than that
// bound, so a buffer is never rewritten while a queued send still points at it.
//
// With the default `--window 0` nothing slows the sender down to the receiver's pace (there is no feedback in a raw
// datagram stream): the kernel drops what the receiver's socket buffer cannot hold, and the receiver's rate is how
// many datagrams/s a Node process takes in through 'message' events. `--window N` adds a credit window: the receiver
// sends back the highest sequence number seen every `creditEvery` datagrams and the sender runs at most N ahead of it.
//
// Receiver: counts datagrams in its 'message' handler, times the first to the last timed datagram, reports
// datagrams/s and loss (sent vs received). The sender repeats an end marker every 20 ms until the receiver reports,
// since a marker can be dropped like any datagram; the receiver ends 100 ms after the first marker.
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { ChildSide, argInt, formatFixed, formatInt, isChildRole, runChildSide, summarize, waitForQuiet } from './bench-common';

export const DGRAM_BYTES = 64;
const END_MARKER = 0xffff_ffff;
const STALL_MS = 10_000;

export interface DgramOptions {
  readonly messages: number;
  readonly warmup: number;
  readonly burst: number;
  /** Most datagrams waiting in the sender socket's send queue before it holds back. */
  readonly maxSendQueue: number;
  /** 0: no credit window (free-running); N: at most N datagrams ahead of the receiver's last credit. */
  readonly window: number;
  readonly creditEvery: number;
  /** 0: the OS default receive buffer (net.core.rmem_default); otherwise setRecvBufferSize() on the receiver. */
  readonly recvBuffer: number;
}

export interface DgramResult {
  /** Datagrams/s at the receiver, first to last timed datagram. */
  readonly rate: number;
  readonly seconds: number;
  /** Timed datagrams received, and all datagrams received (warm-up included). */
  readonly measured: number;
  readonly received: number;
  /** Filled in by the sender: datagrams sent (warm-up included) and the send rate. */
  readonly sent: number;
  readonly sendRate: number;
  /** Share of the timed datagrams that never arrived. */
  readonly lossRate: number;
  /** The receiver socket's receive buffer in bytes (getRecvBufferSize(), which Linux reports doubled). */
  readonly recvBufferBytes: number;
}

export const DEFAULT_DGRAM_OPTIONS: DgramOptions = {
  messages: 500_000,
  warmup: 50_000,
  burst: 64,
  maxSendQueue: 256,
  window: 0,
  creditEvery: 1024,
  recvBuffer: 0,
};

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** One trial: forks the receiver, sends from this process, returns the receiver's figures plus the send side's. */
export async function runDgramThroughput(options: DgramOptions): Promise<DgramResult> {
  const receiver = new ChildSide<DgramResult>(__filename, 'receiver', options);
  let sent = 0;
  let sendSeconds = 0;
  try {
    const port = await receiver.port;
    ({ sent, sendSeconds } = await sendStream(port, options, receiver.result));
  } catch (error) {
    receiver.kill();
    throw error;
  }
  const result = await receiver.result;
  return {
    ...result,
    sent,
    sendRate: sendSeconds > 0 ? (sent - options.warmup) / sendSeconds : 0,
    lossRate: 1 - result.measured / options.messages,
  };
}

async function sendStream(port: number, options: DgramOptions, done: Promise<unknown>): Promise<{ sent: number; sendSeconds: number }> {
  const socket = createSocket('udp4');
  // A connected UDP socket gets the ICMP "port unreachable" of a closed receiver as ECONNREFUSED: ignored (the
  // receiver closes once it has seen an end marker, while the sender may still be repeating it).
  const ignoreRefused = (error: NodeJS.ErrnoException): void => {
    if (error.code !== 'ECONNREFUSED') throw error;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, '127.0.0.1', () => {
        socket.off('error', reject);
        socket.on('error', ignoreRefused);
        resolve();
      });
    });
    let credit = 0;
    let isDone = false;
    void done.then(
      () => (isDone = true),
      () => (isDone = true),
    );
    socket.on('message', (bytes: Buffer) => {
      if (bytes.length === 8) {
        const value = bytes.readUInt32LE(4);
        if (value > credit) credit = value;
      }
    });
    const { burst, maxSendQueue, window, warmup } = options;
    const total = warmup + options.messages;
    // A queued send keeps a reference to its buffer: the ring is larger than the queue can get.
    const ringSize = 1 << Math.ceil(Math.log2(Math.max(1024, 4 * (maxSendQueue + burst))));
    const ring = Array.from({ length: ringSize }, () => Buffer.alloc(DGRAM_BYTES, 0xab));
    let seq = 0;
    let timedFrom = 0;
    let lastProgress = performance.now();
    let lastCredit = 0;
    while (seq < total) {
      let limit = window > 0 ? Math.min(total, credit + window) : total;
      if (socket.getSendQueueCount() > maxSendQueue) limit = seq;
      for (let n = 0; seq < limit && n < burst; n++, seq++) {
        if (seq === warmup) timedFrom = performance.now();
        const bytes = ring[seq & (ringSize - 1)];
        bytes.writeUInt32LE(seq, 0);
        socket.send(bytes);
      }
      if (credit !== lastCredit || window === 0) {
        lastCredit = credit;
        lastProgress = performance.now();
      } else if (performance.now() - lastProgress > STALL_MS) {
        throw new Error(`No credit for ${STALL_MS} ms (sent ${seq}, credited ${credit})`);
      }
      if (isDone) throw new Error(`The receiver ended early (sent ${seq})`);
      await nextTurn();
    }
    const sendSeconds = (performance.now() - timedFrom) / 1000;
    const end = Buffer.alloc(4);
    end.writeUInt32LE(END_MARKER, 0);
    const giveUpAt = performance.now() + STALL_MS;
    while (!isDone && performance.now() < giveUpAt) {
      socket.send(end);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { sent: total, sendSeconds };
  } finally {
    socket.close();
  }
}

async function receiveStream(options: DgramOptions, ready: (port: number) => Promise<void>): Promise<DgramResult> {
  const socket: Socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    if (options.recvBuffer > 0) socket.setRecvBufferSize(options.recvBuffer);
    const { warmup, window, creditEvery } = options;
    const credit = Buffer.alloc(8);
    let received = 0;
    let measured = 0;
    let highest = 0;
    let credited = 0;
    let first = 0;
    let last = 0;
    let endAt = 0;
    socket.on('message', (bytes: Buffer, from) => {
      const seq = bytes.readUInt32LE(0);
      if (bytes.length === 4 && seq === END_MARKER) {
        if (endAt === 0) endAt = performance.now();
        return;
      }
      received++;
      if (seq + 1 > highest) highest = seq + 1;
      if (seq >= warmup) {
        // One clock read per datagram: dgram hands them over one 'message' callback at a time.
        last = performance.now();
        if (measured++ === 0) first = last;
      }
      if (window > 0 && received - credited >= creditEvery) {
        credited = received;
        credit.writeUInt32LE(1, 0);
        credit.writeUInt32LE(highest, 4);
        socket.send(credit, from.port, from.address);
      }
    });
    await ready(socket.address().port);
    let lastReceived = -1;
    let lastProgress = performance.now();
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const now = performance.now();
      if (endAt > 0 && now - endAt > 100) break;
      if (received !== lastReceived) {
        lastReceived = received;
        lastProgress = now;
      } else if (now - lastProgress > STALL_MS) {
        throw new Error(`No datagram for ${STALL_MS} ms after ${received}`);
      }
    }
    const seconds = (last - first) / 1000;
    return {
      rate: measured > 1 && seconds > 0 ? (measured - 1) / seconds : 0,
      seconds,
      measured,
      received,
      sent: 0,
      sendRate: 0,
      lossRate: 1 - measured / options.messages,
      recvBufferBytes: socket.getRecvBufferSize(),
    };
  } finally {
    socket.close();
  }
}

export function dgramOptionsFromArgs(): DgramOptions {
  const d = DEFAULT_DGRAM_OPTIONS;
  return {
    messages: argInt('messages', d.messages),
    warmup: argInt('warmup', d.warmup),
    burst: argInt('burst', d.burst),
    maxSendQueue: argInt('max-send-queue', d.maxSendQueue),
    window: argInt('window', d.window),
    creditEvery: argInt('credit-every', d.creditEvery),
    recvBuffer: argInt('recv-buffer', d.recvBuffer),
  };
}

async function main(): Promise<void> {
  const trials = argInt('trials', 5);
  const options = dgramOptionsFromArgs();
  console.log(
    `dgram: ${formatInt(options.messages)} timed datagrams of ${DGRAM_BYTES} bytes after ${formatInt(options.warmup)} warm-up; burst ` +
      `${options.burst}, send queue <= ${options.maxSendQueue} datagrams, ` +
      (options.window > 0 ? `credit window ${options.window} (credit every ${options.creditEvery})` : 'no credit window') +
      (options.recvBuffer > 0 ? `, receive buffer ${options.recvBuffer} B` : ', default receive buffer'),
  );
  const rates: number[] = [];
  const losses: number[] = [];
  for (let trial = 1; trial <= trials; trial++) {
    await waitForQuiet();
    const r = await runDgramThroughput(options);
    rates.push(r.rate);
    losses.push(r.lossRate * 100);
    console.log(
      `  trial ${trial}: received ${formatInt(r.rate)} datagrams/s over ${formatFixed(r.seconds, 2)} s, sent ${formatInt(r.sendRate)}/s, ` +
        `loss ${formatFixed(r.lossRate * 100, 2)}% (${formatInt(r.received)} of ${formatInt(r.sent)}), receive buffer ${formatInt(r.recvBufferBytes)} B`,
    );
  }
  const s = summarize(rates);
  const l = summarize(losses);
  console.log(`  received: median ${formatInt(s.median)}, min ${formatInt(s.min)}, max ${formatInt(s.max)} datagrams/s; loss median ${formatFixed(l.median, 2)}%`);
}

if (isChildRole('receiver')) {
  runChildSide(receiveStream);
} else if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
