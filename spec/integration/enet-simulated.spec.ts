import { expect } from 'chai';
import { ENetDriver, NetworkChannelType, NetworkEventType, NetworkPeer, SimulatedDriver, type NetworkConnection, type SimulationOptions } from '../../lib';
import { describeDriverConformance } from '../helpers/driver-conformance';
import { EventLog, drainOnce, pumpTicks, pumpUntil } from '../helpers/pump';

// Datagram-level impairments that every channel type must survive with its guarantee intact (no loss here, so the
// "at least one unreliable message arrives" checks stay exact; loss has its own cases below).
describeDriverConformance({
  title: 'SimulatedDriver over ENetDriver (datagrams: 5 ms ± 3 ms, 20% reordered, 20% duplicated)',
  makeDriver: () => new SimulatedDriver(new ENetDriver(), { seed: 11, latencyMs: 5, jitterMs: 3, reorderRate: 0.2, duplicateRate: 0.2 }),
  address: '127.0.0.1',
  tickMs: 1,
});

describe('SimulatedDriver over ENetDriver', () => {
  let peers: NetworkPeer[];
  let log: EventLog;
  let simulated: SimulatedDriver;

  async function pair(options: SimulationOptions): Promise<{ server: NetworkPeer; client: NetworkPeer; atServer: NetworkConnection }> {
    const server = NetworkPeer.createPeer({ driver: 'enet', port: 0, pingIntervalMs: 50 });
    peers.push(server);
    server.listen();
    simulated = new SimulatedDriver(new ENetDriver(), options);
    const client = NetworkPeer.createPeer({ driver: simulated, port: server.localPort, pingIntervalMs: 50 });
    peers.push(client);
    client.connect();
    await pumpUntil(peers, log, () => log.of(server, NetworkEventType.Connected).length === 1 && log.of(client, NetworkEventType.Connected).length === 1);
    return { server, client, atServer: log.of(server, NetworkEventType.Connected)[0].connection };
  }

  beforeEach(() => {
    peers = [];
    log = new EventLog();
  });
  afterEach(() => {
    drainOnce(peers, log);
    for (const peer of peers) NetworkPeer.shutdownPeer(peer);
  });

  it('works on datagrams, below ENet\'s reliability layer', async () => {
    await pair({});
    expect(simulated.worksOnDatagrams).to.equal(true);
  });

  it('delivers every reliable message in order through 20% datagram loss both ways, and drops unreliable ones', async () => {
    const { server, client } = await pair({ seed: 3, lossRate: 0.2 });
    for (let i = 0; i < 400; i++) {
      const message = client.beginSendMessage();
      message.writeUInt32(i);
      client.endSendMessage(i < 200 ? NetworkChannelType.ReliableOrdered : NetworkChannelType.Unreliable, message);
      // One message per tick, so each travels in its own datagram and meets the loss on its own.
      await pumpTicks(peers, log, 1);
    }
    await pumpUntil(peers, log, () => log.messagesOf(server).filter((b) => b.readUInt32LE(0) < 200).length === 200, { maxTicks: 8000 });
    const values = log.messagesOf(server).map((b) => b.readUInt32LE(0));
    expect(values.filter((v) => v < 200)).to.deep.equal([...Array(200).keys()]);
    const unreliable = values.filter((v) => v >= 200).length;
    // 20% of datagrams lost: about 160 of 200 arrive; a wide band, since ENet bundles some into one datagram.
    expect(unreliable).to.be.within(120, 195);
    expect(simulated.outgoingCounters.dropped).to.be.greaterThan(20);
    expect(simulated.incomingCounters.dropped).to.be.greaterThan(0);
  });

  it('shows simulated latency in ENet\'s round-trip time', async () => {
    const { client } = await pair({ latencyMs: 50 });
    const toServer = log.of(client, NetworkEventType.Connected)[0].connection;
    // ENet's estimate starts at 500 ms and converges over a few dozen acknowledged round trips.
    for (let i = 0; i < 150; i++) {
      const message = client.beginSendMessage();
      message.writeUInt32(i);
      client.endSendMessage(NetworkChannelType.ReliableOrdered, message);
      await pumpTicks(peers, log, 1, 10);
    }
    const rtt = client.getStats(toServer).rttMs;
    expect(rtt).to.be.within(100, 200);
  });
});
