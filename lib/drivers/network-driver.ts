import type { ResolvedNetworkConfig } from '../network-config';
import type { NetworkChannelType } from '../network-channel-type';
import type { NetworkConnection } from '../network-connection';
import type { DisconnectReason } from '../network-event';
import type { NetworkMessage } from '../network-message';
import type { NetworkStats } from '../network-stats';

/**
 * What a driver reports into, implemented by the peer. A driver calls it only from inside its own `service()`, so
 * no event ever reaches the game outside `popEvent()`.
 */
export interface DriverSink {
  /**
   * An empty pool message to copy one received message into, or `undefined` when the pool is empty. On
   * `undefined` the driver keeps the data and tries again on a later `service()`: nothing is dropped.
   */
  acquireReceiveMessage(): NetworkMessage | undefined;
  /** The connection `connectionId` is established. */
  onConnected(connectionId: number): void;
  /** The connection `connectionId` ended for `reason`. Reported once, and nothing for that id follows. */
  onDisconnected(connectionId: number, reason: DisconnectReason): void;
  /** The connection (or connection attempt) `connectionId` got no answer in time. Nothing for that id follows. */
  onTimeout(connectionId: number): void;
  /** `message` (from `acquireReceiveMessage()`, filled with `setReceived`) arrived on `connectionId` over `channel`. */
  onMessage(connectionId: number, message: NetworkMessage, channel: NetworkChannelType): void;
  /** Gives back a message from `acquireReceiveMessage()` that will not be delivered (a decorator dropped it). */
  releaseReceiveMessage(message: NetworkMessage): void;
}

/** The bytes a driver sends: `buffer[0, length)`. A `NetworkMessage` is one. */
export interface OutgoingMessage {
  readonly buffer: Uint8Array;
  /** Bytes to send, from the start of `buffer`. */
  readonly length: number;
  /**
   * Optional, for drivers that copy word by word: the same bytes as 32-bit words, `buffer` starting at word
   * `wordOffset`, with whole words up to `length` rounded up to 4 bytes readable. A `NetworkMessage` has them.
   */
  readonly words?: Int32Array;
  /** Index in `words` of `buffer[0]`; set together with `words`. */
  readonly wordOffset?: number;
}

/**
 * The transport seam under {@link NetworkPeer}. A driver moves bytes and connection state; the peer owns policy,
 * checks and the event queue. Drivers stack: a decorator may wrap another driver and forward to it.
 *
 * Connection ids are the driver's: non-zero uint32, never reused while the driver lives.
 */
export interface NetworkDriver {
  /** Short name for logs and errors, such as `'enet'` or `'local'`. */
  readonly name: string;
  /** UDP (or virtual) port the driver is bound to after `listen()`/`connect()`, or 0 before. */
  readonly localPort: number;
  /**
   * Prepares the driver for one peer. Called once, by `NetworkPeer.createPeer()`.
   * @throws NetworkError when the driver cannot start (for example a native addon that will not load)
   */
  initialize(sink: DriverSink, config: ResolvedNetworkConfig): void;
  /** Releases everything; remote peers are told (`ServerShutdown` from a server, `Remote` from a client). Idempotent. */
  dispose(): void;
  /**
   * Starts accepting connections on the configured address and port.
   * @throws NetworkError `HOST_CREATE_FAILED` (for example the port is in use) or `ADDRESS_INVALID`
   */
  listen(): void;
  /**
   * Starts connecting to the configured address and port; completes later with `onConnected` or `onTimeout`.
   * @returns the id of the new connection
   * @throws NetworkError `HOST_CREATE_FAILED`, `ADDRESS_INVALID` or `NO_FREE_CONNECTION`
   */
  connect(): number;
  /**
   * Ends a connection: gracefully (queued reliable data first) or at once. The driver later reports
   * `onDisconnected(connectionId, Local)`. Unknown or already-ended ids are ignored.
   */
  disconnect(connectionId: number, immediate: boolean): void;
  /** Does pending I/O and reports what happened into the sink. Never blocks. */
  service(): void;
  /**
   * Queues `message.buffer[0, message.length)` to one connection or to each of a list (encoded once). The driver
   * copies the bytes before returning; the message is untouched. Targets that ended are skipped.
   * @throws NetworkError `MESSAGE_TOO_LARGE` or `SEND_QUEUE_FULL`; nothing was queued to any target
   */
  send(channel: NetworkChannelType, message: OutgoingMessage, targets: NetworkConnection | readonly NetworkConnection[]): void;
  /** Pushes queued sends to the wire now instead of at the next `service()`. */
  flush(): void;
  /**
   * Fills the driver's figures of one connection, or host-wide totals when `connectionId` is undefined, into `out`
   * (already cleared; the peer adds the pool figures and the per-second rates).
   * @returns false when the connection is not known (it ended)
   */
  collectStats(connectionId: number | undefined, out: NetworkStats): boolean;
}
