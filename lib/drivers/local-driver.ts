import { systemClock, type Clock } from '../clock';
import { NetworkError, NetworkErrorCode } from '../errors';
import type { ResolvedNetworkConfig } from '../network-config';
import type { NetworkChannelType } from '../network-channel-type';
import type { NetworkConnection } from '../network-connection';
import { DisconnectReason } from '../network-event';
import type { NetworkStats } from '../network-stats';
import { LocalInbox, LocalRecordKind } from './local-inbox';
import { LocalNetwork, type LocalListener } from './local-network';
import type { DriverSink, NetworkDriver, OutgoingMessage } from './network-driver';

/** Options of {@link LocalDriver}. */
export interface LocalDriverOptions {
  /** The in-process network to meet other peers on. Default: `LocalNetwork.shared`. */
  network?: LocalNetwork;
  /** Time source for connection timeouts. Default: the system's monotonic clock. */
  clock?: Clock;
}

const EndState = { Connecting: 0, Open: 1, Closing: 2 } as const;
type EndState = (typeof EndState)[keyof typeof EndState];

/** This driver's half of one connection. */
interface LinkEnd {
  state: EndState;
  /** The driver at the other end, once known. */
  remote: LocalDriver | undefined;
  /** The other end's id for this connection. */
  remoteId: number;
  /** While connecting: when to give up, in clock milliseconds. */
  timeoutAtMs: number;
  bytesSent: number;
  bytesReceived: number;
  messagesSent: number;
  messagesReceived: number;
  /** Bytes sent on this end that the other end has not read yet: the send queue. */
  queuedBytes: number;
}

/** A fresh link end. */
function newEnd(state: EndState, remote: LocalDriver | undefined, remoteId: number, timeoutAtMs: number): LinkEnd {
  return { state, remote, remoteId, timeoutAtMs, bytesSent: 0, bytesReceived: 0, messagesSent: 0, messagesReceived: 0, queuedBytes: 0 };
}

/**
 * An in-process driver: no sockets, deterministic, delivers on the receiver's next `service()`. Peers in one process
 * find each other by address and port on a {@link LocalNetwork}. Every channel type gets the strongest guarantee
 * (nothing is dropped or reordered in memory); wrap it in a simulating driver for loss and latency.
 */
export class LocalDriver implements NetworkDriver, LocalListener {
  /** Always `'local'`. */
  readonly name = 'local';

  private readonly network: LocalNetwork;
  private readonly clock: Clock;
  private readonly inbox = new LocalInbox();
  /** @internal this driver's half of each connection, by its connection id */
  readonly links = new Map<number, LinkEnd>();
  private sink: DriverSink | undefined;
  private config: ResolvedNetworkConfig | undefined;
  private port = 0;
  private isListening = false;
  private isDisposed = false;
  private nextConnectionId = 1;
  private connectingCount = 0;
  private oversizeDropped = 0;
  private receiveStalls = 0;
  private refusedConnections = 0;
  /** Host-wide totals: [bytesSent, bytesReceived, messagesSent, messagesReceived]. */
  private readonly totals = [0, 0, 0, 0];

  /** @param options - see {@link LocalDriverOptions} */
  constructor(options: LocalDriverOptions = {}) {
    this.network = options.network ?? LocalNetwork.shared;
    this.clock = options.clock ?? systemClock;
  }

  /** Port bound by `listen()` or given to this client by `connect()`; 0 before. */
  get localPort(): number {
    return this.port;
  }

  /** Received messages dropped because they were larger than this peer's `messageSize`. */
  get oversizeDroppedCount(): number {
    return this.oversizeDropped;
  }

  /** @inheritDoc */
  initialize(sink: DriverSink, config: ResolvedNetworkConfig): void {
    if (this.sink !== undefined) throw new TypeError('Expected a LocalDriver that no peer uses yet: give each peer its own driver');
    this.sink = sink;
    this.config = config;
  }

  /** @inheritDoc */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    const reason = this.isListening ? DisconnectReason.ServerShutdown : DisconnectReason.Remote;
    for (const end of this.links.values()) {
      if (end.state === EndState.Open && end.remote !== undefined) end.remote.deliver(LocalRecordKind.Disconnect, reason, end.remoteId);
    }
    this.links.clear();
    this.inbox.clear();
    this.network.unbind(this);
    this.network.withdrawRequests(this);
  }

  /** @inheritDoc */
  listen(): void {
    const config = this.requireConfig();
    this.port = this.network.bind(this, config.address, config.port);
    this.isListening = true;
  }

  /** @inheritDoc */
  connect(): number {
    const config = this.requireConfig();
    if (this.port === 0) this.port = this.network.allocateEphemeralPort();
    const connectionId = this.nextConnectionId++;
    const end = newEnd(EndState.Connecting, undefined, 0, this.clock.nowMs() + config.timeoutMinimumMs);
    this.links.set(connectionId, end);
    this.connectingCount++;
    this.network.requestConnection(config.address, config.port, {
      client: this,
      clientConnectionId: connectionId,
      accept: (server, serverConnectionId) => this.acceptedBy(server as LocalDriver, serverConnectionId, connectionId),
      refuse: (reason) => this.deliver(LocalRecordKind.Reject, reason, connectionId),
    });
    return connectionId;
  }

  /** @inheritDoc */
  disconnect(connectionId: number, _immediate: boolean): void {
    const end = this.links.get(connectionId);
    if (end === undefined || end.state === EndState.Closing) return;
    if (end.state === EndState.Connecting) this.connectingCount--;
    if (end.state === EndState.Open && end.remote !== undefined) {
      // Queued behind every message already sent on this link, so the remote side reads them all first.
      end.remote.deliver(LocalRecordKind.Disconnect, DisconnectReason.Remote, end.remoteId);
    }
    end.state = EndState.Closing;
    this.inbox.append(LocalRecordKind.LocalDisconnect, DisconnectReason.Local, connectionId);
  }

  /** @inheritDoc */
  service(): void {
    const sink = this.sink;
    if (sink === undefined || this.isDisposed) return;
    const inbox = this.inbox;
    while (!inbox.isEmpty) {
      if (inbox.kind === LocalRecordKind.Data && !this.receiveData(sink)) break;
      if (inbox.kind !== LocalRecordKind.Data) this.receiveControl(sink);
      inbox.consume();
    }
    if (this.connectingCount > 0) this.expireConnectAttempts(sink);
  }

  /** @inheritDoc */
  send(channel: NetworkChannelType, message: OutgoingMessage, targets: NetworkConnection | readonly NetworkConnection[]): void {
    if (Array.isArray(targets)) {
      // Every target is checked before any is sent to, so a full queue leaves nothing half-sent.
      for (let i = 0; i < targets.length; i++) this.assertRoom(targets[i].connectionId, message.length);
      for (let i = 0; i < targets.length; i++) this.sendTo(channel, message, targets[i].connectionId);
    } else {
      const connectionId = (targets as NetworkConnection).connectionId;
      this.assertRoom(connectionId, message.length);
      this.sendTo(channel, message, connectionId);
    }
  }

  private assertRoom(connectionId: number, length: number): void {
    const end = this.links.get(connectionId);
    const limit = (this.config as ResolvedNetworkConfig).sendQueueLimitBytes;
    if (end !== undefined && end.queuedBytes + length > limit) {
      throw new NetworkError(
        NetworkErrorCode.SendQueueFull,
        `Connection ${connectionId} has ${end.queuedBytes} bytes queued; ${length} more would pass sendQueueLimitBytes (${limit}): send less often, or raise the limit`,
      );
    }
  }

  /** Nothing to push: the receiver reads its inbox on its next `service()`. */
  flush(): void {}

  /** @internal the hub hands a connection request to this listener */
  receiveConnectRequest(requestId: number): void {
    if (!this.isDisposed) this.inbox.append(LocalRecordKind.ConnectRequest, 0, requestId);
  }

  /** @internal another local driver writes a record into this one's inbox */
  deliver(kind: LocalRecordKind, arg: number, connectionId: number, payload?: Uint8Array, length = 0): void {
    if (!this.isDisposed) this.inbox.append(kind, arg, connectionId, payload, length);
  }

  /** The server answered yes; the Connected event waits in the inbox behind what arrived before it. */
  private acceptedBy(server: LocalDriver, serverConnectionId: number, connectionId: number): void {
    const end = this.links.get(connectionId);
    if (this.isDisposed || end === undefined || end.state !== EndState.Connecting) {
      // Given up while the request was on its way: the server learns at once that it is over.
      server.deliver(LocalRecordKind.Disconnect, DisconnectReason.Remote, serverConnectionId);
      return;
    }
    end.remote = server;
    end.remoteId = serverConnectionId;
    this.inbox.append(LocalRecordKind.Accept, 0, connectionId);
  }

  private sendTo(channel: NetworkChannelType, message: OutgoingMessage, connectionId: number): void {
    const end = this.links.get(connectionId);
    if (end === undefined || end.state !== EndState.Open || end.remote === undefined) return;
    end.remote.deliver(LocalRecordKind.Data, channel, end.remoteId, message.buffer, message.length);
    end.bytesSent += message.length;
    end.queuedBytes += message.length;
    end.messagesSent++;
    this.totals[0] += message.length;
    this.totals[2]++;
  }

  /** @inheritDoc */
  collectStats(connectionId: number | undefined, out: NetworkStats): boolean {
    if (connectionId === undefined) {
      [out.bytesSent, out.bytesReceived, out.messagesSent, out.messagesReceived] = this.totals;
      out.packetsSent = this.totals[2];
      out.receiveStalls = this.receiveStalls;
      out.oversizeDropped = this.oversizeDropped;
      out.refusedConnections = this.refusedConnections;
      for (const end of this.links.values()) if (end.state === EndState.Open) out.connections++;
      return true;
    }
    const end = this.links.get(connectionId);
    if (end === undefined) return false;
    out.bytesSent = end.bytesSent;
    out.bytesReceived = end.bytesReceived;
    out.messagesSent = end.messagesSent;
    out.packetsSent = end.messagesSent;
    out.messagesReceived = end.messagesReceived;
    out.pendingReliableBytes = end.queuedBytes;
    out.connections = end.state === EndState.Open ? 1 : 0;
    return true;
  }

  /** @returns false when the pool is empty and the record must wait */
  private receiveData(sink: DriverSink): boolean {
    const inbox = this.inbox;
    const connectionId = inbox.connectionId;
    const end = this.links.get(connectionId);
    if (end === undefined) return true;
    const length = inbox.payloadLength;
    if (length > (this.config as ResolvedNetworkConfig).messageSize) {
      this.oversizeDropped++;
      return true;
    }
    const message = sink.acquireReceiveMessage();
    if (message === undefined) {
      this.receiveStalls++;
      return false;
    }
    inbox.copyPayload(message.buffer);
    message.setReceived(length);
    end.bytesReceived += length;
    end.messagesReceived++;
    // The sender's queue shrinks as this side reads.
    const sender = end.remote?.links.get(end.remoteId);
    if (sender !== undefined) sender.queuedBytes -= length;
    this.totals[1] += length;
    this.totals[3]++;
    sink.onMessage(connectionId, message, inbox.arg as NetworkChannelType);
    return true;
  }

  private receiveControl(sink: DriverSink): void {
    const inbox = this.inbox;
    const connectionId = inbox.connectionId;
    switch (inbox.kind) {
      case LocalRecordKind.ConnectRequest:
        this.answerConnectRequest(sink, connectionId);
        return;
      case LocalRecordKind.Accept: {
        const end = this.links.get(connectionId);
        if (end === undefined || end.state !== EndState.Connecting) {
          // Given up after the server said yes: tell the server it is over.
          if (end?.remote !== undefined) end.remote.deliver(LocalRecordKind.Disconnect, DisconnectReason.Remote, end.remoteId);
          return;
        }
        end.state = EndState.Open;
        this.connectingCount--;
        sink.onConnected(connectionId);
        return;
      }
      case LocalRecordKind.Reject:
        this.endLink(connectionId, () => sink.onDisconnected(connectionId, inbox.arg as DisconnectReason));
        return;
      case LocalRecordKind.Disconnect: {
        const end = this.links.get(connectionId);
        // A closing end reports its own Local event instead.
        if (end !== undefined && end.state === EndState.Open) {
          this.links.delete(connectionId);
          sink.onDisconnected(connectionId, inbox.arg as DisconnectReason);
        }
        return;
      }
      case LocalRecordKind.LocalDisconnect:
        if (this.links.delete(connectionId)) sink.onDisconnected(connectionId, DisconnectReason.Local);
        return;
    }
  }

  private answerConnectRequest(sink: DriverSink, requestId: number): void {
    const request = this.network.takeRequest(requestId);
    if (request === undefined) return;
    const config = this.requireConfig();
    if (this.links.size >= config.connectionsLimit) {
      this.refusedConnections++;
      request.refuse(DisconnectReason.ServerFull);
      return;
    }
    const connectionId = this.nextConnectionId++;
    const client = request.client as LocalDriver;
    this.links.set(connectionId, newEnd(EndState.Open, client, request.clientConnectionId, 0));
    sink.onConnected(connectionId);
    request.accept(this, connectionId);
  }

  private expireConnectAttempts(sink: DriverSink): void {
    const now = this.clock.nowMs();
    for (const [connectionId, end] of this.links) {
      if (end.state === EndState.Connecting && now >= end.timeoutAtMs) {
        this.endLink(connectionId, () => sink.onTimeout(connectionId));
      }
    }
  }

  private endLink(connectionId: number, report: () => void): void {
    const end = this.links.get(connectionId);
    if (end === undefined || end.state !== EndState.Connecting) return;
    this.connectingCount--;
    this.links.delete(connectionId);
    report();
  }

  private requireConfig(): ResolvedNetworkConfig {
    if (this.config === undefined || this.isDisposed) throw new TypeError('Expected an initialized LocalDriver that was not disposed');
    return this.config;
  }
}
