// What copying one 64-byte message costs on the driver's hot path, three ways: `copyBytes()` between a pool slot and
// a send batch with a copy between a second pair of buffers in between (the figure covers both copies) (as the sender did: writeBytes into the slot, then
// the slot into the batch, so each call missed copyBytes's one-entry caches and read `TypedArray#buffer`, a call into
// V8's runtime), `copyBytes()` with one pair only, and `copyWords()` on Int32Array views the caller keeps (what
// lib/drivers/enet-driver.ts does now).
//
//   node -r ts-node/register/transpile-only bench/byte-copy.bench.ts [--copies 5000000]
import { copyBytes, copyWords } from '../lib/byte-copy';
import { argInt, formatFixed } from './bench-common';

const copies = argInt('copies', 5_000_000);
const SLOT_BYTES = 1200;
const slotsBuffer = new ArrayBuffer(4096 * SLOT_BYTES);
const slots: Buffer[] = [];
for (let i = 0; i < 4096; i++) slots.push(Buffer.from(slotsBuffer, i * SLOT_BYTES, SLOT_BYTES));
const slotWords = new Int32Array(slotsBuffer);
const batch = Buffer.alloc(256 * 1024);
const batchWords = new Int32Array(batch.buffer, batch.byteOffset, batch.length >> 2);
const filler = new Uint8Array(64).fill(0xab);
const scratch = new Uint8Array(64);

function measure(name: string, copy: (i: number) => void): void {
  for (let i = 0; i < copies / 10; i++) copy(i);
  const started = process.hrtime.bigint();
  for (let i = 0; i < copies; i++) copy(i);
  console.log(`  ${name.padEnd(58)} ${formatFixed(Number(process.hrtime.bigint() - started) / copies, 1)} ns per copy`);
}

console.log(`byte-copy: ${copies} copies of 64 bytes, slot to batch`);
for (let round = 1; round <= 2; round++) {
  console.log(`round ${round}`);
  measure('copyBytes, and another pair\'s copy in between (2 copies)', (i) => {
    copyBytes(filler, 4, scratch, 4, 56);
    copyBytes(slots[i & 4095], 0, batch, (i & 1023) * 80, 64);
  });
  measure('copyBytes, one buffer pair', (i) => copyBytes(slots[i & 4095], 0, batch, (i & 1023) * 80, 64));
  measure('copyWords on kept Int32Array views', (i) => copyWords(slotWords, (i & 4095) * (SLOT_BYTES >> 2), batchWords, (i & 1023) * 20, 64));
}
