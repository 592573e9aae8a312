import { expect } from 'chai';
import { NetworkChannelType, NetworkEvent, NetworkEventType, NetworkPeer, type NetworkMessage } from '../../lib';
import { EventLog, drainOnce, pumpTicks, pumpUntil } from '../helpers/pump';

describe('ENetDriver when the application stops recycling', () => {
  let peers: NetworkPeer[];
  let log: EventLog;

  beforeEach(() => {
    peers = [];
    log = new EventLog();
  });
  afterEach(() => {
    for (const peer of peers) NetworkPeer.shutdownPeer(peer);
  });

  it('keeps the connection through a stall longer than its timeout, counts unreliable drops, then delivers every reliable message in order', async () => {
    const timeouts = { timeoutLimit: 4, timeoutMinimumMs: 300, timeoutMaximumMs: 1000, pingIntervalMs: 100 };
    const server = NetworkPeer.createPeer({ driver: 'enet', port: 0, messagePoolSize: 129, ...timeouts });
    peers.push(server);
    server.listen();
    const client = NetworkPeer.createPeer({ driver: 'enet', port: server.localPort, ...timeouts });
    peers.push(client);
    client.connect();
    await pumpUntil(peers, log, () => log.of(client, NetworkEventType.Connected).length === 1 && log.of(server, NetworkEventType.Connected).length === 1);

    // The server pops but never recycles: 129 messages fill its pool, the rest must wait.
    const held: NetworkMessage[] = [];
    const event = new NetworkEvent();
    const stalledServer = (): void => {
      while (server.popEvent(event)) if (event.message !== null) held.push(event.message);
    };
    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < 1500) {
      if (sent < 400) {
        for (let i = 0; i < 10; i++, sent++) {
          for (const channel of [NetworkChannelType.ReliableOrdered, NetworkChannelType.Unreliable]) {
            const message = client.beginSendMessage();
            message.writeUInt8(channel);
            message.writeUInt32(sent);
            client.endSendMessage(channel, message);
          }
        }
      }
      stalledServer();
      drainOnce([client], log);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(server.pool.inUse).to.equal(129);
    const stalled = server.getStats();
    expect(stalled.receiveStalls).to.be.greaterThan(0);
    expect(stalled.unreliableDroppedWhileStalled).to.be.greaterThan(0);
    expect(log.of(client, NetworkEventType.Timeout), 'the client must not time out while the server stalls').to.have.length(0);
    expect(log.of(client, NetworkEventType.Disconnected)).to.have.length(0);

    const reliable: number[] = [];
    const take = (message: NetworkMessage): void => {
      if (message.readUInt8() === NetworkChannelType.ReliableOrdered) reliable.push(message.readUInt32());
      server.recycleMessage(message);
    };
    for (const message of held) take(message);
    for (let tick = 0; tick < 4000 && reliable.length < 400; tick++) {
      while (server.popEvent(event)) if (event.message !== null) take(event.message);
      drainOnce([client], log);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(reliable).to.deep.equal([...Array(400).keys()]);
    await pumpTicks([client], log, 5);
    expect(client.connectionCount).to.equal(1);
  });
});
