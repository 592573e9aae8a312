import { copyBytes, copyWords } from '../byte-copy';
import { NetworkError, NetworkErrorCode } from '../errors';
import { DEFAULT_CONFIG, type ResolvedNetworkConfig } from '../network-config';
import { NetworkChannelType } from '../network-channel-type';
import type { NetworkConnection } from '../network-connection';
import { DisconnectReason, reasonFromWire } from '../network-event';
import type { NetworkStats } from '../network-stats';
import {
  DisconnectMode,
  HOST_STATS_LENGTH,
  IMPAIRMENT_STATS_LENGTH,
  NativeEvent,
  PEER_STATS_LENGTH,
  NativeStatus,
  PacketFlag,
  RECORD_HEADER_BYTES,
  SEND_HEADER_BYTES,
  loadNativeBinding,
  type NativeHost,
  type NativeModule,
} from './enet-binding';
import type { ResolvedLinkConditions } from './link-conditions';
import type { DriverSink, NetworkDriver, OutgoingMessage } from './network-driver';
import type { DatagramImpairable, SimulationCounters } from './simulated-driver';

/** ENet channels a netpeer host asks for: one per channel type. */
const CHANNELS_PER_TYPE = 4;
/** Bytes of the JS-owned buffers that cross the boundary once per batch. */
const BATCH_BYTES = 256 * 1024;
/** Native service calls per `service()` at most, so one tick cannot be held forever by a flood. */
const MAX_SERVICE_ROUNDS = 8;

const HandleState = { Free: 0, Connecting: 1, Open: 2, Closing: 3, Refused: 4 } as const;

/** ENet channel of each channel type on a 4-channel connection; a 1-channel (Flax) connection uses channel 0. */
const CHANNEL_OF_TYPE = [0, 0, 1, 2, 3];
/** Channel type of each ENet channel on a 4-channel connection. */
const TYPE_OF_CHANNEL: readonly NetworkChannelType[] = [
  NetworkChannelType.Unreliable,
  NetworkChannelType.UnreliableOrdered,
  NetworkChannelType.Reliable,
  NetworkChannelType.ReliableOrdered,
];
/**
 * ENet packet flags of each channel type, the same on both kinds of connection. They are Flax's flags (unsequenced
 * for Unreliable, none for UnreliableOrdered, reliable for both reliable types) plus unreliable fragments, so that
 * an unreliable message over one datagram is never upgraded to reliable.
 */
const FLAGS_OF_TYPE = [
  0,
  PacketFlag.Unsequenced | PacketFlag.UnreliableFragment,
  PacketFlag.UnreliableFragment,
  PacketFlag.Reliable,
  PacketFlag.Reliable,
];

const align4 = (n: number): number => (n + 3) & ~3;

/**
 * Record fields are little-endian u32 at 4-aligned offsets of buffers this driver allocates (offset 0 of their own
 * ArrayBuffer), so on a little-endian machine they are plain stores into a Uint32Array view: no bounds-checked
 * Buffer call per field on the hot path.
 */
const IS_LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

// Int32Array rather than Uint32Array: the same views copy payloads (copyWords), and a uint32 stored into one keeps
// its bits.
function wordsOf(buffer: Buffer): Int32Array {
  return new Int32Array(buffer.buffer, buffer.byteOffset, buffer.length >> 2);
}

function putUInt32(buffer: Buffer, words: Int32Array, offset: number, value: number): void {
  if (IS_LITTLE_ENDIAN) words[offset >> 2] = value;
  else buffer.writeUInt32LE(value, offset);
}

function getUInt32(buffer: Buffer, words: Int32Array, offset: number): number {
  return IS_LITTLE_ENDIAN ? words[offset >> 2] >>> 0 : buffer.readUInt32LE(offset);
}

/**
 * The UDP driver: ENet through the Node-API addon in native-bindings/. The addon does mechanism (ENet calls,
 * copying between ENet packets and JS-owned buffers); this class decides: connection ids, refusing clients over
 * the limit, channel mapping, and waiting when the pool is empty. Each `service()` crosses into native code once
 * to send every queued message and once per batch of received events, never once per message.
 *
 * Wire-compatible with stock ENet 1.3 peers. CRC checksums and the range coder stay off.
 */
export class ENetDriver implements NetworkDriver, DatagramImpairable {
  /** Always `'enet'`. */
  readonly name = 'enet';

  private host: NativeHost | undefined;
  private binding: NativeModule | undefined;
  /** The host's id for the module's fast calls, once its buffers are bound (after it opened); 0 before. */
  private hostId = 0;
  private sink: DriverSink | undefined;
  private config: ResolvedNetworkConfig | undefined;
  private isServer = false;
  private isDisposed = false;

  private idByHandle = new Uint32Array(0);
  private stateByHandle = new Uint8Array(0);
  private channelsByHandle = new Uint8Array(0);
  /** Messages sent to and received from each handle's current connection. */
  private messagesSentByHandle = new Float64Array(0);
  /**
   * Bytes queued or unacknowledged per handle: ENet's figure at the last look plus what JS sent since. ENet is asked
   * again only when this estimate reaches `sendQueueLimitBytes`, so a send costs no native call until the link is
   * nearly saturated.
   */
  private queuedEstimateByHandle = new Float64Array(0);
  private messagesReceivedByHandle = new Float64Array(0);
  private messagesSentTotal = 0;
  private messagesReceivedTotal = 0;
  private receiveStalls = 0;
  private readonly peerFigures = new Float64Array(PEER_STATS_LENGTH);
  private readonly hostFigures = new Float64Array(HOST_STATS_LENGTH);
  private readonly impairmentFigures = new Float64Array(IMPAIRMENT_STATS_LENGTH);
  private readonly handleById = new Map<number, number>();
  /** The last connection sent to and its handle: a client, or a server answering one connection, skips the map. */
  private lastSendConnectionId = 0;
  private lastSendHandle = 0;
  private nextConnectionId = 1;
  private openCount = 0;
  /** Ids closed with an immediate disconnect, whose Local event is still to be reported. */
  private readonly endedLocally: number[] = [];

  /** Bytes of reliable messages the addon may hold while the application keeps the pool empty. */
  private maxHeldBytes = 0;
  private receiveBuffer: Buffer = Buffer.alloc(0);
  private receiveLength = 0;
  private receiveOffset = 0;
  private receiveWords: Int32Array = new Int32Array(0);
  private sendBuffer: Buffer = Buffer.alloc(0);
  private sendWords: Int32Array = new Int32Array(0);
  private sendLength = 0;
  /**
   * Unreliable records for 1-channel connections, sent after the main batch. ENet writes reliable commands first
   * in each datagram, so on a shared channel an unreliable sequenced message queued before a reliable one would
   * look stale on arrival and be dropped; sent after it, it is not. Channel types promise no order between them.
   */
  private deferredBuffer: Buffer = Buffer.alloc(0);
  private deferredWords: Int32Array = new Int32Array(0);
  private deferredLength = 0;

  /** Clients refused after ENet accepted them (a safety net behind the addon's own limit; expected to stay 0). */
  lateRefusedCount = 0;
  /** Messages that arrived for a connection already ended or refused, and were dropped. */
  droppedAfterEndCount = 0;
  /** Receives longer than `messageSize` that reached the driver (the addon drops them first; expected to stay 0). */
  private oversizeDroppedInDriver = 0;

  /** UDP port the host is bound to, or 0 before `listen()`/`connect()`. */
  get localPort(): number {
    const port = this.host?.localPort() ?? 0;
    return port > 0 ? port : 0;
  }

  /** @inheritDoc */
  initialize(sink: DriverSink, config: ResolvedNetworkConfig): void {
    if (this.sink !== undefined) throw new TypeError('Expected an ENetDriver that no peer uses yet: give each peer its own driver');
    const binding = loadNativeBinding();
    this.binding = binding;
    this.sink = sink;
    this.config = config;
    this.host = new binding.Host();
    // One record must always fit, whatever messageSize is.
    this.receiveBuffer = Buffer.alloc(Math.max(BATCH_BYTES, align4(RECORD_HEADER_BYTES + config.messageSize)));
    this.receiveWords = wordsOf(this.receiveBuffer);
    this.setSendBuffers(BATCH_BYTES);
    this.maxHeldBytes = Math.max(1024 * 1024, 16 * config.messageSize);
  }

  /** @inheritDoc */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    if (this.host === undefined) return;
    this.pushQueuedSends();
    this.host.close(this.isServer ? DisconnectReason.ServerShutdown : DisconnectReason.Remote);
    this.hostId = 0;
    this.lastSendConnectionId = 0;
    this.stateByHandle.fill(HandleState.Free);
    this.handleById.clear();
  }

  /** @inheritDoc */
  listen(): void {
    const config = this.requireConfig();
    // Room above the limit, so that half-open and closing connections never leave a new client unanswered.
    const headroom = Math.min(4095 - config.connectionsLimit, Math.max(8, config.connectionsLimit >> 2));
    this.openHost(listenAddress(config.address), config.port, config.connectionsLimit + headroom, config.channelCount);
    // The addon answers each CONNECT over the limit (half-open connections count) with a disconnect carrying
    // ServerFull before ENet creates a peer, so a refused client never sees Connected.
    (this.host as NativeHost).setConnectionLimit(config.connectionsLimit, DisconnectReason.ServerFull);
    this.isServer = true;
  }

  /** @inheritDoc */
  connect(): number {
    const config = this.requireConfig();
    const host = this.host as NativeHost;
    if (this.idByHandle.length === 0) {
      this.openHost('', 0, 1, config.channelCount);
      // A client takes no connections: a stranger's CONNECT to its port is ignored without a reply.
      host.setConnectionLimit(0, 0, true);
    }
    const handle = host.connect(connectAddress(config.address), config.port, config.channelCount, 0);
    if (handle < 0) throw statusError(handle, `connect to ${config.address}:${config.port}`);
    this.configurePeer(handle);
    return this.assignId(handle, HandleState.Connecting);
  }

  /** @inheritDoc */
  disconnect(connectionId: number, immediate: boolean): void {
    const handle = this.handleById.get(connectionId);
    if (handle === undefined || this.stateByHandle[handle] === HandleState.Closing) return;
    const host = this.host as NativeHost;
    // Messages queued in JS go to ENet first, so a graceful disconnect delivers them before it.
    this.pushQueuedSends();
    if (immediate) {
      host.disconnect(handle, DisconnectReason.Remote, DisconnectMode.Now);
      this.releaseHandle(handle);
      this.endedLocally.push(connectionId);
      return;
    }
    this.stateByHandle[handle] = HandleState.Closing;
    host.disconnect(handle, DisconnectReason.Remote, DisconnectMode.Later);
  }

  /** @inheritDoc */
  service(): void {
    const host = this.host;
    const sink = this.sink;
    if (host === undefined || sink === undefined || this.isDisposed || this.idByHandle.length === 0) {
      this.reportLocalEnds();
      return;
    }
    this.pushQueuedSends();
    const maxPayload = (this.config as ResolvedNetworkConfig).messageSize;
    // Records left over while the pool was empty come first. Until they fit, the addon keeps ENet serviced (acks and
    // pings go on), holds reliable and connection events in a bounded queue and drops, counting, unreliable ones.
    if (this.receiveOffset < this.receiveLength && !this.decodeRecords(sink)) {
      host.serviceHeld(maxPayload, this.maxHeldBytes);
      return;
    }
    for (let round = 0; round < MAX_SERVICE_ROUNDS; round++) {
      const written = (this.binding as NativeModule).serviceBound(this.hostId, maxPayload, 0);
      if (written <= 0) break;
      this.receiveLength = written;
      this.receiveOffset = 0;
      if (!this.decodeRecords(sink)) return;
      if (written < this.receiveBuffer.length >> 1) break;
    }
    this.reportLocalEnds();
  }

  /** @inheritDoc */
  send(channel: NetworkChannelType, message: OutgoingMessage, targets: NetworkConnection | readonly NetworkConnection[]): void {
    if (!Array.isArray(targets)) {
      this.sendToOne(channel, message, targets as NetworkConnection);
      return;
    }
    const list = targets as readonly NetworkConnection[];
    const length = message.length;
    // Every target is checked before any is queued, so a full queue leaves nothing half-sent.
    for (let i = 0; i < list.length; i++) {
      const handle = this.handleById.get(list[i].connectionId);
      if (handle !== undefined) this.assertRoom(handle, list[i].connectionId, length);
    }
    const at = this.reserveRecord(list.length, length);
    const out = this.sendBuffer;
    let handles = 0;
    let singleChannel = false;
    for (let i = 0; i < list.length; i++) {
      const handle = this.handleById.get(list[i].connectionId);
      if (handle === undefined || this.stateByHandle[handle] !== HandleState.Open) continue;
      if (this.channelsByHandle[handle] < CHANNELS_PER_TYPE) singleChannel = true;
      this.countSent(handle, length);
      putUInt32(out, this.sendWords, at + SEND_HEADER_BYTES + 4 * handles++, handle);
    }
    if (handles === 0) return;
    // A list mixing 1-channel and 4-channel peers goes on channel 0: the only channel every target has.
    const end = this.writeRecord(out, this.sendWords, at, handles, singleChannel ? 0 : CHANNEL_OF_TYPE[channel], channel, message);
    if (singleChannel && channel <= NetworkChannelType.UnreliableOrdered) {
      copyBytes(out, at, this.deferredBuffer, this.deferredLength, end - at);
      this.deferredLength += end - at;
      return;
    }
    this.sendLength = end;
  }

  /** The common case, one target: one lookup, and the record is written straight into the batch it goes out in. */
  private sendToOne(channel: NetworkChannelType, message: OutgoingMessage, target: NetworkConnection): void {
    const connectionId = target.connectionId;
    let handle: number | undefined;
    if (connectionId === this.lastSendConnectionId) {
      handle = this.lastSendHandle;
    } else {
      handle = this.handleById.get(connectionId);
      if (handle === undefined) return;
      this.lastSendConnectionId = connectionId;
      this.lastSendHandle = handle;
    }
    if (this.stateByHandle[handle] !== HandleState.Open) return;
    const length = message.length;
    this.assertRoom(handle, connectionId, length);
    const at = this.reserveRecord(1, length);
    this.countSent(handle, length);
    const singleChannel = this.channelsByHandle[handle] < CHANNELS_PER_TYPE;
    if (singleChannel && channel <= NetworkChannelType.UnreliableOrdered) {
      const deferredAt = this.deferredLength;
      putUInt32(this.deferredBuffer, this.deferredWords, deferredAt + SEND_HEADER_BYTES, handle);
      this.deferredLength = this.writeRecord(this.deferredBuffer, this.deferredWords, deferredAt, 1, 0, channel, message);
      return;
    }
    putUInt32(this.sendBuffer, this.sendWords, at + SEND_HEADER_BYTES, handle);
    this.sendLength = this.writeRecord(this.sendBuffer, this.sendWords, at, 1, singleChannel ? 0 : CHANNEL_OF_TYPE[channel], channel, message);
  }

  /** Makes room for a record of `targetCount` handles and `length` payload bytes in both batches; returns its offset. */
  private reserveRecord(targetCount: number, length: number): number {
    const recordBytes = align4(SEND_HEADER_BYTES + 4 * targetCount + length);
    if (recordBytes > this.sendBuffer.length) this.growSendBuffers(recordBytes);
    if (this.sendLength + recordBytes > this.sendBuffer.length || this.deferredLength + recordBytes > this.deferredBuffer.length) {
      this.pushQueuedSends();
    }
    return this.sendLength;
  }

  /** Writes a record's header (its handles are already in place) and payload; returns the offset after it. */
  private writeRecord(out: Buffer, words: Int32Array, at: number, handles: number, enetChannel: number, channel: NetworkChannelType, message: OutgoingMessage): number {
    const length = message.length;
    putUInt32(out, words, at, length);
    // u16 target count, u8 ENet channel, u8 reserved: one little-endian word.
    putUInt32(out, words, at + 4, handles | (enetChannel << 16));
    putUInt32(out, words, at + 8, FLAGS_OF_TYPE[channel]);
    const payloadAt = at + SEND_HEADER_BYTES + 4 * handles;
    // Word by word when the message is a pool slot (4-aligned, rounded up to 4 bytes); the padding after the
    // payload is the record's own.
    if (message.words !== undefined) copyWords(message.words, message.wordOffset as number, words, payloadAt >> 2, length);
    else copyBytes(message.buffer, 0, out, payloadAt, length);
    return align4(payloadAt + length);
  }

  private countSent(handle: number, length: number): void {
    this.messagesSentByHandle[handle]++;
    this.messagesSentTotal++;
    this.queuedEstimateByHandle[handle] += length;
  }


  /** @inheritDoc */
  flush(): void {
    if (this.host === undefined || this.isDisposed || this.idByHandle.length === 0) return;
    this.pushQueuedSends(1);
  }

  /** @inheritDoc */
  collectStats(connectionId: number | undefined, out: NetworkStats): boolean {
    const host = this.host;
    if (connectionId !== undefined) {
      const handle = this.handleById.get(connectionId);
      if (host === undefined || handle === undefined || this.isDisposed) return false;
      this.readPeer(host, handle, out);
      out.messagesSent = this.messagesSentByHandle[handle];
      out.messagesReceived = this.messagesReceivedByHandle[handle];
      out.connections = this.stateByHandle[handle] === HandleState.Open ? 1 : 0;
      return true;
    }
    out.messagesSent = this.messagesSentTotal;
    out.messagesReceived = this.messagesReceivedTotal;
    out.receiveStalls = this.receiveStalls;
    if (host === undefined || this.idByHandle.length === 0) return true;
    const figures = this.hostFigures;
    if (!this.isDisposed) {
      // Host-wide RTT is the mean over open connections; loss and queues are summed.
      let rttSum = 0;
      let varianceSum = 0;
      let lossSum = 0;
      let lostSum = 0;
      for (const handle of this.handleById.values()) {
        if (this.stateByHandle[handle] !== HandleState.Open) continue;
        this.readPeer(host, handle, out);
        rttSum += out.rttMs;
        varianceSum += out.rttVarianceMs;
        lossSum += out.packetLossPercent;
        lostSum += out.packetsLost;
        out.connections++;
      }
      const open = Math.max(1, out.connections);
      out.rttMs = rttSum / open;
      out.rttVarianceMs = varianceSum / open;
      out.packetLossPercent = lossSum / open;
      out.packetsLost = lostSum;
    }
    host.hostStats(figures);
    out.bytesSent = figures[0];
    out.bytesReceived = figures[1];
    out.packetsSent = figures[2];
    out.serviceErrors = figures[4];
    out.oversizeDropped = figures[5] + this.oversizeDroppedInDriver;
    out.refusedConnections = figures[8] + this.lateRefusedCount;
    out.unreliableDroppedWhileStalled = figures[9];
    out.malformedDropped = figures[11] + figures[12];
    return true;
  }

  /** Copies one ENet peer's figures into `out`; queues add up, so several peers can be read into one `out`. */
  private readPeer(host: NativeHost, handle: number, out: NetworkStats): void {
    const figures = this.peerFigures;
    if (host.peerStats(handle, figures) < 0) return;
    out.rttMs = figures[0];
    out.rttVarianceMs = figures[1];
    out.packetsSent = figures[2];
    out.packetsLost = figures[3];
    out.bytesSent = figures[4];
    out.bytesReceived = figures[5];
    out.unacknowledgedBytes += figures[6];
    out.pendingReliableBytes += figures[7];
    // ENet's own smoothed loss is recomputed only every 10 s; the resent share is meaningful from the first second.
    out.packetLossPercent = figures[2] > 0 ? (100 * figures[3]) / figures[2] : 0;
  }

  private openHost(address: string, port: number, peerLimit: number, channelCount: number): void {
    const config = this.config as ResolvedNetworkConfig;
    const host = this.host as NativeHost;
    // messageSize bounds reassembly: a larger fragmented message is dropped (and counted) as it arrives.
    const status = host.open(address, port, peerLimit, channelCount === 1 ? 1 : CHANNELS_PER_TYPE, 0, config.messageSize);
    if (status < 0) throw statusError(status, `open a host on ${address || 'any'}:${port}`);
    this.bindBuffers();
    // Configured timeouts apply from a connection's first datagram, so half-open ones expire on schedule too.
    host.setPeerDefaults(config.pingIntervalMs, config.timeoutLimit, config.timeoutMinimumMs, config.timeoutMaximumMs);
    // ENet already asked for 256 KiB; only a different size costs a call.
    if (config.socketReceiveBufferBytes !== DEFAULT_CONFIG.socketReceiveBufferBytes) {
      const granted = host.setReceiveBuffer(config.socketReceiveBufferBytes);
      if (granted < 0) throw statusError(granted, `set a socket receive buffer of ${config.socketReceiveBufferBytes} bytes`);
    }
    this.idByHandle = new Uint32Array(peerLimit);
    this.stateByHandle = new Uint8Array(peerLimit);
    this.channelsByHandle = new Uint8Array(peerLimit);
    this.messagesSentByHandle = new Float64Array(peerLimit);
    this.messagesReceivedByHandle = new Float64Array(peerLimit);
    this.queuedEstimateByHandle = new Float64Array(peerLimit);
  }

  private configurePeer(handle: number): void {
    const config = this.config as ResolvedNetworkConfig;
    (this.host as NativeHost).configurePeer(handle, config.pingIntervalMs, config.timeoutLimit, config.timeoutMinimumMs, config.timeoutMaximumMs);
  }

  private assignId(handle: number, state: number): number {
    const connectionId = this.nextConnectionId++;
    this.idByHandle[handle] = connectionId;
    this.stateByHandle[handle] = state;
    this.messagesSentByHandle[handle] = 0;
    this.messagesReceivedByHandle[handle] = 0;
    this.queuedEstimateByHandle[handle] = 0;
    this.handleById.set(connectionId, handle);
    return connectionId;
  }

  private releaseHandle(handle: number): void {
    const connectionId = this.idByHandle[handle];
    if (connectionId !== 0) this.handleById.delete(connectionId);
    if (connectionId === this.lastSendConnectionId) this.lastSendConnectionId = 0;
    if (this.isServer && this.stateByHandle[handle] !== HandleState.Refused && connectionId !== 0) this.openCount--;
    this.idByHandle[handle] = 0;
    this.stateByHandle[handle] = HandleState.Free;
  }

  /** @returns false when a message waits for a free pool slot */
  private decodeRecords(sink: DriverSink): boolean {
    const records = this.receiveBuffer;
    while (this.receiveOffset < this.receiveLength) {
      const at = this.receiveOffset;
      const type = records[at];
      const handle = getUInt32(records, this.receiveWords, at + 4);
      const length = getUInt32(records, this.receiveWords, at + 12);
      if (type === NativeEvent.Receive) {
        const connectionId = this.idByHandle[handle];
        if (connectionId === 0 || this.stateByHandle[handle] === HandleState.Refused) {
          this.droppedAfterEndCount++;
        } else {
          const message = sink.acquireReceiveMessage();
          if (message === undefined) {
            this.receiveStalls++;
            return false;
          }
          if (length > message.bufferSize) {
            // The addon drops receives above messageSize; one here would mean the two disagree. Never copy it
            // (whole words past the slot would reach the next one).
            sink.releaseReceiveMessage(message);
            this.oversizeDroppedInDriver++;
            this.receiveOffset = align4(at + RECORD_HEADER_BYTES + length);
            continue;
          }
          this.messagesReceivedByHandle[handle]++;
          this.messagesReceivedTotal++;
          // Records are 4-aligned and zero-padded, slots rounded up to 4 bytes: whole words fit on both ends.
          copyWords(this.receiveWords, (at + RECORD_HEADER_BYTES) >> 2, message.words, message.wordOffset, length);
          message.setReceived(length);
          const shared = this.channelsByHandle[handle] < CHANNELS_PER_TYPE;
          sink.onMessage(connectionId, message, shared ? sharedChannelTypeOf(records[at + 2]) : TYPE_OF_CHANNEL[records[at + 1] & 3]);
        }
      } else {
        this.handleConnectionRecord(sink, type, handle, records[at + 1], getUInt32(records, this.receiveWords, at + 8));
      }
      this.receiveOffset = align4(at + RECORD_HEADER_BYTES + length);
    }
    return true;
  }

  private handleConnectionRecord(sink: DriverSink, type: number, handle: number, channelCount: number, data: number): void {
    const connectionId = this.idByHandle[handle];
    const state = this.stateByHandle[handle];
    if (type === NativeEvent.Connect) {
      this.channelsByHandle[handle] = channelCount;
      if (!this.isServer) {
        if (connectionId === 0 || state !== HandleState.Connecting) return;
        this.stateByHandle[handle] = HandleState.Open;
        sink.onConnected(connectionId);
        return;
      }
      if (this.openCount >= (this.config as ResolvedNetworkConfig).connectionsLimit) {
        // A safety net: the addon's limit counts every live ENet peer, so this is reached only if the two disagree.
        this.stateByHandle[handle] = HandleState.Refused;
        this.lateRefusedCount++;
        (this.host as NativeHost).disconnect(handle, DisconnectReason.ServerFull, DisconnectMode.Graceful);
        return;
      }
      this.configurePeer(handle);
      this.openCount++;
      sink.onConnected(this.assignId(handle, HandleState.Open));
      return;
    }
    // Disconnect or timeout: the ENet peer is gone either way.
    this.releaseHandle(handle);
    if (connectionId === 0 || state === HandleState.Refused) return;
    if (type === NativeEvent.DisconnectTimeout) sink.onTimeout(connectionId);
    else sink.onDisconnected(connectionId, state === HandleState.Closing ? DisconnectReason.Local : reasonFromWire(data));
  }

  /**
   * Impairs every UDP datagram this host sends (`outgoing`) or receives (`incoming`), below ENet's reliability layer,
   * so retransmission and the round-trip estimate react as on a real bad link. Jitter never reorders datagrams;
   * only `reorderRate` does. Use it through {@link SimulatedDriver}.
   * @throws TypeError before `listen()`/`connect()`; NetworkError `DRIVER_FAILURE` where the addon cannot impair
   *   (Windows)
   */
  setDatagramConditions(direction: 'outgoing' | 'incoming', conditions: ResolvedLinkConditions, seed: number): void {
    if (this.host === undefined || this.idByHandle.length === 0 || this.isDisposed) {
      throw new TypeError('Expected an open ENet host: set datagram conditions after listen() or connect()');
    }
    const { latencyMs, jitterMs, lossRate, duplicateRate, reorderRate, bandwidthBytesPerSec } = conditions;
    const status = this.host.setImpairment(direction === 'outgoing' ? 0 : 1, latencyMs, jitterMs, lossRate, duplicateRate, reorderRate, bandwidthBytesPerSec, seed >>> 0);
    if (status === NativeStatus.Unsupported) {
      throw new NetworkError(NetworkErrorCode.DriverFailure, 'Datagram-level simulation is not supported by the ENet addon on this platform');
    }
    if (status < 0) throw statusError(status, 'set datagram conditions');
  }

  /** Copies the addon's datagram impairment counters into `outgoing` and `incoming`. */
  readDatagramCounters(outgoing: SimulationCounters, incoming: SimulationCounters): void {
    if (this.host === undefined) return;
    const figures = this.impairmentFigures;
    if (this.host.impairmentStats(figures) < 0) return;
    [outgoing.dropped, outgoing.duplicated, outgoing.delayed, outgoing.reordered, outgoing.droppedQueueFull] = figures.subarray(0, 5);
    [incoming.dropped, incoming.duplicated, incoming.delayed, incoming.reordered, incoming.droppedQueueFull] = figures.subarray(5, 10);
  }

  /** @throws NetworkError `SEND_QUEUE_FULL` when `length` more bytes would pass the limit even after asking ENet */
  private assertRoom(handle: number, connectionId: number, length: number): void {
    const limit = (this.config as ResolvedNetworkConfig).sendQueueLimitBytes;
    if (this.queuedEstimateByHandle[handle] + length <= limit) return;
    // Near the limit: hand ENet what JS holds, then take its own count of what is still queued or unacknowledged.
    this.pushQueuedSends();
    const figures = this.peerFigures;
    if ((this.host as NativeHost).peerStats(handle, figures) >= 0) this.queuedEstimateByHandle[handle] = figures[6] + figures[7];
    const queued = this.queuedEstimateByHandle[handle];
    if (queued + length > limit) {
      throw new NetworkError(
        NetworkErrorCode.SendQueueFull,
        `Connection ${connectionId} has ${queued} bytes queued or unacknowledged; ${length} more would pass sendQueueLimitBytes (${limit}): send less often, or raise the limit`,
      );
    }
  }

  /** Hands both batches to ENet in one native call, and with `flush` 1 puts everything queued on the wire. */
  private pushQueuedSends(flush: 0 | 1 = 0): void {
    if (this.hostId === 0) {
      // Closed (or never opened): nothing can be sent, so nothing stays queued either.
      this.sendLength = 0;
      this.deferredLength = 0;
      return;
    }
    if (flush === 0 && this.sendLength === 0 && this.deferredLength === 0) return;
    const status = (this.binding as NativeModule).sendBound(this.hostId, this.sendLength, this.deferredLength, flush);
    this.sendLength = 0;
    this.deferredLength = 0;
    if (status < 0) throw statusError(status, 'send a batch');
  }

  private growSendBuffers(recordBytes: number): void {
    this.pushQueuedSends();
    this.setSendBuffers(align4(recordBytes));
  }

  private setSendBuffers(byteCount: number): void {
    this.sendBuffer = Buffer.alloc(byteCount);
    this.sendWords = wordsOf(this.sendBuffer);
    this.deferredBuffer = Buffer.alloc(byteCount);
    this.deferredWords = wordsOf(this.deferredBuffer);
    if (this.hostId !== 0) this.bindBuffers();
  }

  private bindBuffers(): void {
    const status = (this.host as NativeHost).bindBuffers(this.receiveBuffer, this.sendBuffer, this.deferredBuffer);
    if (status <= 0) throw statusError(status, 'bind the batch buffers');
    this.hostId = status;
  }

  private reportLocalEnds(): void {
    while (this.endedLocally.length > 0) this.sink?.onDisconnected(this.endedLocally.shift() as number, DisconnectReason.Local);
  }

  private requireConfig(): ResolvedNetworkConfig {
    if (this.config === undefined || this.isDisposed) throw new TypeError('Expected an initialized ENetDriver that was not disposed');
    return this.config;
  }
}

/**
 * The channel type of a packet received on a shared channel 0, from its flags. Both reliable types arrive in order
 * there, so they read as ReliableOrdered; unreliable fragments read as UnreliableOrdered (they are sequenced).
 */
function sharedChannelTypeOf(flags: number): NetworkChannelType {
  if ((flags & PacketFlag.Reliable) !== 0) return NetworkChannelType.ReliableOrdered;
  return (flags & PacketFlag.Unsequenced) !== 0 ? NetworkChannelType.Unreliable : NetworkChannelType.UnreliableOrdered;
}

/** The literal to bind for a configured listen address: `any` is the dual-stack wildcard. */
function listenAddress(address: string): string {
  if (address === 'any') return '::';
  return address === 'localhost' ? '127.0.0.1' : address;
}

/** The literal or name to connect to. */
function connectAddress(address: string): string {
  if (address === 'any' || address === '::' || address === '0.0.0.0') {
    throw new NetworkError(NetworkErrorCode.AddressInvalid, `Cannot connect to the wildcard address ${address}`);
  }
  return address === 'localhost' ? '127.0.0.1' : address;
}

function statusError(status: number, what: string): NetworkError {
  switch (status) {
    case NativeStatus.Resolve:
      return new NetworkError(NetworkErrorCode.AddressInvalid, `Could not ${what}: the address does not resolve`);
    case NativeStatus.HostCreate:
      return new NetworkError(NetworkErrorCode.HostCreateFailed, `Could not ${what}: the socket could not be created or bound (address in use?)`);
    case NativeStatus.NoPeer:
      return new NetworkError(NetworkErrorCode.NoFreeConnection, `Could not ${what}: no free ENet peer slot`);
    default:
      return new NetworkError(NetworkErrorCode.DriverFailure, `Could not ${what}: native status ${status}`);
  }
}
