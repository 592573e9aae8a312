import { expect } from 'chai';
import { isNetworkError, NetworkChannelType, NetworkEvent, NetworkEventType, NetworkPeer, type NetworkConfig } from '../../lib';
import { EventLog, drainOnce, pumpTicks, pumpUntil } from '../helpers/pump';

describe('ENetDriver', () => {
  let peers: NetworkPeer[];
  let log: EventLog;

  const create = (config: NetworkConfig): NetworkPeer => {
    const peer = NetworkPeer.createPeer({ driver: 'enet', address: '127.0.0.1', port: 0, ...config });
    peers.push(peer);
    return peer;
  };

  beforeEach(() => {
    peers = [];
    log = new EventLog();
  });
  afterEach(() => {
    drainOnce(peers, log);
    for (const peer of peers) NetworkPeer.shutdownPeer(peer);
  });

  describe('#listen()', () => {
    it('reports the port the OS picked', () => {
      const server = create({});
      expect(server.localPort).to.equal(0);
      server.listen();
      expect(server.localPort).to.be.within(1, 65535);
    });

    it('throws a NetworkError HOST_CREATE_FAILED when the port is in use', () => {
      const first = create({});
      first.listen();
      const second = create({ port: first.localPort });
      expect(() => second.listen()).to.throw().that.satisfies((e: unknown) => isNetworkError(e, 'HOST_CREATE_FAILED'));
    });

    it('throws a NetworkError ADDRESS_INVALID for an address that is not an IP literal', () => {
      const server = create({ address: '300.1.2.3' });
      expect(() => server.listen()).to.throw().that.satisfies((e: unknown) => isNetworkError(e, 'ADDRESS_INVALID'));
    });

    it('is reached on 127.0.0.1 and on ::1 when listening on any', async () => {
      const server = create({ address: 'any' });
      server.listen();
      create({ address: '127.0.0.1', port: server.localPort }).connect();
      create({ address: '::1', port: server.localPort }).connect();
      await pumpUntil(peers, log, () => log.of(server, NetworkEventType.Connected).length === 2);
    });
  });

  describe('with a 1-channel peer (as Flax negotiates)', () => {
    it('carries every channel type on ENet channel 0, reliable ones complete and in order', async () => {
      const server = create({ channelCount: 1 });
      server.listen();
      const client = create({ port: server.localPort });
      client.connect();
      await pumpUntil(peers, log, () => log.of(client, NetworkEventType.Connected).length === 1);
      for (let i = 0; i < 100; i++) {
        const message = client.beginSendMessage();
        message.writeUInt32(i);
        client.endSendMessage(i % 2 === 0 ? NetworkChannelType.ReliableOrdered : NetworkChannelType.Reliable, message);
      }
      await pumpUntil(peers, log, () => log.messagesOf(server).length === 100);
      expect(log.messagesOf(server).map((b) => b.readUInt32LE(0))).to.deep.equal([...Array(100).keys()]);
    });
  });

  describe('with a 1-channel peer, unreliable traffic sent in the same tick as reliable traffic', () => {
    it('still delivers UnreliableOrdered messages queued before a Reliable one', async () => {
      const server = create({ channelCount: 1 });
      server.listen();
      const client = create({ port: server.localPort, channelCount: 1 });
      client.connect();
      await pumpUntil(peers, log, () => log.of(client, NetworkEventType.Connected).length === 1);
      for (let i = 0; i < 30; i++) {
        const message = client.beginSendMessage();
        message.writeUInt32(i);
        client.endSendMessage(NetworkChannelType.UnreliableOrdered, message);
      }
      const marker = client.beginSendMessage();
      marker.writeUInt32(1000);
      client.endSendMessage(NetworkChannelType.Reliable, marker);
      await pumpUntil(peers, log, () => log.messagesOf(server).some((b) => b.readUInt32LE(0) === 1000));
      await pumpTicks(peers, log, 20);
      const ordered = log.messagesOf(server).map((b) => b.readUInt32LE(0)).filter((v) => v < 1000);
      // Loopback does not drop 30 small datagrams: before the fix ENet discarded every one of them as stale.
      expect(ordered).to.deep.equal([...Array(30).keys()]);
    });
  });

  describe('#getStats()', () => {
    it('reports ENet\'s round-trip time and wire bytes for a connection', async () => {
      const server = create({});
      server.listen();
      const client = create({ port: server.localPort });
      client.connect();
      await pumpUntil(peers, log, () => log.of(server, NetworkEventType.Connected).length === 1);
      const atServer = log.of(server, NetworkEventType.Connected)[0].connection;
      for (let i = 0; i < 20; i++) {
        const message = server.beginSendMessage();
        message.writeUInt32(i);
        server.endSendMessage(NetworkChannelType.Reliable, message, atServer);
      }
      await pumpUntil(peers, log, () => log.messagesOf(client).length === 20);
      const stats = server.getStats(atServer);
      // ENet starts its estimate at 500 ms and moves it toward measured loopback round trips.
      expect(stats.rttMs).to.be.within(0, 500);
      expect(stats.packetsSent).to.be.at.least(20);
      // 20 payloads of 4 bytes plus ENet's command headers.
      expect(stats.bytesSent).to.be.greaterThan(80);
      expect(server.getStats().connections).to.equal(1);
    });
  });

  describe('acknowledgements', () => {
    /** Pops `peer` until a message arrives (recycling it), or throws after `limit` polls. */
    const awaitMessage = (peer: NetworkPeer, event: NetworkEvent, limit = 200_000): void => {
      for (let poll = 0; poll < limit; poll++) {
        if (!peer.popEvent(event) || event.message === null) continue;
        peer.recycleMessage(event.message);
        return;
      }
      throw new Error('No message arrived');
    };

    it('leave with the reply: a request answered before the next popEvent() costs the server one datagram, not two', async () => {
      const server = create({});
      server.listen();
      const client = create({ port: server.localPort });
      const toServer = client.connect();
      await pumpUntil(peers, log, () => log.of(server, NetworkEventType.Connected).length === 1 && log.of(client, NetworkEventType.Connected).length === 1);
      const atServer = log.of(server, NetworkEventType.Connected)[0].connection;
      const event = new NetworkEvent();
      const rounds = 50;
      const before = server.getStats().packetsSent;
      for (let i = 0; i < rounds; i++) {
        const request = client.beginSendMessage();
        request.writeUInt32(i);
        client.endSendMessage(NetworkChannelType.ReliableOrdered, request, toServer);
        client.flush();
        awaitMessage(server, event);
        const reply = server.beginSendMessage();
        reply.writeUInt32(i);
        server.endSendMessage(NetworkChannelType.ReliableOrdered, reply, atServer);
        server.flush();
        awaitMessage(client, event);
      }
      const datagrams = server.getStats().packetsSent - before;
      // ENet's own service would send each acknowledgement alone first: about 2 per round. A ping may add one.
      expect(datagrams).to.be.at.least(rounds).and.below(rounds * 1.2);
      // Nothing is left unacknowledged on either side once both have serviced again.
      await pumpTicks(peers, log, 5);
      expect(client.getStats(toServer).unacknowledgedBytes).to.equal(0);
      expect(server.getStats(atServer).unacknowledgedBytes).to.equal(0);
    });

    it('still leave on the next popEvent() when the application never answers', async () => {
      const server = create({});
      server.listen();
      const client = create({ port: server.localPort });
      const toServer = client.connect();
      await pumpUntil(peers, log, () => log.of(server, NetworkEventType.Connected).length === 1 && log.of(client, NetworkEventType.Connected).length === 1);
      for (let i = 0; i < 20; i++) {
        const message = client.beginSendMessage();
        message.writeUInt32(i);
        client.endSendMessage(NetworkChannelType.ReliableOrdered, message, toServer);
      }
      await pumpUntil(peers, log, () => log.messagesOf(server).length === 20);
      await pumpUntil(peers, log, () => client.getStats(toServer).unacknowledgedBytes === 0);
      expect(client.getStats(toServer).packetsLost, 'resent reliable commands').to.equal(0);
    });
  });

  describe('#flush()', () => {
    it('delivers each of 80 clients its own unreliable 1,200-byte message, more than one send batch holds', async () => {
      // On Linux a walk's datagrams leave in sendmmsg() batches of at most 64 datagrams and 64 KiB (send-batch.h);
      // 80 x ~1.2 kB crosses both limits. Unreliable, so a datagram a batch lost would not be resent.
      const clientCount = 80;
      const server = create({ connectionsLimit: clientCount });
      server.listen();
      const clients: NetworkPeer[] = [];
      for (let i = 0; i < clientCount; i++) {
        const client = create({ port: server.localPort });
        client.connect();
        clients.push(client);
      }
      await pumpUntil(peers, log, () => log.of(server, NetworkEventType.Connected).length === clientCount);
      await pumpUntil(peers, log, () => clients.every((client) => log.of(client, NetworkEventType.Connected).length === 1));
      // Which client each server-side connection is: each client names itself first.
      for (let i = 0; i < clientCount; i++) {
        const hello = clients[i].beginSendMessage();
        hello.writeUInt32(i);
        clients[i].endSendMessage(NetworkChannelType.ReliableOrdered, hello);
      }
      const connectionOf = new Map<number, NetworkEvent['sender']>();
      const event = new NetworkEvent();
      await pumpUntil([...clients], log, () => {
        while (server.popEvent(event)) {
          if (event.message === null) continue;
          connectionOf.set(event.message.readUInt32(), event.sender);
          server.recycleMessage(event.message);
        }
        return connectionOf.size === clientCount;
      });
      const payloadOf = (i: number): Buffer => Buffer.alloc(1200, i + 1);
      const errorsBefore = server.getStats().serviceErrors;
      for (let i = 0; i < clientCount; i++) {
        const message = server.beginSendMessage();
        message.writeBytes(payloadOf(i));
        server.endSendMessage(NetworkChannelType.Unreliable, message, connectionOf.get(i));
      }
      server.flush();
      await pumpUntil(clients, log, () => clients.every((client) => log.messagesOf(client).length === 1));
      for (let i = 0; i < clientCount; i++) expect(log.messagesOf(clients[i])[0].equals(payloadOf(i)), `client ${i}`).to.equal(true);
      expect(server.getStats().serviceErrors - errorsBefore, 'datagrams refused').to.equal(0);
    });
  });

  describe('#send()', () => {
    it('sends an unreliable message larger than one datagram as unreliable fragments that arrive whole', async () => {
      const server = create({ messageSize: 8000 });
      server.listen();
      const client = create({ port: server.localPort, messageSize: 8000 });
      client.connect();
      await pumpUntil(peers, log, () => log.of(client, NetworkEventType.Connected).length === 1);
      const message = client.beginSendMessage();
      const payload = Buffer.alloc(6000, 0x5a);
      message.writeBytes(payload);
      client.endSendMessage(NetworkChannelType.Unreliable, message);
      await pumpUntil(peers, log, () => log.messagesOf(server).length === 1);
      expect(log.messagesOf(server)[0].equals(payload)).to.equal(true);
    });
  });
});
