import { createDriver } from './drivers/create-driver';
import type { DriverSink, NetworkDriver } from './drivers/network-driver';
import { EventQueue } from './event-queue';
import { MessagePool } from './message-pool';
import { assertSendableChannel, type NetworkChannelType } from './network-channel-type';
import { resolveConfig, type NetworkConfig, type ResolvedNetworkConfig } from './network-config';
import { ConnectionState, NetworkConnection } from './network-connection';
import { DisconnectReason, NetworkEventType, type NetworkEvent } from './network-event';
import type { NetworkMessage } from './network-message';
import { NetworkStats, RateMeter } from './network-stats';

const Role = { None: 0, Server: 1, Client: 2, ShutDown: 3 } as const;
type Role = (typeof Role)[keyof typeof Role];

/**
 * A network peer: a server after `listen()`, a client after `connect()`. The game drains its events once per tick
 * with `popEvent()`; nothing happens behind the game's back between two calls.
 *
 * Build one with {@link NetworkPeer.createPeer} and free it with {@link NetworkPeer.shutdownPeer}.
 */
export class NetworkPeer {
  /** The checked configuration this peer was built with. */
  readonly config: Readonly<ResolvedNetworkConfig>;
  /** The pool every sent and received message of this peer comes from. */
  readonly pool: MessagePool;

  private readonly driver: NetworkDriver;
  private readonly events = new EventQueue();
  private readonly connections = new Map<number, NetworkConnection>();
  private readonly rates = new RateMeter();
  private role: Role = Role.None;
  private serverConnection: NetworkConnection | undefined;

  private constructor(config: ResolvedNetworkConfig) {
    this.config = Object.freeze({ ...config });
    this.pool = new MessagePool(config.messagePoolSize, config.messageSize);
    this.driver = createDriver(config.driver);
    this.driver.initialize(this.createSink(), this.config);
  }

  /**
   * Builds a peer: checks the config, allocates the message pool (once) and initializes the driver.
   * @throws TypeError or RangeError naming a bad option
   * @throws NetworkError when the driver cannot start (for example `NATIVE_UNAVAILABLE`)
   */
  static createPeer(config: NetworkConfig = {}): NetworkPeer {
    return new NetworkPeer(resolveConfig(config));
  }

  /**
   * Frees a peer: remote peers are told (`ServerShutdown` from a server), queued events are dropped, and every
   * message still held becomes unusable. Shutting down a peer twice does nothing.
   */
  static shutdownPeer(peer: NetworkPeer): void {
    if (!(peer instanceof NetworkPeer)) throw new TypeError('Expected a NetworkPeer from NetworkPeer.createPeer()');
    peer.shutdown();
  }

  /** True after `listen()`. */
  get isServer(): boolean {
    return this.role === Role.Server;
  }

  /** True after `connect()`. */
  get isClient(): boolean {
    return this.role === Role.Client;
  }

  /** True after `shutdownPeer()`. */
  get isShutDown(): boolean {
    return this.role === Role.ShutDown;
  }

  /** Port the driver is bound to (useful after `listen()` with port 0), or 0 before `listen()`/`connect()`. */
  get localPort(): number {
    return this.role === Role.ShutDown ? 0 : this.driver.localPort;
  }

  /** Connections that are open or opening: a server's clients, or a client's one server connection. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Makes this peer a server on `config.address`:`config.port`.
   * @throws TypeError if the peer already listens, connects or was shut down
   * @throws NetworkError `HOST_CREATE_FAILED` (for example the port is in use) or `ADDRESS_INVALID`
   */
  listen(): void {
    this.assertAlive('listen()');
    if (this.role !== Role.None) throw new TypeError(`Expected a peer that neither listens nor connects before listen()`);
    this.driver.listen();
    this.role = Role.Server;
  }

  /**
   * Makes this peer a client of `config.address`:`config.port`. Completes later with a `Connected` event, or a
   * `Timeout` (nobody answered) or `Disconnected` event (for example `ServerFull`). A client whose connection ended
   * may connect again.
   * @returns the connection to the server (not yet usable until `Connected`)
   * @throws TypeError if the peer is a server, already has a live connection or was shut down
   * @throws NetworkError `HOST_CREATE_FAILED`, `ADDRESS_INVALID` or `NO_FREE_CONNECTION`
   */
  connect(): NetworkConnection {
    this.assertAlive('connect()');
    if (this.role === Role.Server) throw new TypeError('Expected a client peer: this one listens, so it cannot connect()');
    if (this.serverConnection !== undefined && this.serverConnection.state !== ConnectionState.Ended) {
      throw new TypeError('Expected no live connection before connect(): disconnect() first');
    }
    const connectionId = this.driver.connect();
    const connection = new NetworkConnection(connectionId, this);
    this.connections.set(connectionId, connection);
    this.serverConnection = connection;
    this.role = Role.Client;
    return connection;
  }

  /**
   * Ends a connection gracefully: data already queued is delivered first, the remote side gets `Disconnected`
   * (`Remote`), and this side gets `Disconnected` (`Local`) once it is done. Without an argument a client leaves
   * its server and a server disconnects every client. A connection that already ended or is already closing is
   * left as it is.
   * @throws TypeError if `connection` is not one of this peer's connections, or the peer was shut down
   */
  disconnect(connection?: NetworkConnection): void {
    this.assertAlive('disconnect()');
    if (connection === undefined) {
      for (const each of this.connections.values()) this.closeConnection(each);
      return;
    }
    this.assertOwnConnection(connection, 'disconnect()');
    this.closeConnection(connection);
  }

  /**
   * Moves the oldest event into `event` (reused by the caller; nothing is allocated). When the queue is empty it
   * services the driver first. A `Message` event's `message` is the caller's until `recycleMessage()`.
   * @returns false when no event is left
   * @throws TypeError if `event` is missing or the peer was shut down
   */
  popEvent(event: NetworkEvent): boolean {
    this.assertAlive('popEvent()');
    if (event === null || typeof event !== 'object') throw new TypeError('Expected a NetworkEvent to fill');
    if (this.events.size === 0) this.driver.service();
    return this.events.popInto(event);
  }

  /**
   * Hands out an empty message to write and then pass to `endSendMessage()` or `abortSendMessage()`.
   * @throws NetworkError `POOL_EXHAUSTED` when every message is in use
   * @throws TypeError if the peer was shut down
   */
  beginSendMessage(): NetworkMessage {
    this.assertAlive('beginSendMessage()');
    return this.pool.acquire();
  }

  /**
   * Returns an unsent message to the pool.
   * @throws TypeError if it is not a message of this peer that is out of the pool
   */
  abortSendMessage(message: NetworkMessage): void {
    this.recycleMessage(message);
  }

  /**
   * Sends bytes `[0, length)` of `message` on `channel` and returns the message to the pool. A client sends to its
   * server (no target, or the server connection); a server sends to one connection or to each of a list (encoded
   * once). Connections that the remote side already ended are skipped: their `Disconnected` event says so. If this
   * throws, nothing was sent and the message is still yours.
   * @throws RangeError if `channel` is not Unreliable..ReliableOrdered
   * @throws TypeError if the message is not out of this peer's pool (ended twice, recycled), the target is missing,
   *   foreign, not yet connected or closed by this side, or a client passes a list
   * @throws NetworkError `MESSAGE_TOO_LARGE` or `SEND_QUEUE_FULL`
   */
  endSendMessage(
    channel: NetworkChannelType,
    message: NetworkMessage,
    target?: NetworkConnection | readonly NetworkConnection[],
  ): void {
    this.assertAlive('endSendMessage()');
    assertSendableChannel(channel);
    this.pool.assertOwned(message);
    this.driver.send(channel, message, this.resolveTargets(target));
    this.pool.releaseOwned(message);
  }

  /**
   * Hands out an empty message, as `beginSendMessage()` does, for code that fills messages ahead of time.
   * @throws NetworkError `POOL_EXHAUSTED` when every message is in use
   */
  createMessage(): NetworkMessage {
    this.assertAlive('createMessage()');
    return this.pool.acquire();
  }

  /**
   * Returns a message (received, created or begun) to the pool. Using it afterwards throws.
   * @throws TypeError if it is already back in the pool or belongs to another peer
   */
  recycleMessage(message: NetworkMessage): void {
    this.assertAlive('recycleMessage()');
    this.pool.release(message);
  }

  /**
   * A status snapshot: of `connection`, or host-wide totals without one. Rates cover the last window of at least one
   * second. A connection that already ended reports zeros (`connections` 0).
   * @param out - filled and returned; pass one to reuse (default: a new object)
   * @throws TypeError if `connection` is not one of this peer's, or the peer was shut down
   */
  getStats(connection?: NetworkConnection, out: NetworkStats = new NetworkStats()): NetworkStats {
    this.assertAlive('getStats()');
    if (connection !== undefined) this.assertOwnConnection(connection, 'getStats()');
    out.clear();
    const key = connection === undefined ? 0 : connection.connectionId;
    if (this.driver.collectStats(connection?.connectionId, out)) this.rates.update(key, out, performance.now());
    out.poolInUse = this.pool.inUse;
    out.poolHighWater = this.pool.highWater;
    return out;
  }

  /** Pushes queued sends to the wire now rather than at the next `popEvent()`. */
  flush(): void {
    this.assertAlive('flush()');
    this.driver.flush();
  }

  private shutdown(): void {
    if (this.role === Role.ShutDown) return;
    this.role = Role.ShutDown;
    try {
      this.driver.dispose();
    } finally {
      this.events.clear((message) => this.pool.release(message));
      for (const connection of this.connections.values()) connection.state = ConnectionState.Ended;
      this.connections.clear();
      this.pool.reclaimAll();
    }
  }

  private closeConnection(connection: NetworkConnection): void {
    if (connection.state === ConnectionState.Closing || connection.state === ConnectionState.Ended) return;
    connection.state = ConnectionState.Closing;
    this.driver.disconnect(connection.connectionId, false);
  }

  private resolveTargets(
    target: NetworkConnection | readonly NetworkConnection[] | undefined,
  ): NetworkConnection | readonly NetworkConnection[] {
    if (this.role === Role.Client) {
      const server = this.serverConnection as NetworkConnection;
      if (Array.isArray(target)) throw new TypeError('Expected no target list: a client sends only to its server');
      if (target !== undefined && target !== server) {
        throw new TypeError('Expected no target, or the server connection: a client sends only to its server');
      }
      this.assertSendable(server);
      return server;
    }
    if (this.role !== Role.Server) throw new TypeError('Expected listen() or connect() before endSendMessage()');
    if (target === undefined) throw new TypeError('Expected a target connection or a list of them: a server must say whom it sends to');
    if (Array.isArray(target)) {
      for (let i = 0; i < target.length; i++) this.assertSendable(target[i]);
      return target;
    }
    this.assertSendable(target as NetworkConnection);
    return target as NetworkConnection;
  }

  private assertSendable(connection: NetworkConnection): void {
    this.assertOwnConnection(connection, 'endSendMessage()');
    if (connection.state === ConnectionState.Connecting) {
      throw new TypeError(`Expected a connected target, but connection ${connection.connectionId} has not connected yet (wait for its Connected event)`);
    }
    if (connection.state === ConnectionState.Closing) {
      throw new TypeError(`Expected an open target, but this peer already disconnected connection ${connection.connectionId}`);
    }
  }

  private assertOwnConnection(connection: NetworkConnection, call: string): void {
    if (!(connection instanceof NetworkConnection) || connection.owner !== this) {
      throw new TypeError(`Expected a NetworkConnection of this peer in ${call}`);
    }
  }

  private assertAlive(call: string): void {
    if (this.role === Role.ShutDown) throw new TypeError(`Expected a live peer in ${call}, but this peer was shut down`);
  }

  private createSink(): DriverSink {
    const events = this.events;
    const connections = this.connections;
    const pool = this.pool;
    // The connection of the last message: a client, or a burst from one client, skips the map per message.
    let lastConnection: NetworkConnection | undefined;
    const end = (connectionId: number, type: NetworkEventType, reason: DisconnectReason): void => {
      const connection = connections.get(connectionId);
      if (connection === undefined) return;
      if (connection === lastConnection) lastConnection = undefined;
      connection.state = ConnectionState.Ended;
      connections.delete(connectionId);
      this.rates.forget(connectionId);
      events.push(type, connection, null, reason);
    };
    return {
      acquireReceiveMessage: () => pool.tryAcquire(),
      releaseReceiveMessage: (message) => pool.release(message),
      onConnected: (connectionId) => {
        let connection = connections.get(connectionId);
        if (connection === undefined) {
          connection = new NetworkConnection(connectionId, this);
          connections.set(connectionId, connection);
        }
        if (connection.state === ConnectionState.Connecting) connection.state = ConnectionState.Open;
        events.push(NetworkEventType.Connected, connection, null, DisconnectReason.None);
      },
      onDisconnected: (connectionId, reason) => end(connectionId, NetworkEventType.Disconnected, reason),
      onTimeout: (connectionId) => end(connectionId, NetworkEventType.Timeout, DisconnectReason.Timeout),
      onMessage: (connectionId, message) => {
        let connection = lastConnection;
        if (connection === undefined || connection.connectionId !== connectionId) {
          connection = connections.get(connectionId);
          if (connection === undefined) {
            pool.release(message);
            return;
          }
          lastConnection = connection;
        }
        events.push(NetworkEventType.Message, connection, message, DisconnectReason.None);
      },
    };
  }
}
