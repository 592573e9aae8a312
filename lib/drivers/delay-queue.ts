/** Something waiting in a {@link DelayQueue}. */
export interface Delayed {
  /** When it is due, in clock milliseconds. */
  dueMs: number;
  /** Tie-breaker: among items due at once, the one queued first comes out first. */
  order: number;
}

/** A min-heap of items by due time, then by queueing order. */
export class DelayQueue<T extends Delayed> {
  private readonly heap: T[] = [];
  private nextOrder = 0;

  /** Items waiting. */
  get size(): number {
    return this.heap.length;
  }

  /** Queues an item (its `order` is assigned here). */
  push(item: T): void {
    item.order = this.nextOrder++;
    const heap = this.heap;
    heap.push(item);
    let at = heap.length - 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!before(heap[at], heap[parent])) break;
      [heap[at], heap[parent]] = [heap[parent], heap[at]];
      at = parent;
    }
  }

  /** Removes and returns the earliest item if it is due at `nowMs`, else `undefined`. */
  popDue(nowMs: number): T | undefined {
    const heap = this.heap;
    if (heap.length === 0 || heap[0].dueMs > nowMs) return undefined;
    const top = heap[0];
    const last = heap.pop() as T;
    if (heap.length > 0) {
      heap[0] = last;
      let at = 0;
      for (;;) {
        const left = 2 * at + 1;
        const right = left + 1;
        let smallest = at;
        if (left < heap.length && before(heap[left], heap[smallest])) smallest = left;
        if (right < heap.length && before(heap[right], heap[smallest])) smallest = right;
        if (smallest === at) break;
        [heap[at], heap[smallest]] = [heap[smallest], heap[at]];
        at = smallest;
      }
    }
    return top;
  }

  /** Removes every item, oldest due first. */
  drain(): T[] {
    const all: T[] = [];
    for (let item = this.popDue(Infinity); item !== undefined; item = this.popDue(Infinity)) all.push(item);
    return all;
  }
}

function before(a: Delayed, b: Delayed): boolean {
  return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.order < b.order);
}
