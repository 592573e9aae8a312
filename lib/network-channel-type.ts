/**
 * How a message travels. The guarantee of each type is its doc line; no type is ever silently upgraded to another.
 * Values are numeric because they cross into native code and onto the wire mapping.
 */
export const NetworkChannelType = {
  /** Not a channel: sending on it throws a `RangeError`. */
  None: 0,
  /** May be dropped, may arrive out of order, never duplicated. */
  Unreliable: 1,
  /** May be dropped; arrives in send order, a late one is dropped; never waits behind reliable traffic. */
  UnreliableOrdered: 2,
  /** Always arrives (while connected), in any order, never duplicated. */
  Reliable: 3,
  /** Always arrives (while connected), in send order, never duplicated. */
  ReliableOrdered: 4,
} as const;

/** One of the numeric values of {@link NetworkChannelType}. */
export type NetworkChannelType = (typeof NetworkChannelType)[keyof typeof NetworkChannelType];

/** Throws a `RangeError` unless `channel` is a sendable channel type (1..4). */
export function assertSendableChannel(channel: unknown): asserts channel is NetworkChannelType {
  if (channel !== 1 && channel !== 2 && channel !== 3 && channel !== 4) {
    throw new RangeError(
      `Expected channel to be a NetworkChannelType from Unreliable (1) to ReliableOrdered (4), got ${String(channel)}`,
    );
  }
}
