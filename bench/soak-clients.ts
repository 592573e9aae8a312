// The client side of bench/soak.ts: N netpeer clients in one process, each over a lossy link (SimulatedDriver over
// ENetDriver: datagram-level loss, both directions, seeded per client), all driven by one 60 Hz loop. Forked by
// soak.ts; not meant to be run by hand.
//
// Every tick each connected client sends one numbered ReliableOrdered message and one numbered Unreliable message,
// and checks the echoes of its reliable ones (complete, in order) and counts the server's snapshots. It sends a
// `status` over IPC every `statusEveryMs`, and its totals (`report`) when told to stop, after a drain period.
import { performance } from 'node:perf_hooks';
import { ENetDriver, NetworkChannelType, NetworkEvent, NetworkEventType, NetworkPeer, SimulatedDriver } from '../lib';
import './bench-common'; // applies NETPEER_BENCH_ADDON, as the parent does

export interface SoakClientOptions {
  readonly port: number;
  readonly count: number;
  readonly firstIndex: number;
  readonly lossRate: number;
  readonly drainMs: number;
  readonly statusEveryMs: number;
}

export type SoakCommand = { type: 'start' } | { type: 'stop' };

/** Kinds of message (first byte). */
export const Kind = { Reliable: 1, Unreliable: 2, Snapshot: 3 } as const;

/** Totals of a client process, sent as `status` every few seconds and as `report` at the end. */
export interface SoakClientTotals {
  readonly clients: number;
  readonly connected: number;
  readonly dropped: number;
  readonly reliableSent: number;
  readonly echoed: number;
  /** Echoes with another sequence number than the next expected one (a gap: lost or reordered). */
  readonly echoOutOfOrder: number;
  readonly echoDuplicates: number;
  readonly unreliableSent: number;
  readonly snapshots: number;
  /** Datagrams the simulation dropped (outgoing, incoming), summed over this process's clients. */
  readonly droppedOut: number;
  readonly droppedIn: number;
  readonly poolInUseMax: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly tickP99Ms: number;
}

const TICK_MS = 1000 / 60;

interface Client {
  readonly index: number;
  readonly peer: NetworkPeer;
  readonly driver: SimulatedDriver;
  isConnected: boolean;
  isDropped: boolean;
  reliableSeq: number;
  unreliableSeq: number;
  expectedEcho: number;
  echoed: number;
}

function run(options: SoakClientOptions): void {
  const clients: Client[] = [];
  let connected = 0;
  let dropped = 0;
  let echoOutOfOrder = 0;
  let echoDuplicates = 0;
  let snapshots = 0;
  let isSending = false;
  let isStopping = false;
  const event = new NetworkEvent();
  const recentTicks = new Float64Array(600);
  let tickCount = 0;

  for (let i = 0; i < options.count; i++) {
    const index = options.firstIndex + i;
    const driver = new SimulatedDriver(new ENetDriver(), { lossRate: options.lossRate, seed: 1000 + index });
    const peer = NetworkPeer.createPeer({ driver, address: '127.0.0.1', port: options.port, messagePoolSize: 512, messageSize: 256 });
    peer.connect();
    clients.push({ index, peer, driver, isConnected: false, isDropped: false, reliableSeq: 0, unreliableSeq: 0, expectedEcho: 0, echoed: 0 });
  }

  const tickClient = (client: Client): void => {
    const peer = client.peer;
    while (peer.popEvent(event)) {
      const type = event.eventType;
      if (type === NetworkEventType.Message) {
        const message = event.message as NonNullable<NetworkEvent['message']>;
        const kind = message.readUInt8();
        if (kind === Kind.Reliable) {
          message.readUInt32(); // client index
          const seq = message.readUInt32();
          if (seq === client.expectedEcho) {
            client.expectedEcho = seq + 1;
            client.echoed++;
          } else if (seq > client.expectedEcho) {
            echoOutOfOrder++;
            console.error(`[soak-clients] client ${client.index}: echo ${seq} while expecting ${client.expectedEcho}`);
            client.expectedEcho = seq + 1;
            client.echoed++;
          } else {
            echoDuplicates++;
          }
        } else if (kind === Kind.Snapshot) {
          snapshots++;
        }
        peer.recycleMessage(message);
      } else if (type === NetworkEventType.Connected) {
        client.isConnected = true;
        connected++;
      } else {
        if (!client.isDropped) dropped++;
        client.isDropped = true;
        client.isConnected = false;
        console.error(`[soak-clients] client ${client.index}: event ${type}, reason ${event.reason}`);
      }
    }
    if (isSending && client.isConnected) {
      const reliable = peer.beginSendMessage();
      reliable.writeUInt8(Kind.Reliable);
      reliable.writeUInt32(client.index);
      reliable.writeUInt32(client.reliableSeq++);
      peer.endSendMessage(NetworkChannelType.ReliableOrdered, reliable);
      const unreliable = peer.beginSendMessage();
      unreliable.writeUInt8(Kind.Unreliable);
      unreliable.writeUInt32(client.index);
      unreliable.writeUInt32(client.unreliableSeq++);
      peer.endSendMessage(NetworkChannelType.Unreliable, unreliable);
    }
    peer.flush();
  };

  const totals = (): SoakClientTotals => {
    let reliableSent = 0;
    let echoed = 0;
    let unreliableSent = 0;
    let droppedOut = 0;
    let droppedIn = 0;
    let poolInUseMax = 0;
    for (const client of clients) {
      reliableSent += client.reliableSeq;
      echoed += client.echoed;
      unreliableSent += client.unreliableSeq;
      droppedOut += client.driver.outgoingCounters.dropped;
      droppedIn += client.driver.incomingCounters.dropped;
      poolInUseMax = Math.max(poolInUseMax, client.peer.pool.inUse);
    }
    const ticks = Float64Array.from(recentTicks.subarray(0, Math.min(tickCount, recentTicks.length))).sort();
    return {
      clients: clients.length,
      connected,
      dropped,
      reliableSent,
      echoed,
      echoOutOfOrder,
      echoDuplicates,
      unreliableSent,
      snapshots,
      droppedOut,
      droppedIn,
      poolInUseMax,
      rssBytes: process.memoryUsage.rss(),
      heapUsedBytes: process.memoryUsage().heapUsed,
      tickP99Ms: ticks.length > 0 ? ticks[Math.min(ticks.length - 1, Math.floor(0.99 * ticks.length))] : NaN,
    };
  };

  let timer: NodeJS.Timeout | undefined;
  let nextTickAt = performance.now();
  const loop = (): void => {
    const began = performance.now();
    for (let i = 0; i < clients.length; i++) tickClient(clients[i]);
    recentTicks[tickCount++ % recentTicks.length] = performance.now() - began;
    nextTickAt += TICK_MS;
    const now = performance.now();
    if (nextTickAt < now - TICK_MS) nextTickAt = now;
    timer = setTimeout(loop, Math.max(0, nextTickAt - now));
  };
  loop();

  const statusTimer = setInterval(() => process.send?.({ type: 'status', totals: totals() }), options.statusEveryMs);

  process.on('message', (command: SoakCommand) => {
    if (command.type === 'start') {
      isSending = true;
    } else if (command.type === 'stop' && !isStopping) {
      isStopping = true;
      isSending = false;
      setTimeout(() => {
        clearInterval(statusTimer);
        if (timer !== undefined) clearTimeout(timer);
        const report = totals();
        for (const client of clients) NetworkPeer.shutdownPeer(client.peer);
        process.send?.({ type: 'report', totals: report }, () => process.exit(0));
      }, options.drainMs);
    }
  });
  process.on('disconnect', () => process.exit(1));
  process.send?.({ type: 'ready' });
}

if (require.main === module) {
  run(JSON.parse(process.argv[2]) as SoakClientOptions);
}
