// Fuzzes NetworkMessage's readers with received-looking content: random bytes become a message's content (as
// writeBytes() + position = 0, or as a driver does: bytes copied into the slot + setReceived()), then a random
// sequence of read*() calls runs over them. A read may succeed or throw a RangeError; anything else is a bug:
//   - any other exception (TypeError from bytebuffer, a plain Error, ...);
//   - a RangeError that moved position or changed length;
//   - a successful read that moved position by the wrong amount or past length, or returned a wrong-typed value.
// The first bug is printed with everything needed to replay it, and the process exits 1.
//
//   node -r ts-node/register/transpile-only bench/fuzz-message.ts [iterations] [seed] [maxSeconds]
//
// Defaults: 1,000,000 iterations, a seed from the clock (printed), 600 s at most. Same seed, same run.
import { MessagePool, type NetworkMessage } from '../lib';
import { SeededRandom } from '../lib/drivers/seeded-random';

const iterations = parseCount(process.argv[2], 1_000_000);
const seed = process.argv[3] !== undefined ? Number(process.argv[3]) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
const maxSeconds = parseCount(process.argv[4], 600);
const MESSAGE_SIZE = 1500;

function parseCount(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text.replace(/_/g, ''));
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`Expected a positive integer, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return value;
}

const rng = new SeededRandom(seed);
const int = (n: number): number => Math.floor(rng.next() * n);

/** How a reader is checked after it succeeds: the bytes it must have consumed, given the message before the read. */
type Consumed = (bytes: Uint8Array, at: number) => number;
interface Reader {
  readonly name: string;
  readonly read: (message: NetworkMessage) => unknown;
  readonly consumed: Consumed;
  readonly isValid: (value: unknown) => boolean;
  ok: number;
  rangeErrors: number;
}

const fixed = (n: number): Consumed => () => n;
const countAt = (bytes: Uint8Array, at: number): number => bytes[at] | (bytes[at + 1] << 8);
const isInt = (lo: number, hi: number) => (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
const isNumber = (v: unknown): boolean => typeof v === 'number';
const isFloats = (n: number) => (v: unknown): boolean => (Array.isArray(v) || v instanceof Float32Array) && v.length >= n && Array.from(v as ArrayLike<number>).slice(0, n).every(isNumber);
const scratchFloats = new Float32Array(4);
const scratchGuid = new Uint8Array(16);
let bytesOut = new Uint8Array(0);

function reader(name: string, read: Reader['read'], consumed: Consumed, isValid: Reader['isValid']): Reader {
  return { name, read, consumed, isValid, ok: 0, rangeErrors: 0 };
}

const READERS: Reader[] = [
  reader('readInt8', (m) => m.readInt8(), fixed(1), isInt(-128, 127)),
  reader('readUInt8', (m) => m.readUInt8(), fixed(1), isInt(0, 255)),
  reader('readInt16', (m) => m.readInt16(), fixed(2), isInt(-32768, 32767)),
  reader('readUInt16', (m) => m.readUInt16(), fixed(2), isInt(0, 65535)),
  reader('readInt32', (m) => m.readInt32(), fixed(4), isInt(-(2 ** 31), 2 ** 31 - 1)),
  reader('readUInt32', (m) => m.readUInt32(), fixed(4), isInt(0, 2 ** 32 - 1)),
  reader('readInt64', (m) => m.readInt64(), fixed(8), (v) => typeof v === 'bigint' && v >= -(2n ** 63n) && v < 2n ** 63n),
  reader('readUInt64', (m) => m.readUInt64(), fixed(8), (v) => typeof v === 'bigint' && v >= 0n && v < 2n ** 64n),
  reader('readSingle', (m) => m.readSingle(), fixed(4), isNumber),
  reader('readDouble', (m) => m.readDouble(), fixed(8), isNumber),
  reader('readBoolean', (m) => m.readBoolean(), fixed(1), (v) => typeof v === 'boolean'),
  reader('readString', (m) => m.readString(), (b, at) => 2 + 2 * countAt(b, at), (v) => typeof v === 'string'),
  reader('readStringAnsi', (m) => m.readStringAnsi(), (b, at) => 2 + countAt(b, at), (v) => typeof v === 'string'),
  reader('readVector2', (m) => m.readVector2(), fixed(8), isFloats(2)),
  reader('readVector3', (m) => m.readVector3(), fixed(12), isFloats(3)),
  reader('readVector3(out)', (m) => m.readVector3(scratchFloats), fixed(12), isFloats(3)),
  reader('readVector4', (m) => m.readVector4(), fixed(16), isFloats(4)),
  reader('readQuaternion', (m) => m.readQuaternion(), fixed(16), isFloats(4)),
  reader('readQuaternion(out)', (m) => m.readQuaternion(scratchFloats), fixed(16), isFloats(4)),
  reader('readGuid', (m) => m.readGuid(), fixed(16), (v) => v instanceof Uint8Array && v.length === 16),
  reader('readGuid(out)', (m) => m.readGuid(scratchGuid), fixed(16), (v) => v === scratchGuid),
  reader('readBytes(n)', (m) => m.readBytes(bytesOut), () => bytesOut.length, (v) => v === bytesOut),
];

const content = new Uint8Array(MESSAGE_SIZE);

/** Fills `content[0, length)`: uniform bytes, or bytes that look like small u16 counts followed by data. */
function fillContent(length: number): void {
  const style = int(4);
  for (let i = 0; i < length; i++) content[i] = int(256);
  if (style === 0 && length >= 2) {
    // A count that fits, one that is one too big, or one near the end.
    const count = [int(length), length - 1, length, int(64)][int(4)];
    content[0] = count & 0xff;
    content[1] = (count >> 8) & 0xff;
  } else if (style === 1) {
    // Runs of small values and zeros, as real messages have.
    for (let i = 0; i < length; i++) if (int(3) === 0) content[i] = int(4);
  } else if (style === 2) {
    // Well-formed String/StringAnsi fields (small counts, the right number of bytes) between fixed-width fields,
    // cut wherever `length` ends: reads of the matching type succeed, others misread them.
    for (let at = 0; at + 2 <= length; ) {
      const kind = int(3);
      if (kind === 2) {
        at += 1 + int(16);
        continue;
      }
      const count = int(kind === 0 ? 9 : 17);
      content[at] = count;
      content[at + 1] = 0;
      at += 2 + count * (kind === 0 ? 2 : 1);
    }
  }
}

function pickLength(): number {
  const r = int(100);
  if (r < 50) return int(17);
  if (r < 80) return int(65);
  if (r < 95) return int(513);
  return int(MESSAGE_SIZE + 1);
}

function hex(bytes: Uint8Array, length: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, length).toString('hex');
}

function fail(what: string, details: Record<string, unknown>, error?: unknown): never {
  console.error(`BUG: ${what}`);
  for (const [key, value] of Object.entries(details)) console.error(`  ${key}: ${typeof value === 'string' ? value : JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`);
  if (error !== undefined) console.error(error instanceof Error ? error.stack : String(error));
  console.error(`Replay: node -r ts-node/register/transpile-only bench/fuzz-message.ts ${iterations} ${seed}`);
  process.exit(1);
}

const pool = new MessagePool(4, MESSAGE_SIZE);
let message = pool.acquire();
const outcomes = { messages: 0, messagesAllReadsOk: 0, messagesWithRangeError: 0, reads: 0, positionJumps: 0, setReceived: 0, recycles: 0 };

console.log(`fuzz-message: ${iterations.toLocaleString('en-US')} iterations, seed ${seed}, messageSize ${MESSAGE_SIZE}, at most ${maxSeconds} s`);
console.log(`node ${process.version}, ${process.platform} ${process.arch}`);
const started = process.hrtime.bigint();
const deadline = Date.now() + maxSeconds * 1000;
let done = 0;
for (; done < iterations; done++) {
  if ((done & 0x3fff) === 0 && Date.now() > deadline) break;
  if (done % 1000 === 999) {
    // Failed reads never keep a message from going back to the pool.
    pool.release(message);
    message = pool.acquire();
    outcomes.recycles++;
  }
  const length = pickLength();
  fillContent(length);
  if (int(10) === 0) {
    // The driver path: bytes copied into the slot, then setReceived().
    message.buffer.set(content.subarray(0, length));
    message.setReceived(length);
    outcomes.setReceived++;
  } else {
    message.reset();
    message.writeBytes(content, length);
    message.position = 0;
  }
  outcomes.messages++;
  let threw = false;
  const readCount = 1 + int(12);
  for (let r = 0; r < readCount; r++) {
    if (int(20) === 0) {
      // A game may move position itself, anywhere up to bufferSize (past length too).
      message.position = int(message.bufferSize + 1);
      outcomes.positionJumps++;
    }
    const each = READERS[int(READERS.length)];
    if (each === READERS[READERS.length - 1]) bytesOut = new Uint8Array(int(33));
    const position = message.position;
    const before = message.length;
    outcomes.reads++;
    let value: unknown;
    try {
      value = each.read(message);
    } catch (error) {
      const details = (): Record<string, unknown> => ({ iteration: done, read: r, reader: each.name, position, length: before, content: hex(message.buffer, before) });
      if (!(error instanceof RangeError)) fail(`${each.name} threw ${(error as Error)?.constructor?.name ?? typeof error}, not a RangeError`, details(), error);
      if (message.position !== position || message.length !== before) {
        fail(`${each.name} threw a RangeError but moved position ${position} -> ${message.position} or length ${before} -> ${message.length}`, details());
      }
      each.rangeErrors++;
      threw = true;
      continue;
    }
    const expected = each.consumed(message.buffer, position);
    const details = (): Record<string, unknown> => ({ iteration: done, read: r, reader: each.name, position, length: before, content: hex(message.buffer, before), value });
    if (message.position !== position + expected || message.position > message.length || message.length !== before) {
      fail(`${each.name} succeeded but moved position ${position} -> ${message.position} (expected +${expected}, length ${before} -> ${message.length})`, details());
    }
    if (!each.isValid(value)) fail(`${each.name} returned an invalid value`, details());
    each.ok++;
  }
  if (threw) outcomes.messagesWithRangeError++;
  else outcomes.messagesAllReadsOk++;
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
pool.release(message);
if (pool.inUse !== 0) fail('messages left out of the pool', { inUse: pool.inUse });

const fmt = (n: number): string => n.toLocaleString('en-US');
console.log(`iterations ${fmt(done)}${done < iterations ? ` (stopped at the ${maxSeconds} s limit)` : ''} in ${seconds.toFixed(2)} s, ${fmt(Math.round(done / seconds))} messages/s, ${fmt(Math.round(outcomes.reads / seconds))} reads/s`);
console.log(
  `messages: ${fmt(outcomes.messagesAllReadsOk)} read without error, ${fmt(outcomes.messagesWithRangeError)} with at least one RangeError; ` +
    `${fmt(outcomes.setReceived)} filled by setReceived(), ${fmt(outcomes.positionJumps)} position jumps, ${fmt(outcomes.recycles)} recycles`,
);
console.log(`reads: ${fmt(outcomes.reads)}; exceptions other than RangeError: 0`);
console.log('reader                   ok       RangeError');
for (const each of READERS) console.log(`${each.name.padEnd(20)} ${fmt(each.ok).padStart(10)} ${fmt(each.rangeErrors).padStart(12)}`);
