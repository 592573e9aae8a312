import { expect } from 'chai';
import {
  DisconnectReason,
  isNetworkError,
  NetworkChannelType,
  NetworkEventType,
  NetworkPeer,
  type NetworkConfig,
  type NetworkConnection,
} from '../../lib';
import { EventLog, drainOnce, pumpTicks, pumpUntil, unusedUdpPort } from './pump';

/** How the conformance suite builds peers on one driver. */
export interface ConformanceTarget {
  /** Suite title, e.g. `'LocalDriver on 127.0.0.1'`. */
  readonly title: string;
  /** A fresh driver (or driver name) for each peer. */
  readonly makeDriver: () => NetworkConfig['driver'];
  /** Loopback address to listen on and connect to. */
  readonly address: string;
  /** Milliseconds to sleep per pump tick. */
  readonly tickMs: number;
}

// Short timeouts keep the "nobody answers" cases to about a second on real sockets.
const FAST_TIMEOUTS = { timeoutLimit: 4, timeoutMinimumMs: 300, timeoutMaximumMs: 1500, pingIntervalMs: 100 } as const;

/**
 * The behaviour every driver must show through NetworkPeer: connect, explicit reject when full, each channel's
 * guarantee, multicast, graceful disconnect both ways, server shutdown, timeout, and ids never reused.
 */
export function describeDriverConformance(target: ConformanceTarget): void {
  describe(`driver conformance: ${target.title}`, () => {
    let peers: NetworkPeer[] = [];
    let log: EventLog;

    const pump = (predicate: () => boolean, maxTicks = 4000): Promise<number> =>
      pumpUntil(peers, log, predicate, { maxTicks, tickMs: target.tickMs });

    function createServer(extra: NetworkConfig = {}): NetworkPeer {
      const server = NetworkPeer.createPeer({ driver: target.makeDriver(), address: target.address, port: 0, ...FAST_TIMEOUTS, ...extra });
      peers.push(server);
      server.listen();
      return server;
    }

    function createClient(port: number, extra: NetworkConfig = {}): NetworkPeer {
      const client = NetworkPeer.createPeer({ driver: target.makeDriver(), address: target.address, port, ...FAST_TIMEOUTS, ...extra });
      peers.push(client);
      client.connect();
      return client;
    }

    async function connectedPair(extra: NetworkConfig = {}): Promise<{ server: NetworkPeer; client: NetworkPeer; atServer: NetworkConnection }> {
      const server = createServer(extra);
      const client = createClient(server.localPort, extra);
      await pump(() => log.of(server, NetworkEventType.Connected).length === 1 && log.of(client, NetworkEventType.Connected).length === 1);
      return { server, client, atServer: log.of(server, NetworkEventType.Connected)[0].connection };
    }

    function sendText(peer: NetworkPeer, channel: NetworkChannelType, text: string, to?: NetworkConnection | NetworkConnection[]): void {
      const message = peer.beginSendMessage();
      message.writeString(text);
      peer.endSendMessage(channel, message, to);
    }

    function sendNumber(peer: NetworkPeer, channel: NetworkChannelType, value: number, to?: NetworkConnection): void {
      const message = peer.beginSendMessage();
      message.writeUInt32(value);
      peer.endSendMessage(channel, message, to);
    }

    beforeEach(() => {
      peers = [];
      log = new EventLog();
    });

    afterEach(async () => {
      // Messages still in flight (a simulated link delays them) hold pool slots until they land.
      const live = peers.filter((peer) => !peer.isShutDown);
      await pumpUntil(live, log, () => live.every((peer) => peer.pool.inUse === 0), { maxTicks: 500, tickMs: target.tickMs }).catch(() => 0);
      for (const peer of peers) {
        if (!peer.isShutDown) expect(peer.pool.inUse, `messages still out of the pool of ${peer.isServer ? 'server' : 'client'}`).to.equal(0);
        NetworkPeer.shutdownPeer(peer);
      }
    });

    it('connects a client and a server, each with a non-zero connection id', async () => {
      const { server, client, atServer } = await connectedPair();
      const atClient = log.of(client, NetworkEventType.Connected)[0].connection;
      expect(atServer.connectionId).to.be.greaterThan(0);
      expect(atClient.connectionId).to.be.greaterThan(0);
      expect(atClient.isConnected).to.equal(true);
      expect(server.connectionCount).to.equal(1);
      expect(client.connectionCount).to.equal(1);
    });

    it('refuses a client over connectionsLimit with Disconnected(ServerFull) and keeps the others', async () => {
      const server = createServer({ connectionsLimit: 2 });
      const first = createClient(server.localPort);
      const second = createClient(server.localPort);
      await pump(() => log.of(server, NetworkEventType.Connected).length === 2 && log.of(first, NetworkEventType.Connected).length === 1 && log.of(second, NetworkEventType.Connected).length === 1);
      const third = createClient(server.localPort);
      await pump(() => log.of(third).length > 0);
      expect(log.of(third).map((e) => [e.eventType, e.reason])).to.deep.equal([[NetworkEventType.Disconnected, DisconnectReason.ServerFull]]);

      for (const each of log.of(server, NetworkEventType.Connected)) sendText(server, NetworkChannelType.Reliable, 'still here', each.connection);
      await pump(() => log.messagesOf(first).length === 1 && log.messagesOf(second).length === 1);
      expect(log.of(first, NetworkEventType.Disconnected)).to.have.length(0);
      expect(log.of(second, NetworkEventType.Disconnected)).to.have.length(0);
      expect(server.connectionCount).to.equal(2);
    });

    it('delivers every ReliableOrdered message once, in order', async () => {
      const { server, client } = await connectedPair();
      for (let i = 0; i < 300; i++) sendNumber(client, NetworkChannelType.ReliableOrdered, i);
      await pump(() => log.messagesOf(server).length >= 300);
      await pumpTicks(peers, log, 5, target.tickMs);
      expect(log.messagesOf(server).map((b) => b.readUInt32LE(0))).to.deep.equal([...Array(300).keys()]);
    });

    it('delivers every Reliable message exactly once', async () => {
      const { server, atServer, client } = await connectedPair();
      for (let i = 0; i < 300; i++) sendNumber(server, NetworkChannelType.Reliable, i, atServer);
      await pump(() => log.messagesOf(client).length >= 300);
      await pumpTicks(peers, log, 5, target.tickMs);
      const got = log.messagesOf(client).map((b) => b.readUInt32LE(0)).sort((a, b) => a - b);
      expect(got).to.deep.equal([...Array(300).keys()]);
    });

    it('never duplicates Unreliable messages and never reorders UnreliableOrdered ones', async () => {
      const { server, client } = await connectedPair();
      for (let i = 0; i < 100; i++) sendNumber(client, NetworkChannelType.UnreliableOrdered, i);
      for (let i = 0; i < 100; i++) sendNumber(client, NetworkChannelType.Unreliable, 1000 + i);
      sendNumber(client, NetworkChannelType.ReliableOrdered, 9999);
      await pump(() => log.messagesOf(server).some((b) => b.readUInt32LE(0) === 9999));
      await pumpTicks(peers, log, 20, target.tickMs);
      const values = log.messagesOf(server).map((b) => b.readUInt32LE(0));
      const ordered = values.filter((v) => v < 1000);
      const unordered = values.filter((v) => v >= 1000 && v < 9999);
      expect(ordered.length, 'no UnreliableOrdered message arrived on loopback').to.be.greaterThan(0);
      expect(ordered).to.deep.equal([...ordered].sort((a, b) => a - b));
      expect(new Set(ordered).size).to.equal(ordered.length);
      expect(new Set(unordered).size).to.equal(unordered.length);
      expect(unordered.every((v) => v < 1100)).to.equal(true);
    });

    it('multicasts one message to a list of connections', async () => {
      const server = createServer();
      const clients = [createClient(server.localPort), createClient(server.localPort), createClient(server.localPort)];
      await pump(() => log.of(server, NetworkEventType.Connected).length === 3 && clients.every((c) => log.of(c, NetworkEventType.Connected).length === 1));
      const targets = log.of(server, NetworkEventType.Connected).map((e) => e.connection).slice(0, 2);
      sendText(server, NetworkChannelType.ReliableOrdered, 'to two of three', targets);
      await pump(() => clients.filter((c) => log.messagesOf(c).length === 1).length === 2);
      await pumpTicks(peers, log, 10, target.tickMs);
      expect(clients.map((c) => log.messagesOf(c).length).sort()).to.deep.equal([0, 1, 1]);
      for (const c of clients) for (const bytes of log.messagesOf(c)) expect(bytes.toString('utf16le', 2)).to.equal('to two of three');
      expect(server.pool.inUse).to.equal(0);
    });

    it('disconnects gracefully: queued messages arrive first, then Disconnected on both sides', async () => {
      const { server, client } = await connectedPair();
      for (let i = 0; i < 50; i++) sendNumber(client, NetworkChannelType.ReliableOrdered, i);
      client.disconnect();
      await pump(() => log.of(server, NetworkEventType.Disconnected).length === 1 && log.of(client, NetworkEventType.Disconnected).length === 1);
      expect(log.messagesOf(server).map((b) => b.readUInt32LE(0))).to.deep.equal([...Array(50).keys()]);
      expect(log.of(server).at(-1)?.eventType).to.equal(NetworkEventType.Disconnected);
      expect(log.of(server, NetworkEventType.Disconnected)[0].reason).to.equal(DisconnectReason.Remote);
      expect(log.of(client, NetworkEventType.Disconnected)[0].reason).to.equal(DisconnectReason.Local);
      expect(server.connectionCount).to.equal(0);
    });

    it('lets a server disconnect one client: Local on the server, Remote on the client', async () => {
      const { server, client, atServer } = await connectedPair();
      server.disconnect(atServer);
      await pump(() => log.of(server, NetworkEventType.Disconnected).length === 1 && log.of(client, NetworkEventType.Disconnected).length === 1);
      expect(log.of(server, NetworkEventType.Disconnected)[0].reason).to.equal(DisconnectReason.Local);
      expect(log.of(client, NetworkEventType.Disconnected)[0].reason).to.equal(DisconnectReason.Remote);
    });

    it('tells clients when the server shuts down', async () => {
      const server = createServer();
      const clients = [createClient(server.localPort), createClient(server.localPort)];
      await pump(() => clients.every((c) => log.of(c, NetworkEventType.Connected).length === 1));
      NetworkPeer.shutdownPeer(server);
      await pump(() => clients.every((c) => log.of(c, NetworkEventType.Disconnected).length === 1));
      for (const c of clients) expect(log.of(c, NetworkEventType.Disconnected)[0].reason).to.equal(DisconnectReason.ServerShutdown);
    });

    it('ends a connection attempt to nobody with a Timeout event', async () => {
      const port = await unusedUdpPort(target.address);
      const client = createClient(port);
      await pump(() => log.of(client).length > 0);
      expect(log.of(client).map((e) => [e.eventType, e.reason])).to.deep.equal([[NetworkEventType.Timeout, DisconnectReason.Timeout]]);
      expect(client.connectionCount).to.equal(0);
    });

    it('never reuses a connection id, on the server or on a reconnecting client', async () => {
      const server = createServer();
      const client = createClient(server.localPort);
      const seenAtServer: number[] = [];
      const seenAtClient: number[] = [];
      for (let round = 0; round < 3; round++) {
        await pump(() => log.of(server, NetworkEventType.Connected).length === round + 1 && log.of(client, NetworkEventType.Connected).length === round + 1);
        seenAtServer.push(log.of(server, NetworkEventType.Connected)[round].connection.connectionId);
        seenAtClient.push(log.of(client, NetworkEventType.Connected)[round].connection.connectionId);
        client.disconnect();
        await pump(() => log.of(server, NetworkEventType.Disconnected).length === round + 1 && log.of(client, NetworkEventType.Disconnected).length === round + 1);
        if (round < 2) client.connect();
      }
      expect(new Set(seenAtServer).size).to.equal(3);
      expect(new Set(seenAtClient).size).to.equal(3);
    });

    it('counts messages and bytes per connection and host-wide in getStats()', async () => {
      const { server, client, atServer } = await connectedPair();
      const toServer = log.of(client, NetworkEventType.Connected)[0].connection;
      for (let i = 0; i < 10; i++) {
        const message = client.beginSendMessage();
        message.writeBytes(new Uint8Array(100));
        client.endSendMessage(NetworkChannelType.Reliable, message);
      }
      await pump(() => log.messagesOf(server).length === 10);
      const sent = client.getStats(toServer);
      const received = server.getStats(atServer);
      const host = server.getStats();
      expect([sent.messagesSent, received.messagesReceived, host.messagesReceived]).to.deep.equal([10, 10, 10]);
      expect(sent.bytesSent).to.be.at.least(1000);
      expect(received.bytesReceived).to.be.at.least(1000);
      expect([received.connections, host.connections]).to.deep.equal([1, 1]);
      expect(host.poolInUse).to.equal(0);
      expect(host.poolHighWater).to.be.at.least(1);
      NetworkPeer.shutdownPeer(client);
      await pump(() => log.of(server, NetworkEventType.Disconnected).length === 1);
      expect(server.getStats(atServer).connections, 'an ended connection reports zeros').to.equal(0);
    });

    it('throws SEND_QUEUE_FULL past sendQueueLimitBytes, keeps the message yours, and recovers in order', async () => {
      const { server, client } = await connectedPair({ sendQueueLimitBytes: 4096 });
      // The server stops reading: the client's queue fills.
      const stalled = peers.filter((peer) => peer !== server);
      let sent = 0;
      let refused: unknown;
      for (let i = 0; i < 2000 && refused === undefined; i++) {
        const message = client.beginSendMessage();
        message.writeBytes(new Uint8Array(100).fill(i & 0xff));
        message.position = 0;
        message.writeUInt32(i);
        try {
          client.endSendMessage(NetworkChannelType.ReliableOrdered, message);
          sent++;
        } catch (error) {
          refused = error;
          expect(client.pool.inUse, 'the refused message stays the caller\'s').to.equal(1);
          client.abortSendMessage(message);
        }
        if (i % 10 === 0) drainOnce(stalled, log);
      }
      expect(isNetworkError(refused, 'SEND_QUEUE_FULL'), String(refused)).to.equal(true);
      // ENet may count up to one window of unacknowledged data as sent before the limit bites.
      expect(sent).to.be.within(1, 2000);
      await pump(() => log.messagesOf(server).length === sent);
      const after = client.beginSendMessage();
      after.writeUInt32(sent);
      client.endSendMessage(NetworkChannelType.ReliableOrdered, after);
      await pump(() => log.messagesOf(server).length === sent + 1);
      expect(log.messagesOf(server).map((b) => b.readUInt32LE(0))).to.deep.equal([...Array(sent + 1).keys()]);
    });

    it('carries every value type byte for byte', async () => {
      const { server, client } = await connectedPair();
      const message = client.beginSendMessage();
      message.writeInt8(-5);
      message.writeUInt16(65535);
      message.writeInt64(-(2n ** 63n));
      message.writeDouble(-0);
      message.writeString('héllo 🎮');
      message.writeStringAnsi('ansi');
      message.writeVector3([1.5, -2, 3.25]);
      message.writeBoolean(true);
      const sent = Buffer.from(message.buffer.subarray(0, message.length));
      client.endSendMessage(NetworkChannelType.Reliable, message);
      await pump(() => log.messagesOf(server).length === 1);
      expect(log.messagesOf(server)[0].equals(sent)).to.equal(true);
    });
  });
}
