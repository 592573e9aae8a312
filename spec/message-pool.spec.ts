import { expect } from 'chai';

import { MessagePool, NetworkError, NetworkErrorCode, isNetworkError, type NetworkMessage } from '../lib';

/** What `fn` threw; fails the test when it returns normally. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return expect.fail('expected a throw');
}

/** Every message of `pool`, acquired (the pool is empty afterwards). */
function acquireAll(pool: MessagePool): NetworkMessage[] {
  const messages: NetworkMessage[] = [];
  for (let i = 0; i < pool.capacity; i++) messages.push(pool.acquire());
  return messages;
}

describe('MessagePool', () => {
  describe('constructor', () => {
    it('starts with every message available', () => {
      const pool = new MessagePool(5, 32);
      expect(pool.capacity).to.equal(5);
      expect(pool.messageSize).to.equal(32);
      expect(pool.inUse).to.equal(0);
      expect(pool.available).to.equal(5);
      expect(pool.highWater).to.equal(0);
    });

    it('backs every message with one shared ArrayBuffer', () => {
      const pool = new MessagePool(6, 40);
      const messages = acquireAll(pool);
      const backing = messages[0].buffer.buffer;
      for (const message of messages) expect(message.buffer.buffer).to.equal(backing);
      expect(backing.byteLength).to.be.at.least(6 * 40);
    });

    it('gives each message its own slot of bufferSize bytes, with no overlap', () => {
      const pool = new MessagePool(6, 40);
      const messages = acquireAll(pool);
      for (const message of messages) {
        expect(message.bufferSize).to.equal(40);
        expect(message.buffer.length).to.equal(40);
        expect(message.buffer.byteLength).to.equal(40);
      }
      const slots = messages.map((message) => message.buffer.byteOffset).sort((a, b) => a - b);
      for (let i = 1; i < slots.length; i++) expect(slots[i] - slots[i - 1], `gap before slot ${i}`).to.be.at.least(40);
      expect(slots[slots.length - 1] + 40).to.be.at.most(messages[0].buffer.buffer.byteLength);
    });

    it('keeps what is written to one message out of every other', () => {
      const pool = new MessagePool(4, 16);
      const messages = acquireAll(pool);
      messages.forEach((message, i) => message.writeBytes(new Uint8Array(16).fill(i + 1)));
      messages.forEach((message, i) => {
        expect(Array.from(message.buffer), `message ${i}`).to.deep.equal(new Array<number>(16).fill(i + 1));
      });
      const shared = new Uint8Array(messages[0].buffer.buffer);
      const fillCounts = [0, 0, 0, 0, 0];
      for (const byte of shared) if (byte >= 1 && byte <= 4) fillCounts[byte]++;
      expect(fillCounts.slice(1)).to.deep.equal([16, 16, 16, 16]);
    });

    it('numbers the messages 0 to capacity - 1', () => {
      const pool = new MessagePool(4, 16);
      const ids = acquireAll(pool)
        .map((message) => message.messageId)
        .sort((a, b) => a - b);
      expect(ids).to.deep.equal([0, 1, 2, 3]);
    });
  });

  describe('#acquire()', () => {
    it('hands out an empty message', () => {
      const pool = new MessagePool(2, 16);
      const message = pool.acquire();
      expect(message.length).to.equal(0);
      expect(message.position).to.equal(0);
      expect(message.bufferSize).to.equal(16);
    });

    it('counts the message as in use', () => {
      const pool = new MessagePool(3, 16);
      pool.acquire();
      expect(pool.inUse).to.equal(1);
      expect(pool.available).to.equal(2);
      pool.acquire();
      expect(pool.inUse).to.equal(2);
      expect(pool.available).to.equal(1);
    });

    it('hands out a different message each time until the pool is empty', () => {
      const pool = new MessagePool(4, 16);
      const messages = acquireAll(pool);
      expect(new Set(messages).size).to.equal(4);
      expect(pool.available).to.equal(0);
    });

    it('throws a NetworkError with code POOL_EXHAUSTED when every message is in use', () => {
      const pool = new MessagePool(2, 16);
      acquireAll(pool);
      const error = thrownBy(() => pool.acquire());
      expect(isNetworkError(error, NetworkErrorCode.PoolExhausted)).to.equal(true);
      expect(error).to.be.instanceOf(NetworkError);
      expect((error as NetworkError).code).to.equal('POOL_EXHAUSTED');
      expect((error as NetworkError).name).to.equal('NetworkError');
      expect(pool.inUse).to.equal(2);
      expect(pool.available).to.equal(0);
    });

    it('throws a NetworkError with code POOL_EXHAUSTED from a pool of capacity 0', () => {
      const pool = new MessagePool(0, 16);
      expect(isNetworkError(thrownBy(() => pool.acquire()), 'POOL_EXHAUSTED')).to.equal(true);
    });

    it('hands out again after a release', () => {
      const pool = new MessagePool(1, 16);
      const message = pool.acquire();
      pool.release(message);
      expect(pool.acquire()).to.equal(message);
      expect(pool.inUse).to.equal(1);
    });

    it('hands out a reused slot empty', () => {
      const pool = new MessagePool(1, 16);
      const first = pool.acquire();
      first.writeUInt32(0xdeadbeef);
      first.writeUInt32(0xdeadbeef);
      first.position = 2;
      pool.release(first);
      const again = pool.acquire();
      expect(again.messageId).to.equal(first.messageId);
      expect(again.length).to.equal(0);
      expect(again.position).to.equal(0);
      expect(() => again.readUInt8()).to.throw(RangeError);
    });

    it('bumps the generation on each hand-out of a slot', () => {
      const pool = new MessagePool(1, 16);
      const message = pool.acquire();
      const generations = [message.generation];
      for (let i = 0; i < 3; i++) {
        pool.release(message);
        generations.push(pool.acquire().generation);
      }
      for (let i = 1; i < generations.length; i++) {
        expect(generations[i], `hand-out ${i}`).to.equal(generations[i - 1] + 1);
      }
    });

    it('keeps the generation of a slot while it is handed out', () => {
      const pool = new MessagePool(2, 16);
      const message = pool.acquire();
      const generation = message.generation;
      message.writeUInt8(1);
      const other = pool.acquire();
      pool.release(other);
      pool.acquire();
      expect(message.generation).to.equal(generation);
    });
  });

  describe('#tryAcquire()', () => {
    it('hands out an empty message', () => {
      const pool = new MessagePool(1, 16);
      const message = pool.tryAcquire();
      expect(message).to.not.equal(undefined);
      expect(message?.length).to.equal(0);
      expect(pool.inUse).to.equal(1);
    });

    it('returns undefined when every message is in use', () => {
      const pool = new MessagePool(2, 16);
      acquireAll(pool);
      expect(pool.tryAcquire()).to.equal(undefined);
      expect(pool.inUse).to.equal(2);
      expect(pool.available).to.equal(0);
    });
  });

  describe('#release()', () => {
    it('returns the message to the pool', () => {
      const pool = new MessagePool(3, 16);
      const [a, b] = [pool.acquire(), pool.acquire()];
      pool.release(a);
      expect(pool.inUse).to.equal(1);
      expect(pool.available).to.equal(2);
      pool.release(b);
      expect(pool.inUse).to.equal(0);
      expect(pool.available).to.equal(3);
    });

    it('makes a full pool hand out again', () => {
      const pool = new MessagePool(2, 16);
      const [a] = acquireAll(pool);
      pool.release(a);
      expect(pool.tryAcquire()).to.equal(a);
    });

    it('makes the released message throw a TypeError on use', () => {
      const pool = new MessagePool(2, 16);
      const message = pool.acquire();
      message.writeUInt8(7);
      pool.release(message);
      expect(() => message.writeUInt8(1)).to.throw(TypeError);
      expect(() => {
        message.position = 0;
      }).to.throw(TypeError);
      expect(() => message.readUInt8()).to.throw(TypeError);
    });

    it('throws a TypeError on a second release and keeps the counts', () => {
      const pool = new MessagePool(3, 16);
      const message = pool.acquire();
      pool.acquire();
      pool.release(message);
      expect(() => pool.release(message)).to.throw(TypeError);
      expect(pool.inUse).to.equal(1);
      expect(pool.available).to.equal(2);
      const handedOut = [pool.acquire(), pool.acquire()];
      expect(handedOut[0]).to.not.equal(handedOut[1]);
      expect(pool.tryAcquire()).to.equal(undefined);
    });

    it('throws a TypeError for a message of another pool and leaves both pools alone', () => {
      const pool = new MessagePool(2, 16);
      const other = new MessagePool(2, 16);
      const foreign = other.acquire();
      expect(() => pool.release(foreign)).to.throw(TypeError);
      expect(pool.inUse).to.equal(0);
      expect(pool.available).to.equal(2);
      expect(other.inUse).to.equal(1);
      foreign.writeUInt8(1);
      expect(foreign.length).to.equal(1);
    });

    it('throws a TypeError for something that is not a message', () => {
      const pool = new MessagePool(2, 16);
      expect(() => pool.release({ messageId: 0 } as unknown as NetworkMessage)).to.throw(TypeError);
      expect(() => pool.release(undefined as unknown as NetworkMessage)).to.throw(TypeError);
      expect(pool.available).to.equal(2);
    });
  });

  describe('#highWater', () => {
    it('stays at the peak after releases', () => {
      const pool = new MessagePool(5, 16);
      const messages = [pool.acquire(), pool.acquire(), pool.acquire()];
      expect(pool.highWater).to.equal(3);
      for (const message of messages) pool.release(message);
      expect(pool.inUse).to.equal(0);
      expect(pool.highWater).to.equal(3);
      pool.acquire();
      expect(pool.highWater).to.equal(3);
    });

    it('rises to a new peak', () => {
      const pool = new MessagePool(5, 16);
      pool.release(pool.acquire());
      expect(pool.highWater).to.equal(1);
      acquireAll(pool);
      expect(pool.highWater).to.equal(5);
    });

    it('does not count a failed acquire', () => {
      const pool = new MessagePool(2, 16);
      acquireAll(pool);
      pool.tryAcquire();
      expect(() => pool.acquire()).to.throw(NetworkError);
      expect(pool.highWater).to.equal(2);
    });
  });

  describe('#reclaimAll()', () => {
    it('takes every message back', () => {
      const pool = new MessagePool(4, 16);
      pool.acquire();
      pool.acquire();
      pool.reclaimAll();
      expect(pool.inUse).to.equal(0);
      expect(pool.available).to.equal(4);
    });

    it('makes held messages throw a TypeError on use', () => {
      const pool = new MessagePool(3, 16);
      const held = [pool.acquire(), pool.acquire()];
      held[0].writeUInt16(1);
      pool.reclaimAll();
      for (const message of held) {
        expect(() => message.writeUInt8(1)).to.throw(TypeError);
        expect(() => message.readUInt8()).to.throw(TypeError);
        expect(() => {
          message.length = 0;
        }).to.throw(TypeError);
      }
    });

    it('makes a later release of a reclaimed message throw a TypeError', () => {
      const pool = new MessagePool(2, 16);
      const message = pool.acquire();
      pool.reclaimAll();
      expect(() => pool.release(message)).to.throw(TypeError);
      expect(pool.available).to.equal(2);
    });

    it('leaves the pool able to hand out every message again', () => {
      const pool = new MessagePool(3, 16);
      const before = new Set(acquireAll(pool));
      pool.reclaimAll();
      const after = acquireAll(pool);
      expect(after.every((message) => before.has(message))).to.equal(true);
      expect(new Set(after).size).to.equal(3);
      for (const message of after) expect(message.length).to.equal(0);
    });

    it('does nothing on a pool with nothing handed out', () => {
      const pool = new MessagePool(2, 16);
      pool.reclaimAll();
      expect(pool.available).to.equal(2);
      expect(new Set(acquireAll(pool)).size).to.equal(2);
    });
  });

  describe('#assertOwned()', () => {
    it('accepts a message this pool handed out', () => {
      const pool = new MessagePool(1, 16);
      const message = pool.acquire();
      expect(() => pool.assertOwned(message)).to.not.throw();
    });

    it('throws a TypeError for a released message', () => {
      const pool = new MessagePool(1, 16);
      const message = pool.acquire();
      pool.release(message);
      expect(() => pool.assertOwned(message)).to.throw(TypeError);
    });

    it('throws a TypeError for a message of another pool', () => {
      const pool = new MessagePool(1, 16);
      expect(() => pool.assertOwned(new MessagePool(1, 16).acquire())).to.throw(TypeError);
    });
  });
});
