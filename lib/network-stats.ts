/**
 * A status snapshot of one connection, or of the whole peer, filled by `NetworkPeer.getStats()`. The same fields on
 * every driver; a figure a driver cannot know stays 0 (the local driver has no round trip, for instance). Reuse one
 * object per caller: `getStats(connection, out)` fills it without allocating.
 */
export class NetworkStats {
  /** Smoothed round-trip time in milliseconds; host-wide, the mean over open connections. */
  rttMs = 0;
  /** Variance of the round-trip time in milliseconds. */
  rttVarianceMs = 0;
  /** Share of reliable datagrams that had to be resent since the connection began, 0..100 (`packetsLost / packetsSent`). */
  packetLossPercent = 0;
  /** Bytes sent, as the driver counts them (ENet: UDP payload bytes including ENet's headers). */
  bytesSent = 0;
  /** Bytes received, counted as for `bytesSent`. */
  bytesReceived = 0;
  /** Datagrams sent (ENet: reliable commands sent, resends included; local driver: messages). */
  packetsSent = 0;
  /** Datagrams lost (ENet: reliable commands that had to be resent). */
  packetsLost = 0;
  /** Messages handed to the driver by `endSendMessage()`, one per target. */
  messagesSent = 0;
  /** Messages delivered as `Message` events. */
  messagesReceived = 0;
  /** `bytesSent` per second over the last window of about a second (at least `RATE_WINDOW_MS`). */
  bytesSentPerSecond = 0;
  /** `bytesReceived` per second over the last window of at least one second. */
  bytesReceivedPerSecond = 0;
  /** `messagesSent` per second over the last window of at least one second. */
  messagesSentPerSecond = 0;
  /** `messagesReceived` per second over the last window of at least one second. */
  messagesReceivedPerSecond = 0;
  /** Reliable payload bytes queued and not yet put on the wire. */
  pendingReliableBytes = 0;
  /** Reliable bytes on the wire and not yet acknowledged. */
  unacknowledgedBytes = 0;
  /** Pooled messages out of the pool now (host-wide figure, also given per connection). */
  poolInUse = 0;
  /** Most pooled messages ever out at once. */
  poolHighWater = 0;
  /** Times delivery of received messages paused because the pool was empty; reliable ones waited, none was lost. */
  receiveStalls = 0;
  /** Unreliable messages dropped because they arrived while the pool was empty (ENet). Host-wide only. */
  unreliableDroppedWhileStalled = 0;
  /** Driver service passes that reported an error and were retried (ENet's -1 returns), plus datagrams the kernel refused to send. Host-wide only. */
  serviceErrors = 0;
  /** Received messages dropped because they were larger than `messageSize`. Host-wide only. */
  oversizeDropped = 0;
  /** Received datagrams dropped before ENet saw them: empty, or malformed (invalid fragments, source port 0). Host-wide only. */
  malformedDropped = 0;
  /** Connection attempts refused because the server was at `connectionsLimit`. Host-wide only. */
  refusedConnections = 0;
  /** Open connections (host-wide), or 1 for an open connection. */
  connections = 0;

  /** Sets every figure to 0. */
  clear(): void {
    // Field by field: a loop over the names would be a megamorphic keyed store, ~10 ns a field in a hot poll.
    this.rttMs = 0;
    this.rttVarianceMs = 0;
    this.packetLossPercent = 0;
    this.bytesSent = 0;
    this.bytesReceived = 0;
    this.packetsSent = 0;
    this.packetsLost = 0;
    this.messagesSent = 0;
    this.messagesReceived = 0;
    this.bytesSentPerSecond = 0;
    this.bytesReceivedPerSecond = 0;
    this.messagesSentPerSecond = 0;
    this.messagesReceivedPerSecond = 0;
    this.pendingReliableBytes = 0;
    this.unacknowledgedBytes = 0;
    this.poolInUse = 0;
    this.poolHighWater = 0;
    this.receiveStalls = 0;
    this.unreliableDroppedWhileStalled = 0;
    this.serviceErrors = 0;
    this.oversizeDropped = 0;
    this.malformedDropped = 0;
    this.refusedConnections = 0;
    this.connections = 0;
  }
}

/** The four totals whose per-second rates a peer works out. */
interface RateWindow {
  startMs: number;
  bytesSent: number;
  bytesReceived: number;
  messagesSent: number;
  messagesReceived: number;
  rates: [number, number, number, number];
}

/**
 * Smallest window a rate is measured over, in milliseconds: just under a second, so that polling once a second
 * from a timer (which fires a little early or late) closes a window every time.
 */
export const RATE_WINDOW_MS = 950;

/**
 * Per-second rates of one connection or of the host: each figure is the change of its total over the last window
 * of at least {@link RATE_WINDOW_MS}, scaled to one second, so polling more often returns the last complete window.
 * @internal
 */
export class RateMeter {
  private readonly windows = new Map<number, RateWindow>();

  /** Fills the `*PerSecond` fields of `stats` (whose totals are current) for `key` at time `nowMs`. */
  update(key: number, stats: NetworkStats, nowMs: number): void {
    let window = this.windows.get(key);
    if (window === undefined) {
      window = { startMs: nowMs, bytesSent: stats.bytesSent, bytesReceived: stats.bytesReceived, messagesSent: stats.messagesSent, messagesReceived: stats.messagesReceived, rates: [0, 0, 0, 0] };
      this.windows.set(key, window);
    }
    const elapsedMs = nowMs - window.startMs;
    if (elapsedMs >= RATE_WINDOW_MS) {
      const perMs = 1000 / elapsedMs;
      window.rates[0] = (stats.bytesSent - window.bytesSent) * perMs;
      window.rates[1] = (stats.bytesReceived - window.bytesReceived) * perMs;
      window.rates[2] = (stats.messagesSent - window.messagesSent) * perMs;
      window.rates[3] = (stats.messagesReceived - window.messagesReceived) * perMs;
      window.startMs = nowMs;
      window.bytesSent = stats.bytesSent;
      window.bytesReceived = stats.bytesReceived;
      window.messagesSent = stats.messagesSent;
      window.messagesReceived = stats.messagesReceived;
    }
    // Field by field: destructuring would create an iterator on every poll.
    const rates = window.rates;
    stats.bytesSentPerSecond = rates[0];
    stats.bytesReceivedPerSecond = rates[1];
    stats.messagesSentPerSecond = rates[2];
    stats.messagesReceivedPerSecond = rates[3];
  }

  /** Forgets a connection that ended. */
  forget(key: number): void {
    this.windows.delete(key);
  }
}
