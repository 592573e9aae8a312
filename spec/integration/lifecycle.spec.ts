import { fork } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import { DisconnectReason, NetworkChannelType, NetworkConnection, NetworkEventType, NetworkPeer } from '../../lib';
import { EventLog, drainOnce, pumpUntil } from '../helpers/pump';

describe('NetworkPeer lifecycle over ENet', () => {
  let peers: NetworkPeer[];
  let log: EventLog;

  const server = (extra = {}): NetworkPeer => {
    const peer = NetworkPeer.createPeer({ driver: 'enet', port: 0, timeoutLimit: 4, timeoutMinimumMs: 500, timeoutMaximumMs: 2000, pingIntervalMs: 100, ...extra });
    peers.push(peer);
    peer.listen();
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

  it('reports Timeout for a client whose process was killed while connected', async function () {
    this.timeout(20_000);
    const host = server();
    const child = fork(join(__dirname, '..', 'helpers', 'connect-and-wait.ts'), [String(host.localPort)], {
      execArgv: ['-r', 'ts-node/register/transpile-only'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    try {
      const connected = new Promise<void>((resolve) => child.once('message', () => resolve()));
      await Promise.race([connected, pumpUntil(peers, log, () => false, { maxTicks: 10_000 }).catch(() => undefined)]);
      await pumpUntil(peers, log, () => log.of(host, NetworkEventType.Connected).length === 1);
      child.kill('SIGKILL');
      const killedAt = Date.now();
      await pumpUntil(peers, log, () => log.of(host).length === 2, { maxTicks: 6000 });
      const elapsed = Date.now() - killedAt;
      expect(log.of(host).map((e) => [e.eventType, e.reason])[1]).to.deep.equal([NetworkEventType.Timeout, DisconnectReason.Timeout]);
      // Within the configured window: not before the minimum, not long after the maximum.
      expect(elapsed).to.be.within(250, 4000);
      expect(host.connectionCount).to.equal(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('shuts down with messages outstanding, queued and held, without a crash or a leak', async () => {
    const host = server();
    const client = NetworkPeer.createPeer({ driver: 'enet', port: host.localPort });
    peers.push(client);
    client.connect();
    await pumpUntil(peers, log, () => log.of(client, NetworkEventType.Connected).length === 1);
    const held = client.beginSendMessage();
    for (let i = 0; i < 100; i++) {
      const message = client.beginSendMessage();
      message.writeUInt32(i);
      client.endSendMessage(NetworkChannelType.ReliableOrdered, message);
    }
    NetworkPeer.shutdownPeer(client);
    expect(() => held.writeUInt8(1)).to.throw(TypeError);
    expect(client.pool.inUse).to.equal(0);
    await pumpUntil(peers, log, () => log.of(host, NetworkEventType.Disconnected).length === 1);
    expect(log.of(host, NetworkEventType.Disconnected)[0].reason).to.equal(DisconnectReason.Remote);
  });

  it('treats disconnecting an ended connection as a no-op and a foreign one as a TypeError', async () => {
    const host = server();
    const client = NetworkPeer.createPeer({ driver: 'enet', port: host.localPort });
    peers.push(client);
    client.connect();
    await pumpUntil(peers, log, () => log.of(host, NetworkEventType.Connected).length === 1);
    const atServer = log.of(host, NetworkEventType.Connected)[0].connection;
    client.disconnect();
    await pumpUntil(peers, log, () => log.of(host, NetworkEventType.Disconnected).length === 1);
    expect(() => host.disconnect(atServer)).to.not.throw();
    expect(() => host.disconnect(new NetworkConnection(atServer.connectionId, null))).to.throw(TypeError);
    drainOnce(peers, log);
    expect(log.of(host, NetworkEventType.Disconnected)).to.have.length(1);
  });

  it('shuts down a peer that never listened or connected, twice', () => {
    const idle = NetworkPeer.createPeer({ driver: 'enet' });
    NetworkPeer.shutdownPeer(idle);
    expect(() => NetworkPeer.shutdownPeer(idle)).to.not.throw();
    expect(() => idle.listen()).to.throw(TypeError, /shut down/);
  });
});
