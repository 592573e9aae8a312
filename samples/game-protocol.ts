// The messages of the headless-server sample, in netpeer's (Flax-compatible) encoding. One byte says what follows.
import type { NetworkMessage } from '../lib';

/** What a message is, in its first byte. */
export const Kind = {
  /** client → server, UnreliableOrdered: the direction the player steers, [x, y] in -1..1. */
  Input: 1,
  /** server → clients, UnreliableOrdered: tick number, then every entity's id and position. */
  Snapshot: 2,
  /** server → clients, ReliableOrdered: something happened (join, leave, bump). */
  GameEvent: 3,
  /** server → one client, ReliableOrdered: the id of the entity it steers. */
  Welcome: 4,
} as const;

/** Kinds of {@link Kind.GameEvent}. */
export const EventKind = { Joined: 1, Left: 2, Bumped: 3 } as const;

/** World edge: positions stay within ±WORLD_SIZE on both axes. */
export const WORLD_SIZE = 100;

/** Writes a snapshot header; the caller appends `count` entities with {@link writeEntity}. */
export function writeSnapshotHeader(message: NetworkMessage, tick: number, count: number): void {
  message.writeUInt8(Kind.Snapshot);
  message.writeUInt32(tick);
  message.writeUInt16(count);
}

/** One entity of a snapshot: id, then position as a Vector2. */
export function writeEntity(message: NetworkMessage, id: number, position: ArrayLike<number>): void {
  message.writeUInt16(id);
  message.writeVector2(position);
}
