import { NetworkError, NetworkErrorCode } from './errors';
import { NetworkMessage } from './network-message';

/**
 * The fixed set of messages a peer sends and receives with: one allocation of `capacity * messageSize` bytes at
 * creation, never grown. Messages are handed out and taken back; a message recycled twice, used after recycling, or
 * recycled into another peer's pool throws.
 *
 * Limit: each slot has one `NetworkMessage` object (so that nothing is allocated per message), so once a recycled
 * slot is handed out again, a stale reference to it is the new holder's message and can no longer be caught. Code
 * that keeps references across ticks can compare `message.generation`, which changes on every hand-out.
 */
export class MessagePool {
  /** Number of messages in the pool. */
  readonly capacity: number;
  /** Bytes per message. */
  readonly messageSize: number;

  private readonly messages: NetworkMessage[];
  private readonly freeSlots: Int32Array;
  private freeCount: number;
  private highWaterMark = 0;

  /**
   * @param capacity - number of messages (positive integer)
   * @param messageSize - bytes per message (positive integer)
   */
  constructor(capacity: number, messageSize: number) {
    this.capacity = capacity;
    this.messageSize = messageSize;
    // Slots start at multiples of 4 bytes, so drivers can copy a message word by word through `words`.
    const stride = (messageSize + 3) & ~3;
    const backing = new ArrayBuffer(capacity * stride);
    const words = new Int32Array(backing);
    this.messages = new Array<NetworkMessage>(capacity);
    this.freeSlots = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) {
      this.messages[i] = new NetworkMessage(this, Buffer.from(backing, i * stride, messageSize), i, words, (i * stride) >> 2);
      // Lowest ids are handed out first, which keeps the working set of a quiet peer in a few cache lines.
      this.freeSlots[i] = capacity - 1 - i;
    }
    this.freeCount = capacity;
  }

  /** Messages handed out and not yet returned. */
  get inUse(): number {
    return this.capacity - this.freeCount;
  }

  /** Messages free to hand out. */
  get available(): number {
    return this.freeCount;
  }

  /** Most messages ever handed out at once. */
  get highWater(): number {
    return this.highWaterMark;
  }

  /** Hands out an empty message, or returns `undefined` when none is free. */
  tryAcquire(): NetworkMessage | undefined {
    if (this.freeCount === 0) return undefined;
    const message = this.messages[this.freeSlots[--this.freeCount]];
    message.handOut();
    const inUse = this.capacity - this.freeCount;
    if (inUse > this.highWaterMark) this.highWaterMark = inUse;
    return message;
  }

  /**
   * Hands out an empty message.
   * @throws NetworkError `POOL_EXHAUSTED` when every message is in use
   */
  acquire(): NetworkMessage {
    const message = this.tryAcquire();
    if (message === undefined) {
      throw new NetworkError(
        NetworkErrorCode.PoolExhausted,
        `All ${this.capacity} pooled messages are in use: recycle received messages with recycleMessage(), or raise messagePoolSize`,
      );
    }
    return message;
  }

  /**
   * Takes a message back.
   * @throws TypeError when it is not a message, belongs to another pool, or is already back in this one
   */
  release(message: NetworkMessage): void {
    this.assertOwned(message);
    this.releaseOwned(message);
  }

  /** @internal takes back a message the caller has just checked with {@link MessagePool.assertOwned} */
  releaseOwned(message: NetworkMessage): void {
    message.isHandedOut = false;
    this.freeSlots[this.freeCount++] = message.messageId;
  }

  /** Takes every message back, so that any message still held by the application throws on use. */
  reclaimAll(): void {
    for (let i = 0; i < this.capacity; i++) {
      const message = this.messages[i];
      if (message.isHandedOut) this.release(message);
    }
  }

  /**
   * Throws unless `message` is currently handed out by this pool.
   * @throws TypeError naming what is wrong
   */
  assertOwned(message: NetworkMessage): void {
    if (!(message instanceof NetworkMessage)) {
      throw new TypeError('Expected a NetworkMessage from beginSendMessage(), createMessage() or a Message event');
    }
    if (message.owner !== this) {
      throw new TypeError(`Expected a message of this peer, but message ${message.messageId} belongs to another peer's pool`);
    }
    message.assertHandedOut();
  }
}
