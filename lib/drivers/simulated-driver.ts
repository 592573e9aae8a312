import { systemClock, type Clock } from '../clock';
import type { ResolvedNetworkConfig } from '../network-config';
import { NetworkChannelType } from '../network-channel-type';
import type { NetworkConnection } from '../network-connection';
import type { DisconnectReason } from '../network-event';
import type { NetworkMessage } from '../network-message';
import { NetworkStats } from '../network-stats';
import { NetworkError, NetworkErrorCode } from '../errors';
import { DelayQueue, type Delayed } from './delay-queue';
import { isPerfect, resolveSimulation, type ResolvedLinkConditions, type ResolvedSimulation, type SimulationOptions } from './link-conditions';
import type { DriverSink, NetworkDriver, OutgoingMessage } from './network-driver';
import { SeededRandom } from './seeded-random';

/**
 * A driver that can impair its own datagrams (the ENet driver, through the addon). A simulated link over it works
 * at the datagram level, so the transport's retransmission and round-trip estimate react as on a real bad link.
 */
export interface DatagramImpairable {
  /** Applies conditions to every datagram sent (`outgoing`) or received (`incoming`); all zero turns them off. */
  setDatagramConditions(direction: 'outgoing' | 'incoming', conditions: ResolvedLinkConditions, seed: number): void;
  /** Copies what the impairment did so far into the two counter objects. */
  readDatagramCounters(outgoing: SimulationCounters, incoming: SimulationCounters): void;
}

/** What a simulated link did, per direction. */
export interface SimulationCounters {
  /** Messages that entered the simulated link (whole-message mode; the addon does not count datagrams in). */
  entered: number;
  dropped: number;
  /** Copies made; a transport discards duplicates, so they only take bandwidth and are never delivered. */
  duplicated: number;
  delayed: number;
  reordered: number;
  /** UnreliableOrdered messages dropped because a later one had already been delivered. */
  droppedLate: number;
  /** Unreliable messages dropped because the bandwidth queue held over a second. */
  droppedQueueFull: number;
}

const Kind = { Send: 0, Receive: 1, Disconnected: 2, Timeout: 3, DisconnectRequest: 4 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

interface PendingItem extends Delayed {
  kind: Kind;
  channel: NetworkChannelType;
  connectionId: number;
  target: NetworkConnection | undefined;
  payload: Buffer | undefined;
  length: number;
  message: NetworkMessage | undefined;
  reason: DisconnectReason;
  sequence: number;
}

/** Per connection and direction: due times kept in order, and UnreliableOrdered sequence numbers. */
interface DirectionState {
  /** Latest due time of anything queued: a disconnect waits behind it. */
  lastDueMs: number;
  /** Latest due time of a ReliableOrdered message: the next one is never due earlier. */
  lastOrderedDueMs: number;
  nextSequence: number;
  lastDelivered: number;
  pending: number;
  /** Outgoing payload bytes delayed here, part of the connection's send queue. */
  delayedBytes: number;
}

/** Extra hold, in milliseconds, beyond latency and jitter, for a message picked to be reordered. */
const REORDER_HOLD_MS = 10;
/** Unreliable traffic queued longer than this behind the bandwidth limit is dropped, as a router queue would. */
const MAX_QUEUE_DELAY_MS = 1000;

const newCounters = (): SimulationCounters => ({ entered: 0, dropped: 0, duplicated: 0, delayed: 0, reordered: 0, droppedLate: 0, droppedQueueFull: 0 });

/**
 * A decorator that puts latency, jitter, loss, duplication, reordering and a bandwidth limit between a peer and any
 * driver. Channel guarantees hold on top of it:
 *
 * - Over a driver that can impair datagrams (ENet), every impairment applies to datagrams, below the reliability
 *   layer: reliable messages survive loss by retransmission and arrive late; unreliable ones are dropped,
 *   duplicated datagrams are discarded by ENet, and round-trip times show the latency.
 * - Over any other driver (the local one), it works on whole messages. `Unreliable`: dropped, duplicated, delayed,
 *   reordered. `UnreliableOrdered`: dropped and delayed; one overtaken by a later one is dropped, never delivered
 *   out of order. `Reliable`: delayed only (jitter may reorder them). `ReliableOrdered`: delayed only, in order.
 *   Duplicates take bandwidth and are discarded, as a transport discards duplicate datagrams: no channel delivers a
 *   message twice. A graceful disconnect waits behind the messages still delayed on its connection.
 *
 * The same seed and the same traffic give the same trace (on a {@link ManualClock}, exactly). Conditions can be
 * changed while running with {@link SimulatedDriver.setConditions}.
 */
export class SimulatedDriver implements NetworkDriver {
  /** `'simulated(<inner name>)'`. */
  readonly name: string;
  private readonly outgoing: SimulationCounters = newCounters();
  private readonly incoming: SimulationCounters = newCounters();

  private readonly inner: NetworkDriver;
  private readonly clock: Clock;
  private simulation: ResolvedSimulation;
  private outgoingRandom: SeededRandom;
  private incomingRandom: SeededRandom;
  private readonly queue = new DelayQueue<PendingItem>();
  private readonly outgoingState = new Map<number, DirectionState>();
  private readonly incomingState = new Map<number, DirectionState>();
  private readonly linkFreeAtMs = [0, 0];
  private readonly spareItems: PendingItem[] = [];
  private readonly spareBuffers: Buffer[] = [];
  private sink: DriverSink | undefined;
  private messageSize = 0;
  private sendQueueLimitBytes = 0;
  private readonly innerFigures = new NetworkStats();
  private isOpen = false;

  /**
   * @param inner - the driver to impair; owned by this one from now on
   * @param options - conditions and seed; see {@link SimulationOptions}
   * @param clock - time source. Default: the system's monotonic clock
   * @throws TypeError or RangeError naming a bad option
   */
  constructor(inner: NetworkDriver, options: SimulationOptions = {}, clock: Clock = systemClock) {
    this.inner = inner;
    this.clock = clock;
    this.name = `simulated(${inner.name})`;
    this.simulation = resolveSimulation(options);
    this.outgoingRandom = new SeededRandom(this.simulation.seed);
    this.incomingRandom = new SeededRandom(this.simulation.seed ^ 0x9e37_79b9);
  }

  /** What the simulation did to outgoing traffic: messages, or datagrams over ENet. */
  get outgoingCounters(): SimulationCounters {
    this.readInnerCounters();
    return this.outgoing;
  }

  /** What the simulation did to incoming traffic: messages, or datagrams over ENet. */
  get incomingCounters(): SimulationCounters {
    this.readInnerCounters();
    return this.incoming;
  }

  private readInnerCounters(): void {
    if (this.worksOnDatagrams && this.isOpen) (this.inner as unknown as DatagramImpairable).readDatagramCounters(this.outgoing, this.incoming);
  }

  /** True when the inner driver impairs datagrams itself (ENet); false when this decorator works on messages. */
  get worksOnDatagrams(): boolean {
    const inner = this.inner as Partial<DatagramImpairable>;
    return typeof inner.setDatagramConditions === 'function' && typeof inner.readDatagramCounters === 'function';
  }

  /** @inheritDoc */
  get localPort(): number {
    return this.inner.localPort;
  }

  /**
   * Replaces the conditions (and re-seeds) while running. Messages already delayed keep their due times.
   * @throws TypeError or RangeError naming a bad option
   */
  setConditions(options: SimulationOptions): void {
    this.simulation = resolveSimulation(options);
    this.outgoingRandom = new SeededRandom(this.simulation.seed);
    this.incomingRandom = new SeededRandom(this.simulation.seed ^ 0x9e37_79b9);
    if (this.isOpen) this.applyToDatagrams();
  }

  /** @inheritDoc */
  initialize(sink: DriverSink, config: ResolvedNetworkConfig): void {
    this.sink = sink;
    this.messageSize = config.messageSize;
    this.sendQueueLimitBytes = config.sendQueueLimitBytes;
    this.inner.initialize(this.worksOnDatagrams ? sink : this.wrapSink(sink), config);
  }

  /** Delivers what is still delayed at once (a shutdown does not wait for latency), then disposes the inner driver. */
  dispose(): void {
    for (const item of this.queue.drain()) this.release(item);
    this.inner.dispose();
  }

  /** @inheritDoc */
  listen(): void {
    this.inner.listen();
    this.isOpen = true;
    this.applyToDatagrams();
  }

  /** @inheritDoc */
  connect(): number {
    const connectionId = this.inner.connect();
    this.isOpen = true;
    this.applyToDatagrams();
    return connectionId;
  }

  /** @inheritDoc */
  disconnect(connectionId: number, immediate: boolean): void {
    const state = this.outgoingState.get(connectionId);
    if (immediate || state === undefined || state.pending === 0) {
      this.inner.disconnect(connectionId, immediate);
      return;
    }
    const item = this.takeItem(Kind.DisconnectRequest, NetworkChannelType.ReliableOrdered, connectionId);
    item.dueMs = state.lastDueMs;
    state.pending++;
    this.queue.push(item);
  }

  /** @inheritDoc */
  service(): void {
    this.releaseDue();
    this.inner.service();
    this.releaseDue();
  }

  /** @inheritDoc */
  send(channel: NetworkChannelType, message: OutgoingMessage, targets: NetworkConnection | readonly NetworkConnection[]): void {
    const conditions = this.simulation.outgoing;
    if (this.worksOnDatagrams || (isPerfect(conditions) && this.queue.size === 0)) {
      this.inner.send(channel, message, targets);
      return;
    }
    if (Array.isArray(targets)) {
      for (let i = 0; i < targets.length; i++) this.assertRoom(targets[i].connectionId, message.length);
      for (let i = 0; i < targets.length; i++) this.sendOne(channel, message, targets[i], conditions);
    } else {
      this.assertRoom((targets as NetworkConnection).connectionId, message.length);
      this.sendOne(channel, message, targets as NetworkConnection, conditions);
    }
  }

  /**
   * A connection's send queue is what is delayed here plus what the inner driver still holds, so the limit is
   * enforced at send time and a delayed message falling due can never overflow the inner queue.
   * @throws NetworkError `SEND_QUEUE_FULL`
   */
  private assertRoom(connectionId: number, length: number): void {
    const delayed = this.outgoingState.get(connectionId)?.delayedBytes ?? 0;
    const figures = this.innerFigures;
    figures.clear();
    this.inner.collectStats(connectionId, figures);
    const queued = delayed + figures.pendingReliableBytes + figures.unacknowledgedBytes;
    if (queued + length > this.sendQueueLimitBytes) {
      throw new NetworkError(
        NetworkErrorCode.SendQueueFull,
        `Connection ${connectionId} has ${queued} bytes queued (${delayed} of them delayed by the simulation); ${length} more would pass sendQueueLimitBytes (${this.sendQueueLimitBytes})`,
      );
    }
  }

  /** @inheritDoc */
  flush(): void {
    this.releaseDue();
    this.inner.flush();
  }

  /**
   * The inner driver's figures. In whole-message mode the configured latency of both directions is added to the
   * round-trip time, since no datagram carries it.
   */
  collectStats(connectionId: number | undefined, out: NetworkStats): boolean {
    const known = this.inner.collectStats(connectionId, out);
    if (known && !this.worksOnDatagrams) {
      const { outgoing, incoming } = this.simulation;
      out.rttMs += outgoing.latencyMs + incoming.latencyMs;
      out.rttVarianceMs += (outgoing.jitterMs + incoming.jitterMs) / 2;
      const sent = this.outgoing;
      if (out.packetLossPercent === 0 && sent.entered > 0) out.packetLossPercent = (100 * (sent.dropped + sent.droppedQueueFull)) / sent.entered;
    }
    return known;
  }

  private applyToDatagrams(): void {
    if (!this.worksOnDatagrams) return;
    const target = this.inner as unknown as DatagramImpairable;
    target.setDatagramConditions('outgoing', this.simulation.outgoing, this.simulation.seed);
    target.setDatagramConditions('incoming', this.simulation.incoming, this.simulation.seed ^ 0x9e37_79b9);
  }

  private sendOne(channel: NetworkChannelType, message: OutgoingMessage, target: NetworkConnection, conditions: ResolvedLinkConditions): void {
    const counters = this.outgoing;
    const state = this.stateOf(this.outgoingState, target.connectionId);
    const dueMs = this.decide(channel, message.length, conditions, this.outgoingRandom, counters, state, 0);
    if (dueMs < 0) return;
    this.duplicate(channel, message.length, conditions, this.outgoingRandom, counters, 0);
    const item = this.takeItem(Kind.Send, channel, target.connectionId);
    item.target = target;
    item.payload = this.takeBuffer(message.length);
    item.payload.set(message.buffer.subarray(0, message.length));
    item.length = message.length;
    item.sequence = state.nextSequence++;
    item.dueMs = dueMs;
    state.pending++;
    state.delayedBytes += message.length;
    this.queue.push(item);
  }

  /** A copy of an unreliable message: it takes its share of the bandwidth and is discarded, as a transport would. */
  private duplicate(
    channel: NetworkChannelType,
    length: number,
    conditions: ResolvedLinkConditions,
    random: SeededRandom,
    counters: SimulationCounters,
    direction: number,
  ): void {
    if (channel >= NetworkChannelType.Reliable || conditions.duplicateRate === 0 || random.next() >= conditions.duplicateRate) return;
    counters.duplicated++;
    if (conditions.bandwidthBytesPerSec > 0) {
      this.linkFreeAtMs[direction] = Math.max(this.clock.nowMs(), this.linkFreeAtMs[direction]) + (length * 1000) / conditions.bandwidthBytesPerSec;
    }
  }

  /**
   * Decides when a message of `channel` is due, or -1 to drop it. Reliable channels are only delayed, and
   * ReliableOrdered never earlier than the one before it.
   */
  private decide(
    channel: NetworkChannelType,
    length: number,
    conditions: ResolvedLinkConditions,
    random: SeededRandom,
    counters: SimulationCounters,
    state: DirectionState,
    direction: number,
  ): number {
    const now = this.clock.nowMs();
    const isReliable = channel >= NetworkChannelType.Reliable;
    counters.entered++;
    if (!isReliable && conditions.lossRate > 0 && random.next() < conditions.lossRate) {
      counters.dropped++;
      return -1;
    }
    let departure = now;
    if (conditions.bandwidthBytesPerSec > 0) {
      departure = Math.max(now, this.linkFreeAtMs[direction]);
      if (!isReliable && departure - now > MAX_QUEUE_DELAY_MS) {
        counters.droppedQueueFull++;
        return -1;
      }
      this.linkFreeAtMs[direction] = departure + (length * 1000) / conditions.bandwidthBytesPerSec;
      departure = this.linkFreeAtMs[direction];
    }
    let dueMs = departure + conditions.latencyMs + this.jitter(conditions, random);
    if (!isReliable && conditions.reorderRate > 0 && random.next() < conditions.reorderRate) {
      dueMs += conditions.latencyMs + conditions.jitterMs + REORDER_HOLD_MS;
      counters.reordered++;
    }
    if (channel === NetworkChannelType.ReliableOrdered) {
      dueMs = Math.max(dueMs, state.lastOrderedDueMs);
      state.lastOrderedDueMs = dueMs;
    }
    state.lastDueMs = Math.max(state.lastDueMs, dueMs);
    if (dueMs > now) counters.delayed++;
    return dueMs;
  }

  private jitter(conditions: ResolvedLinkConditions, random: SeededRandom): number {
    if (conditions.jitterMs === 0) return 0;
    return Math.max(-conditions.latencyMs, (random.next() * 2 - 1) * conditions.jitterMs);
  }

  private wrapSink(sink: DriverSink): DriverSink {
    const enqueueEnd = (kind: Kind, connectionId: number, reason: DisconnectReason): boolean => {
      const state = this.incomingState.get(connectionId);
      if (state === undefined || state.pending === 0) {
        this.incomingState.delete(connectionId);
        return false;
      }
      const item = this.takeItem(kind, NetworkChannelType.ReliableOrdered, connectionId);
      item.reason = reason;
      item.dueMs = state.lastDueMs;
      state.pending++;
      this.queue.push(item);
      return true;
    };
    return {
      acquireReceiveMessage: () => sink.acquireReceiveMessage(),
      releaseReceiveMessage: (message) => sink.releaseReceiveMessage(message),
      onConnected: (connectionId) => sink.onConnected(connectionId),
      onDisconnected: (connectionId, reason) => {
        if (!enqueueEnd(Kind.Disconnected, connectionId, reason)) sink.onDisconnected(connectionId, reason);
      },
      onTimeout: (connectionId) => {
        if (!enqueueEnd(Kind.Timeout, connectionId, 0 as DisconnectReason)) sink.onTimeout(connectionId);
      },
      onMessage: (connectionId, message, channel) => this.receiveOne(sink, connectionId, message, channel),
    };
  }

  private receiveOne(sink: DriverSink, connectionId: number, message: NetworkMessage, channel: NetworkChannelType): void {
    const conditions = this.simulation.incoming;
    const state = this.stateOf(this.incomingState, connectionId);
    if (isPerfect(conditions) && state.pending === 0) {
      sink.onMessage(connectionId, message, channel);
      return;
    }
    const dueMs = this.decide(channel, message.length, conditions, this.incomingRandom, this.incoming, state, 1);
    if (dueMs < 0) {
      sink.releaseReceiveMessage(message);
      return;
    }
    this.duplicate(channel, message.length, conditions, this.incomingRandom, this.incoming, 1);
    const item = this.takeItem(Kind.Receive, channel, connectionId);
    item.message = message;
    item.sequence = state.nextSequence++;
    item.dueMs = dueMs;
    state.pending++;
    this.queue.push(item);
  }

  private releaseDue(): void {
    const now = this.clock.nowMs();
    for (let item = this.queue.popDue(now); item !== undefined; item = this.queue.popDue(now)) this.release(item);
  }

  private release(item: PendingItem): void {
    const sink = this.sink as DriverSink;
    const states = item.kind === Kind.Send || item.kind === Kind.DisconnectRequest ? this.outgoingState : this.incomingState;
    const state = states.get(item.connectionId);
    if (state !== undefined) state.pending--;
    switch (item.kind) {
      case Kind.Send:
        if (state !== undefined) state.delayedBytes -= item.length;
        if (this.isLate(item, state, this.outgoing)) break;
        this.inner.send(item.channel, { buffer: item.payload as Buffer, length: item.length }, item.target as NetworkConnection);
        break;
      case Kind.Receive:
        if (this.isLate(item, state, this.incoming)) sink.releaseReceiveMessage(item.message as NetworkMessage);
        else sink.onMessage(item.connectionId, item.message as NetworkMessage, item.channel);
        break;
      case Kind.Disconnected:
        sink.onDisconnected(item.connectionId, item.reason);
        states.delete(item.connectionId);
        break;
      case Kind.Timeout:
        sink.onTimeout(item.connectionId);
        states.delete(item.connectionId);
        break;
      case Kind.DisconnectRequest:
        this.inner.disconnect(item.connectionId, false);
        states.delete(item.connectionId);
        break;
    }
    this.giveBack(item);
  }

  /** An UnreliableOrdered message overtaken by a later one is dropped, never delivered out of order. */
  private isLate(item: PendingItem, state: DirectionState | undefined, counters: SimulationCounters): boolean {
    if (item.channel !== NetworkChannelType.UnreliableOrdered || state === undefined) return false;
    if (item.sequence <= state.lastDelivered) {
      counters.droppedLate++;
      return true;
    }
    state.lastDelivered = item.sequence;
    return false;
  }

  private stateOf(states: Map<number, DirectionState>, connectionId: number): DirectionState {
    let state = states.get(connectionId);
    if (state === undefined) {
      state = { lastDueMs: 0, lastOrderedDueMs: 0, nextSequence: 0, lastDelivered: -1, pending: 0, delayedBytes: 0 };
      states.set(connectionId, state);
    }
    return state;
  }

  private takeItem(kind: Kind, channel: NetworkChannelType, connectionId: number): PendingItem {
    const item = this.spareItems.pop() ?? ({} as PendingItem);
    item.kind = kind;
    item.channel = channel;
    item.connectionId = connectionId;
    item.target = undefined;
    item.payload = undefined;
    item.length = 0;
    item.message = undefined;
    item.reason = 0 as DisconnectReason;
    item.sequence = 0;
    item.dueMs = 0;
    return item;
  }

  private takeBuffer(length: number): Buffer {
    const spare = this.spareBuffers.pop();
    return spare !== undefined && spare.length >= length ? spare : Buffer.allocUnsafe(Math.max(length, this.messageSize));
  }

  private giveBack(item: PendingItem): void {
    if (item.payload !== undefined) this.spareBuffers.push(item.payload);
    item.target = undefined;
    item.payload = undefined;
    item.message = undefined;
    this.spareItems.push(item);
  }
}
