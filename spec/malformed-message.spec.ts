import { expect } from 'chai';
import {
  LocalDriver,
  LocalNetwork,
  NetworkChannelType,
  NetworkEvent,
  NetworkEventType,
  NetworkPeer,
  type NetworkConfig,
  type NetworkConnection,
  type NetworkMessage,
} from '../lib';
import { SeededRandom } from '../lib/drivers/seeded-random';

// A received message's bytes are whatever the other side (or an attacker) put there. Reading them as the wrong
// types must fail as a RangeError that leaves the message as it was, so the game can log it, recycle it and carry on.
// Messages here really travel: client -> LocalDriver -> server, and are read where a game reads them.

/** One malformed read: the bytes received, reads that succeed first, then the read that must fail. */
interface MalformedCase {
  readonly title: string;
  readonly hex: string;
  readonly before?: (message: NetworkMessage) => void;
  readonly read: (message: NetworkMessage) => unknown;
}

const u16 = (value: number): string => Buffer.from([value & 0xff, value >> 8]).toString('hex');
const bytesHex = (count: number, first = 1): string => Buffer.from(Array.from({ length: count }, (_, i) => (first + i) & 0xff)).toString('hex');

const CASES: readonly MalformedCase[] = [
  { title: 'readUInt8() on an empty message', hex: '', read: (m) => m.readUInt8() },
  { title: 'readBoolean() on an empty message', hex: '', read: (m) => m.readBoolean() },
  { title: 'readInt8() at the end of a message', hex: '01', before: (m) => m.readUInt8(), read: (m) => m.readInt8() },
  { title: 'readInt16() on 1 byte', hex: bytesHex(1), read: (m) => m.readInt16() },
  { title: 'readUInt16() on 1 byte', hex: bytesHex(1), read: (m) => m.readUInt16() },
  { title: 'readInt32() on 3 bytes', hex: bytesHex(3), read: (m) => m.readInt32() },
  { title: 'readUInt32() on 3 bytes', hex: bytesHex(3), read: (m) => m.readUInt32() },
  { title: 'readSingle() on 3 bytes', hex: bytesHex(3), read: (m) => m.readSingle() },
  { title: 'readInt64() on 3 bytes', hex: bytesHex(3), read: (m) => m.readInt64() },
  { title: 'readUInt64() on 7 bytes', hex: bytesHex(7), read: (m) => m.readUInt64() },
  { title: 'readDouble() on 7 bytes', hex: bytesHex(7), read: (m) => m.readDouble() },
  { title: 'readVector2() on 7 bytes', hex: bytesHex(7), read: (m) => m.readVector2() },
  { title: 'readVector3() on 8 bytes', hex: bytesHex(8), read: (m) => m.readVector3() },
  { title: 'readVector3() into a Float32Array on 11 bytes', hex: bytesHex(11), read: (m) => m.readVector3(new Float32Array(3)) },
  { title: 'readVector4() on 15 bytes', hex: bytesHex(15), read: (m) => m.readVector4() },
  { title: 'readQuaternion() on 12 bytes', hex: bytesHex(12), read: (m) => m.readQuaternion() },
  { title: 'readGuid() on 10 bytes', hex: bytesHex(10), read: (m) => m.readGuid() },
  { title: 'readBytes() of 16 on 10 bytes', hex: bytesHex(10), read: (m) => m.readBytes(new Uint8Array(16)) },
  { title: 'readString() whose count (65,535) is larger than the 4 bytes left', hex: u16(0xffff) + bytesHex(4), read: (m) => m.readString() },
  { title: 'readString() whose count (3) needs 6 bytes, 5 left', hex: u16(3) + bytesHex(5), read: (m) => m.readString() },
  { title: 'readString() on 1 byte (the count itself cut short)', hex: '05', read: (m) => m.readString() },
  { title: 'readStringAnsi() whose count (1,000) is larger than the 10 bytes left', hex: u16(1000) + bytesHex(10), read: (m) => m.readStringAnsi() },
  { title: 'readStringAnsi() whose count (65,535) has nothing after it', hex: u16(0xffff), read: (m) => m.readStringAnsi() },
  { title: 'readStringAnsi() on 1 byte (the count itself cut short)', hex: 'ff', read: (m) => m.readStringAnsi() },
  { title: 'readInt64() on the 3 bytes left after a UInt32', hex: bytesHex(7), before: (m) => m.readUInt32(), read: (m) => m.readInt64() },
  {
    title: 'readGuid() on the 10 bytes left after a well-formed String',
    hex: u16(2) + '4100' + '4200' + bytesHex(10),
    before: (m) => expect(m.readString()).to.equal('AB'),
    read: (m) => m.readGuid(),
  },
];

describe('NetworkMessage with malformed content', () => {
  let network: LocalNetwork;
  let peers: NetworkPeer[];
  let server: NetworkPeer;
  let client: NetworkPeer;
  let atServer: NetworkConnection;
  let rng: SeededRandom;
  const event = new NetworkEvent();

  const create = (config: NetworkConfig): NetworkPeer => {
    const peer = NetworkPeer.createPeer({ driver: new LocalDriver({ network }), port: 0, ...config });
    peers.push(peer);
    return peer;
  };

  /** Ticks both peers until the server pops a Message; returns it unrecycled. Fails on any other event. */
  async function receiveAtServer(): Promise<NetworkMessage> {
    for (let tick = 1; tick <= 200; tick++) {
      while (client.popEvent(event)) throw new Error(`unexpected client event ${event.eventType}`);
      if (server.popEvent(event)) {
        expect(event.eventType, 'server event').to.equal(NetworkEventType.Message);
        expect(event.sender).to.equal(atServer);
        return event.message as NetworkMessage;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error('receiveAtServer: no message after 200 ticks');
  }

  /** Sends `bytes` from the client as one ReliableOrdered message and returns it as the server received it. */
  async function deliver(bytes: Uint8Array): Promise<NetworkMessage> {
    const message = client.beginSendMessage();
    message.writeBytes(bytes);
    client.endSendMessage(NetworkChannelType.ReliableOrdered, message);
    return receiveAtServer();
  }

  /** The peer pair still works: a well-formed message arrives and reads back field by field. */
  async function expectPeerStillWorks(): Promise<void> {
    const message = client.beginSendMessage();
    message.writeUInt32(0xc0ffee);
    message.writeString('still here');
    message.writeVector3([1, 2, 3]);
    client.endSendMessage(NetworkChannelType.ReliableOrdered, message);
    const received = await receiveAtServer();
    expect(received.readUInt32()).to.equal(0xc0ffee);
    expect(received.readString()).to.equal('still here');
    expect(received.readVector3()).to.deep.equal([1, 2, 3]);
    expect(received.position).to.equal(received.length);
    server.recycleMessage(received);
  }

  beforeEach(async () => {
    network = new LocalNetwork();
    peers = [];
    rng = new SeededRandom(0x0bad_f00d);
    server = create({ messageSize: 256, messagePoolSize: 129 });
    server.listen();
    client = create({ port: server.localPort, messageSize: 256, messagePoolSize: 129 });
    client.connect();
    for (let tick = 0; tick < 200; tick++) {
      if (server.popEvent(event)) {
        expect(event.eventType).to.equal(NetworkEventType.Connected);
        atServer = event.sender;
      }
      if (client.popEvent(event)) expect(event.eventType).to.equal(NetworkEventType.Connected);
      if (atServer !== undefined && client.connectionCount === 1 && tick > 2) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(atServer?.isConnected, 'pair connected').to.equal(true);
  });

  afterEach(() => {
    try {
      for (const peer of peers) {
        expect(peer.popEvent(event), `events left queued on the ${peer === server ? 'server' : 'client'}`).to.equal(false);
        expect(peer.pool.inUse, `messages out of the pool of the ${peer === server ? 'server' : 'client'}`).to.equal(0);
      }
    } finally {
      for (const peer of peers) NetworkPeer.shutdownPeer(peer);
      atServer = undefined as unknown as NetworkConnection;
    }
  });

  for (const each of CASES) {
    it(`throws a RangeError from ${each.title}, leaves the message unchanged and recyclable, and the peer keeps working`, async () => {
      const bytes = Buffer.from(each.hex, 'hex');
      const message = await deliver(bytes);
      expect(message.length, 'received length').to.equal(bytes.length);
      each.before?.(message);
      const position = message.position;

      expect(() => each.read(message)).to.throw(RangeError);
      expect(message.position, 'position after the failed read').to.equal(position);
      expect(message.length, 'length after the failed read').to.equal(bytes.length);
      expect(Buffer.from(message.buffer.subarray(0, message.length)).equals(bytes), 'content after the failed read').to.equal(true);
      // Failing again changes nothing either, and what is left can still be read as raw bytes.
      expect(() => each.read(message)).to.throw(RangeError);
      expect(message.position).to.equal(position);
      const rest = message.readBytes(new Uint8Array(bytes.length - position));
      expect(Buffer.from(rest).equals(bytes.subarray(position))).to.equal(true);

      server.recycleMessage(message);
      expect(server.pool.inUse).to.equal(0);
      await expectPeerStillWorks();
    });
  }

  it('throws a RangeError from a String whose count runs past length into old bytes still in the recycled slot', async () => {
    // A long message fills the slot; the short one that reuses the slot promises 20 units but carries 1.
    const long = await deliver(Buffer.alloc(200, 0x41));
    const slot = long.messageId;
    server.recycleMessage(long);
    const message = await deliver(Buffer.from(u16(20) + '4100', 'hex'));
    expect(message.messageId, 'the same pool slot').to.equal(slot);
    expect(message.buffer[10], 'old bytes behind length').to.equal(0x41);
    expect(() => message.readString()).to.throw(RangeError);
    expect(() => message.readStringAnsi()).to.throw(RangeError);
    expect(message.position).to.equal(0);
    server.recycleMessage(message);
    await expectPeerStillWorks();
  });

  it('decodes invalid UTF-8 in a StringAnsi as U+FFFD without throwing, consuming exactly its counted bytes', async () => {
    // Lone continuation byte, 0xff, a cut-short 2-byte sequence, an encoded surrogate (ed a0 80), then a UInt8.
    const text = Buffer.from([0x80, 0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80]);
    const bytes = Buffer.concat([Buffer.from(u16(text.length), 'hex'), text, Buffer.from([0x7e])]);
    const message = await deliver(bytes);
    const decoded = message.readStringAnsi();
    expect(decoded.includes('\ufffd'), `decoded ${JSON.stringify(decoded)}`).to.equal(true);
    expect(decoded.includes('(')).to.equal(true);
    expect(message.position, 'position after the count and the 7 counted bytes').to.equal(2 + text.length);
    expect(message.readUInt8(), 'the field after the string').to.equal(0x7e);
    server.recycleMessage(message);
    await expectPeerStillWorks();
  });

  it('throws a RangeError from every read once position was moved past length, and recycles fine', async () => {
    const message = await deliver(Buffer.from('0102030405', 'hex'));
    message.position = 100;
    const reads: Array<(m: NetworkMessage) => unknown> = [
      (m) => m.readUInt8(),
      (m) => m.readInt32(),
      (m) => m.readDouble(),
      (m) => m.readString(),
      (m) => m.readStringAnsi(),
      (m) => m.readGuid(),
      (m) => m.readQuaternion(),
      (m) => m.readBytes(new Uint8Array(0)),
    ];
    for (const read of reads) {
      expect(() => read(message)).to.throw(RangeError);
      expect(message.position).to.equal(100);
    }
    server.recycleMessage(message);
    await expectPeerStillWorks();
  });

  it('drops a message larger than the receiver\'s messageSize, counts it in oversizeDropped, and delivers the next one', async () => {
    // A sender with bigger slots than the receiver: its message can never fit a receive slot.
    for (const peer of peers) NetworkPeer.shutdownPeer(peer);
    peers = [];
    atServer = undefined as unknown as NetworkConnection;
    server = create({ messageSize: 64 });
    server.listen();
    client = create({ port: server.localPort, messageSize: 256 });
    client.connect();
    for (let tick = 0; tick < 200 && (atServer === undefined || client.connectionCount !== 1); tick++) {
      if (server.popEvent(event)) atServer = event.sender;
      client.popEvent(event);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const big = client.beginSendMessage();
    big.writeBytes(new Uint8Array(100).fill(0x33));
    client.endSendMessage(NetworkChannelType.ReliableOrdered, big);
    const small = client.beginSendMessage();
    small.writeUInt32(7);
    client.endSendMessage(NetworkChannelType.ReliableOrdered, small);
    const received = await receiveAtServer();
    expect(received.length).to.equal(4);
    expect(received.readUInt32()).to.equal(7);
    server.recycleMessage(received);
    expect(server.getStats().oversizeDropped).to.equal(1);
    expect(atServer.isConnected).to.equal(true);
  });

  it('throws only RangeErrors from 300 random messages read as random types, leaving position unchanged on each throw', async () => {
    const readers: Array<(m: NetworkMessage) => unknown> = [
      (m) => m.readInt8(),
      (m) => m.readUInt16(),
      (m) => m.readInt32(),
      (m) => m.readUInt64(),
      (m) => m.readSingle(),
      (m) => m.readDouble(),
      (m) => m.readBoolean(),
      (m) => m.readString(),
      (m) => m.readStringAnsi(),
      (m) => m.readVector2(),
      (m) => m.readVector4(),
      (m) => m.readGuid(),
    ];
    const int = (n: number): number => Math.floor(rng.next() * n);
    let thrown = 0;
    let read = 0;
    for (let i = 0; i < 300; i++) {
      const bytes = Buffer.alloc(int(48));
      for (let b = 0; b < bytes.length; b++) bytes[b] = int(256);
      const message = await deliver(bytes);
      for (let r = 0; r < 8; r++) {
        const position = message.position;
        try {
          readers[int(readers.length)](message);
          read++;
          expect(message.position).to.be.within(position + 1, message.length);
        } catch (error) {
          expect(error, `message ${i}, read ${r}`).to.be.an.instanceOf(RangeError);
          expect(message.position).to.equal(position);
          thrown++;
        }
      }
      server.recycleMessage(message);
    }
    expect(thrown, 'reads that threw').to.be.above(0);
    expect(read, 'reads that succeeded').to.be.above(0);
    await expectPeerStillWorks();
  });
});
