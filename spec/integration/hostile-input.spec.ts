import { expect } from 'chai';
import type { Socket } from 'node:dgram';
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
import { SeededRandom } from '../../lib/drivers/seeded-random';
import {
  COMMAND_BYTES,
  Command,
  FLAG_ACKNOWLEDGE,
  FLAG_UNSEQUENCED,
  HEADER_COMPRESSED,
  NO_PEER_ID,
  RawEnetClient,
  bindUdp,
  closeQuietly,
  command,
  connectDatagram,
  fragmentCommand,
  header,
  parseDatagram,
  sendAll,
} from '../helpers/raw-enet';

// Every attack runs while one legitimate client exchanges ReliableOrdered messages with the server (client sends,
// server echoes), and checks the same things afterwards: no throw out of popEvent(), every message arrived once and
// in order on both sides, and the legitimate connection never ended. Loopback only, OS-picked ports, seeded data.

const LIMIT = 8;
const FAST: NetworkConfig = { timeoutMinimumMs: 500, timeoutMaximumMs: 1500, pingIntervalMs: 100 };
const SEED = 0x5eed_0001;
/** Most legitimate messages unanswered at once: a stalled server shows as lag, not as an ever-growing queue. */
const WINDOW = 64;
const PAYLOAD_BYTES = 28;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One event some peer popped, as the spec keeps it. */
interface Seen {
  readonly peer: NetworkPeer;
  readonly eventType: NetworkEventType;
  readonly reason: DisconnectReason;
  readonly connection: NetworkConnection;
  readonly atMs: number;
}

describe('ENetDriver under hostile input', function () {
  this.timeout(15_000);

  let rng: SeededRandom;
  let server: NetworkPeer;
  let client: NetworkPeer;
  /** The legitimate client's connection, as the server sees it. */
  let legitAtServer: NetworkConnection;
  let peers: NetworkPeer[];
  /** Peers the pump no longer services (a client that "went silent"). */
  let paused: Set<NetworkPeer>;
  let sockets: Socket[];
  let raws: RawEnetClient[];
  let seen: Seen[];
  let sent: number;
  let atServer: number[];
  let atClient: number[];
  let corrupt: string[];
  let othersMessages: number;
  /** Bytes of each message from a peer other than the legitimate client, in arrival order. */
  let othersPayloads: Buffer[];
  const scratch = new NetworkEvent();

  const int = (n: number): number => Math.floor(rng.next() * n);
  const randomBytes = (n: number): Buffer => {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = int(256);
    return out;
  };

  function createPeer(config: NetworkConfig): NetworkPeer {
    const peer = NetworkPeer.createPeer({ driver: 'enet', address: '127.0.0.1', ...FAST, ...config });
    peers.push(peer);
    return peer;
  }

  function fillPayload(message: NetworkMessage, seq: number): void {
    message.writeUInt32(seq);
    for (let i = 0; i < PAYLOAD_BYTES; i++) message.writeUInt8((seq * 7 + i) & 0xff);
  }

  /** Reads and checks a legitimate payload; returns its sequence number, or -1 (and records why) if corrupted. */
  function readPayload(bytes: Buffer, where: string): number {
    if (bytes.length !== 4 + PAYLOAD_BYTES) {
      corrupt.push(`${where}: length ${bytes.length}`);
      return -1;
    }
    const seq = bytes.readUInt32LE(0);
    for (let i = 0; i < PAYLOAD_BYTES; i++) {
      if (bytes[4 + i] !== ((seq * 7 + i) & 0xff)) {
        corrupt.push(`${where}: message ${seq} byte ${i}`);
        return -1;
      }
    }
    return seq;
  }

  /** Pops every event of every serviced peer; a throw out of popEvent() fails the test at once. */
  function drain(): void {
    for (const peer of peers) {
      if (peer.isShutDown || paused.has(peer)) continue;
      for (let guard = 0; guard < 100_000; guard++) {
        let has: boolean;
        try {
          has = peer.popEvent(scratch);
        } catch (error) {
          const role = peer === server ? 'server' : peer === client ? 'legitimate client' : 'another peer';
          throw new Error(`popEvent() of the ${role} threw: ${(error as Error)?.stack ?? String(error)}`);
        }
        if (!has) break;
        const connection = scratch.sender;
        if (scratch.eventType === NetworkEventType.Message && scratch.message !== null) {
          const message = scratch.message;
          const bytes = Buffer.from(message.buffer.subarray(0, message.length));
          peer.recycleMessage(message);
          if (peer === server && connection === legitAtServer) {
            const seq = readPayload(bytes, 'server');
            if (seq >= 0) {
              atServer.push(seq);
              const echo = server.beginSendMessage();
              echo.writeBytes(bytes);
              server.endSendMessage(NetworkChannelType.ReliableOrdered, echo, legitAtServer);
            }
          } else if (peer === client) {
            const seq = readPayload(bytes, 'client');
            if (seq >= 0) atClient.push(seq);
          } else {
            othersMessages++;
            othersPayloads.push(bytes);
          }
          continue;
        }
        seen.push({ peer, eventType: scratch.eventType, reason: scratch.reason, connection, atMs: performance.now() });
      }
    }
  }

  /** Sends the next legitimate message unless WINDOW are unanswered. */
  function sendLegit(): void {
    if (client.isShutDown || sent - atClient.length >= WINDOW) return;
    const message = client.beginSendMessage();
    fillPayload(message, sent++);
    client.endSendMessage(NetworkChannelType.ReliableOrdered, message);
  }

  /** One tick: a legitimate message out, every peer drained, then a 1 ms sleep so sockets and timers run. */
  async function tick(): Promise<void> {
    sendLegit();
    drain();
    await sleep(1);
  }

  /** Ticks until `predicate` holds; fails naming the tick count after `maxTicks`. */
  async function tickUntil(predicate: () => boolean, maxTicks: number, what: string): Promise<number> {
    for (let t = 1; t <= maxTicks; t++) {
      await tick();
      if (predicate()) return t;
    }
    throw new Error(`${what}: not reached after ${maxTicks} ticks`);
  }

  /** Events of `peer` (optionally about one connection). */
  const eventsOf = (peer: NetworkPeer, connection?: NetworkConnection): Seen[] =>
    seen.filter((each) => each.peer === peer && (connection === undefined || each.connection === connection));

  /** Connections the server accepted, in order (the legitimate one first). */
  const serverConnections = (): NetworkConnection[] =>
    eventsOf(server).filter((each) => each.eventType === NetworkEventType.Connected).map((each) => each.connection);

  /** Ends a connection may have had at the server (Disconnected or Timeout). */
  const endsAtServer = (connection: NetworkConnection): Seen[] =>
    eventsOf(server, connection).filter((each) => each.eventType === NetworkEventType.Disconnected || each.eventType === NetworkEventType.Timeout);

  /**
   * Stops the legitimate exchange, lets every echo come back, and checks the exchange: all messages, once, in order,
   * on both sides; nothing corrupted; the legitimate connection never ended on either side.
   * @param minimum - messages that must have been exchanged (shows the exchange ran during the attack)
   */
  async function expectLegitimateExchangeIntact(minimum: number): Promise<void> {
    const total = sent;
    for (let t = 0; t < 5000 && atClient.length < total; t++) {
      drain();
      await sleep(1);
    }
    expect(corrupt, 'corrupted legitimate messages').to.deep.equal([]);
    expect(endsAtServer(legitAtServer).map((each) => [each.eventType, each.reason]), 'server events ending the legitimate client').to.deep.equal([]);
    const clientEnds = eventsOf(client).filter((each) => each.eventType !== NetworkEventType.Connected);
    expect(clientEnds.map((each) => [each.eventType, each.reason]), 'legitimate client events after Connected').to.deep.equal([]);
    expect(legitAtServer.isConnected).to.equal(true);
    expect(total, 'legitimate messages sent during the attack').to.be.at.least(minimum);
    const expected = [...Array(total).keys()];
    expect(atServer, 'legitimate messages at the server (in order, once each)').to.deep.equal(expected);
    expect(atClient, 'echoes at the legitimate client (in order, once each)').to.deep.equal(expected);
  }

  async function udp(): Promise<Socket> {
    const socket = await bindUdp();
    sockets.push(socket);
    return socket;
  }

  /** Sends `datagrams` from `socket` `perTick` at a time, ticking in between (the legitimate exchange goes on). */
  async function flood(socket: Socket | Socket[], datagrams: readonly Buffer[], perTick: number): Promise<void> {
    const list = Array.isArray(socket) ? socket : [socket];
    for (let at = 0, round = 0; at < datagrams.length; at += perTick, round++) {
      await sendAll(list[round % list.length], server.localPort, datagrams.slice(at, at + perTick));
      await tick();
    }
  }

  /**
   * Opens a raw client and completes the ENet handshake by hand.
   * @returns the raw client and the server's connection for it
   */
  async function rawSession(connectId: number): Promise<{ raw: RawEnetClient; atServer: NetworkConnection }> {
    const raw = await RawEnetClient.open(server.localPort, connectId);
    raws.push(raw);
    const before = serverConnections().length;
    await raw.sendConnect();
    await tickUntil(() => raw.isConnected && serverConnections().length > before, 2000, 'raw handshake');
    return { raw, atServer: serverConnections()[before] };
  }

  beforeEach(async () => {
    rng = new SeededRandom(SEED);
    peers = [];
    paused = new Set();
    sockets = [];
    raws = [];
    seen = [];
    sent = 0;
    atServer = [];
    atClient = [];
    corrupt = [];
    othersMessages = 0;
    othersPayloads = [];
    server = createPeer({ port: 0, connectionsLimit: LIMIT });
    server.listen();
    client = createPeer({ port: server.localPort });
    client.connect();
    for (let t = 0; t < 3000 && eventsOf(client).length === 0; t++) {
      drain();
      await sleep(1);
    }
    expect(eventsOf(client).map((each) => each.eventType), 'legitimate client connects').to.deep.equal([NetworkEventType.Connected]);
    for (let t = 0; t < 3000 && serverConnections().length === 0; t++) {
      drain();
      await sleep(1);
    }
    legitAtServer = serverConnections()[0];
  });

  afterEach(() => {
    try {
      drain();
      for (const peer of peers) {
        if (!peer.isShutDown && !paused.has(peer)) expect(peer.pool.inUse, 'messages still out of a pool').to.equal(0);
      }
    } finally {
      for (const raw of raws) raw.close();
      for (const socket of sockets) closeQuietly(socket);
      for (const peer of peers) NetworkPeer.shutdownPeer(peer);
    }
  });

  describe('a flood of random datagrams', () => {
    it('drops 10,000 random datagrams of 0..1,400 bytes, keeps serving the client, and memory stays bounded', async () => {
      const senders = [await udp(), await udp(), await udp(), await udp()];
      const datagrams: Buffer[] = [];
      let floodBytes = 0;
      for (let i = 0; i < 10_000; i++) {
        datagrams.push(randomBytes(int(1401)));
        floodBytes += datagrams[i].length;
      }
      const before = server.getStats();
      const rssBefore = process.memoryUsage().rss;
      await flood(senders, datagrams, 100);
      await expectLegitimateExchangeIntact(50);
      const rssGrowth = process.memoryUsage().rss - rssBefore;
      const after = server.getStats();
      expect(rssGrowth, 'RSS growth in bytes').to.be.below(50 * 1024 * 1024);
      // The server really read the flood (it was not just left in the socket buffer).
      expect(after.bytesReceived - before.bytesReceived, 'bytes the server received').to.be.above(floodBytes / 2);
      expect(server.connectionCount, 'no connection came out of random bytes').to.equal(1);
    });
  });

  describe('truncated and corrupted ENet datagrams', () => {
    it('ignores truncated headers of 0..3 bytes, aimed at no peer, at the legitimate peer and anywhere', async () => {
      const socket = await udp();
      const datagrams: Buffer[] = [];
      for (let size = 0; size <= 3; size++) {
        for (let i = 0; i < 40; i++) datagrams.push(randomBytes(size));
      }
      // Valid-looking first bytes: no peer yet (0x0FFF) and the legitimate client's slot (0), with and without flags.
      for (const field of [0x0fff, 0x8fff, 0x0000, 0x8000, 0x4000, 0x3000, 0xffff]) {
        datagrams.push(Buffer.from([field >> 8]), Buffer.from([field >> 8, field & 0xff]), Buffer.from([field >> 8, field & 0xff, 0x12]));
      }
      await flood(socket, datagrams, 20);
      await expectLegitimateExchangeIntact(10);
      expect(server.connectionCount).to.equal(1);
    });

    it('ignores every command number 0..15 with random bodies from an unknown address', async () => {
      const socket = await udp();
      const datagrams: Buffer[] = [];
      for (let number = 0; number < 16; number++) {
        for (let i = 0; i < 30; i++) {
          // The legitimate client's slot (from the wrong address), no peer, and random peer ids; random session bits.
          const peerId = [0, NO_PEER_ID, int(0x1000)][i % 3];
          const compressed = int(4) === 0 ? HEADER_COMPRESSED : 0;
          const sentTime = int(2) === 0 ? undefined : int(0x10000);
          const body = number === Command.Connect ? Buffer.alloc(44) : randomBytes(int(60));
          datagrams.push(Buffer.concat([header(peerId, int(4), sentTime, compressed), command(number | (int(4) << 6), int(256), int(0x10000), body)]));
        }
      }
      await flood(socket, datagrams, 20);
      await expectLegitimateExchangeIntact(10);
      // A zeroed CONNECT body has channelCount 0, which ENet refuses: nobody connected.
      expect(server.connectionCount).to.equal(1);
    });

    it('survives corrupted commands 0..15 from connected raw peers: bad channels, huge fragments, lengths past the datagram', async () => {
      let rawConnected = 0;
      for (let number = 0; number < 16; number++) {
        const { raw, atServer: rawAtServer } = await rawSession(0x1000 + number);
        rawConnected++;
        const datagrams: Buffer[] = [];
        for (let i = 0; i < 40; i++) {
          const commands: Buffer[] = [];
          const count = 1 + int(3);
          for (let c = 0; c < count; c++) commands.push(corruptedCommand(number));
          datagrams.push(raw.datagram(commands, int(8) === 0 ? HEADER_COMPRESSED : 0));
        }
        await flood(raw.socket, datagrams, 10);
        await raw.sendDisconnect();
        // The session ends one way or another (clean disconnect, or already ended by what it sent).
        for (let t = 0; t < 3000 && endsAtServer(rawAtServer).length === 0; t++) await tick();
        raw.close();
      }
      await expectLegitimateExchangeIntact(50);
      expect(rawConnected).to.equal(16);
      expect(othersMessages, 'well-formed sends among the malformed ones that reached the server as messages').to.be.above(0);
      // The server still accepts a new connection after all that.
      const { raw } = await rawSession(0x2000);
      expect(raw.isConnected).to.equal(true);
    });

    /** One command with number `number`, randomly malformed in the ways that matter for that command. */
    function corruptedCommand(number: number): Buffer {
      const flags = int(2) === 0 ? FLAG_ACKNOWLEDGE : 0;
      const channel = [0, 3, 4, 0xfe, 0xff, int(256)][int(6)];
      const sequence = int(0x10000);
      if (number === Command.SendFragment || number === Command.SendUnreliableFragment) {
        const huge = [0, 1, 2, 0x7fffffff, 0xffffffff, 1 << 20, (1 << 20) + 1, 32 * 1024 * 1024, 32 * 1024 * 1024 + 1];
        const pick = (): number => (int(2) === 0 ? huge[int(huge.length)] : int(0x10000));
        const payload = randomBytes(int(40));
        // dataLength: the truth, larger than the datagram, or anything.
        const dataLength = [payload.length, 0xffff, payload.length + 1 + int(100), int(0x10000)][int(4)];
        // Keep the fragment count small whenever the total is small, so this test is not the fragment-bomb test below.
        let fragmentCount = pick();
        const totalLength = pick();
        if (fragmentCount > 64 && totalLength < fragmentCount) fragmentCount = int(65);
        return fragmentCommand(
          { channelId: channel, reliableSequence: sequence, startSequence: int(0x10000), fragmentCount, fragmentNumber: pick(), totalLength, fragmentOffset: pick() },
          payload,
          dataLength,
          number,
        );
      }
      if (number === Command.SendReliable || number === Command.SendUnreliable || number === Command.SendUnsequenced) {
        const fixed = COMMAND_BYTES[number] - 4;
        const body = randomBytes(fixed);
        const payload = randomBytes(int(40));
        // One in three is well formed (a real channel, the true dataLength), so that some get through and the
        // parser is seen to carry on past the malformed ones around them.
        const truthful = int(3) === 0;
        // The last u16 of the fixed body is dataLength: the truth, past the datagram, or anything.
        body.writeUInt16BE(truthful ? payload.length : [payload.length, 0xffff, payload.length + 1 + int(100), int(0x10000)][int(4)], fixed - 2);
        const commandFlags = number === Command.SendUnsequenced ? FLAG_UNSEQUENCED | flags : flags | (int(2) << 6);
        return Buffer.concat([command(number | commandFlags, truthful ? int(4) : channel, truthful ? 1 + int(2) : sequence, body), payload]);
      }
      // Everything else: a body of the right size, one byte short, or random length.
      const size = COMMAND_BYTES[number] ?? 0;
      const bodyLength = [Math.max(0, size - 4), Math.max(0, size - 5), int(60)][int(3)];
      return command(number | flags, channel, sequence, randomBytes(bodyLength));
    }

    // Regression (fixed in the addon): one connected peer makes the server allocate ~128 KiB per 25-byte
    // SEND_FRAGMENT command. zpl enet.c 2.1.2 (enet_protocol_handle_send_fragment) accepts fragmentCount up to 2^20
    // whatever totalLength is (upstream ENet also rejects `totalLength < fragmentCount`), and
    // enet_peer_queue_incoming_command then mallocs and memsets a (fragmentCount+31)/32*4 = 128 KiB bitmap for each
    // new startSequenceNumber in the 7 free reliable windows of each channel: 4 x 7 x 4096 starts x 128 KiB = ~15 GB
    // per connection, held until it ends. The 32 MiB maximumWaitingData does not help (it counts totalLength = 1 per
    // start). Measured: 400 commands -> +49 MB RSS, 4,000 commands (100 KB on the wire) -> +522 MB. Un-skip when
    // fixed.
    it('keeps memory bounded when a connected peer starts fragmented packets with 2^20 fragments of 1 byte', async () => {
      const { raw } = await rawSession(0x3000);
      const rssBefore = process.memoryUsage().rss;
      const commands: Buffer[] = [];
      for (let start = 0; start < 800; start++) {
        commands.push(
          fragmentCommand(
            { channelId: start % 4, reliableSequence: 1 + (start >> 2), startSequence: 1 + (start >> 2), fragmentCount: 1 << 20, fragmentNumber: 0, totalLength: 1, fragmentOffset: 0 },
            Buffer.from([0x42]),
          ),
        );
      }
      const datagrams: Buffer[] = [];
      for (let at = 0; at < commands.length; at += 100) datagrams.push(raw.datagram(commands.slice(at, at + 100)));
      await flood(raw.socket, datagrams, 1);
      for (let t = 0; t < 100; t++) await tick();
      const rssGrowth = process.memoryUsage().rss - rssBefore;
      expect(rssGrowth, 'RSS growth in bytes after 800 fragment starts (~20 KB on the wire)').to.be.below(50 * 1024 * 1024);
      await expectLegitimateExchangeIntact(10);
    });
  });

  describe('fragment reassembly', () => {
    // Regression (fixed in the addon): ENet delivers a fragmented packet once every fragment *number* has arrived,
    // whether or not the fragments covered totalLength, so the bytes never written were whatever the heap held (here,
    // another client's messages). The addon zeroes the buffers ENet can reassemble into; it skips the memset only for
    // allocations that cannot be one (send batches, datagrams scanned and found without fragments), so this spec
    // also guards that skipping.
    it('never delivers leftover heap bytes in a message reassembled from fragments that leave gaps', async () => {
      const { raw } = await rawSession(0x3100);
      // Leave freed buffers of the size the reassembly will ask for, full of 0xAB: 100 reliable messages of 600 bytes.
      const other = createPeer({ port: server.localPort, messageSize: 2000 });
      other.connect();
      await tickUntil(() => eventsOf(other).length > 0 && serverConnections().length === 3, 2000, 'the other client connects');
      for (let i = 0; i < 100; i++) {
        const message = other.beginSendMessage();
        message.writeBytes(Buffer.alloc(600, 0xab));
        other.endSendMessage(NetworkChannelType.Reliable, message);
      }
      await tickUntil(() => othersMessages === 100, 2000, 'the 100 messages of 600 bytes arrive');
      // Two fragment numbers of a 600-byte reliable message, both writing the same first 10 bytes.
      const piece = Buffer.alloc(10, 0x11);
      const fragment = (fragmentNumber: number): Buffer =>
        fragmentCommand({ channelId: 2, reliableSequence: 1 + fragmentNumber, startSequence: 1, fragmentCount: 2, fragmentNumber, totalLength: 600, fragmentOffset: 0 }, piece);
      await raw.sendCommands([fragment(0), fragment(1)]);
      await tickUntil(() => othersMessages === 101, 2000, 'the reassembled message arrives');
      const reassembled = othersPayloads[100];
      expect(reassembled.length).to.equal(600);
      expect([...reassembled.subarray(0, 10)].every((b) => b === 0x11), 'the bytes the fragments carried').to.equal(true);
      expect(reassembled.subarray(10).equals(Buffer.alloc(590)), 'the bytes no fragment wrote').to.equal(true);
      await expectLegitimateExchangeIntact(5);
    });
  });

  describe('datagrams larger than the MTU', () => {
    it('drops datagrams of 2,000, 4,096, 4,097, 9,000 and 65,000 bytes, counting the truncated ones in serviceErrors', async () => {
      const socket = await udp();
      const sizes = [2000, 4096, 4097, 9000, 65_000];
      const before = server.getStats();
      let truncated = 0;
      for (const size of sizes) {
        for (let i = 0; i < 10; i++) {
          // Some look like ENet: a CONNECT header at the front of a huge datagram.
          const datagram = randomBytes(size);
          if (i % 2 === 0) connectDatagram({ connectId: i }).copy(datagram, 0);
          // One at a time, so the kernel's receive buffer (about 200 KB) never drops them before ENet reads them.
          await sendAll(socket, server.localPort, [datagram]);
          if (size > 4096) truncated++;
          await tick();
          await tick();
        }
      }
      await expectLegitimateExchangeIntact(50);
      const after = server.getStats();
      // ENet's receive buffer is 4,096 bytes (ENET_PROTOCOL_MAXIMUM_MTU): anything larger comes back MSG_TRUNC, -1.
      expect(after.serviceErrors - before.serviceErrors, 'serviceErrors').to.be.at.least(truncated);
      expect(server.connectionCount).to.equal(1);
    });

    it('drops a message larger than messageSize from a connected client, counts it in oversizeDropped, and keeps both connections', async () => {
      const big = createPeer({ port: server.localPort, messageSize: 8000 });
      big.connect();
      await tickUntil(() => eventsOf(big).length > 0 && serverConnections().length === 2, 2000, 'big client connects');
      const before = server.getStats();
      for (const size of [1501, 3000, 7999]) {
        const message = big.beginSendMessage();
        message.writeBytes(Buffer.alloc(size, 0x6b));
        big.endSendMessage(NetworkChannelType.Reliable, message);
      }
      const fits = big.beginSendMessage();
      fits.writeBytes(Buffer.alloc(1500, 0x6c));
      big.endSendMessage(NetworkChannelType.Reliable, fits);
      await tickUntil(() => othersMessages === 1, 2000, 'the 1,500-byte message arrives');
      for (let t = 0; t < 20; t++) await tick();
      await expectLegitimateExchangeIntact(10);
      expect(server.getStats().oversizeDropped - before.oversizeDropped, 'oversizeDropped').to.equal(3);
      expect(eventsOf(big).map((each) => each.eventType)).to.deep.equal([NetworkEventType.Connected]);
      expect(server.connectionCount).to.equal(2);
    });
  });

  describe('a connect flood', () => {
    /** Creates `count` extra netpeer clients at once and ticks until each has connected or ended. */
    async function connectExtraClients(count: number): Promise<NetworkPeer[]> {
      const extras: NetworkPeer[] = [];
      for (let i = 0; i < count; i++) {
        const extra = createPeer({ port: server.localPort });
        extra.connect();
        extras.push(extra);
      }
      const settled = (peer: NetworkPeer): boolean => {
        const events = eventsOf(peer);
        const last = events[events.length - 1];
        return last !== undefined && (last.eventType !== NetworkEventType.Connected || peer.connectionCount === 1);
      };
      await tickUntil(() => extras.every(settled), 4000, 'extra clients settle');
      // Late refusals (Connected, then ServerFull) need a moment more.
      for (let t = 0; t < 200; t++) await tick();
      return extras;
    }

    it('refuses 13 of 20 extra clients over a limit of 8 with Disconnected(ServerFull), never a timeout, and keeps the rest', async () => {
      const before = server.getStats();
      const extras = await connectExtraClients(20);
      const stillConnected = extras.filter((peer) => peer.connectionCount === 1);
      const refused = extras.filter((peer) => peer.connectionCount === 0);
      expect(stillConnected.length, 'extra clients that got the free places').to.equal(LIMIT - 1);
      expect(refused.length).to.equal(20 - (LIMIT - 1));
      for (const peer of refused) {
        const events = eventsOf(peer).map((each) => [each.eventType, each.reason]);
        expect(events[events.length - 1], 'last event of a refused client').to.deep.equal([NetworkEventType.Disconnected, DisconnectReason.ServerFull]);
        expect(events.filter(([type]) => type === NetworkEventType.Timeout)).to.deep.equal([]);
      }
      for (const peer of stillConnected) expect(eventsOf(peer).map((each) => each.eventType)).to.deep.equal([NetworkEventType.Connected]);
      await expectLegitimateExchangeIntact(50);
      expect(server.connectionCount).to.equal(LIMIT);
      expect(server.getStats().refusedConnections - before.refusedConnections, 'refusedConnections').to.be.at.least(refused.length);
    });

    // Regression (fixed in the addon): when several clients connect in the same few milliseconds at the last free
    // places, ENet completes their handshake before the server's JS sees the Connected records that reach the limit,
    // so the late ones are refused afterwards (ENetDriver.handleConnectionRecord, "lateRefusedCount"): those clients
    // see Connected, then Disconnected(ServerFull). Measured with 20 clients over a limit of 8 (7 free): 8 of the 13
    // refused clients see Connected first, on every run. ENetDriver.updateRefusal's comment promises "a refused
    // client never sees Connected". Un-skip when fixed.
    it('never shows Connected to a client it then refuses as full, when 20 connect at once', async () => {
      const extras = await connectExtraClients(20);
      const refused = extras.filter((peer) => peer.connectionCount === 0);
      const sawConnected = refused.filter((peer) => eventsOf(peer).some((each) => each.eventType === NetworkEventType.Connected));
      expect(sawConnected.length, 'refused clients that saw Connected first').to.equal(0);
    });

    it('answers raw CONNECTs from 200 sockets at the limit with DISCONNECT data 4 (ServerFull), once each', async () => {
      await connectExtraClients(LIMIT - 1);
      expect(server.connectionCount).to.equal(LIMIT);
      const before = server.getStats();
      const attackers: Socket[] = [];
      for (let i = 0; i < 200; i++) attackers.push(await udp());
      const replies = new Map<Socket, number[]>();
      for (const socket of attackers) {
        replies.set(socket, []);
        socket.on('message', (bytes: Buffer) => {
          const parsed = parseDatagram(bytes);
          for (const each of parsed?.commands ?? []) {
            if (each.number === Command.Disconnect) (replies.get(socket) as number[]).push(each.bytes.readUInt32BE(4));
          }
        });
      }
      for (let at = 0; at < attackers.length; at += 25) {
        await Promise.all(attackers.slice(at, at + 25).map((socket, i) => sendAll(socket, server.localPort, [connectDatagram({ connectId: 0x10000 + at + i, outgoingPeerId: 0 })])));
        await tick();
      }
      await tickUntil(() => attackers.every((socket) => (replies.get(socket) as number[]).length > 0), 2000, 'every raw CONNECT answered');
      for (const socket of attackers) expect(replies.get(socket), 'DISCONNECT data received by one raw client').to.deep.equal([DisconnectReason.ServerFull]);
      expect(server.getStats().refusedConnections - before.refusedConnections, 'refusedConnections').to.equal(200);
      await expectLegitimateExchangeIntact(20);
      expect(server.connectionCount).to.equal(LIMIT);
    });

    // Regression (fixed in the addon): below the limit, CONNECTs that never finish the handshake (16 datagrams from
    // 16 spoofable source ports) take every ENet peer slot (connectionsLimit 8 + headroom 8) in
    // ACKNOWLEDGING_CONNECT. The addon refuses only once JS counts connectionsLimit *open* connections, so it never
    // engages; ENet silently ignores further CONNECTs (no free peer), and the half-open slots keep ENet's default
    // timeouts (up to 30 s) because configurePeer() only runs at Connected. Measured: a netpeer client started right
    // after 200 such CONNECTs gets Timeout every 1.5 s for 30 s and connects at 30.1 s; it is never told ServerFull.
    // Un-skip when fixed.
    it('still answers a new client (Connected or ServerFull) after 200 half-open raw CONNECTs below the limit', async () => {
      const attackers: Socket[] = [];
      for (let i = 0; i < 200; i++) attackers.push(await udp());
      for (let at = 0; at < attackers.length; at += 25) {
        await Promise.all(attackers.slice(at, at + 25).map((socket, i) => sendAll(socket, server.localPort, [connectDatagram({ connectId: 0x20000 + at + i })])));
        await tick();
      }
      const late = createPeer({ port: server.localPort });
      late.connect();
      await tickUntil(() => eventsOf(late).length > 0, 5000, 'the new client hears back');
      const first = eventsOf(late)[0];
      const answer = `[eventType, reason] = [${first.eventType}, ${first.reason}]`;
      expect(first.eventType, `first event of the new client, expected Connected or Disconnected(ServerFull): ${answer}`).to.not.equal(NetworkEventType.Timeout);
      if (first.eventType === NetworkEventType.Disconnected) expect(first.reason, answer).to.equal(DisconnectReason.ServerFull);
      await expectLegitimateExchangeIntact(10);
    });
  });

  describe('a client that connects and goes silent', () => {
    const MIN_MS = 500 * 0.5;
    const MAX_MS = 1500 * 2;

    it('times out a netpeer client that stops being serviced within [timeoutMinimumMs/2, timeoutMaximumMs*2]', async () => {
      const silent = createPeer({ port: server.localPort });
      silent.connect();
      await tickUntil(() => eventsOf(silent).length > 0 && serverConnections().length === 2, 2000, 'silent client connects');
      const atServerSide = serverConnections()[1];
      // Traffic first, so the server has measured a loopback round trip.
      for (let t = 0; t < 50; t++) await tick();
      paused.add(silent);
      const silentFrom = performance.now();
      await tickUntil(() => endsAtServer(atServerSide).length > 0, 6000, 'server notices the silent client');
      const end = endsAtServer(atServerSide)[0];
      expect([end.eventType, end.reason]).to.deep.equal([NetworkEventType.Timeout, DisconnectReason.Timeout]);
      expect(end.atMs - silentFrom, 'ms from silence to Timeout').to.be.within(MIN_MS, MAX_MS);
      await expectLegitimateExchangeIntact(50);
      expect(server.connectionCount).to.equal(1);
    });

    it('times out a raw client that completed the handshake by hand and then stopped acknowledging', async () => {
      const { raw, atServer: rawAtServer } = await rawSession(0x4000);
      // It answers pings for a while, so the connection is really alive...
      for (let t = 0; t < 300 && raw.acknowledged < 3; t++) await tick();
      expect(raw.acknowledged, 'server pings the raw client acknowledged').to.be.at.least(3);
      expect(endsAtServer(rawAtServer)).to.deep.equal([]);
      // ...then vanishes.
      raw.goSilent();
      const silentFrom = performance.now();
      await tickUntil(() => endsAtServer(rawAtServer).length > 0, 6000, 'server notices the silent raw client');
      const end = endsAtServer(rawAtServer)[0];
      expect([end.eventType, end.reason]).to.deep.equal([NetworkEventType.Timeout, DisconnectReason.Timeout]);
      expect(end.atMs - silentFrom, 'ms from silence to Timeout').to.be.within(MIN_MS, MAX_MS);
      await expectLegitimateExchangeIntact(50);
    });
  });

  describe('a CONNECT sent to a client\'s own port', () => {
    // Regression (fixed in the addon): a netpeer client's ENet host (ENetDriver.connect -> openHost('', 0, 1, ...))
    // is a bound host that accepts incoming connections like a server. Between two connections of the same client
    // (after a Disconnected or Timeout, before the game calls connect() again) one CONNECT datagram from anyone takes
    // its only peer slot (ACKNOWLEDGING_CONNECT, ENet's default timeouts: up to 30 s), the client answers the
    // stranger with VERIFY_CONNECT (and resends it: 6 replies seen for 1 request), and connect() throws NetworkError
    // NO_FREE_CONNECTION ("no free ENet peer slot"). Un-skip when fixed (e.g. a client host drops every CONNECT in
    // the addon's intercept hook).
    it('neither answers a stranger\'s CONNECT nor loses the slot a client reconnects with', async () => {
      const roamer = createPeer({ port: server.localPort });
      roamer.connect();
      await tickUntil(() => eventsOf(roamer).length === 1, 2000, 'roamer connects');
      roamer.disconnect();
      await tickUntil(() => eventsOf(roamer).length === 2, 2000, 'roamer disconnects');
      const stranger = await udp();
      const answers: number[] = [];
      stranger.on('message', (bytes: Buffer) => {
        for (const each of parseDatagram(bytes)?.commands ?? []) answers.push(each.number);
      });
      await sendAll(stranger, roamer.localPort, [connectDatagram({ connectId: 77 })]);
      for (let t = 0; t < 50; t++) await tick();
      expect(() => roamer.connect(), 'connect() after a stranger\'s CONNECT').to.not.throw();
      await tickUntil(() => eventsOf(roamer).length === 3, 3000, 'roamer reconnects');
      expect(eventsOf(roamer).map((each) => each.eventType)).to.deep.equal([NetworkEventType.Connected, NetworkEventType.Disconnected, NetworkEventType.Connected]);
      expect(answers, 'commands the client sent to the stranger').to.deep.equal([]);
      await expectLegitimateExchangeIntact(10);
    });
  });

  describe('a server busy enough to read its socket ahead', () => {
    // A host that reads 64 datagrams or more in one service() call reads its socket in recvmmsg() batches from then on
    // (receive-batch.h, Linux): what it holds must be screened and counted as what recvmsg() reads is.
    it('still drops zero-length and oversized datagrams in a burst and counts them, the legitimate exchange intact', async function () {
      // Windows has no socket hook: an empty datagram ends ENet's pass there, uncounted.
      if (process.platform === 'win32') this.skip();
      const socket = await udp();
      await sendAll(socket, server.localPort, Array<Buffer>(120).fill(Buffer.alloc(1, 0x5a)));
      await tick();
      await tick();
      const before = server.getStats();
      const burst: Buffer[] = [];
      let empty = 0;
      let oversize = 0;
      for (let i = 0; i < 45; i++) {
        if (i % 3 === 0) {
          burst.push(Buffer.alloc(0));
          empty++;
        } else if (i % 3 === 1 && oversize < 10) {
          burst.push(randomBytes(5000)); // larger than ENet's 4,096-byte buffer: truncated
          oversize++;
        } else {
          burst.push(randomBytes(1 + int(40)));
        }
      }
      await sendAll(socket, server.localPort, burst);
      for (let t = 0; t < 60; t++) await tick();
      await expectLegitimateExchangeIntact(50);
      const after = server.getStats();
      expect(after.serviceErrors - before.serviceErrors, 'truncated datagrams in serviceErrors').to.be.at.least(oversize);
      expect(after.malformedDropped - before.malformedDropped, 'empty datagrams in malformedDropped').to.be.at.least(empty);
      expect(server.connectionCount).to.equal(1);
    });
  });

  describe('a flood of zero-length datagrams', () => {
    /** Ticks at a game's 60 Hz for `ms`, sending `perTick` datagrams of `size` bytes each tick. */
    async function floodAtGameRate(size: number, perTick: number, ms: number): Promise<number> {
      const socket = await udp();
      const datagram = Buffer.alloc(size, 0x5a);
      const started = performance.now();
      let maxLag = 0;
      while (performance.now() - started < ms && endsAtServer(legitAtServer).length === 0) {
        await sendAll(socket, server.localPort, Array<Buffer>(perTick).fill(datagram));
        sendLegit();
        drain();
        maxLag = Math.max(maxLag, sent - atServer.length);
        await sleep(16);
      }
      return maxLag;
    }

    it('keeps serving the client at 60 Hz ticks while ten 1-byte datagrams arrive per tick (control)', async () => {
      const maxLag = await floodAtGameRate(1, 10, 2500);
      await expectLegitimateExchangeIntact(50);
      expect(maxLag, 'most legitimate messages unanswered at once').to.be.at.most(3);
    });

    // Regression (fixed in the addon): a zero-length UDP datagram stops the server's receive pass. zpl enet.c's
    // enet_socket_receive() returns 0 for it, which enet_protocol_receive_incoming_commands() takes as "socket
    // empty", so enet_host_service() returns 0, HostWrap::JS_service stops its loop on 0 and ENetDriver.service()
    // stops on `written <= 0`: each service() consumes at most one empty datagram and nothing behind it. Measured at
    // 60 Hz ticks with 10 empty datagrams per tick (~600/s, zero payload bytes): the server reads the legitimate
    // client ever later, both sides time out within ~2-3 s (no traffic but pings needed), while the same flood of
    // 1-byte datagrams (above) changes nothing. A client is hit the same way if its port is known. Un-skip when fixed
    // (e.g. skip zero-length datagrams in netpeer_impaired_recvmsg, or keep reading after a 0 result).
    it('keeps serving the client at 60 Hz ticks while ten zero-length datagrams arrive per tick', async () => {
      const maxLag = await floodAtGameRate(0, 10, 2500);
      await expectLegitimateExchangeIntact(50);
      expect(maxLag, 'most legitimate messages unanswered at once').to.be.at.most(3);
    });
  });
});
