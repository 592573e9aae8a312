import { expect } from 'chai';
import { copyBytes } from '../lib/byte-copy';

describe('copyBytes()', () => {
  const pattern = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

  it('copies exactly the range asked, aligned or not, small or large, leaving the rest alone', () => {
    for (const length of [0, 1, 3, 4, 15, 16, 17, 63, 64, 65, 511, 512, 1500]) {
      for (const [sourceStart, targetStart] of [[0, 0], [4, 8], [1, 0], [0, 3], [5, 7]]) {
        const backing = new ArrayBuffer(4096);
        const source = new Uint8Array(backing, 0, 2048);
        source.set(pattern(2048, length));
        const target = new Uint8Array(backing, 2048, 2048);
        const before = Buffer.from(target);
        copyBytes(source, sourceStart, target, targetStart, length);
        const expected = Buffer.from(before);
        expected.set(source.subarray(sourceStart, sourceStart + length), targetStart);
        expect(Buffer.from(target).equals(expected), `length ${length} from ${sourceStart} to ${targetStart}`).to.equal(true);
      }
    }
  });

  it('copies between views whose backing buffers differ, and ends near the buffer end', () => {
    const source = Buffer.alloc(8192).fill(7).subarray(4096 - 64);
    const target = new Uint8Array(100);
    copyBytes(source, 0, target, 36, 64);
    expect([...target.subarray(36)].every((b) => b === 7)).to.equal(true);
    expect([...target.subarray(0, 36)].every((b) => b === 0)).to.equal(true);
  });
});
