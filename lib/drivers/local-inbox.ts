import { copyBytes } from '../byte-copy';

/** Kinds of record a local endpoint receives, in the order they were sent. */
export const LocalRecordKind = {
  /** A client asks to connect; `connectionId` is the hub's request number. */
  ConnectRequest: 1,
  /** The server accepted (the client's link end already names the server). */
  Accept: 2,
  /** The server refused; `arg` is the reason. */
  Reject: 3,
  /** A message; `arg` is the channel type. */
  Data: 4,
  /** The remote side ended the connection; `arg` is the reason. */
  Disconnect: 5,
  /** This side's own disconnect completed (queued behind what had already arrived). */
  LocalDisconnect: 6,
} as const;

/** One of the values of {@link LocalRecordKind}. */
export type LocalRecordKind = (typeof LocalRecordKind)[keyof typeof LocalRecordKind];

const HEADER_BYTES = 12;

/**
 * A first-in first-out queue of records in one growable byte buffer: messages are copied in once and out once, and
 * nothing is allocated per record. Layout: u8 kind, u8 arg, u16 unused, u32 connection id, u32 payload length,
 * payload.
 */
export class LocalInbox {
  private bytes: Buffer;
  private readAt = 0;
  private writeAt = 0;

  /** @param initialBytes - capacity before the first growth */
  constructor(initialBytes = 64 * 1024) {
    this.bytes = Buffer.alloc(initialBytes);
  }

  /** True when no record is waiting. */
  get isEmpty(): boolean {
    return this.readAt === this.writeAt;
  }

  /** Bytes of records waiting. */
  get pendingBytes(): number {
    return this.writeAt - this.readAt;
  }

  /** Appends a record, copying `payloadLength` bytes of `payload`. */
  append(kind: LocalRecordKind, arg: number, connectionId: number, payload?: Uint8Array, payloadLength = 0): void {
    this.reserve(HEADER_BYTES + payloadLength);
    const at = this.writeAt;
    this.bytes[at] = kind;
    this.bytes[at + 1] = arg;
    this.bytes.writeUInt32LE(connectionId, at + 4);
    this.bytes.writeUInt32LE(payloadLength, at + 8);
    if (payload !== undefined && payloadLength > 0) copyBytes(payload, 0, this.bytes, at + HEADER_BYTES, payloadLength);
    this.writeAt = at + HEADER_BYTES + payloadLength;
  }

  /** Kind of the oldest record. Only valid when not empty. */
  get kind(): LocalRecordKind {
    return this.bytes[this.readAt] as LocalRecordKind;
  }
  /** Arg of the oldest record. */
  get arg(): number {
    return this.bytes[this.readAt + 1];
  }
  /** Connection id of the oldest record. */
  get connectionId(): number {
    return this.bytes.readUInt32LE(this.readAt + 4);
  }
  /** Payload length of the oldest record. */
  get payloadLength(): number {
    return this.bytes.readUInt32LE(this.readAt + 8);
  }
  /** Copies the oldest record's payload into `target` at 0. */
  copyPayload(target: Uint8Array): void {
    copyBytes(this.bytes, this.readAt + HEADER_BYTES, target, 0, this.payloadLength);
  }

  /** Drops the oldest record. */
  consume(): void {
    this.readAt += HEADER_BYTES + this.payloadLength;
    if (this.readAt === this.writeAt) {
      this.readAt = 0;
      this.writeAt = 0;
    }
  }

  /** Drops every record. */
  clear(): void {
    this.readAt = 0;
    this.writeAt = 0;
  }

  private reserve(byteCount: number): void {
    if (this.writeAt + byteCount <= this.bytes.length) return;
    if (this.readAt > 0) {
      this.bytes.copyWithin(0, this.readAt, this.writeAt);
      this.writeAt -= this.readAt;
      this.readAt = 0;
      if (this.writeAt + byteCount <= this.bytes.length) return;
    }
    let capacity = this.bytes.length * 2;
    while (capacity < this.writeAt + byteCount) capacity *= 2;
    const grown = Buffer.alloc(capacity);
    this.bytes.copy(grown, 0, 0, this.writeAt);
    this.bytes = grown;
  }
}
