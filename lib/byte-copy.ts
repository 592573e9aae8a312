/**
 * Copies between byte arrays without allocating. `Buffer#copy` with offsets and `subarray()` both create a view
 * per call, and on the hot path that garbage costs more than the copy (the ENet benchmark profiled it at a tenth of
 * each side's time). `TypedArray#set` with a whole array creates nothing and is a memmove; partial aligned copies
 * go word by word through one cached `Int32Array` per backing buffer. Reading `.buffer` of a typed array is a call
 * into V8's runtime, so code that copies the same buffers all the time keeps word views of its own
 * and calls {@link copyWords}.
 */

/** Below this many bytes a plain loop beats setting up a word copy; above `LARGE_COPY_BYTES` memcpy wins. */
const SMALL_COPY_BYTES = 16;
const LARGE_COPY_BYTES = 512;

const wordViews = new WeakMap<ArrayBufferLike, Int32Array>();
// Two single-entry caches in front of the WeakMap: a hot loop copies between the same two buffers every time.
let lastSourceBuffer: ArrayBufferLike | undefined;
let lastSourceWords: Int32Array | undefined;
let lastTargetBuffer: ArrayBufferLike | undefined;
let lastTargetWords: Int32Array | undefined;

function wordsOf(buffer: ArrayBufferLike): Int32Array {
  let words = wordViews.get(buffer);
  if (words === undefined) {
    words = new Int32Array(buffer, 0, buffer.byteLength >> 2);
    wordViews.set(buffer, words);
  }
  return words;
}

/** Copies `length` bytes from `source[sourceStart…]` to `target[targetStart…]`. Ranges must not overlap. */
export function copyBytes(source: Uint8Array, sourceStart: number, target: Uint8Array, targetStart: number, length: number): void {
  if (length >= LARGE_COPY_BYTES || (sourceStart === 0 && length === source.length)) {
    target.set(sourceStart === 0 && length === source.length ? source : source.subarray(sourceStart, sourceStart + length), targetStart);
    return;
  }
  const from = source.byteOffset + sourceStart;
  const to = target.byteOffset + targetStart;
  let done = 0;
  if (length >= SMALL_COPY_BYTES && ((from | to) & 3) === 0) {
    const sourceBuffer = source.buffer;
    if (sourceBuffer !== lastSourceBuffer) {
      lastSourceBuffer = sourceBuffer;
      lastSourceWords = wordsOf(sourceBuffer);
    }
    const targetBuffer = target.buffer;
    if (targetBuffer !== lastTargetBuffer) {
      lastTargetBuffer = targetBuffer;
      lastTargetWords = wordsOf(targetBuffer);
    }
    const sourceWords = lastSourceWords as Int32Array;
    const targetWords = lastTargetWords as Int32Array;
    const wordCount = length >> 2;
    const fromWord = from >> 2;
    const toWord = to >> 2;
    if (fromWord + wordCount <= sourceWords.length && toWord + wordCount <= targetWords.length) {
      for (let i = 0; i < wordCount; i++) targetWords[toWord + i] = sourceWords[fromWord + i];
      done = wordCount << 2;
    }
  }
  for (let i = done; i < length; i++) target[targetStart + i] = source[sourceStart + i];
}

/**
 * Copies `byteLength` bytes rounded up to whole words: words `[sourceWord, sourceWord + ⌈byteLength / 4⌉)` of
 * `source` to `target` from `targetWord`. The caller owns both ends, so up to 3 bytes past `byteLength` may be
 * written; each end must have room for them (record padding, a slot rounded up to 4 bytes). Ranges must not overlap.
 */
export function copyWords(source: Int32Array, sourceWord: number, target: Int32Array, targetWord: number, byteLength: number): void {
  const wordCount = (byteLength + 3) >> 2;
  for (let i = 0; i < wordCount; i++) target[targetWord + i] = source[sourceWord + i];
}
