import { expect } from 'chai';
import {
  DisconnectReason,
  LocalDriver,
  LocalNetwork,
  NetworkChannelType,
  NetworkConnection,
  NetworkEvent,
  NetworkEventType,
  NetworkPeer,
  isNetworkError,
  type NetworkConfig,
  type NetworkMessage,
} from '../lib';
import { EventLog, drainOnce, pumpUntil } from './helpers/pump';

describe('NetworkPeer', () => {
  let network: LocalNetwork;
  let peers: NetworkPeer[];
  let log: EventLog;

  const create = (config: NetworkConfig = {}): NetworkPeer => {
    const peer = NetworkPeer.createPeer({ driver: new LocalDriver({ network }), port: 0, ...config });
    peers.push(peer);
    return peer;
  };

  async function pair(config: NetworkConfig = {}): Promise<{ server: NetworkPeer; client: NetworkPeer; atServer: NetworkConnection }> {
    const server = create(config);
    server.listen();
    const client = create({ ...config, port: server.localPort });
    client.connect();
    await pumpUntil(peers, log, () => log.of(client, NetworkEventType.Connected).length === 1, { tickMs: 0 });
    return { server, client, atServer: log.of(server, NetworkEventType.Connected)[0].connection };
  }

  beforeEach(() => {
    network = new LocalNetwork();
    peers = [];
    log = new EventLog();
  });

  afterEach(() => {
    for (const peer of peers) NetworkPeer.shutdownPeer(peer);
  });

  describe('.createPeer()', () => {
    it('throws the config error before allocating anything', () => {
      expect(() => NetworkPeer.createPeer({ messageSize: 1 })).to.throw(RangeError, /messageSize/);
    });

    it('allocates the pool once, sized from the config', () => {
      const peer = create({ messagePoolSize: 200, messageSize: 64 });
      expect(peer.pool.capacity).to.equal(200);
      expect(peer.pool.messageSize).to.equal(64);
      expect(peer.pool.inUse).to.equal(0);
    });

    it('refuses a driver instance that another peer already uses', () => {
      const driver = new LocalDriver({ network });
      peers.push(NetworkPeer.createPeer({ driver }));
      expect(() => NetworkPeer.createPeer({ driver })).to.throw(TypeError, /own driver/);
    });
  });

  describe('#listen()', () => {
    it('throws a NetworkError HOST_CREATE_FAILED when the port is taken', () => {
      const first = create();
      first.listen();
      const second = create({ port: first.localPort });
      expect(() => second.listen()).to.throw().that.satisfies((e: unknown) => isNetworkError(e, 'HOST_CREATE_FAILED'));
    });

    it('throws a NetworkError ADDRESS_INVALID for an address the driver cannot use', () => {
      const peer = create({ address: 'no such host!' });
      expect(() => peer.listen()).to.throw().that.satisfies((e: unknown) => isNetworkError(e, 'ADDRESS_INVALID'));
    });

    it('is reached on 127.0.0.1 and ::1 when listening on any', async () => {
      const server = create({ address: 'any' });
      server.listen();
      const v4 = create({ address: '127.0.0.1', port: server.localPort });
      const v6 = create({ address: '::1', port: server.localPort });
      v4.connect();
      v6.connect();
      await pumpUntil(peers, log, () => log.of(server, NetworkEventType.Connected).length === 2, { tickMs: 0 });
    });

    it('throws a TypeError when called twice', () => {
      const server = create();
      server.listen();
      expect(() => server.listen()).to.throw(TypeError);
    });
  });

  describe('#connect()', () => {
    it('throws a TypeError on a server', () => {
      const server = create();
      server.listen();
      expect(() => server.connect()).to.throw(TypeError, /listens/);
    });

    it('throws a TypeError while a connection is live', async () => {
      const { client } = await pair();
      expect(() => client.connect()).to.throw(TypeError, /disconnect\(\) first/);
    });
  });

  describe('#popEvent()', () => {
    it('returns false and allocates no event when nothing happened', () => {
      const peer = create();
      const event = new NetworkEvent();
      expect(peer.popEvent(event)).to.equal(false);
      expect(event.eventType).to.equal(NetworkEventType.None);
    });

    it('fills the caller\'s event, reusing it for every event', async () => {
      const { server, client } = await pair();
      const message = client.beginSendMessage();
      message.writeUInt8(7);
      client.endSendMessage(NetworkChannelType.Reliable, message);
      const event = new NetworkEvent();
      let received: NetworkMessage | null = null;
      for (let tick = 0; tick < 10 && received === null; tick++) {
        while (server.popEvent(event)) if (event.eventType === NetworkEventType.Message) received = event.message;
      }
      expect(received).to.not.equal(null);
      expect((received as NetworkMessage).readUInt8()).to.equal(7);
      server.recycleMessage(received as NetworkMessage);
    });
  });

  describe('#endSendMessage()', () => {
    it('throws a TypeError when sending before listen() or connect()', () => {
      const peer = create();
      const message = peer.beginSendMessage();
      expect(() => peer.endSendMessage(NetworkChannelType.Reliable, message)).to.throw(TypeError, /listen\(\) or connect\(\)/);
      peer.abortSendMessage(message);
    });

    it('throws a TypeError when a client sends before it is connected, and keeps the message yours', () => {
      const server = create();
      server.listen();
      const client = create({ port: server.localPort });
      client.connect();
      const message = client.beginSendMessage();
      expect(() => client.endSendMessage(NetworkChannelType.Reliable, message)).to.throw(TypeError, /not connected yet/);
      expect(client.pool.inUse).to.equal(1);
      client.abortSendMessage(message);
      expect(client.pool.inUse).to.equal(0);
    });

    it('throws a TypeError when a client sends to a list', async () => {
      const { client } = await pair();
      const message = client.beginSendMessage();
      expect(() => client.endSendMessage(NetworkChannelType.Reliable, message, [])).to.throw(TypeError, /client sends only to its server/);
      client.abortSendMessage(message);
    });

    it('throws a TypeError when a server names no target', async () => {
      const { server } = await pair();
      const message = server.beginSendMessage();
      expect(() => server.endSendMessage(NetworkChannelType.Reliable, message)).to.throw(TypeError, /server must say whom/);
      server.abortSendMessage(message);
    });

    it('throws a TypeError for a connection of another peer', async () => {
      const { server } = await pair();
      const message = server.beginSendMessage();
      expect(() => server.endSendMessage(NetworkChannelType.Reliable, message, new NetworkConnection(1, null))).to.throw(TypeError, /of this peer/);
      server.abortSendMessage(message);
    });

    for (const channel of [NetworkChannelType.None, 5, -1, 2.5, '3']) {
      it(`throws a RangeError for channel ${JSON.stringify(channel)}`, async () => {
        const { client } = await pair();
        const message = client.beginSendMessage();
        expect(() => client.endSendMessage(channel as NetworkChannelType, message)).to.throw(RangeError, /NetworkChannelType/);
        client.abortSendMessage(message);
      });
    }

    it('throws a TypeError when the same message is ended twice', async () => {
      const { client } = await pair();
      const message = client.beginSendMessage();
      client.endSendMessage(NetworkChannelType.Reliable, message);
      expect(() => client.endSendMessage(NetworkChannelType.Reliable, message)).to.throw(TypeError, /back in its pool/);
    });

    it('throws a TypeError when sending to a connection this side disconnected', async () => {
      const { server, atServer } = await pair();
      server.disconnect(atServer);
      const message = server.beginSendMessage();
      expect(() => server.endSendMessage(NetworkChannelType.Reliable, message, atServer)).to.throw(TypeError, /already disconnected/);
      server.abortSendMessage(message);
    });

    it('skips a connection the remote side ended, whose Disconnected event says so', async () => {
      const { server, client, atServer } = await pair();
      client.disconnect();
      await pumpUntil(peers, log, () => log.of(server, NetworkEventType.Disconnected).length === 1, { tickMs: 0 });
      const message = server.beginSendMessage();
      server.endSendMessage(NetworkChannelType.Reliable, message, atServer);
      expect(server.pool.inUse).to.equal(0);
    });

    it('returns the message to the pool after sending', async () => {
      const { client } = await pair();
      const message = client.beginSendMessage();
      client.endSendMessage(NetworkChannelType.Unreliable, message);
      expect(client.pool.inUse).to.equal(0);
    });
  });

  describe('#beginSendMessage()', () => {
    it('throws a NetworkError POOL_EXHAUSTED when every message is held', () => {
      const peer = create({ messagePoolSize: 129 });
      const held = Array.from({ length: 129 }, () => peer.beginSendMessage());
      expect(() => peer.beginSendMessage()).to.throw().that.satisfies((e: unknown) => isNetworkError(e, 'POOL_EXHAUSTED'));
      expect(() => peer.createMessage()).to.throw().that.satisfies((e: unknown) => isNetworkError(e, 'POOL_EXHAUSTED'));
      for (const message of held) peer.abortSendMessage(message);
    });
  });

  describe('#recycleMessage()', () => {
    it('throws a TypeError for a message of another peer', () => {
      const a = create();
      const b = create();
      const message = a.createMessage();
      expect(() => b.recycleMessage(message)).to.throw(TypeError, /another peer/);
      a.recycleMessage(message);
    });

    it('throws a TypeError when recycling twice', () => {
      const peer = create();
      const message = peer.createMessage();
      peer.recycleMessage(message);
      expect(() => peer.recycleMessage(message)).to.throw(TypeError, /back in its pool/);
    });
  });

  describe('#disconnect()', () => {
    it('throws a TypeError for a connection that is not this peer\'s', async () => {
      const { server } = await pair();
      expect(() => server.disconnect(new NetworkConnection(99, null))).to.throw(TypeError);
    });

    it('ignores a connection that already ended', async () => {
      const { server, client, atServer } = await pair();
      client.disconnect();
      await pumpUntil(peers, log, () => log.of(server, NetworkEventType.Disconnected).length === 1, { tickMs: 0 });
      server.disconnect(atServer);
      drainOnce(peers, log);
      expect(log.of(server, NetworkEventType.Disconnected)).to.have.length(1);
    });

    it('lets a client whose connection ended connect again', async () => {
      const { client } = await pair();
      client.disconnect();
      await pumpUntil(peers, log, () => log.of(client, NetworkEventType.Disconnected).length === 1, { tickMs: 0 });
      client.connect();
      await pumpUntil(peers, log, () => log.of(client, NetworkEventType.Connected).length === 2, { tickMs: 0 });
      expect(log.of(client, NetworkEventType.Disconnected)[0].reason).to.equal(DisconnectReason.Local);
    });
  });

  describe('.shutdownPeer()', () => {
    it('does nothing the second time', () => {
      const peer = create();
      NetworkPeer.shutdownPeer(peer);
      expect(() => NetworkPeer.shutdownPeer(peer)).to.not.throw();
      expect(peer.isShutDown).to.equal(true);
    });

    it('makes every later call throw a TypeError', () => {
      const peer = create();
      NetworkPeer.shutdownPeer(peer);
      const event = new NetworkEvent();
      for (const call of [
        () => peer.listen(),
        () => peer.connect(),
        () => peer.popEvent(event),
        () => peer.beginSendMessage(),
        () => peer.createMessage(),
        () => peer.flush(),
        () => peer.disconnect(),
      ]) {
        expect(call).to.throw(TypeError, /shut down/);
      }
    });

    it('takes back messages still held, so using them throws', async () => {
      const { server, client } = await pair();
      const held = client.beginSendMessage();
      const message = client.beginSendMessage();
      message.writeUInt32(1);
      client.endSendMessage(NetworkChannelType.Reliable, message);
      NetworkPeer.shutdownPeer(client);
      expect(() => held.writeUInt8(1)).to.throw(TypeError);
      // Queued-but-unpopped received messages go back too: the server's pool is whole after its shutdown.
      NetworkPeer.shutdownPeer(server);
      expect(server.pool.inUse).to.equal(0);
    });
  });
});
