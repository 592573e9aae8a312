import { expect } from 'chai';
import {
  LocalDriver,
  LocalNetwork,
  ManualClock,
  NetworkChannelType,
  NetworkEventType,
  NetworkPeer,
  SimulatedDriver,
  type NetworkConnection,
  type SimulationOptions,
} from '../../lib';
import { EventLog, drainOnce } from '../helpers/pump';

/** A client whose link is simulated and a plain server, on a manual clock: each tick is 1 ms. */
class Rig {
  readonly clock = new ManualClock();
  readonly log = new EventLog();
  readonly server: NetworkPeer;
  readonly client: NetworkPeer;
  readonly simulated: SimulatedDriver;
  /** Tick (ms) at which each message arrived at the server, in arrival order, with its value. */
  readonly arrivals: Array<[number, number]> = [];
  atServer!: NetworkConnection;

  constructor(options: SimulationOptions, config: { messagePoolSize?: number } = {}) {
    const network = new LocalNetwork();
    this.server = NetworkPeer.createPeer({ driver: new LocalDriver({ network, clock: this.clock }), port: 0, messagePoolSize: 20000, ...config });
    this.server.listen();
    this.simulated = new SimulatedDriver(new LocalDriver({ network, clock: this.clock }), options, this.clock);
    this.client = NetworkPeer.createPeer({ driver: this.simulated, port: this.server.localPort, messagePoolSize: 20000 });
    this.client.connect();
    this.tick(2);
    this.atServer = this.log.of(this.server, NetworkEventType.Connected)[0].connection;
  }

  send(channel: NetworkChannelType, value: number, bytes = 4): void {
    const message = this.client.beginSendMessage();
    message.writeUInt32(value);
    if (bytes > 4) message.writeBytes(new Uint8Array(bytes - 4));
    this.client.endSendMessage(channel, message);
  }

  tick(count: number): void {
    for (let i = 0; i < count; i++) {
      const before = this.log.messagesOf(this.server).length;
      drainOnce([this.server, this.client], this.log);
      for (const bytes of this.log.messagesOf(this.server).slice(before)) this.arrivals.push([this.clock.nowMs(), bytes.readUInt32LE(0)]);
      this.clock.advance(1);
    }
  }

  values(): number[] {
    return this.arrivals.map(([, value]) => value);
  }

  close(): void {
    NetworkPeer.shutdownPeer(this.client);
    NetworkPeer.shutdownPeer(this.server);
  }
}

const inversions = (values: number[]): number => values.filter((v, i) => i > 0 && v < values[i - 1]).length;

describe('SimulatedDriver', () => {
  let rigs: Rig[] = [];
  const rig = (options: SimulationOptions): Rig => {
    const made = new Rig(options);
    rigs.push(made);
    return made;
  };
  afterEach(() => {
    for (const each of rigs) each.close();
    rigs = [];
  });

  describe('determinism', () => {
    const trace = (seed: number): Array<[number, number]> => {
      const r = rig({ seed, latencyMs: 20, jitterMs: 10, lossRate: 0.2, reorderRate: 0.1, duplicateRate: 0.1 });
      for (let i = 0; i < 300; i++) {
        r.send(i % 2 === 0 ? NetworkChannelType.Unreliable : NetworkChannelType.ReliableOrdered, i);
        r.tick(1);
      }
      r.tick(100);
      return r.arrivals;
    };

    it('gives the same delivery trace for the same seed and traffic', () => {
      expect(trace(42)).to.deep.equal(trace(42));
    });

    it('gives another trace for another seed', () => {
      expect(trace(42)).to.not.deep.equal(trace(43));
    });
  });

  describe('lossRate', () => {
    it('drops that share of Unreliable messages (0.1 of 10,000: within ±3 points)', () => {
      const r = rig({ lossRate: 0.1 });
      for (let i = 0; i < 10000; i++) r.send(NetworkChannelType.Unreliable, i);
      r.tick(3);
      expect(r.arrivals.length).to.be.within(8700, 9300);
      expect(r.simulated.outgoingCounters.dropped).to.equal(10000 - r.arrivals.length);
    });

    it('never drops Reliable or ReliableOrdered messages, even at 0.5', () => {
      const r = rig({ lossRate: 0.5, latencyMs: 5 });
      for (let i = 0; i < 500; i++) r.send(i % 2 === 0 ? NetworkChannelType.ReliableOrdered : NetworkChannelType.Reliable, i);
      r.tick(20);
      expect([...r.values()].sort((a, b) => a - b)).to.deep.equal([...Array(500).keys()]);
      const ordered = r.values().filter((v) => v % 2 === 0);
      expect(inversions(ordered)).to.equal(0);
    });
  });

  describe('latencyMs', () => {
    it('delivers a message exactly latencyMs later on the manual clock', () => {
      const r = rig({ outgoing: { latencyMs: 100 } });
      const sentAt = r.clock.nowMs();
      r.send(NetworkChannelType.ReliableOrdered, 7);
      r.tick(99);
      expect(r.arrivals).to.have.length(0);
      r.tick(3);
      expect(r.arrivals).to.have.length(1);
      expect(r.arrivals[0][0] - sentAt).to.be.within(100, 101);
    });

    it('shows in the round-trip time of getStats()', () => {
      const r = rig({ outgoing: { latencyMs: 60 }, incoming: { latencyMs: 40 } });
      const toServer = r.log.of(r.client, NetworkEventType.Connected)[0].connection;
      expect(r.client.getStats(toServer).rttMs).to.equal(100);
    });
  });

  describe('jitterMs', () => {
    it('spreads delays uniformly within latency ± jitter, and keeps ReliableOrdered in order', () => {
      const r = rig({ latencyMs: 100, jitterMs: 20 });
      const sentAt = new Map<number, number>();
      for (let i = 0; i < 400; i++) {
        sentAt.set(i, r.clock.nowMs());
        r.send(i % 2 === 0 ? NetworkChannelType.Unreliable : NetworkChannelType.ReliableOrdered, i);
        r.tick(1);
      }
      r.tick(150);
      const delays = r.arrivals.filter(([, v]) => v % 2 === 0).map(([at, v]) => at - (sentAt.get(v) as number));
      expect(Math.min(...delays)).to.be.within(80, 85);
      expect(Math.max(...delays)).to.be.within(115, 121);
      expect(inversions(r.values().filter((v) => v % 2 === 1))).to.equal(0);
    });
  });

  describe('reorderRate', () => {
    it('reorders about that share of Unreliable messages (0.2: within ±5 points)', () => {
      const r = rig({ latencyMs: 5, reorderRate: 0.2 });
      for (let i = 0; i < 2000; i++) {
        r.send(NetworkChannelType.Unreliable, i);
        r.tick(1);
      }
      r.tick(50);
      expect(r.arrivals).to.have.length(2000);
      // A held-back message arrives after a higher-numbered one sent later.
      let highest = -1;
      const late = r.values().filter((v) => (v < highest ? true : ((highest = v), false))).length;
      expect(late / 2000).to.be.within(0.15, 0.25);
      expect(r.simulated.outgoingCounters.reordered / 2000).to.be.within(0.15, 0.25);
    });

    it('never delivers UnreliableOrdered out of order: an overtaken message is dropped and counted', () => {
      const r = rig({ latencyMs: 5, reorderRate: 0.2 });
      for (let i = 0; i < 1000; i++) {
        r.send(NetworkChannelType.UnreliableOrdered, i);
        r.tick(1);
      }
      r.tick(50);
      expect(inversions(r.values())).to.equal(0);
      expect(r.simulated.outgoingCounters.droppedLate).to.be.greaterThan(100);
      expect(r.arrivals.length + r.simulated.outgoingCounters.droppedLate).to.equal(1000);
    });
  });

  describe('duplicateRate', () => {
    it('makes copies (0.3 of 5,000: within ±3 points) that no channel delivers', () => {
      const r = rig({ duplicateRate: 0.3 });
      for (let i = 0; i < 5000; i++) r.send(NetworkChannelType.Unreliable, i);
      r.tick(3);
      expect(r.simulated.outgoingCounters.duplicated / 5000).to.be.within(0.27, 0.33);
      expect(new Set(r.values()).size).to.equal(r.arrivals.length);
      expect(r.arrivals).to.have.length(5000);
    });
  });

  describe('bandwidthBytesPerSec', () => {
    it('spaces messages by their size over the bandwidth (100 x 100 B at 10,000 B/s: last at 1 s)', () => {
      const r = rig({ outgoing: { bandwidthBytesPerSec: 10_000 } });
      for (let i = 0; i < 100; i++) r.send(NetworkChannelType.ReliableOrdered, i, 100);
      r.tick(1100);
      expect(r.values()).to.deep.equal([...Array(100).keys()]);
      const first = r.arrivals[0][0];
      const last = r.arrivals[99][0];
      expect(last - first).to.be.within(985, 1000);
    });

    it('drops Unreliable messages queued over a second behind the limit, and counts them', () => {
      const r = rig({ outgoing: { bandwidthBytesPerSec: 10_000 } });
      for (let i = 0; i < 300; i++) r.send(NetworkChannelType.Unreliable, i, 100);
      r.tick(1500);
      expect(r.simulated.outgoingCounters.droppedQueueFull).to.be.within(195, 200);
      expect(r.arrivals.length + r.simulated.outgoingCounters.droppedQueueFull).to.equal(300);
    });
  });

  describe('incoming and outgoing', () => {
    it('applies per-direction overrides over the top-level value', () => {
      const r = rig({ latencyMs: 10, incoming: { latencyMs: 0 } });
      r.send(NetworkChannelType.Reliable, 1);
      r.tick(5);
      expect(r.arrivals, 'outgoing keeps the top-level 10 ms').to.have.length(0);
      r.tick(10);
      expect(r.arrivals).to.have.length(1);
    });

    it('impairs what the simulated peer receives', () => {
      const r = rig({ incoming: { latencyMs: 30 } });
      const message = r.server.beginSendMessage();
      message.writeUInt32(5);
      r.server.endSendMessage(NetworkChannelType.ReliableOrdered, message, r.atServer);
      r.tick(20);
      expect(r.log.messagesOf(r.client)).to.have.length(0);
      r.tick(20);
      expect(r.log.messagesOf(r.client)).to.have.length(1);
    });
  });

  describe('#setConditions()', () => {
    it('changes the conditions while running', () => {
      const r = rig({ latencyMs: 50 });
      r.send(NetworkChannelType.Reliable, 1);
      r.simulated.setConditions({ latencyMs: 0 });
      r.send(NetworkChannelType.Reliable, 2);
      r.tick(3);
      expect(r.values()).to.deep.equal([2]);
      r.tick(60);
      expect(r.values()).to.deep.equal([2, 1]);
    });

    it('throws a RangeError naming a bad option', () => {
      const r = rig({});
      expect(() => r.simulated.setConditions({ lossRate: 1.5 })).to.throw(RangeError, /lossRate/);
      expect(() => r.simulated.setConditions({ outgoing: { jitterMs: -1 } })).to.throw(RangeError, /outgoing.jitterMs/);
      expect(() => r.simulated.setConditions({ latency: 5 } as unknown as SimulationOptions)).to.throw(TypeError, /latency/);
    });
  });

  describe('#disconnect()', () => {
    it('waits behind delayed messages: they all arrive before Disconnected', () => {
      const r = rig({ latencyMs: 100, jitterMs: 30 });
      for (let i = 0; i < 10; i++) r.send(NetworkChannelType.ReliableOrdered, i);
      r.client.disconnect();
      r.tick(200);
      expect(r.values()).to.deep.equal([...Array(10).keys()]);
      expect(r.log.of(r.server).at(-1)?.eventType).to.equal(NetworkEventType.Disconnected);
    });
  });
});
