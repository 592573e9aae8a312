import { createSocket } from 'node:dgram';
import { NetworkEvent, NetworkEventType, type DisconnectReason, type NetworkConnection, type NetworkPeer } from '../../lib';

/** One event as a spec sees it: a message's bytes are copied out and the message recycled at once. */
export interface SeenEvent {
  readonly eventType: NetworkEventType;
  readonly connection: NetworkConnection;
  readonly reason: DisconnectReason;
  readonly bytes: Buffer | undefined;
}

/** Every event each peer popped, in order. */
export class EventLog {
  readonly events = new Map<NetworkPeer, SeenEvent[]>();

  /** Events of `peer`, optionally of one type. */
  of(peer: NetworkPeer, eventType?: NetworkEventType): SeenEvent[] {
    const all = this.events.get(peer) ?? [];
    return eventType === undefined ? all : all.filter((each) => each.eventType === eventType);
  }

  /** Bytes of every message `peer` received, in order. */
  messagesOf(peer: NetworkPeer): Buffer[] {
    return this.of(peer, NetworkEventType.Message).map((each) => each.bytes as Buffer);
  }

  record(peer: NetworkPeer, event: SeenEvent): void {
    const list = this.events.get(peer) ?? [];
    list.push(event);
    this.events.set(peer, list);
  }
}

/** Options of {@link pumpUntil}. */
export interface PumpOptions {
  /** Ticks before giving up. Default: 4000. */
  maxTicks?: number;
  /** Milliseconds slept between ticks, so real sockets get time. Default: 1. */
  tickMs?: number;
}

const scratch = new NetworkEvent();

/** Pops every queued event of each peer once, into `log`, recycling messages. Shut-down peers are skipped. */
export function drainOnce(peers: readonly NetworkPeer[], log: EventLog): void {
  for (const peer of peers) {
    if (peer.isShutDown) continue;
    while (peer.popEvent(scratch)) {
      let bytes: Buffer | undefined;
      if (scratch.eventType === NetworkEventType.Message && scratch.message !== null) {
        bytes = Buffer.from(scratch.message.buffer.subarray(0, scratch.message.length));
        peer.recycleMessage(scratch.message);
      }
      log.record(peer, { eventType: scratch.eventType, connection: scratch.sender, reason: scratch.reason, bytes });
    }
  }
}

/**
 * Ticks every peer (drains all their events into `log`) until `predicate` holds.
 * @returns the number of ticks taken
 * @throws Error naming the tick count when `maxTicks` pass first
 */
export async function pumpUntil(
  peers: readonly NetworkPeer[],
  log: EventLog,
  predicate: () => boolean,
  options: PumpOptions = {},
): Promise<number> {
  const maxTicks = options.maxTicks ?? 4000;
  const tickMs = options.tickMs ?? 1;
  for (let tick = 1; tick <= maxTicks; tick++) {
    drainOnce(peers, log);
    if (predicate()) return tick;
    await new Promise((resolve) => setTimeout(resolve, tickMs));
  }
  throw new Error(`pumpUntil: condition not met after ${maxTicks} ticks`);
}

/** Ticks every peer a fixed number of times, for checking that nothing more happens. */
export async function pumpTicks(peers: readonly NetworkPeer[], log: EventLog, ticks: number, tickMs = 1): Promise<void> {
  for (let tick = 0; tick < ticks; tick++) {
    drainOnce(peers, log);
    await new Promise((resolve) => setTimeout(resolve, tickMs));
  }
}

/** A UDP port on `address` that nothing listens on right now (bound by the OS, then released). */
export async function unusedUdpPort(address = '127.0.0.1'): Promise<number> {
  const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => resolve());
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
