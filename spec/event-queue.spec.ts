import { expect } from 'chai';
import { EventQueue } from '../lib/event-queue';
import { DisconnectReason, NetworkConnection, NetworkEvent, NetworkEventType } from '../lib';

describe('EventQueue', () => {
  it('returns records first in, first out, across growth and wrap-around', () => {
    const queue = new EventQueue(4);
    const connections = Array.from({ length: 40 }, (_, i) => new NetworkConnection(i + 1, null));
    const event = new NetworkEvent();
    const popped: number[] = [];
    // Interleave pushes and pops so the ring wraps before and after it grows.
    for (let i = 0; i < 40; i++) {
      queue.push(NetworkEventType.Connected, connections[i], null, DisconnectReason.None);
      if (i % 3 === 0 && queue.popInto(event)) popped.push(event.sender.connectionId);
    }
    while (queue.popInto(event)) popped.push(event.sender.connectionId);
    expect(popped).to.deep.equal(connections.map((c) => c.connectionId));
    expect(queue.size).to.equal(0);
  });

  it('reports false and leaves the event untouched when empty', () => {
    const queue = new EventQueue(4);
    const event = new NetworkEvent();
    expect(queue.popInto(event)).to.equal(false);
    expect(event.eventType).to.equal(NetworkEventType.None);
  });
});
