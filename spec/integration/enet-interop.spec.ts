import { expect } from 'chai';
import {
  DisconnectReason,
  NetworkChannelType,
  NetworkEvent,
  NetworkEventType,
  NetworkPeer,
  type NetworkConfig,
  type NetworkConnection,
  type NetworkMessage,
} from '../../lib';
import { StockEnetHost, StockPacketFlag, type StockEnetPeer, type StockPacket } from '../helpers/stock-enet';

// netpeer's ENetDriver (zpl-c enet.c 2.1.2 in the native addon) against stock ENet 1.3.5 (the npm package `enet`
// 0.2.9, emscripten): handshake, channel negotiation, the ENet channel and flags of each channel type, Flax-encoded
// payloads byte for byte, fragmentation, and graceful disconnects, in both roles.

/** Most pump ticks of one wait (about 1 ms each): every wait is bounded well under a test's 10 s. */
const MAX_TICKS = 3000;
/** Ticks pumped after a marker arrived, for stragglers and duplicates to show up. */
const SETTLE_TICKS = 20;
/**
 * Ticks between queueing unreliable traffic and the reliable marker that follows it. Both ENets write a peer's
 * reliable commands before its unreliable ones in each datagram, so on a shared ENet channel a reliable packet queued
 * in the same flush overtakes the unreliable sequenced ones, and the receiver then drops those as older than the
 * channel's reliable sequence. Letting the unreliable traffic leave first keeps the check about interop.
 */
const SEND_GAP_TICKS = 5;
/** Bytes of the fragmented reliable messages; netpeer's messageSize is raised to {@link BIG_MESSAGE_SIZE} for them. */
const BIG = 10_240;
const BIG_MESSAGE_SIZE = 16_384;
/** Bytes of an unreliable message larger than one datagram (ENet's default MTU is 1400). */
const FRAGMENTED_UNRELIABLE = 4_000;

const ALL_TYPES = [
  NetworkChannelType.Unreliable,
  NetworkChannelType.UnreliableOrdered,
  NetworkChannelType.Reliable,
  NetworkChannelType.ReliableOrdered,
] as const;

/** The ENet channel a stock peer sees each channel type on, over a connection that negotiated 4 channels. */
const CHANNEL_OF_TYPE_ON_4: Record<number, number> = {
  [NetworkChannelType.Unreliable]: 0,
  [NetworkChannelType.UnreliableOrdered]: 1,
  [NetworkChannelType.Reliable]: 2,
  [NetworkChannelType.ReliableOrdered]: 3,
};
/** The flags ENet 1.3.5 puts on a received packet of each channel type (one datagram or less). */
const FLAGS_OF_TYPE: Record<number, number> = {
  [NetworkChannelType.Unreliable]: StockPacketFlag.Unsequenced,
  [NetworkChannelType.UnreliableOrdered]: 0,
  [NetworkChannelType.Reliable]: StockPacketFlag.Reliable,
  [NetworkChannelType.ReliableOrdered]: StockPacketFlag.Reliable,
};

// ---- Flax NetworkMessage encoding, built by hand (little-endian, fixed width) ----

function u16(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff];
}

function u32(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

/** Flax `String`: uint16 count of UTF-16 code units, then each code unit little-endian. */
function flaxString(text: string): number[] {
  const out = u16(text.length);
  for (let i = 0; i < text.length; i++) out.push(...u16(text.charCodeAt(i)));
  return out;
}

/** Flax `Vector3`: three IEEE-754 float32, little-endian. */
function flaxVector3(x: number, y: number, z: number): number[] {
  const view = new DataView(new ArrayBuffer(12));
  view.setFloat32(0, x, true);
  view.setFloat32(4, y, true);
  view.setFloat32(8, z, true);
  return [...new Uint8Array(view.buffer)];
}

/** `length` bytes of a fixed pattern, so a misplaced fragment shows up. */
function pattern(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed + (i >>> 8)) & 0xff;
  return out;
}

const FROM_NETPEER_TEXT = 'Hello from netpeer: ü ✓ 🎮';
const FROM_STOCK_TEXT = 'Hello from stock ENet 1.3.5: é ✓ 🕹';

// ---- the harness: netpeer peers and stock hosts pumped together ----

interface Seen {
  readonly eventType: NetworkEventType;
  readonly connection: NetworkConnection;
  readonly reason: DisconnectReason;
  readonly bytes: Buffer | undefined;
}

/** What a netpeer peer decoded from one received message, while it still held it. */
type Decoded = { kind: 'text'; text: string; value: number } | { kind: 'big'; header: number; body: Buffer } | { kind: 'u32'; value: number };

/** A connected pair: the netpeer side, its connection to the stock side, and the stock side's peer. */
interface Pair {
  readonly netpeer: NetworkPeer;
  readonly connection: NetworkConnection;
  readonly stock: StockEnetPeer;
}

describe('ENetDriver interop with stock ENet 1.3 (npm enet 0.2.9)', function () {
  this.timeout(10_000);

  let peers: NetworkPeer[] = [];
  let stockHosts: StockEnetHost[] = [];
  let seen: Map<NetworkPeer, Seen[]>;
  let decoded: Map<NetworkPeer, Decoded[]>;
  /** How the test wants received messages decoded; undefined leaves them as bytes only. */
  let decoder: ((message: NetworkMessage) => Decoded) | undefined;
  const scratch = new NetworkEvent();

  const eventsOf = (peer: NetworkPeer, eventType?: NetworkEventType): Seen[] =>
    (seen.get(peer) ?? []).filter((each) => eventType === undefined || each.eventType === eventType);
  const messagesOf = (peer: NetworkPeer): Buffer[] => eventsOf(peer, NetworkEventType.Message).map((each) => each.bytes as Buffer);
  const decodedOf = (peer: NetworkPeer): Decoded[] => decoded.get(peer) ?? [];

  /** Pops every queued netpeer event (servicing the driver), decoding and recycling each message. */
  function drain(): void {
    for (const peer of peers) {
      if (peer.isShutDown) continue;
      while (peer.popEvent(scratch)) {
        let bytes: Buffer | undefined;
        const message = scratch.message;
        if (scratch.eventType === NetworkEventType.Message && message !== null) {
          bytes = Buffer.from(message.buffer.subarray(0, message.length));
          try {
            if (decoder !== undefined) {
              const list = decoded.get(peer) ?? [];
              list.push(decoder(message));
              decoded.set(peer, list);
            }
          } finally {
            peer.recycleMessage(message);
          }
        }
        const list = seen.get(peer) ?? [];
        list.push({ eventType: scratch.eventType, connection: scratch.sender, reason: scratch.reason, bytes });
        seen.set(peer, list);
      }
    }
  }

  /** One tick: each stock host services once, then each netpeer peer drains. */
  function tick(): void {
    for (const host of stockHosts) host.service();
    drain();
  }

  /**
   * Ticks until `predicate` holds.
   * @throws Error naming the tick count when {@link MAX_TICKS} pass first
   */
  async function pump(what: string, predicate: () => boolean, maxTicks = MAX_TICKS): Promise<number> {
    for (let ticks = 1; ticks <= maxTicks; ticks++) {
      tick();
      if (predicate()) return ticks;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    throw new Error(`pump: ${what} not seen after ${maxTicks} ticks`);
  }

  async function pumpTicks(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      tick();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  function createNetpeer(extra: NetworkConfig): NetworkPeer {
    const peer = NetworkPeer.createPeer({ driver: 'enet', address: '127.0.0.1', port: 0, ...extra });
    peers.push(peer);
    return peer;
  }

  async function createStockServer(channels: number): Promise<StockEnetHost> {
    const host = await StockEnetHost.createServer({ channels });
    stockHosts.push(host);
    return host;
  }

  function createStockClient(channels: number): StockEnetHost {
    const host = StockEnetHost.createClient({ channels });
    stockHosts.push(host);
    return host;
  }

  /** A stock client asking for `stockChannels` channels, connected to a netpeer server. */
  async function stockClientToNetpeerServer(stockChannels: number, server: NetworkConfig = {}): Promise<Pair & { server: NetworkPeer }> {
    const netpeer = createNetpeer(server);
    netpeer.listen();
    const stock = createStockClient(stockChannels).connect(netpeer.localPort, stockChannels, 42);
    await pump('both sides connected', () => stock.isConnected && eventsOf(netpeer, NetworkEventType.Connected).length === 1);
    return { netpeer, server: netpeer, connection: eventsOf(netpeer, NetworkEventType.Connected)[0].connection, stock };
  }

  /** A netpeer client connected to a stock server that allows `stockChannels` channels. */
  async function netpeerClientToStockServer(stockChannels: number, client: NetworkConfig = {}): Promise<Pair & { host: StockEnetHost }> {
    const host = await createStockServer(stockChannels);
    const netpeer = createNetpeer({ ...client, port: host.port });
    netpeer.connect();
    await pump('both sides connected', () => host.peers.length === 1 && host.peers[0].isConnected && eventsOf(netpeer, NetworkEventType.Connected).length === 1);
    return { netpeer, host, connection: eventsOf(netpeer, NetworkEventType.Connected)[0].connection, stock: host.peers[0] };
  }

  function sendU32(peer: NetworkPeer, channel: NetworkChannelType, value: number, to: NetworkConnection): void {
    const message = peer.beginSendMessage();
    message.writeUInt32(value);
    peer.endSendMessage(channel, message, to);
  }

  const valuesOf = (packets: readonly StockPacket[]): number[] => packets.map((each) => each.bytes.readUInt32LE(0));

  beforeEach(() => {
    peers = [];
    stockHosts = [];
    seen = new Map();
    decoded = new Map();
    decoder = undefined;
  });

  afterEach(() => {
    try {
      drain();
      for (const peer of peers) {
        if (peer.isShutDown) continue;
        expect(peer.pool.inUse, 'netpeer messages still out of the pool').to.equal(0);
        expect(peer.popEvent(scratch), 'netpeer events left queued').to.equal(false);
      }
    } finally {
      for (const peer of peers) NetworkPeer.shutdownPeer(peer);
      for (const host of stockHosts) host.destroy();
      for (const peer of peers) expect(peer.pool.inUse, 'netpeer messages still out of the pool after shutdown').to.equal(0);
    }
  });

  /**
   * Sends `count` small messages of each channel type from netpeer (payload: type, index) and checks the ENet
   * channel and packet flags the stock peer sees for each type.
   */
  async function expectChannelsAndFlags(pair: Pair, expectedChannel: (type: NetworkChannelType) => number): Promise<void> {
    const count = 5;
    const sendAll = (type: NetworkChannelType): void => {
      for (let i = 0; i < count; i++) {
        const message = pair.netpeer.beginSendMessage();
        message.writeUInt8(type);
        message.writeUInt8(i);
        pair.netpeer.endSendMessage(type, message, pair.connection);
      }
    };
    sendAll(NetworkChannelType.Unreliable);
    sendAll(NetworkChannelType.UnreliableOrdered);
    await pumpTicks(SEND_GAP_TICKS);
    sendAll(NetworkChannelType.Reliable);
    sendAll(NetworkChannelType.ReliableOrdered);
    const reliableCount = (): number => pair.stock.received.filter((each) => each.bytes[0] >= NetworkChannelType.Reliable).length;
    await pump('every reliable message at the stock peer', () => reliableCount() === 2 * count);
    await pumpTicks(SETTLE_TICKS);

    for (const type of ALL_TYPES) {
      const ofType = pair.stock.received.filter((each) => each.bytes[0] === type);
      const isReliable = type === NetworkChannelType.Reliable || type === NetworkChannelType.ReliableOrdered;
      if (isReliable) expect(ofType.map((each) => each.bytes[1]).sort(), `indexes of type ${type}`).to.deep.equal([0, 1, 2, 3, 4]);
      else expect(ofType.length, `messages of unreliable type ${type} (loopback rarely drops)`).to.be.within(1, count);
      expect(new Set(ofType.map((each) => each.bytes[1])).size, `duplicates of type ${type}`).to.equal(ofType.length);
      for (const packet of ofType) {
        expect(packet.bytes, `payload of type ${type}`).to.have.length(2);
        expect([packet.channel, packet.flags], `[ENet channel, flags] of type ${type}`).to.deep.equal([expectedChannel(type), FLAGS_OF_TYPE[type]]);
      }
    }
  }

  /** The exchanges every pairing must pass, whichever side is the server. */
  function describeExchanges(connect: (channels: 1 | 4, config: NetworkConfig) => Promise<Pair>): void {
    for (const channels of [4, 1] as const) {
      /** The ENet channel the stock side uses for what netpeer would send on `type`. */
      const stockChannel = (type: NetworkChannelType): number => (channels === 1 ? 0 : CHANNEL_OF_TYPE_ON_4[type]);

      describe(`over ${channels} negotiated channel${channels === 1 ? '' : 's'}`, () => {
        it('delivers Flax-encoded reliable messages from netpeer byte for byte, including a fragmented 10,240-byte one', async () => {
          const pair = await connect(channels, { messageSize: BIG_MESSAGE_SIZE });
          const small = pair.netpeer.beginSendMessage();
          small.writeString(FROM_NETPEER_TEXT);
          small.writeUInt32(0xc0ffee42);
          small.writeVector3([1.5, -2.25, 1024.125]);
          pair.netpeer.endSendMessage(NetworkChannelType.ReliableOrdered, small, pair.connection);
          const big = pair.netpeer.beginSendMessage();
          big.writeUInt32(BIG);
          big.writeBytes(pattern(BIG - 4, 7));
          pair.netpeer.endSendMessage(NetworkChannelType.Reliable, big, pair.connection);

          await pump('both reliable messages at the stock peer', () => pair.stock.received.length === 2);
          await pumpTicks(SETTLE_TICKS);
          expect(pair.stock.received).to.have.length(2);
          const gotSmall = pair.stock.received.find((each) => each.bytes.length !== BIG) as StockPacket;
          const gotBig = pair.stock.received.find((each) => each.bytes.length === BIG) as StockPacket;
          expect(gotBig, 'the 10,240-byte message').to.not.equal(undefined);
          expect([...gotSmall.bytes]).to.deep.equal([...flaxString(FROM_NETPEER_TEXT), ...u32(0xc0ffee42), ...flaxVector3(1.5, -2.25, 1024.125)]);
          // Spelled out once, to pin the encoding itself: count 26 code units (the emoji is a surrogate pair).
          expect([...gotSmall.bytes.subarray(0, 4)]).to.deep.equal([26, 0, 0x48, 0x00]);
          expect([...gotSmall.bytes.subarray(-16)]).to.deep.equal([0x42, 0xee, 0xff, 0xc0, 0, 0, 0xc0, 0x3f, 0, 0, 0x10, 0xc0, 0, 0x04, 0x80, 0x44]);
          expect(gotBig.bytes.equals(Buffer.concat([Buffer.from(u32(BIG)), pattern(BIG - 4, 7)])), 'the 10,240-byte message, byte for byte').to.equal(true);
          expect([gotSmall.channel, gotSmall.flags]).to.deep.equal([stockChannel(NetworkChannelType.ReliableOrdered), StockPacketFlag.Reliable]);
          expect([gotBig.channel, gotBig.flags]).to.deep.equal([stockChannel(NetworkChannelType.Reliable), StockPacketFlag.Reliable]);
        });

        it('reads reliable messages the stock peer encoded by hand, including a fragmented 10,240-byte one', async () => {
          const pair = await connect(channels, { messageSize: BIG_MESSAGE_SIZE });
          decoder = (message) => {
            if (message.length === BIG) {
              const header = message.readUInt32();
              const body = Buffer.from(message.readBytes(new Uint8Array(BIG - 4)));
              expect(message.position).to.equal(message.length);
              return { kind: 'big', header, body };
            }
            const text = message.readString();
            const value = message.readUInt32();
            expect(message.position).to.equal(message.length);
            return { kind: 'text', text, value };
          };
          pair.stock.send(stockChannel(NetworkChannelType.ReliableOrdered), Buffer.from([...flaxString(FROM_STOCK_TEXT), ...u32(0x12345678)]), StockPacketFlag.Reliable);
          pair.stock.send(stockChannel(NetworkChannelType.Reliable), Buffer.concat([Buffer.from(u32(0xfeedbeef)), pattern(BIG - 4, 99)]), StockPacketFlag.Reliable);

          await pump('both reliable messages at netpeer', () => decodedOf(pair.netpeer).length === 2);
          await pumpTicks(SETTLE_TICKS);
          const got = decodedOf(pair.netpeer);
          expect(got).to.have.length(2);
          expect(got.find((each) => each.kind === 'text')).to.deep.equal({ kind: 'text', text: FROM_STOCK_TEXT, value: 0x12345678 });
          const big = got.find((each) => each.kind === 'big') as Extract<Decoded, { kind: 'big' }>;
          expect(big.header).to.equal(0xfeedbeef);
          expect(big.body.equals(pattern(BIG - 4, 99)), 'the 10,240-byte message, byte for byte').to.equal(true);
          expect(eventsOf(pair.netpeer, NetworkEventType.Message).every((each) => each.connection === pair.connection)).to.equal(true);
        });

        it('delivers unreliable sequenced and unsequenced messages from netpeer without duplicates, sequenced ones in order', async () => {
          const pair = await connect(channels, {});
          for (let i = 0; i < 30; i++) sendU32(pair.netpeer, NetworkChannelType.UnreliableOrdered, i, pair.connection);
          for (let i = 0; i < 30; i++) sendU32(pair.netpeer, NetworkChannelType.Unreliable, 1000 + i, pair.connection);
          await pumpTicks(SEND_GAP_TICKS);
          sendU32(pair.netpeer, NetworkChannelType.ReliableOrdered, 9999, pair.connection);
          await pump('the reliable marker at the stock peer', () => valuesOf(pair.stock.received).includes(9999));
          await pumpTicks(SETTLE_TICKS);

          const sequenced = pair.stock.received.filter((each) => each.bytes.readUInt32LE(0) < 1000);
          const unsequenced = pair.stock.received.filter((each) => each.bytes.readUInt32LE(0) >= 1000 && each.bytes.readUInt32LE(0) < 9999);
          expect(sequenced.length, 'UnreliableOrdered messages that arrived (loopback rarely drops)').to.be.greaterThan(0);
          expect(unsequenced.length, 'Unreliable messages that arrived (loopback rarely drops)').to.be.greaterThan(0);
          const order = valuesOf(sequenced);
          expect(order, 'sequenced: strictly increasing, so in order and never twice').to.deep.equal([...new Set(order)].sort((a, b) => a - b));
          expect(new Set(valuesOf(unsequenced)).size, 'unsequenced duplicates').to.equal(unsequenced.length);
          expect(valuesOf(unsequenced).every((v) => v < 1030)).to.equal(true);
          for (const each of sequenced) expect([each.channel, each.flags]).to.deep.equal([stockChannel(NetworkChannelType.UnreliableOrdered), 0]);
          for (const each of unsequenced) expect([each.channel, each.flags]).to.deep.equal([stockChannel(NetworkChannelType.Unreliable), StockPacketFlag.Unsequenced]);
        });

        it('reads unreliable sequenced and unsequenced messages from the stock peer without duplicates, sequenced ones in order', async () => {
          const pair = await connect(channels, {});
          decoder = (message) => ({ kind: 'u32', value: message.readUInt32() });
          for (let i = 0; i < 30; i++) pair.stock.send(stockChannel(NetworkChannelType.UnreliableOrdered), Buffer.from(u32(i)), 0);
          for (let i = 0; i < 30; i++) pair.stock.send(stockChannel(NetworkChannelType.Unreliable), Buffer.from(u32(1000 + i)), StockPacketFlag.Unsequenced);
          await pumpTicks(SEND_GAP_TICKS);
          pair.stock.send(stockChannel(NetworkChannelType.ReliableOrdered), Buffer.from(u32(9999)), StockPacketFlag.Reliable);
          const values = (): number[] => decodedOf(pair.netpeer).map((each) => (each as Extract<Decoded, { kind: 'u32' }>).value);
          await pump('the reliable marker at netpeer', () => values().includes(9999));
          await pumpTicks(SETTLE_TICKS);

          const sequenced = values().filter((v) => v < 1000);
          const unsequenced = values().filter((v) => v >= 1000 && v < 9999);
          expect(sequenced.length, 'sequenced messages that arrived (loopback rarely drops)').to.be.greaterThan(0);
          expect(unsequenced.length, 'unsequenced messages that arrived (loopback rarely drops)').to.be.greaterThan(0);
          expect(sequenced, 'sequenced: strictly increasing, so in order and never twice').to.deep.equal([...new Set(sequenced)].sort((a, b) => a - b));
          expect(new Set(unsequenced).size, 'unsequenced duplicates').to.equal(unsequenced.length);
          expect(unsequenced.every((v) => v < 1030)).to.equal(true);
        });

        it('carries unreliable messages larger than one datagram as unreliable fragments both ways, never as reliable', async () => {
          const pair = await connect(channels, { messageSize: BIG_MESSAGE_SIZE });
          for (const type of [NetworkChannelType.Unreliable, NetworkChannelType.UnreliableOrdered]) {
            for (let i = 0; i < 3; i++) {
              const message = pair.netpeer.beginSendMessage();
              message.writeUInt32(type * 100 + i);
              message.writeBytes(pattern(FRAGMENTED_UNRELIABLE - 4, type * 100 + i));
              pair.netpeer.endSendMessage(type, message, pair.connection);
            }
          }
          for (let i = 0; i < 3; i++) {
            pair.stock.send(stockChannel(NetworkChannelType.UnreliableOrdered), Buffer.concat([Buffer.from(u32(500 + i)), pattern(FRAGMENTED_UNRELIABLE - 4, 500 + i)]), StockPacketFlag.UnreliableFragment);
          }
          await pumpTicks(SEND_GAP_TICKS);
          sendU32(pair.netpeer, NetworkChannelType.ReliableOrdered, 9999, pair.connection);
          pair.stock.send(stockChannel(NetworkChannelType.ReliableOrdered), Buffer.from(u32(9999)), StockPacketFlag.Reliable);
          await pump('both reliable markers', () => valuesOf(pair.stock.received).includes(9999) && messagesOf(pair.netpeer).some((b) => b.length === 4 && b.readUInt32LE(0) === 9999));
          await pumpTicks(SETTLE_TICKS);

          const atStock = pair.stock.received.filter((each) => each.bytes.length === FRAGMENTED_UNRELIABLE);
          for (const type of [NetworkChannelType.Unreliable, NetworkChannelType.UnreliableOrdered]) {
            const ofType = atStock.filter((each) => Math.floor(each.bytes.readUInt32LE(0) / 100) === type);
            expect(ofType.length, `fragmented messages of type ${type} at the stock peer (loopback rarely drops)`).to.be.within(1, 3);
            expect(new Set(valuesOf(ofType)).size, `duplicates of type ${type}`).to.equal(ofType.length);
            for (const each of ofType) {
              const id = each.bytes.readUInt32LE(0);
              expect(each.bytes.subarray(4).equals(pattern(FRAGMENTED_UNRELIABLE - 4, id)), `body of ${id}`).to.equal(true);
              expect([each.channel, each.flags], `[ENet channel, flags] of fragmented type ${type}`).to.deep.equal([stockChannel(type), StockPacketFlag.UnreliableFragment]);
            }
          }
          const atNetpeer = messagesOf(pair.netpeer).filter((b) => b.length === FRAGMENTED_UNRELIABLE);
          expect(atNetpeer.length, 'fragmented messages at netpeer (loopback rarely drops)').to.be.within(1, 3);
          expect(new Set(atNetpeer.map((b) => b.readUInt32LE(0))).size).to.equal(atNetpeer.length);
          for (const bytes of atNetpeer) expect(bytes.subarray(4).equals(pattern(FRAGMENTED_UNRELIABLE - 4, bytes.readUInt32LE(0)))).to.equal(true);
        });
      });
    }
  }

  describe('a stock ENet client and a netpeer server', () => {
    it('connects: netpeer reports Connected and the stock peer its connect event', async () => {
      const { server, stock, connection } = await stockClientToNetpeerServer(4);
      expect(stock.isConnected).to.equal(true);
      expect(connection.connectionId).to.be.greaterThan(0);
      expect(server.connectionCount).to.equal(1);
      expect(eventsOf(server)).to.have.length(1);
    });

    const channelCases = [
      { stockChannels: 4, serverChannels: 4 as const, onFour: true },
      { stockChannels: 1, serverChannels: 4 as const, onFour: false },
      { stockChannels: 2, serverChannels: 4 as const, onFour: false },
      { stockChannels: 4, serverChannels: 1 as const, onFour: false },
    ];
    for (const { stockChannels, serverChannels, onFour } of channelCases) {
      const where = onFour ? 'channels 0-3 (Unreliable, UnreliableOrdered, Reliable, ReliableOrdered)' : 'channel 0';
      it(`sends each channel type on ${where} when the stock client asks for ${stockChannels} and the server allows ${serverChannels}`, async () => {
        const pair = await stockClientToNetpeerServer(stockChannels, { channelCount: serverChannels });
        await expectChannelsAndFlags(pair, (type) => (onFour ? CHANNEL_OF_TYPE_ON_4[type] : 0));
        if (!onFour && Math.min(stockChannels, serverChannels) === 1) {
          // The stock side agrees that only channel 0 was negotiated.
          expect(() => pair.stock.send(1, Buffer.from([1]), StockPacketFlag.Reliable)).to.throw(Error, /refused/);
        }
      });
    }

    describeExchanges((channels, config) => stockClientToNetpeerServer(channels, config));

    it('reports a stock client disconnect as Disconnected(Remote), after the reliable messages queued before it', async () => {
      const { server, stock } = await stockClientToNetpeerServer(4);
      for (let i = 0; i < 5; i++) stock.send(3, Buffer.from(u32(i)), StockPacketFlag.Reliable);
      // disconnect_later: ENet 1.3's plain enet_peer_disconnect drops whatever is still queued.
      stock.disconnectLater(0);
      await pump('the disconnect at both sides', () => eventsOf(server, NetworkEventType.Disconnected).length === 1 && stock.isDisconnected);
      expect(messagesOf(server).map((b) => b.readUInt32LE(0))).to.deep.equal([0, 1, 2, 3, 4]);
      expect(eventsOf(server).at(-1)?.eventType).to.equal(NetworkEventType.Disconnected);
      expect(eventsOf(server, NetworkEventType.Disconnected)[0].reason).to.equal(DisconnectReason.Remote);
      expect(server.connectionCount).to.equal(0);
    });

    it('tells the stock client when netpeer disconnects it: disconnect event with data Remote (2)', async () => {
      const { server, stock, connection } = await stockClientToNetpeerServer(4);
      server.disconnect(connection);
      await pump('the disconnect at both sides', () => eventsOf(server, NetworkEventType.Disconnected).length === 1 && stock.isDisconnected);
      expect(eventsOf(server, NetworkEventType.Disconnected)[0].reason).to.equal(DisconnectReason.Local);
      expect(stock.disconnectData).to.equal(DisconnectReason.Remote);
    });

    it('tells the stock client when the netpeer server shuts down: disconnect event with data ServerShutdown (5)', async () => {
      const { server, stock } = await stockClientToNetpeerServer(4);
      NetworkPeer.shutdownPeer(server);
      await pump('the disconnect at the stock client', () => stock.isDisconnected);
      expect(stock.disconnectData).to.equal(DisconnectReason.ServerShutdown);
    });
  });

  describe('a netpeer client and a stock ENet server', () => {
    it('connects: netpeer reports Connected and the stock server an incoming connect with data 0', async () => {
      const { netpeer, host, stock, connection } = await netpeerClientToStockServer(4);
      expect(stock.isConnected).to.equal(true);
      expect(stock.connectData).to.equal(0);
      expect(host.peers).to.have.length(1);
      expect(connection.connectionId).to.be.greaterThan(0);
      expect(netpeer.connectionCount).to.equal(1);
      expect(eventsOf(netpeer)).to.have.length(1);
    });

    const channelCases = [
      { clientChannels: 4 as const, serverChannels: 4, onFour: true },
      { clientChannels: 1 as const, serverChannels: 4, onFour: false },
      { clientChannels: 4 as const, serverChannels: 2, onFour: false },
      { clientChannels: 4 as const, serverChannels: 1, onFour: false },
    ];
    for (const { clientChannels, serverChannels, onFour } of channelCases) {
      const where = onFour ? 'channels 0-3 (Unreliable, UnreliableOrdered, Reliable, ReliableOrdered)' : 'channel 0';
      it(`sends each channel type on ${where} when netpeer asks for ${clientChannels} and the stock server allows ${serverChannels}`, async () => {
        const pair = await netpeerClientToStockServer(serverChannels, { channelCount: clientChannels });
        await expectChannelsAndFlags(pair, (type) => (onFour ? CHANNEL_OF_TYPE_ON_4[type] : 0));
        if (!onFour && Math.min(clientChannels, serverChannels) === 1) {
          expect(() => pair.stock.send(1, Buffer.from([1]), StockPacketFlag.Reliable)).to.throw(Error, /refused/);
        }
      });
    }

    describeExchanges(async (channels, config) => netpeerClientToStockServer(4, { ...config, channelCount: channels }));

    it('tells the stock server when netpeer disconnects: disconnect event with data Remote (2), after the queued reliable messages', async () => {
      const { netpeer, stock } = await netpeerClientToStockServer(4);
      for (let i = 0; i < 5; i++) sendU32(netpeer, NetworkChannelType.ReliableOrdered, i, eventsOf(netpeer, NetworkEventType.Connected)[0].connection);
      netpeer.disconnect();
      await pump('the disconnect at both sides', () => eventsOf(netpeer, NetworkEventType.Disconnected).length === 1 && stock.isDisconnected);
      expect(valuesOf(stock.received)).to.deep.equal([0, 1, 2, 3, 4]);
      expect(stock.disconnectData).to.equal(DisconnectReason.Remote);
      expect(eventsOf(netpeer, NetworkEventType.Disconnected)[0].reason).to.equal(DisconnectReason.Local);
      expect(netpeer.connectionCount).to.equal(0);
    });

    it('reports a stock server disconnect as Disconnected(Remote)', async () => {
      const { netpeer, stock } = await netpeerClientToStockServer(4);
      stock.disconnect(0);
      await pump('the disconnect at both sides', () => eventsOf(netpeer, NetworkEventType.Disconnected).length === 1 && stock.isDisconnected);
      expect(eventsOf(netpeer, NetworkEventType.Disconnected)[0].reason).to.equal(DisconnectReason.Remote);
      expect(netpeer.connectionCount).to.equal(0);
    });

    it('reports a stock server disconnect-now (unsequenced, unacknowledged) as Disconnected(Remote)', async () => {
      const { netpeer, stock } = await netpeerClientToStockServer(4);
      stock.disconnectNow(0);
      expect(stock.isDisconnected).to.equal(true);
      await pump('the disconnect at netpeer', () => eventsOf(netpeer, NetworkEventType.Disconnected).length === 1);
      expect(eventsOf(netpeer, NetworkEventType.Disconnected)[0].reason).to.equal(DisconnectReason.Remote);
      expect(netpeer.connectionCount).to.equal(0);
    });
  });
});
