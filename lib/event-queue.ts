import type { NetworkConnection } from './network-connection';
import type { DisconnectReason, NetworkEvent, NetworkEventType } from './network-event';
import type { NetworkMessage } from './network-message';

/**
 * First-in first-out ring of event records, kept in parallel arrays so that pushing and popping allocate nothing.
 * It grows (doubling) only when a burst exceeds every earlier one.
 */
export class EventQueue {
  private types: Uint8Array;
  private reasons: Uint8Array;
  private senders: (NetworkConnection | undefined)[];
  private messages: (NetworkMessage | null)[];
  private head = 0;
  private count = 0;

  /** @param initialCapacity - records before the first growth; a power of two */
  constructor(initialCapacity = 256) {
    this.types = new Uint8Array(initialCapacity);
    this.reasons = new Uint8Array(initialCapacity);
    this.senders = new Array<NetworkConnection | undefined>(initialCapacity).fill(undefined);
    this.messages = new Array<NetworkMessage | null>(initialCapacity).fill(null);
  }

  /** Records waiting. */
  get size(): number {
    return this.count;
  }

  /** Appends one record. */
  push(type: NetworkEventType, sender: NetworkConnection, message: NetworkMessage | null, reason: DisconnectReason): void {
    if (this.count === this.types.length) this.grow();
    const at = (this.head + this.count) & (this.types.length - 1);
    this.types[at] = type;
    this.reasons[at] = reason;
    this.senders[at] = sender;
    this.messages[at] = message;
    this.count++;
  }

  /** Moves the oldest record into `event`; false when empty. */
  popInto(event: NetworkEvent): boolean {
    if (this.count === 0) return false;
    const at = this.head;
    event.eventType = this.types[at] as NetworkEventType;
    event.reason = this.reasons[at] as DisconnectReason;
    event.sender = this.senders[at] as NetworkConnection;
    event.message = this.messages[at];
    // Drop references so a recycled message or ended connection is not kept alive by the ring.
    this.senders[at] = undefined;
    this.messages[at] = null;
    this.head = (at + 1) & (this.types.length - 1);
    this.count--;
    return true;
  }

  /** Removes every record, handing each queued message to `onMessage` (so it can go back to its pool). */
  clear(onMessage: (message: NetworkMessage) => void): void {
    while (this.count > 0) {
      const at = this.head;
      const message = this.messages[at];
      this.senders[at] = undefined;
      this.messages[at] = null;
      this.head = (at + 1) & (this.types.length - 1);
      this.count--;
      if (message !== null) onMessage(message);
    }
  }

  private grow(): void {
    const capacity = this.types.length;
    const types = new Uint8Array(capacity * 2);
    const reasons = new Uint8Array(capacity * 2);
    const senders = new Array<NetworkConnection | undefined>(capacity * 2).fill(undefined);
    const messages = new Array<NetworkMessage | null>(capacity * 2).fill(null);
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + i) & (capacity - 1);
      types[i] = this.types[from];
      reasons[i] = this.reasons[from];
      senders[i] = this.senders[from];
      messages[i] = this.messages[from];
    }
    this.types = types;
    this.reasons = reasons;
    this.senders = senders;
    this.messages = messages;
    this.head = 0;
  }
}
