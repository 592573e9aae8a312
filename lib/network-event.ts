import { NetworkConnection, NO_CONNECTION } from './network-connection';
import type { NetworkMessage } from './network-message';

/** What a {@link NetworkEvent} reports. */
export const NetworkEventType = {
  /** The event has not been filled by `popEvent()` yet. */
  None: 0,
  /** A connection was established (a client reached the server, or the server accepted a client). */
  Connected: 1,
  /** A connection ended; `reason` says why. */
  Disconnected: 2,
  /** A connection attempt or an established connection got no answer in time; `reason` is `Timeout`. */
  Timeout: 3,
  /** A message arrived; `message` holds it until you pass it to `recycleMessage()`. */
  Message: 4,
} as const;

/** One of the numeric values of {@link NetworkEventType}. */
export type NetworkEventType = (typeof NetworkEventType)[keyof typeof NetworkEventType];

/**
 * Why a connection ended. The values travel as ENet disconnect data (uint32), so a remote peer learns, for example,
 * that the server was full rather than that it timed out.
 */
export const DisconnectReason = {
  /** No reason: the event is not a disconnect. */
  None: 0,
  /** This side called `disconnect()`. */
  Local: 1,
  /** The other side closed the connection. */
  Remote: 2,
  /** The other side stopped answering. */
  Timeout: 3,
  /** The server refused the connection because it already had `connectionsLimit` clients. */
  ServerFull: 4,
  /** The server shut down. */
  ServerShutdown: 5,
} as const;

/** One of the numeric values of {@link DisconnectReason}. */
export type DisconnectReason = (typeof DisconnectReason)[keyof typeof DisconnectReason];

/**
 * Maps the disconnect data a remote peer sent to the reason this side reports. Unknown values (a stock ENet peer
 * sends 0) mean the remote closed the connection.
 */
export function reasonFromWire(data: number): DisconnectReason {
  return data === DisconnectReason.ServerFull || data === DisconnectReason.ServerShutdown ? data : DisconnectReason.Remote;
}

/**
 * A reusable event record, filled by `NetworkPeer.popEvent(event)`. Allocate one and pass it every tick: the peer
 * overwrites its fields, so nothing is allocated per event.
 */
export class NetworkEvent {
  /** What happened. Default: `None` until the first successful `popEvent()`. */
  eventType: NetworkEventType = NetworkEventType.None;
  /** The connection the event is about. Default: {@link NO_CONNECTION} (id 0). */
  sender: NetworkConnection = NO_CONNECTION;
  /** The received message on `Message` events, otherwise `null`. Yours until `recycleMessage()`. */
  message: NetworkMessage | null = null;
  /** Why the connection ended, on `Disconnected` and `Timeout`; `None` otherwise. */
  reason: DisconnectReason = DisconnectReason.None;
}
