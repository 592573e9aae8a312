import { expect } from 'chai';
import { LocalDriver, LocalNetwork, ManualClock, NetworkChannelType, NetworkEvent, NetworkEventType, NetworkPeer, type NetworkMessage } from '../../lib';
import { EventLog, drainOnce } from '../helpers/pump';

describe('LocalDriver', () => {
  let network: LocalNetwork;
  let clock: ManualClock;
  let peers: NetworkPeer[];
  let log: EventLog;

  beforeEach(() => {
    network = new LocalNetwork();
    clock = new ManualClock();
    peers = [];
    log = new EventLog();
  });
  afterEach(() => {
    for (const peer of peers) NetworkPeer.shutdownPeer(peer);
  });

  const create = (port: number, extra = {}): NetworkPeer => {
    const peer = NetworkPeer.createPeer({ driver: new LocalDriver({ network, clock }), port, timeoutMinimumMs: 1000, timeoutMaximumMs: 2000, ...extra });
    peers.push(peer);
    return peer;
  };

  describe('#connect()', () => {
    it('times out exactly timeoutMinimumMs after connecting to nobody, on the injected clock', () => {
      const client = create(4000);
      client.connect();
      clock.advance(999);
      drainOnce(peers, log);
      expect(log.of(client)).to.have.length(0);
      clock.advance(1);
      drainOnce(peers, log);
      expect(log.of(client).map((e) => e.eventType)).to.deep.equal([NetworkEventType.Timeout]);
    });
  });

  describe('#service()', () => {
    it('keeps incoming messages waiting while the pool is empty, then delivers all of them in order', () => {
      const server = create(0, { messagePoolSize: 129 });
      server.listen();
      const client = create(server.localPort);
      client.connect();
      drainOnce(peers, log);
      drainOnce(peers, log);
      expect(log.of(client, NetworkEventType.Connected)).to.have.length(1);

      const held = Array.from({ length: 120 }, () => server.createMessage());
      for (let i = 0; i < 50; i++) {
        const message = client.beginSendMessage();
        message.writeUInt32(i);
        client.endSendMessage(NetworkChannelType.ReliableOrdered, message);
      }
      // Pop without recycling: the 9 free slots fill, and the other 41 messages must wait in the driver.
      const event = new NetworkEvent();
      const received: NetworkMessage[] = [];
      for (let tick = 0; tick < 5; tick++) while (server.popEvent(event)) received.push(event.message as NetworkMessage);
      expect(received).to.have.length(9);
      expect(server.pool.inUse).to.equal(129);
      const values = received.map((m) => m.readUInt32());
      for (const message of [...held, ...received]) server.recycleMessage(message);
      drainOnce(peers, log);
      values.push(...log.messagesOf(server).map((b) => b.readUInt32LE(0)));
      expect(values).to.deep.equal([...Array(50).keys()]);
    });

    it('drops, and counts, a message larger than this peer\'s messageSize', () => {
      const driver = new LocalDriver({ network, clock });
      const server = NetworkPeer.createPeer({ driver, port: 0, messageSize: 64 });
      peers.push(server);
      server.listen();
      const client = create(server.localPort, { messageSize: 256 });
      client.connect();
      drainOnce(peers, log);
      drainOnce(peers, log);
      const big = client.beginSendMessage();
      big.writeBytes(new Uint8Array(100));
      client.endSendMessage(NetworkChannelType.Reliable, big);
      const small = client.beginSendMessage();
      small.writeBytes(new Uint8Array(10));
      client.endSendMessage(NetworkChannelType.Reliable, small);
      drainOnce(peers, log);
      expect(log.messagesOf(server).map((b) => b.length)).to.deep.equal([10]);
      expect(driver.oversizeDroppedCount).to.equal(1);
    });
  });
});
