import ByteBuffer from 'bytebuffer';
import { copyBytes } from './byte-copy';

/** A float32 list such as a vector or quaternion: `[x, y, z]`, a `Float32Array`, … */
export type FloatList = ArrayLike<number>;

const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/**
 * One pooled message: a fixed `bufferSize` slot of its peer's pool, with a read/write cursor. Bytes follow Flax's
 * `NetworkMessage`: little-endian, fixed width, bool as one byte, strings as a uint16 count then the characters.
 *
 * Writing past `bufferSize` or reading past `length` throws a `RangeError`; a message that went back to the pool
 * throws a `TypeError` on any use. Writing sets `length = max(length, position)`, so a header patched after the body
 * keeps the body.
 */
export class NetworkMessage {
  /** The whole pool slot, `bufferSize` bytes; bytes `[0, length)` are the message. */
  readonly buffer: Uint8Array;
  /** Index of this message's slot in its pool; stable for the pool's life. */
  readonly messageId: number;
  /** Capacity in bytes: the peer's `messageSize`. */
  readonly bufferSize: number;

  /**
   * @internal the whole pool as 32-bit words, for drivers that copy word by word: the slot starts at word
   * `wordOffset`, and the words up to the next multiple of 4 bytes past `bufferSize` belong to it too
   */
  readonly words: Int32Array;
  /** @internal index in `words` of the slot's first byte */
  readonly wordOffset: number;
  /** @internal the pool that owns the slot */
  readonly owner: object;
  /** @internal true while handed out (sending, or received and not yet recycled) */
  isHandedOut = false;
  /** Changes on every hand-out of this slot: compare it to tell one life of a kept reference from the next. */
  generation = 0;

  private readonly bytes: ByteBuffer;
  private lengthBytes = 0;
  private positionBytes = 0;

  /** @internal messages are made only by their pool */
  constructor(owner: object, slot: Buffer, messageId: number, words: Int32Array, wordOffset: number) {
    this.owner = owner;
    this.words = words;
    this.wordOffset = wordOffset;
    this.buffer = slot;
    this.messageId = messageId;
    this.bufferSize = slot.length;
    // ByteBuffer.wrap() would copy the slot; pointing a ByteBuffer at it keeps one shared allocation.
    // Bounds and values are checked here before every call, so bytebuffer's own checks (noAssert = false) would
    // only run twice.
    this.bytes = new ByteBuffer(0, ByteBuffer.LITTLE_ENDIAN, true);
    this.bytes.buffer = slot;
    this.bytes.limit = slot.length;
  }

  /** Bytes of message content, 0..`bufferSize`. Setting it clamps `position` to the new length. */
  get length(): number {
    return this.lengthBytes;
  }
  set length(value: number) {
    this.assertHandedOut();
    checkIndex('length', value, this.bufferSize);
    this.lengthBytes = value;
    if (this.positionBytes > value) this.positionBytes = value;
  }

  /** Cursor of the next read or write, in bytes, 0..`bufferSize`. */
  get position(): number {
    return this.positionBytes;
  }
  set position(value: number) {
    this.assertHandedOut();
    checkIndex('position', value, this.bufferSize);
    this.positionBytes = value;
  }

  /** Empties the message: `length` and `position` become 0. */
  reset(): void {
    this.assertHandedOut();
    this.lengthBytes = 0;
    this.positionBytes = 0;
  }

  /** Writes `numBytes` (default: all) bytes of `bytes`. @throws RangeError if they do not fit */
  writeBytes(bytes: Uint8Array, numBytes: number = bytes?.length): void {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('Expected bytes to be a Uint8Array');
    checkIndex('numBytes', numBytes, bytes.length);
    const at = this.reserveWrite(numBytes);
    copyBytes(bytes, 0, this.buffer, at, numBytes);
    this.commitWrite(at + numBytes);
  }
  /** Reads `numBytes` (default: `out.length`) bytes into `out` and returns `out`. @throws RangeError past `length` */
  readBytes(out: Uint8Array, numBytes: number = out?.length): Uint8Array {
    if (!(out instanceof Uint8Array)) throw new TypeError('Expected out to be a Uint8Array');
    checkIndex('numBytes', numBytes, out.length);
    const at = this.reserveRead(numBytes);
    copyBytes(this.buffer, at, out, 0, numBytes);
    return out;
  }

  /** Writes a signed 8-bit integer (-128..127). */
  writeInt8(value: number): void {
    checkInteger('Int8', value, -0x80, 0x7f);
    const at = this.reserveWrite(1);
    this.bytes.writeInt8(value, at);
    this.commitWrite(at + 1);
  }
  /** Reads a signed 8-bit integer. */
  readInt8(): number {
    return this.bytes.readInt8(this.reserveRead(1));
  }
  /** Writes an unsigned 8-bit integer (0..255). */
  writeUInt8(value: number): void {
    checkInteger('UInt8', value, 0, 0xff);
    const at = this.reserveWrite(1);
    this.bytes.writeUint8(value, at);
    this.commitWrite(at + 1);
  }
  /** Reads an unsigned 8-bit integer. */
  readUInt8(): number {
    return this.bytes.readUint8(this.reserveRead(1));
  }
  /** Writes a signed 16-bit integer (-32,768..32,767), little-endian. */
  writeInt16(value: number): void {
    checkInteger('Int16', value, -0x8000, 0x7fff);
    const at = this.reserveWrite(2);
    this.bytes.writeInt16(value, at);
    this.commitWrite(at + 2);
  }
  /** Reads a signed 16-bit integer. */
  readInt16(): number {
    return this.bytes.readInt16(this.reserveRead(2));
  }
  /** Writes an unsigned 16-bit integer (0..65,535), little-endian. */
  writeUInt16(value: number): void {
    checkInteger('UInt16', value, 0, 0xffff);
    const at = this.reserveWrite(2);
    this.bytes.writeUint16(value, at);
    this.commitWrite(at + 2);
  }
  /** Reads an unsigned 16-bit integer. */
  readUInt16(): number {
    return this.bytes.readUint16(this.reserveRead(2));
  }
  /** Writes a signed 32-bit integer, little-endian. */
  writeInt32(value: number): void {
    checkInteger('Int32', value, -0x8000_0000, 0x7fff_ffff);
    const at = this.reserveWrite(4);
    this.bytes.writeInt32(value, at);
    this.commitWrite(at + 4);
  }
  /** Reads a signed 32-bit integer. */
  readInt32(): number {
    return this.bytes.readInt32(this.reserveRead(4));
  }
  /** Writes an unsigned 32-bit integer (0..4,294,967,295), little-endian. */
  writeUInt32(value: number): void {
    checkInteger('UInt32', value, 0, 0xffff_ffff);
    const at = this.reserveWrite(4);
    this.bytes.writeUint32(value, at);
    this.commitWrite(at + 4);
  }
  /** Reads an unsigned 32-bit integer. */
  readUInt32(): number {
    return this.bytes.readUint32(this.reserveRead(4));
  }
  /** Writes a signed 64-bit integer given as a bigint, little-endian. */
  writeInt64(value: bigint): void {
    if (typeof value !== 'bigint') throw new TypeError(`Expected an Int64 value as a bigint, got ${typeof value}`);
    if (value < INT64_MIN || value > INT64_MAX) throw new RangeError(`Expected an Int64 value from -2^63 to 2^63-1, got ${value}`);
    this.writeWords(BigInt.asUintN(64, value));
  }
  /** Reads a signed 64-bit integer as a bigint. */
  readInt64(): bigint {
    return BigInt.asIntN(64, this.readWords());
  }
  /** Writes an unsigned 64-bit integer given as a bigint (0..2^64-1), little-endian. */
  writeUInt64(value: bigint): void {
    if (typeof value !== 'bigint') throw new TypeError(`Expected a UInt64 value as a bigint, got ${typeof value}`);
    if (value < 0n || value > UINT64_MAX) throw new RangeError(`Expected a UInt64 value from 0 to 2^64-1, got ${value}`);
    this.writeWords(value);
  }
  /** Reads an unsigned 64-bit integer as a bigint. */
  readUInt64(): bigint {
    return this.readWords();
  }
  /** Writes a 32-bit float (the value is rounded to float32; NaN, ±Infinity and -0 keep their meaning). */
  writeSingle(value: number): void {
    checkNumber('Single', value);
    const at = this.reserveWrite(4);
    this.bytes.writeFloat32(value, at);
    this.commitWrite(at + 4);
  }
  /** Reads a 32-bit float. */
  readSingle(): number {
    return this.bytes.readFloat32(this.reserveRead(4));
  }
  /** Writes a 64-bit float. */
  writeDouble(value: number): void {
    checkNumber('Double', value);
    const at = this.reserveWrite(8);
    this.bytes.writeFloat64(value, at);
    this.commitWrite(at + 8);
  }
  /** Reads a 64-bit float. */
  readDouble(): number {
    return this.bytes.readFloat64(this.reserveRead(8));
  }
  /** Writes a boolean as one byte (1 or 0). */
  writeBoolean(value: boolean): void {
    if (typeof value !== 'boolean') throw new TypeError(`Expected a Boolean value, got ${typeof value}`);
    const at = this.reserveWrite(1);
    this.bytes.writeUint8(value ? 1 : 0, at);
    this.commitWrite(at + 1);
  }
  /** Reads a one-byte boolean; any non-zero byte is true. */
  readBoolean(): boolean {
    return this.bytes.readUint8(this.reserveRead(1)) !== 0;
  }

  /**
   * Writes a string as Flax does: uint16 count of UTF-16 code units, then the code units little-endian.
   * @throws RangeError when the string has more than 65,535 code units (never truncated)
   */
  writeString(value: string): void {
    if (typeof value !== 'string') throw new TypeError(`Expected a String value, got ${typeof value}`);
    if (value.length > 0xffff) throw new RangeError(`Expected a string of at most 65535 UTF-16 code units, got ${value.length}`);
    const at = this.reserveWrite(2 + value.length * 2);
    this.bytes.writeUint16(value.length, at);
    this.bytes.buffer.write(value, at + 2, 'utf16le');
    this.commitWrite(at + 2 + value.length * 2);
  }
  /** Reads a string written by {@link NetworkMessage.writeString}. */
  readString(): string {
    const units = this.peekCount();
    const at = this.reserveRead(2 + units * 2) + 2;
    return this.bytes.buffer.toString('utf16le', at, at + units * 2);
  }
  /**
   * Writes a one-byte-per-unit string as Flax's `StringAnsi`: uint16 byte count, then the bytes, encoded as UTF-8
   * (ASCII text is byte-for-byte the same).
   * @throws RangeError when the encoding is longer than 65,535 bytes
   */
  writeStringAnsi(value: string): void {
    if (typeof value !== 'string') throw new TypeError(`Expected a StringAnsi value as a string, got ${typeof value}`);
    const byteCount = Buffer.byteLength(value, 'utf8');
    if (byteCount > 0xffff) throw new RangeError(`Expected a StringAnsi of at most 65535 bytes, got ${byteCount}`);
    const at = this.reserveWrite(2 + byteCount);
    this.bytes.writeUint16(byteCount, at);
    this.bytes.buffer.write(value, at + 2, byteCount, 'utf8');
    this.commitWrite(at + 2 + byteCount);
  }
  /** Reads a string written by {@link NetworkMessage.writeStringAnsi}. */
  readStringAnsi(): string {
    const byteCount = this.peekCount();
    const at = this.reserveRead(2 + byteCount) + 2;
    return this.bytes.buffer.toString('utf8', at, at + byteCount);
  }

  /** Writes `[x, y]` as two float32. */
  writeVector2(value: FloatList): void {
    this.writeFloats('Vector2', value, 2);
  }
  /** Reads two float32 into `out` (default: a new array) and returns it. */
  readVector2<T extends number[] | Float32Array = number[]>(out?: T): T {
    return this.readFloats(2, out);
  }
  /** Writes `[x, y, z]` as three float32. */
  writeVector3(value: FloatList): void {
    this.writeFloats('Vector3', value, 3);
  }
  /** Reads three float32 into `out` (default: a new array) and returns it. */
  readVector3<T extends number[] | Float32Array = number[]>(out?: T): T {
    return this.readFloats(3, out);
  }
  /** Writes `[x, y, z, w]` as four float32. */
  writeVector4(value: FloatList): void {
    this.writeFloats('Vector4', value, 4);
  }
  /** Reads four float32 into `out` (default: a new array) and returns it. */
  readVector4<T extends number[] | Float32Array = number[]>(out?: T): T {
    return this.readFloats(4, out);
  }
  /** Writes a quaternion `[x, y, z, w]` as four float32 (Flax's order). */
  writeQuaternion(value: FloatList): void {
    this.writeFloats('Quaternion', value, 4);
  }
  /** Reads a quaternion `[x, y, z, w]` into `out` (default: a new array) and returns it. */
  readQuaternion<T extends number[] | Float32Array = number[]>(out?: T): T {
    return this.readFloats(4, out);
  }
  /** Writes a GUID as its 16 raw bytes. */
  writeGuid(value: Uint8Array): void {
    if (!(value instanceof Uint8Array) || value.length !== 16) throw new TypeError('Expected a Guid as a Uint8Array of 16 bytes');
    this.writeBytes(value, 16);
  }
  /** Reads a 16-byte GUID into `out` (default: a new Uint8Array) and returns it. */
  readGuid(out: Uint8Array = new Uint8Array(16)): Uint8Array {
    if (!(out instanceof Uint8Array) || out.length < 16) throw new TypeError('Expected out to be a Uint8Array of at least 16 bytes');
    return this.readBytes(out, 16);
  }

  /** @internal starts a new life of the slot: empty, handed out */
  handOut(): void {
    this.isHandedOut = true;
    this.generation = (this.generation + 1) >>> 0;
    this.lengthBytes = 0;
    this.positionBytes = 0;
  }

  /** @internal fills the slot with received bytes (already copied to `buffer`) and readies it for reading */
  setReceived(length: number): void {
    this.lengthBytes = length;
    this.positionBytes = 0;
  }

  /** @internal throws a TypeError unless the message is handed out */
  assertHandedOut(): void {
    if (!this.isHandedOut) {
      throw new TypeError(
        `Expected a message owned by the application, but message ${this.messageId} is back in its pool (used after recycleMessage() or endSendMessage()?)`,
      );
    }
  }

  private reserveWrite(byteCount: number): number {
    this.assertHandedOut();
    const at = this.positionBytes;
    if (at + byteCount > this.bufferSize) {
      throw new RangeError(
        `Expected a write of ${byteCount} bytes at position ${at} to fit the message buffer of ${this.bufferSize} bytes (raise messageSize)`,
      );
    }
    return at;
  }

  private commitWrite(end: number): void {
    this.positionBytes = end;
    if (end > this.lengthBytes) this.lengthBytes = end;
  }

  private reserveRead(byteCount: number): number {
    this.assertHandedOut();
    const at = this.positionBytes;
    if (at + byteCount > this.lengthBytes) {
      throw new RangeError(`Expected ${byteCount} more bytes at position ${at}, but the message length is ${this.lengthBytes}`);
    }
    this.positionBytes = at + byteCount;
    return at;
  }

  private peekCount(): number {
    const at = this.reserveRead(2);
    this.positionBytes = at;
    return this.bytes.readUint16(at);
  }

  private writeWords(value: bigint): void {
    const at = this.reserveWrite(8);
    this.bytes.writeUint32(Number(value & 0xffff_ffffn), at);
    this.bytes.writeUint32(Number(value >> 32n), at + 4);
    this.commitWrite(at + 8);
  }

  private readWords(): bigint {
    const at = this.reserveRead(8);
    const low = this.bytes.readUint32(at);
    const high = this.bytes.readUint32(at + 4);
    return (BigInt(high) << 32n) | BigInt(low);
  }

  private writeFloats(kind: string, value: FloatList, count: number): void {
    if (value === null || typeof value !== 'object' || typeof value.length !== 'number' || value.length < count) {
      throw new TypeError(`Expected a ${kind} as a list of at least ${count} numbers`);
    }
    for (let i = 0; i < count; i++) checkNumber(kind, value[i]);
    const at = this.reserveWrite(count * 4);
    for (let i = 0; i < count; i++) this.bytes.writeFloat32(value[i], at + i * 4);
    this.commitWrite(at + count * 4);
  }

  private readFloats<T extends number[] | Float32Array>(count: number, out?: T): T {
    const target = (out ?? new Array<number>(count)) as T;
    if (target.length < count && target instanceof Float32Array) {
      throw new TypeError(`Expected out to hold at least ${count} numbers`);
    }
    const at = this.reserveRead(count * 4);
    for (let i = 0; i < count; i++) target[i] = this.bytes.readFloat32(at + i * 4);
    return target;
  }
}

function checkInteger(kind: string, value: number, min: number, max: number): void {
  if (typeof value !== 'number') throw new TypeError(`Expected an ${kind} value as a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`Expected an ${kind} value to be an integer from ${min} to ${max}, got ${value}`);
  }
}

function checkNumber(kind: string, value: unknown): void {
  if (typeof value !== 'number') throw new TypeError(`Expected a ${kind} value as a number, got ${typeof value}`);
}

function checkIndex(name: string, value: number, max: number): void {
  if (typeof value !== 'number') throw new TypeError(`Expected ${name} to be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`Expected ${name} to be an integer from 0 to ${max}, got ${value}`);
  }
}
