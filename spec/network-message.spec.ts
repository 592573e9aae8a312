import { expect } from 'chai';

import { MessagePool, type NetworkMessage } from '../lib';

// Expected bytes below are derived by hand from the wire rules of Flax's NetworkMessage (DESIGN.md, "Bytes on the
// wire"): little-endian, fixed width, bool = 1 byte, String = uint16 count of UTF-16 code units then UTF-16LE,
// StringAnsi = uint16 byte count then the bytes, vectors and quaternions = consecutive float32, Guid = 16 raw bytes.
// They are never computed with the code under test.

const pools: MessagePool[] = [];

/** A fresh, empty message of `bufferSize` bytes, from a pool of its own (reclaimed after each test). */
function acquire(bufferSize = 64): { pool: MessagePool; message: NetworkMessage } {
  const pool = new MessagePool(1, bufferSize);
  pools.push(pool);
  return { pool, message: pool.acquire() };
}

function messageOf(bufferSize = 64): NetworkMessage {
  return acquire(bufferSize).message;
}

/** Bytes `[0, length)` of `message` as lower-case hex. */
function hexOf(message: NetworkMessage): string {
  return Buffer.from(message.buffer.buffer, message.buffer.byteOffset, message.length).toString('hex');
}

/** The whole slot (all `bufferSize` bytes) as hex, including bytes past `length`. */
function slotHexOf(message: NetworkMessage): string {
  return Buffer.from(message.buffer.buffer, message.buffer.byteOffset, message.bufferSize).toString('hex');
}

/** A message holding exactly the bytes of `hex`, positioned at 0 for reading. */
function messageWithBytes(hex: string, bufferSize = 64): NetworkMessage {
  const message = messageOf(bufferSize);
  message.writeBytes(Buffer.from(hex, 'hex'));
  message.position = 0;
  return message;
}

/**
 * Writes with `write`, reads back with `read` from position 0, and checks that the read consumed exactly the bytes
 * the write produced.
 */
function roundTrip<T>(write: (message: NetworkMessage) => void, read: (message: NetworkMessage) => T, bufferSize = 64): T {
  const message = messageOf(bufferSize);
  write(message);
  const written = message.length;
  expect(message.position, 'position after the write').to.equal(written);
  message.position = 0;
  const value = read(message);
  expect(message.position, 'position after the read').to.equal(written);
  expect(message.length, 'length after the read').to.equal(written);
  return value;
}

/** Bytes 0, 1, 2, … `count - 1` (mod 256). */
function countingBytes(count: number, first = 0): Uint8Array {
  const bytes = new Uint8Array(count);
  for (let i = 0; i < count; i++) bytes[i] = (first + i) & 0xff;
  return bytes;
}

/** A string of `count` UTF-16 code units that covers the whole unit range, lone surrogates included. */
function variedString(count: number): string {
  const units = new Array<number>(count);
  for (let i = 0; i < count; i++) units[i] = (i * 7919 + 13) & 0xffff;
  let text = '';
  for (let i = 0; i < count; i += 4096) text += String.fromCharCode(...units.slice(i, i + 4096));
  return text;
}

function expectMinusZero(value: number): void {
  expect(Object.is(value, -0), `${value} is -0`).to.equal(true);
}

afterEach(() => {
  for (const pool of pools) pool.reclaimAll();
  pools.length = 0;
});

/** One write/read pair with a sample value, for the checks that every pair must pass. */
interface Codec {
  readonly name: string;
  /** Bytes the sample takes on the wire. */
  readonly size: number;
  readonly write: (message: NetworkMessage) => void;
  readonly read: (message: NetworkMessage) => unknown;
}

const codecs: readonly Codec[] = [
  { name: 'Bytes', size: 3, write: (m) => m.writeBytes(Uint8Array.of(1, 2, 3)), read: (m) => m.readBytes(new Uint8Array(3)) },
  { name: 'Int8', size: 1, write: (m) => m.writeInt8(-5), read: (m) => m.readInt8() },
  { name: 'UInt8', size: 1, write: (m) => m.writeUInt8(5), read: (m) => m.readUInt8() },
  { name: 'Int16', size: 2, write: (m) => m.writeInt16(-5), read: (m) => m.readInt16() },
  { name: 'UInt16', size: 2, write: (m) => m.writeUInt16(5), read: (m) => m.readUInt16() },
  { name: 'Int32', size: 4, write: (m) => m.writeInt32(-5), read: (m) => m.readInt32() },
  { name: 'UInt32', size: 4, write: (m) => m.writeUInt32(5), read: (m) => m.readUInt32() },
  { name: 'Int64', size: 8, write: (m) => m.writeInt64(-5n), read: (m) => m.readInt64() },
  { name: 'UInt64', size: 8, write: (m) => m.writeUInt64(5n), read: (m) => m.readUInt64() },
  { name: 'Single', size: 4, write: (m) => m.writeSingle(1.5), read: (m) => m.readSingle() },
  { name: 'Double', size: 8, write: (m) => m.writeDouble(1.5), read: (m) => m.readDouble() },
  { name: 'Boolean', size: 1, write: (m) => m.writeBoolean(true), read: (m) => m.readBoolean() },
  { name: 'String', size: 6, write: (m) => m.writeString('ab'), read: (m) => m.readString() },
  { name: 'StringAnsi', size: 4, write: (m) => m.writeStringAnsi('ab'), read: (m) => m.readStringAnsi() },
  { name: 'Vector2', size: 8, write: (m) => m.writeVector2([1, 2]), read: (m) => m.readVector2() },
  { name: 'Vector3', size: 12, write: (m) => m.writeVector3([1, 2, 3]), read: (m) => m.readVector3() },
  { name: 'Vector4', size: 16, write: (m) => m.writeVector4([1, 2, 3, 4]), read: (m) => m.readVector4() },
  { name: 'Quaternion', size: 16, write: (m) => m.writeQuaternion([0, 0, 0, 1]), read: (m) => m.readQuaternion() },
  { name: 'Guid', size: 16, write: (m) => m.writeGuid(countingBytes(16)), read: (m) => m.readGuid() },
];

/** One fixed-width integer type given as a JS number. */
interface IntegerType {
  readonly name: string;
  readonly size: number;
  readonly min: number;
  readonly max: number;
  readonly write: (message: NetworkMessage, value: number) => void;
  readonly read: (message: NetworkMessage) => number;
  /** Values and their little-endian bytes, derived by hand. */
  readonly golden: ReadonlyArray<readonly [number, string]>;
  readonly outOfRange: readonly number[];
}

const integerTypes: readonly IntegerType[] = [
  {
    name: 'Int8',
    size: 1,
    min: -128,
    max: 127,
    write: (m, v) => m.writeInt8(v),
    read: (m) => m.readInt8(),
    golden: [[0, '00'], [1, '01'], [-1, 'ff'], [127, '7f'], [-128, '80']],
    outOfRange: [128, -129],
  },
  {
    name: 'UInt8',
    size: 1,
    min: 0,
    max: 255,
    write: (m, v) => m.writeUInt8(v),
    read: (m) => m.readUInt8(),
    golden: [[0, '00'], [0x7f, '7f'], [0x80, '80'], [255, 'ff']],
    outOfRange: [256, -1],
  },
  {
    name: 'Int16',
    size: 2,
    min: -32768,
    max: 32767,
    write: (m, v) => m.writeInt16(v),
    read: (m) => m.readInt16(),
    golden: [[0x1234, '3412'], [-2, 'feff'], [32767, 'ff7f'], [-32768, '0080']],
    outOfRange: [32768, -32769],
  },
  {
    name: 'UInt16',
    size: 2,
    min: 0,
    max: 65535,
    write: (m, v) => m.writeUInt16(v),
    read: (m) => m.readUInt16(),
    golden: [[0xabcd, 'cdab'], [1, '0100'], [0x8000, '0080'], [65535, 'ffff']],
    outOfRange: [65536, -1],
  },
  {
    name: 'Int32',
    size: 4,
    min: -2147483648,
    max: 2147483647,
    write: (m, v) => m.writeInt32(v),
    read: (m) => m.readInt32(),
    golden: [[0x01020304, '04030201'], [-2, 'feffffff'], [2147483647, 'ffffff7f'], [-2147483648, '00000080']],
    outOfRange: [2147483648, -2147483649],
  },
  {
    name: 'UInt32',
    size: 4,
    min: 0,
    max: 4294967295,
    write: (m, v) => m.writeUInt32(v),
    read: (m) => m.readUInt32(),
    golden: [[0x01020304, '04030201'], [0x80000000, '00000080'], [4294967295, 'ffffffff'], [0, '00000000']],
    outOfRange: [4294967296, -1],
  },
];

/** One 64-bit integer type given as a bigint. */
interface BigIntegerType {
  readonly name: string;
  readonly min: bigint;
  readonly max: bigint;
  readonly write: (message: NetworkMessage, value: bigint) => void;
  readonly read: (message: NetworkMessage) => bigint;
  readonly golden: ReadonlyArray<readonly [bigint, string]>;
  readonly outOfRange: readonly bigint[];
}

const bigIntegerTypes: readonly BigIntegerType[] = [
  {
    name: 'Int64',
    min: -(2n ** 63n),
    max: 2n ** 63n - 1n,
    write: (m, v) => m.writeInt64(v),
    read: (m) => m.readInt64(),
    golden: [
      [0n, '0000000000000000'],
      [-1n, 'ffffffffffffffff'],
      [-2n, 'feffffffffffffff'],
      [0x0102030405060708n, '0807060504030201'],
      [0x1_0000_0000n, '0000000001000000'],
      [-(2n ** 63n), '0000000000000080'],
      [2n ** 63n - 1n, 'ffffffffffffff7f'],
    ],
    outOfRange: [2n ** 63n, -(2n ** 63n) - 1n],
  },
  {
    name: 'UInt64',
    min: 0n,
    max: 2n ** 64n - 1n,
    write: (m, v) => m.writeUInt64(v),
    read: (m) => m.readUInt64(),
    golden: [
      [0n, '0000000000000000'],
      [0x0102030405060708n, '0807060504030201'],
      [0x1_0000_0001n, '0100000001000000'],
      [0x8000_0000_0000_0001n, '0100000000000080'],
      [2n ** 64n - 1n, 'ffffffffffffffff'],
    ],
    outOfRange: [2n ** 64n, -1n],
  },
];

describe('NetworkMessage', () => {
  for (const type of integerTypes) {
    describe(`#write${type.name}()`, () => {
      for (const [value, hex] of type.golden) {
        it(`writes ${value} as ${hex}`, () => {
          const message = messageOf();
          type.write(message, value);
          expect(hexOf(message)).to.equal(hex);
          expect(message.length).to.equal(type.size);
          expect(message.position).to.equal(type.size);
        });
      }

      for (const value of [...type.outOfRange, 1.5, -0.5, NaN, Infinity, -Infinity]) {
        it(`throws a RangeError for ${value} and writes nothing`, () => {
          const message = messageOf();
          expect(() => type.write(message, value)).to.throw(RangeError);
          expect(message.length).to.equal(0);
          expect(message.position).to.equal(0);
          expect(slotHexOf(message)).to.equal('00'.repeat(64));
        });
      }

      it('throws a TypeError for a string', () => {
        const message = messageOf();
        expect(() => type.write(message, '1' as unknown as number)).to.throw(TypeError);
        expect(message.length).to.equal(0);
      });

      it('throws a TypeError for a bigint', () => {
        const message = messageOf();
        expect(() => type.write(message, 1n as unknown as number)).to.throw(TypeError);
        expect(message.length).to.equal(0);
      });
    });

    describe(`#read${type.name}()`, () => {
      for (const value of [type.min, type.max, 0, type.min < 0 ? -1 : 1, Math.trunc(type.max / 3)]) {
        it(`reads back ${value}`, () => {
          expect(roundTrip((m) => type.write(m, value), type.read)).to.equal(value);
        });
      }

      for (const [value, hex] of type.golden) {
        it(`reads ${hex} as ${value}`, () => {
          const message = messageWithBytes(hex);
          expect(type.read(message)).to.equal(value);
          expect(message.position).to.equal(type.size);
        });
      }
    });
  }

  describe('signedness across types', () => {
    it('reads a UInt8 of 255 as an Int8 of -1', () => {
      const message = messageOf();
      message.writeUInt8(255);
      message.position = 0;
      expect(message.readInt8()).to.equal(-1);
    });

    it('reads a UInt16 of 65,535 as an Int16 of -1', () => {
      const message = messageOf();
      message.writeUInt16(65535);
      message.position = 0;
      expect(message.readInt16()).to.equal(-1);
    });

    it('reads an Int32 of -1 as a UInt32 of 4,294,967,295', () => {
      const message = messageOf();
      message.writeInt32(-1);
      message.position = 0;
      expect(message.readUInt32()).to.equal(4294967295);
    });

    it('reads an Int64 of -1n as a UInt64 of 2^64-1', () => {
      const message = messageOf();
      message.writeInt64(-1n);
      message.position = 0;
      expect(message.readUInt64()).to.equal(2n ** 64n - 1n);
    });

    it('reads a UInt64 of 2^63 as an Int64 of -2^63', () => {
      const message = messageOf();
      message.writeUInt64(2n ** 63n);
      message.position = 0;
      expect(message.readInt64()).to.equal(-(2n ** 63n));
    });
  });

  for (const type of bigIntegerTypes) {
    describe(`#write${type.name}()`, () => {
      for (const [value, hex] of type.golden) {
        it(`writes ${value}n as ${hex}`, () => {
          const message = messageOf();
          type.write(message, value);
          expect(hexOf(message)).to.equal(hex);
          expect(message.position).to.equal(8);
        });
      }

      for (const value of type.outOfRange) {
        it(`throws a RangeError for ${value}n and writes nothing`, () => {
          const message = messageOf();
          expect(() => type.write(message, value)).to.throw(RangeError);
          expect(message.length).to.equal(0);
          expect(message.position).to.equal(0);
          expect(slotHexOf(message)).to.equal('00'.repeat(64));
        });
      }

      it('throws a TypeError for a number', () => {
        const message = messageOf();
        expect(() => type.write(message, 1 as unknown as bigint)).to.throw(TypeError);
        expect(message.length).to.equal(0);
      });

      it('throws a TypeError for a string', () => {
        const message = messageOf();
        expect(() => type.write(message, '1' as unknown as bigint)).to.throw(TypeError);
        expect(message.length).to.equal(0);
      });
    });

    describe(`#read${type.name}()`, () => {
      for (const value of [type.min, type.max, 0n, type.min < 0n ? -1n : 1n, 0xffff_ffffn, 0x1_0000_0000n, 0x0123_4567_89ab_cdefn]) {
        it(`reads back ${value}n`, () => {
          expect(roundTrip((m) => type.write(m, value), type.read)).to.equal(value);
        });
      }

      for (const [value, hex] of type.golden) {
        it(`reads ${hex} as ${value}n`, () => {
          expect(type.read(messageWithBytes(hex))).to.equal(value);
        });
      }

      it('returns a bigint', () => {
        expect(typeof type.read(messageWithBytes('0100000000000000'))).to.equal('bigint');
      });
    });
  }

  describe('#writeSingle()', () => {
    const golden: ReadonlyArray<readonly [number, string]> = [
      [1, '0000803f'],
      [-2, '000000c0'],
      [0.5, '0000003f'],
      [0.1, 'cdcccc3d'],
      [0, '00000000'],
      [-0, '00000080'],
      [Infinity, '0000807f'],
      [-Infinity, '000080ff'],
      [3.4028234663852886e38, 'ffff7f7f'],
      [2 ** -149, '01000000'],
    ];
    for (const [value, hex] of golden) {
      it(`writes ${Object.is(value, -0) ? '-0' : value} as ${hex}`, () => {
        const message = messageOf();
        message.writeSingle(value);
        expect(hexOf(message)).to.equal(hex);
      });
    }

    it('writes NaN as a float32 NaN (exponent all ones, mantissa non-zero)', () => {
      const message = messageOf();
      message.writeSingle(NaN);
      expect(message.length).to.equal(4);
      const bits = Buffer.from(message.buffer.buffer, message.buffer.byteOffset, 4).readUInt32LE(0);
      expect(bits & 0x7f800000).to.equal(0x7f800000);
      expect(bits & 0x007fffff).to.not.equal(0);
    });

    it('rounds a value beyond the float32 range to Infinity', () => {
      const message = messageOf();
      message.writeSingle(1e39);
      expect(hexOf(message)).to.equal('0000807f');
    });

    it('throws a TypeError for a string', () => {
      const message = messageOf();
      expect(() => message.writeSingle('1' as unknown as number)).to.throw(TypeError);
      expect(message.length).to.equal(0);
    });
  });

  describe('#readSingle()', () => {
    it('reads 0.1 back as Math.fround(0.1), not 0.1', () => {
      const value = roundTrip((m) => m.writeSingle(0.1), (m) => m.readSingle());
      expect(value).to.equal(Math.fround(0.1));
      expect(value).to.not.equal(0.1);
    });

    it('reads 16,777,217 back as 16,777,216 (float32 precision)', () => {
      expect(roundTrip((m) => m.writeSingle(16777217), (m) => m.readSingle())).to.equal(16777216);
    });

    for (const value of [1, -2, 0.5, 3.4028234663852886e38, -3.4028234663852886e38, 2 ** -149, Infinity, -Infinity]) {
      it(`reads back ${value}`, () => {
        expect(roundTrip((m) => m.writeSingle(value), (m) => m.readSingle())).to.equal(value);
      });
    }

    it('reads back NaN', () => {
      expect(roundTrip((m) => m.writeSingle(NaN), (m) => m.readSingle())).to.be.NaN;
    });

    it('reads back -0 as -0', () => {
      expectMinusZero(roundTrip((m) => m.writeSingle(-0), (m) => m.readSingle()));
    });

    it('reads 0000c0ff as NaN', () => {
      expect(messageWithBytes('0000c0ff').readSingle()).to.be.NaN;
    });
  });

  describe('#writeDouble()', () => {
    const golden: ReadonlyArray<readonly [number, string]> = [
      [-2, '00000000000000c0'],
      [1, '000000000000f03f'],
      [0.1, '9a9999999999b93f'],
      [-0, '0000000000000080'],
      [Infinity, '000000000000f07f'],
      [-Infinity, '000000000000f0ff'],
      [Number.MIN_VALUE, '0100000000000000'],
      [Number.MAX_VALUE, 'ffffffffffffef7f'],
    ];
    for (const [value, hex] of golden) {
      it(`writes ${Object.is(value, -0) ? '-0' : value} as ${hex}`, () => {
        const message = messageOf();
        message.writeDouble(value);
        expect(hexOf(message)).to.equal(hex);
      });
    }

    it('throws a TypeError for a bigint', () => {
      const message = messageOf();
      expect(() => message.writeDouble(1n as unknown as number)).to.throw(TypeError);
      expect(message.length).to.equal(0);
    });
  });

  describe('#readDouble()', () => {
    for (const value of [0.1, -2, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER, Infinity, -Infinity]) {
      it(`reads back ${value} exactly`, () => {
        expect(roundTrip((m) => m.writeDouble(value), (m) => m.readDouble())).to.equal(value);
      });
    }

    it('reads back NaN', () => {
      expect(roundTrip((m) => m.writeDouble(NaN), (m) => m.readDouble())).to.be.NaN;
    });

    it('reads back -0 as -0', () => {
      expectMinusZero(roundTrip((m) => m.writeDouble(-0), (m) => m.readDouble()));
    });
  });

  describe('#writeBoolean()', () => {
    it('writes true as the one byte 01', () => {
      const message = messageOf();
      message.writeBoolean(true);
      expect(hexOf(message)).to.equal('01');
    });

    it('writes false as the one byte 00', () => {
      const message = messageOf();
      message.writeBoolean(false);
      expect(hexOf(message)).to.equal('00');
      expect(message.length).to.equal(1);
    });

    it('throws a TypeError for the number 1', () => {
      const message = messageOf();
      expect(() => message.writeBoolean(1 as unknown as boolean)).to.throw(TypeError);
      expect(message.length).to.equal(0);
    });
  });

  describe('#readBoolean()', () => {
    it('reads back true and false', () => {
      expect(roundTrip((m) => m.writeBoolean(true), (m) => m.readBoolean())).to.equal(true);
      expect(roundTrip((m) => m.writeBoolean(false), (m) => m.readBoolean())).to.equal(false);
    });

    it('reads any non-zero byte as true', () => {
      const message = messageWithBytes('0002ff');
      expect(message.readBoolean()).to.equal(false);
      expect(message.readBoolean()).to.equal(true);
      expect(message.readBoolean()).to.equal(true);
      expect(message.position).to.equal(3);
    });
  });

  describe('#writeString()', () => {
    const golden: ReadonlyArray<readonly [string, string, string]> = [
      ["'Hi'", 'Hi', '0200' + '4800' + '6900'],
      ['the empty string', '', '0000'],
      ["'é' (U+00E9)", 'é', '0100' + 'e900'],
      ["'€' (U+20AC)", '€', '0100' + 'ac20'],
      ["'🎮' as a surrogate pair", '🎮', '0200' + '3cd8' + 'aedf'],
      ['a lone high surrogate', '\ud800', '0100' + '00d8'],
      ['a lone low surrogate before a lone high one', '\udc00\ud83c', '0200' + '00dc' + '3cd8'],
    ];
    for (const [title, value, hex] of golden) {
      it(`writes ${title} as ${hex}`, () => {
        const message = messageOf();
        message.writeString(value);
        expect(hexOf(message)).to.equal(hex);
      });
    }

    it('writes at an odd position without padding', () => {
      const message = messageOf();
      message.writeUInt8(0x01);
      message.writeString('A');
      expect(hexOf(message)).to.equal('01' + '0100' + '4100');
    });

    it('writes a string of 65,535 code units with the count ffff', () => {
      const message = messageOf(2 + 65535 * 2);
      message.writeString('\u1234'.repeat(65535));
      expect(message.length).to.equal(2 + 65535 * 2);
      expect(hexOf(message).slice(0, 12)).to.equal('ffff' + '3412' + '3412');
    });

    it('throws a RangeError for more than 65,535 code units', () => {
      // Big enough for the whole string, so only the count limit can reject it (no truncation to 65,535).
      const message = messageOf(2 + 65536 * 2 + 16);
      expect(() => message.writeString('x'.repeat(65536))).to.throw(RangeError);
      expect(message.length).to.equal(0);
      expect(message.position).to.equal(0);
      expect(message.buffer.subarray(0, 4)).to.deep.equal(new Uint8Array(4));
    });

    it('throws a TypeError for a number', () => {
      const message = messageOf();
      expect(() => message.writeString(1 as unknown as string)).to.throw(TypeError);
      expect(message.length).to.equal(0);
    });
  });

  describe('#readString()', () => {
    const values: ReadonlyArray<readonly [string, string]> = [
      ['the empty string', ''],
      ["'Hello, world'", 'Hello, world'],
      ['accented and symbol text', 'héllo wörld ✓ €'],
      ["'🎮' (a surrogate pair)", '🎮'],
      ['a lone high surrogate', '\ud800'],
      ['a lone low surrogate', 'a\udfffb'],
      ['surrogates in the wrong order', '\udc00\ud83c'],
      ['a NUL code unit', 'a\u0000b'],
    ];
    for (const [title, value] of values) {
      it(`reads back ${title}`, () => {
        const read = roundTrip((m) => m.writeString(value), (m) => m.readString());
        expect(read).to.equal(value);
        expect(read.length).to.equal(value.length);
      });
    }

    it('reads back 65,535 code units of every kind, lone surrogates included', () => {
      const value = variedString(65535);
      expect(roundTrip((m) => m.writeString(value), (m) => m.readString(), 2 + 65535 * 2)).to.equal(value);
    });

    it('reads 0200 3cd8 aedf as 🎮', () => {
      expect(messageWithBytes('0200' + '3cd8' + 'aedf').readString()).to.equal('🎮');
    });

    it('reads a string at an odd position', () => {
      const message = messageWithBytes('ff' + '0200' + '4800' + '6900');
      message.position = 1;
      expect(message.readString()).to.equal('Hi');
      expect(message.position).to.equal(7);
    });
  });

  describe('#writeStringAnsi()', () => {
    const golden: ReadonlyArray<readonly [string, string, string]> = [
      ["'Hi'", 'Hi', '0200' + '4869'],
      ['the empty string', '', '0000'],
      ["'id:7'", 'id:7', '0400' + '69643a37'],
      ["'é' as UTF-8", 'é', '0200' + 'c3a9'],
      ["'€' as UTF-8", '€', '0300' + 'e282ac'],
    ];
    for (const [title, value, hex] of golden) {
      it(`writes ${title} as ${hex}`, () => {
        const message = messageOf();
        message.writeStringAnsi(value);
        expect(hexOf(message)).to.equal(hex);
      });
    }

    it('writes 65,535 bytes with the count ffff', () => {
      const message = messageOf(2 + 65535);
      message.writeStringAnsi('z'.repeat(65535));
      expect(message.length).to.equal(2 + 65535);
      expect(hexOf(message).slice(0, 8)).to.equal('ffff' + '7a7a');
    });

    it('throws a RangeError for more than 65,535 bytes', () => {
      const message = messageOf(2 + 65536 + 16);
      expect(() => message.writeStringAnsi('z'.repeat(65536))).to.throw(RangeError);
      expect(message.length).to.equal(0);
      expect(message.position).to.equal(0);
    });

    it('throws a RangeError when the UTF-8 bytes exceed 65,535 though the code units do not', () => {
      // 21,846 × '€' is 21,846 code units but 65,538 bytes.
      const message = messageOf(2 + 65538 + 16);
      expect(() => message.writeStringAnsi('€'.repeat(21846))).to.throw(RangeError);
      expect(message.length).to.equal(0);
    });

    it('throws a TypeError for null', () => {
      const message = messageOf();
      expect(() => message.writeStringAnsi(null as unknown as string)).to.throw(TypeError);
      expect(message.length).to.equal(0);
    });
  });

  describe('#readStringAnsi()', () => {
    let printable = '';
    for (let code = 0x20; code < 0x7f; code++) printable += String.fromCharCode(code);
    const values: ReadonlyArray<readonly [string, string]> = [
      ['the empty string', ''],
      ['every printable ASCII character', printable],
      ['control characters and NUL', '\u0000\t\n\u007f'],
      ['non-ASCII text as UTF-8', 'é€🎮'],
    ];
    for (const [title, value] of values) {
      it(`reads back ${title}`, () => {
        expect(roundTrip((m) => m.writeStringAnsi(value), (m) => m.readStringAnsi(), 256)).to.equal(value);
      });
    }

    it('reads back 65,535 bytes', () => {
      const value = printable.repeat(Math.ceil(65535 / printable.length)).slice(0, 65535);
      expect(roundTrip((m) => m.writeStringAnsi(value), (m) => m.readStringAnsi(), 2 + 65535)).to.equal(value);
    });

    it('reads 0200 4869 as Hi', () => {
      expect(messageWithBytes('0200' + '4869').readStringAnsi()).to.equal('Hi');
    });
  });

  describe('#writeVector2()', () => {
    it('writes [1, -2] as two float32', () => {
      const message = messageOf();
      message.writeVector2([1, -2]);
      expect(hexOf(message)).to.equal('0000803f' + '000000c0');
    });
  });

  describe('#writeVector3()', () => {
    it('writes [0.5, 1, 2] as three float32', () => {
      const message = messageOf();
      message.writeVector3([0.5, 1, 2]);
      expect(hexOf(message)).to.equal('0000003f' + '0000803f' + '00000040');
    });

    it('writes a Float32Array', () => {
      const message = messageOf();
      message.writeVector3(Float32Array.of(-2, 0, 1));
      expect(hexOf(message)).to.equal('000000c0' + '00000000' + '0000803f');
    });

    it('writes only the first three entries of a longer list', () => {
      const message = messageOf();
      message.writeVector3([1, 1, 1, 2]);
      expect(hexOf(message)).to.equal('0000803f'.repeat(3));
    });

    it('throws a TypeError for a list of two numbers', () => {
      const message = messageOf();
      expect(() => message.writeVector3([1, 2])).to.throw(TypeError);
      expect(message.length).to.equal(0);
    });

    it('throws a TypeError for a non-number entry and writes nothing', () => {
      const message = messageOf();
      expect(() => message.writeVector3([1, '2', 3] as unknown as number[])).to.throw(TypeError);
      expect(message.length).to.equal(0);
      expect(message.position).to.equal(0);
      expect(slotHexOf(message)).to.equal('00'.repeat(64));
    });
  });

  describe('#writeVector4()', () => {
    it('writes [1, 2, -2, 0.5] as four float32', () => {
      const message = messageOf();
      message.writeVector4([1, 2, -2, 0.5]);
      expect(hexOf(message)).to.equal('0000803f' + '00000040' + '000000c0' + '0000003f');
    });
  });

  describe('#writeQuaternion()', () => {
    it('writes the identity [0, 0, 0, 1] as x, y, z, w float32', () => {
      const message = messageOf();
      message.writeQuaternion([0, 0, 0, 1]);
      expect(hexOf(message)).to.equal('00000000' + '00000000' + '00000000' + '0000803f');
    });

    it('throws a TypeError for a list of three numbers', () => {
      const message = messageOf();
      expect(() => message.writeQuaternion([0, 0, 1])).to.throw(TypeError);
      expect(message.length).to.equal(0);
    });
  });

  describe('#readVector2()', () => {
    it('reads back [0.1, -0] as float32 values', () => {
      const value = roundTrip((m) => m.writeVector2([0.1, -0]), (m) => m.readVector2());
      expect(value).to.have.length(2);
      expect(value[0]).to.equal(Math.fround(0.1));
      expectMinusZero(value[1]);
    });
  });

  describe('#readVector3()', () => {
    it('reads back [1, NaN, -Infinity] as a new array', () => {
      const value = roundTrip((m) => m.writeVector3([1, NaN, -Infinity]), (m) => m.readVector3());
      expect(Array.isArray(value)).to.equal(true);
      expect(value).to.have.length(3);
      expect(value[0]).to.equal(1);
      expect(value[1]).to.be.NaN;
      expect(value[2]).to.equal(-Infinity);
    });

    it('reads into a provided Float32Array and returns that array', () => {
      const message = messageOf();
      message.writeVector3([0.5, -2, 0.1]);
      message.position = 0;
      const out = new Float32Array(3);
      const returned = message.readVector3(out);
      expect(returned).to.equal(out);
      expect(Array.from(out)).to.deep.equal([0.5, -2, Math.fround(0.1)]);
      expect(message.position).to.equal(12);
    });

    it('reads into a provided array and returns that array', () => {
      const message = messageOf();
      message.writeVector3([4, 5, 6]);
      message.position = 0;
      const out = [0, 0, 0];
      expect(message.readVector3(out)).to.equal(out);
      expect(out).to.deep.equal([4, 5, 6]);
    });

    it('throws a TypeError for a Float32Array of two and leaves position unchanged', () => {
      const message = messageOf();
      message.writeVector3([1, 2, 3]);
      message.position = 0;
      expect(() => message.readVector3(new Float32Array(2))).to.throw(TypeError);
      expect(message.position).to.equal(0);
    });
  });

  describe('#readVector4()', () => {
    it('reads back [1, 2, 3, 4]', () => {
      expect(roundTrip((m) => m.writeVector4([1, 2, 3, 4]), (m) => m.readVector4())).to.deep.equal([1, 2, 3, 4]);
    });

    it('reads 0000803f 00000040 000000c0 0000003f as [1, 2, -2, 0.5]', () => {
      expect(messageWithBytes('0000803f' + '00000040' + '000000c0' + '0000003f').readVector4()).to.deep.equal([1, 2, -2, 0.5]);
    });
  });

  describe('#readQuaternion()', () => {
    it('reads back [0.1, -0.5, 0.25, 1] as float32 values', () => {
      const value = roundTrip((m) => m.writeQuaternion([0.1, -0.5, 0.25, 1]), (m) => m.readQuaternion());
      expect(value).to.deep.equal([Math.fround(0.1), -0.5, 0.25, 1]);
    });

    it('reads into a provided Float32Array and returns that array', () => {
      const message = messageWithBytes('00000000' + '00000000' + '00000000' + '0000803f');
      const out = new Float32Array(4);
      expect(message.readQuaternion(out)).to.equal(out);
      expect(Array.from(out)).to.deep.equal([0, 0, 0, 1]);
    });
  });

  describe('#writeGuid()', () => {
    it('writes the 16 raw bytes in order', () => {
      const message = messageOf();
      message.writeGuid(countingBytes(16));
      expect(hexOf(message)).to.equal('000102030405060708090a0b0c0d0e0f');
    });

    it('throws a TypeError for 15 bytes', () => {
      const message = messageOf();
      expect(() => message.writeGuid(new Uint8Array(15))).to.throw(TypeError);
      expect(message.length).to.equal(0);
    });

    it('throws a TypeError for 17 bytes', () => {
      const message = messageOf();
      expect(() => message.writeGuid(new Uint8Array(17))).to.throw(TypeError);
      expect(message.length).to.equal(0);
    });

    it('throws a TypeError for a string', () => {
      const message = messageOf();
      expect(() => message.writeGuid('0123456789abcdef' as unknown as Uint8Array)).to.throw(TypeError);
      expect(message.length).to.equal(0);
    });
  });

  describe('#readGuid()', () => {
    it('reads back 16 bytes into a new Uint8Array', () => {
      const guid = countingBytes(16, 0xf0);
      const read = roundTrip((m) => m.writeGuid(guid), (m) => m.readGuid());
      expect(read).to.be.instanceOf(Uint8Array);
      expect(read).to.not.equal(guid);
      expect(Array.from(read)).to.deep.equal(Array.from(guid));
    });

    it('reads into a provided array and returns it', () => {
      const message = messageWithBytes('000102030405060708090a0b0c0d0e0f');
      const out = new Uint8Array(16);
      expect(message.readGuid(out)).to.equal(out);
      expect(Array.from(out)).to.deep.equal(Array.from(countingBytes(16)));
      expect(message.position).to.equal(16);
    });

    it('throws a TypeError for an out of 15 bytes and leaves position unchanged', () => {
      const message = messageWithBytes('000102030405060708090a0b0c0d0e0f');
      expect(() => message.readGuid(new Uint8Array(15))).to.throw(TypeError);
      expect(message.position).to.equal(0);
    });
  });

  describe('#writeBytes()', () => {
    it('writes every byte by default', () => {
      const message = messageOf();
      message.writeBytes(Uint8Array.of(1, 2, 0xfe));
      expect(hexOf(message)).to.equal('0102fe');
    });

    it('writes only the first numBytes bytes', () => {
      const message = messageOf();
      message.writeBytes(Uint8Array.of(1, 2, 3, 4), 2);
      expect(hexOf(message)).to.equal('0102');
      expect(message.position).to.equal(2);
    });

    it('throws a RangeError when numBytes exceeds the source', () => {
      const message = messageOf();
      expect(() => message.writeBytes(Uint8Array.of(1, 2), 3)).to.throw(RangeError);
      expect(message.length).to.equal(0);
    });

    it('throws a TypeError for a plain array', () => {
      const message = messageOf();
      expect(() => message.writeBytes([1, 2] as unknown as Uint8Array)).to.throw(TypeError);
      expect(message.length).to.equal(0);
    });
  });

  describe('#readBytes()', () => {
    it('reads back every byte of out and returns out', () => {
      const message = messageWithBytes('0a0b0c');
      const out = new Uint8Array(3);
      expect(message.readBytes(out)).to.equal(out);
      expect(Array.from(out)).to.deep.equal([10, 11, 12]);
      expect(message.position).to.equal(3);
    });

    it('reads only numBytes bytes and leaves the rest of out alone', () => {
      const message = messageWithBytes('0a0b0c');
      const out = Uint8Array.of(9, 9, 9);
      message.readBytes(out, 2);
      expect(Array.from(out)).to.deep.equal([10, 11, 9]);
      expect(message.position).to.equal(2);
    });

    it('throws a RangeError when numBytes exceeds out', () => {
      const message = messageWithBytes('0a0b0c');
      expect(() => message.readBytes(new Uint8Array(2), 3)).to.throw(RangeError);
      expect(message.position).to.equal(0);
    });
  });

  describe('a message of several fields', () => {
    // uint8 42 | uint16 0x0102 | bool true | int32 -2 | String 'Ok' | float32 1 | uint64 2^32+1 | StringAnsi 'id'
    // | Vector2 [0.5, -2] | double -2 | Guid f0..ff
    const expected =
      '2a' +
      '0201' +
      '01' +
      'feffffff' +
      '0200' + '4f00' + '6b00' +
      '0000803f' +
      '0100000001000000' +
      '0200' + '6964' +
      '0000003f' + '000000c0' +
      '00000000000000c0' +
      'f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff';

    function writeAll(message: NetworkMessage): void {
      message.writeUInt8(42);
      message.writeUInt16(0x0102);
      message.writeBoolean(true);
      message.writeInt32(-2);
      message.writeString('Ok');
      message.writeSingle(1);
      message.writeUInt64(0x1_0000_0001n);
      message.writeStringAnsi('id');
      message.writeVector2([0.5, -2]);
      message.writeDouble(-2);
      message.writeGuid(countingBytes(16, 0xf0));
    }

    it('lays the fields out back to back, as a Flax peer reads them', () => {
      const message = messageOf();
      writeAll(message);
      expect(hexOf(message)).to.equal(expected);
      expect(message.length).to.equal(62);
      expect(message.position).to.equal(62);
    });

    it('reads the fields back in order', () => {
      const message = messageWithBytes(expected);
      expect(message.readUInt8()).to.equal(42);
      expect(message.readUInt16()).to.equal(0x0102);
      expect(message.readBoolean()).to.equal(true);
      expect(message.readInt32()).to.equal(-2);
      expect(message.readString()).to.equal('Ok');
      expect(message.readSingle()).to.equal(1);
      expect(message.readUInt64()).to.equal(0x1_0000_0001n);
      expect(message.readStringAnsi()).to.equal('id');
      expect(message.readVector2()).to.deep.equal([0.5, -2]);
      expect(message.readDouble()).to.equal(-2);
      expect(Array.from(message.readGuid())).to.deep.equal(Array.from(countingBytes(16, 0xf0)));
      expect(message.position).to.equal(62);
      expect(() => message.readUInt8()).to.throw(RangeError);
    });
  });

  describe('reading past length', () => {
    for (const codec of codecs) {
      it(`throws a RangeError from #read${codec.name}() one byte short and leaves position unchanged`, () => {
        // The full value is written, then length is cut one byte short: the missing byte is still in the slot, so
        // only the check against length (not bufferSize) can reject the read.
        const message = messageOf();
        message.writeUInt8(0x99);
        codec.write(message);
        message.length = 1 + codec.size - 1;
        message.position = 1;
        expect(() => codec.read(message)).to.throw(RangeError);
        expect(message.position).to.equal(1);
        expect(message.length).to.equal(codec.size);
      });

      it(`reads with #read${codec.name}() when exactly enough bytes remain`, () => {
        const message = messageOf();
        codec.write(message);
        message.position = 0;
        expect(() => codec.read(message)).to.not.throw();
        expect(message.position).to.equal(codec.size);
      });
    }

    it('throws a RangeError from #readString() when the count promises more than length holds', () => {
      // Count 3, but only two code units follow.
      const message = messageWithBytes('0300' + '4100' + '4200');
      expect(() => message.readString()).to.throw(RangeError);
      expect(message.position).to.equal(0);
    });

    it('throws a RangeError from #readStringAnsi() when the count promises more than length holds', () => {
      const message = messageWithBytes('0500' + '41424344');
      expect(() => message.readStringAnsi()).to.throw(RangeError);
      expect(message.position).to.equal(0);
    });

    it('throws a RangeError from #readUInt8() at position == length, within bufferSize', () => {
      const message = messageOf();
      message.writeUInt16(0x0102);
      message.length = 1;
      message.position = 1;
      expect(() => message.readUInt8()).to.throw(RangeError);
      expect(message.position).to.equal(1);
    });

    it('throws a RangeError from a read after position was moved past length', () => {
      const message = messageWithBytes('01020304');
      message.position = 10;
      expect(() => message.readUInt8()).to.throw(RangeError);
      expect(message.position).to.equal(10);
    });
  });

  describe('writing past bufferSize', () => {
    const bufferSize = 32;
    for (const codec of codecs) {
      it(`throws a RangeError from #write${codec.name}() one byte short and writes nothing`, () => {
        const message = messageOf(bufferSize);
        message.writeBytes(new Uint8Array(bufferSize).fill(0xaa));
        const at = bufferSize - codec.size + 1;
        message.length = at;
        expect(message.position).to.equal(at);
        expect(() => codec.write(message)).to.throw(RangeError);
        expect(message.length).to.equal(at);
        expect(message.position).to.equal(at);
        expect(slotHexOf(message)).to.equal('aa'.repeat(bufferSize));
      });

      it(`writes with #write${codec.name}() when exactly enough room remains`, () => {
        const message = messageOf(bufferSize);
        message.position = bufferSize - codec.size;
        codec.write(message);
        expect(message.position).to.equal(bufferSize);
        expect(message.length).to.equal(bufferSize);
      });
    }

    it('throws a RangeError from #writeString() when the text does not fit, writing no count', () => {
      const message = messageOf(8);
      expect(() => message.writeString('abcd')).to.throw(RangeError);
      expect(message.length).to.equal(0);
      expect(slotHexOf(message)).to.equal('00'.repeat(8));
    });

    it('throws a RangeError from #writeStringAnsi() when the text does not fit, writing no count', () => {
      const message = messageOf(8);
      expect(() => message.writeStringAnsi('abcdefg')).to.throw(RangeError);
      expect(message.length).to.equal(0);
      expect(slotHexOf(message)).to.equal('00'.repeat(8));
    });

    it('throws a RangeError from #writeString() for the empty string with one byte left', () => {
      const message = messageOf(8);
      message.position = 7;
      expect(() => message.writeString('')).to.throw(RangeError);
      expect(message.length).to.equal(0);
      expect(message.position).to.equal(7);
    });
  });

  describe('#length', () => {
    it('starts at 0', () => {
      expect(messageOf().length).to.equal(0);
    });

    it('becomes max(length, position) on write, so a header patched after the body keeps the body', () => {
      const message = messageOf();
      message.writeUInt16(0); // placeholder for the body length
      message.writeUInt32(0xdeadbeef);
      message.writeString('abc');
      expect(message.length).to.equal(2 + 4 + 8);
      message.position = 0;
      message.writeUInt16(message.length - 2);
      expect(message.length).to.equal(14);
      expect(message.position).to.equal(2);
      expect(hexOf(message)).to.equal('0c00' + 'efbeadde' + '0300' + '6100' + '6200' + '6300');
    });

    it('grows to the end of a write made past the old length', () => {
      const message = messageOf();
      message.writeUInt8(1);
      message.position = 10;
      message.writeUInt16(0x0203);
      expect(message.length).to.equal(12);
      expect(message.position).to.equal(12);
    });

    it('clamps position when set below it', () => {
      const message = messageOf();
      message.writeUInt32(1);
      message.length = 2;
      expect(message.length).to.equal(2);
      expect(message.position).to.equal(2);
    });

    it('leaves position alone when set above it', () => {
      const message = messageOf();
      message.writeUInt8(1);
      message.length = 10;
      expect(message.position).to.equal(1);
    });

    it('accepts bufferSize', () => {
      const message = messageOf(16);
      message.length = 16;
      expect(message.length).to.equal(16);
    });

    for (const value of [17, -1, 1.5, NaN, Infinity]) {
      it(`throws a RangeError for ${value} and keeps the old length`, () => {
        const message = messageOf(16);
        message.writeUInt16(1);
        expect(() => {
          message.length = value;
        }).to.throw(RangeError);
        expect(message.length).to.equal(2);
        expect(message.position).to.equal(2);
      });
    }

    it('throws a TypeError for a string', () => {
      const message = messageOf(16);
      expect(() => {
        message.length = '4' as unknown as number;
      }).to.throw(TypeError);
      expect(message.length).to.equal(0);
    });
  });

  describe('#position', () => {
    it('starts at 0', () => {
      expect(messageOf().position).to.equal(0);
    });

    it('accepts any value up to bufferSize, beyond length, without changing length', () => {
      const message = messageOf(16);
      message.position = 16;
      expect(message.position).to.equal(16);
      expect(message.length).to.equal(0);
    });

    for (const value of [17, -1, 0.5, NaN, -Infinity]) {
      it(`throws a RangeError for ${value} and keeps the old position`, () => {
        const message = messageOf(16);
        message.writeUInt8(1);
        expect(() => {
          message.position = value;
        }).to.throw(RangeError);
        expect(message.position).to.equal(1);
      });
    }

    it('throws a TypeError for a string', () => {
      const message = messageOf(16);
      expect(() => {
        message.position = '1' as unknown as number;
      }).to.throw(TypeError);
      expect(message.position).to.equal(0);
    });
  });

  describe('#reset()', () => {
    it('sets length and position to 0', () => {
      const message = messageOf();
      message.writeUInt32(7);
      message.reset();
      expect(message.length).to.equal(0);
      expect(message.position).to.equal(0);
      expect(() => message.readUInt8()).to.throw(RangeError);
    });
  });

  describe('after release', () => {
    /** A message holding one sample of every codec, released to its pool, with position back at 0. */
    function releasedMessage(): NetworkMessage {
      const { pool, message } = acquire(256);
      for (const codec of codecs) codec.write(message);
      message.position = 0;
      pool.release(message);
      return message;
    }

    for (const codec of codecs) {
      it(`throws a TypeError from #write${codec.name}() and writes nothing`, () => {
        const message = releasedMessage();
        const before = slotHexOf(message);
        expect(() => codec.write(message)).to.throw(TypeError);
        expect(slotHexOf(message)).to.equal(before);
        expect(message.position).to.equal(0);
      });

      it(`throws a TypeError from #read${codec.name}() though the bytes are still there`, () => {
        const message = releasedMessage();
        expect(() => codec.read(message)).to.throw(TypeError);
        expect(message.position).to.equal(0);
      });
    }

    it('throws a TypeError when length is set', () => {
      const message = releasedMessage();
      const length = message.length;
      expect(() => {
        message.length = 0;
      }).to.throw(TypeError);
      expect(message.length).to.equal(length);
    });

    it('throws a TypeError when position is set', () => {
      const message = releasedMessage();
      expect(() => {
        message.position = 1;
      }).to.throw(TypeError);
      expect(message.position).to.equal(0);
    });

    it('throws a TypeError from #reset()', () => {
      const message = releasedMessage();
      expect(() => message.reset()).to.throw(TypeError);
    });

    it('throws a TypeError from a read into a provided out', () => {
      const message = releasedMessage();
      expect(() => message.readVector3(new Float32Array(3))).to.throw(TypeError);
      expect(() => message.readGuid(new Uint8Array(16))).to.throw(TypeError);
    });
  });
});
