/** @internal where a connection is in its life, as its peer sees it */
export const ConnectionState = {
  Connecting: 0,
  Open: 1,
  /** This side called `disconnect()`; the driver will report the end. */
  Closing: 2,
  Ended: 3,
} as const;

/** @internal one of the values of {@link ConnectionState} */
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/**
 * One remote peer as seen from this peer. The same object stands for the connection for its whole life, so it can
 * be kept as a map key. `connectionId` is non-zero, unique among this peer's connections and never reused while the
 * peer lives, so a stale id can never address a newer connection.
 */
export class NetworkConnection {
  /** Non-zero uint32 id, assigned by this peer's driver when the connection begins. */
  readonly connectionId: number;
  /** @internal the peer this connection belongs to */
  readonly owner: object | null;
  /** @internal */
  state: ConnectionState = ConnectionState.Connecting;

  /** @internal connections are made by their peer */
  constructor(connectionId: number, owner: object | null) {
    this.connectionId = connectionId;
    this.owner = owner;
  }

  /** True from the `Connected` event until this side disconnects or the connection ends. */
  get isConnected(): boolean {
    return this.state === ConnectionState.Open;
  }
}

/** The sender of an event that names no connection (an unfilled {@link NetworkEvent}). Its id is 0. */
export const NO_CONNECTION: NetworkConnection = Object.freeze(new NetworkConnection(0, null)) as NetworkConnection;
