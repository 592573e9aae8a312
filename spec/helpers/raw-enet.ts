import { createSocket, type Socket } from 'node:dgram';

/**
 * Hand-made ENet datagrams for the hostile-input specs: a header, any command with any body, and a raw client that
 * completes the stock handshake (CONNECT, VERIFY_CONNECT, ACKNOWLEDGE) from a plain `dgram` socket, so crafted
 * commands reach the command parser of a real, connected ENet peer instead of being dropped at the peer lookup.
 *
 * Layout (zpl-c enet.c 2.1.2, node_modules/enet.c/include/enet.h, all big-endian, structs packed):
 *   header  = u16 peerID (0x8000 SENT_TIME, 0x4000 COMPRESSED, 0x3000 session, 0x0FFF peer id), [u16 sentTime]
 *   command = u8 command|flags (0x80 ACKNOWLEDGE, 0x40 UNSEQUENCED), u8 channelID, u16 reliableSequenceNumber, body
 * `ENetProtocolConnect` is 48 bytes *including* its 4-byte command header (the addon static_asserts it), so a CONNECT
 * datagram is 4 + 48 = 52 bytes.
 */

/** ENet command numbers (`ENET_PROTOCOL_COMMAND_*`). */
export const Command = {
  None: 0,
  Acknowledge: 1,
  Connect: 2,
  VerifyConnect: 3,
  Disconnect: 4,
  Ping: 5,
  SendReliable: 6,
  SendUnreliable: 7,
  SendFragment: 8,
  SendUnsequenced: 9,
  BandwidthLimit: 10,
  ThrottleConfigure: 11,
  SendUnreliableFragment: 12,
} as const;

export const FLAG_ACKNOWLEDGE = 0x80;
export const FLAG_UNSEQUENCED = 0x40;
export const HEADER_SENT_TIME = 0x8000;
export const HEADER_COMPRESSED = 0x4000;
export const NO_PEER_ID = 0x0fff;

/** Size of each command including its 4-byte command header, by command number (`commandSizes` in enet.h). */
export const COMMAND_BYTES: readonly number[] = [0, 8, 48, 44, 8, 4, 6, 8, 24, 8, 12, 16, 24];

/** A protocol header: peer id, session bits and, unless `sentTime` is undefined, the SENT_TIME field. */
export function header(peerId: number, session = 0, sentTime: number | undefined = 0, flags = 0): Buffer {
  const out = Buffer.alloc(sentTime === undefined ? 2 : 4);
  out.writeUInt16BE(((peerId & 0x0fff) | ((session & 3) << 12) | flags | (sentTime === undefined ? 0 : HEADER_SENT_TIME)) & 0xffff, 0);
  if (sentTime !== undefined) out.writeUInt16BE(sentTime & 0xffff, 2);
  return out;
}

/** A command: the 4-byte command header followed by `body` as given (nothing is checked). */
export function command(commandByte: number, channelId: number, reliableSequence: number, body: Uint8Array = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(4 + body.length);
  out[0] = commandByte & 0xff;
  out[1] = channelId & 0xff;
  out.writeUInt16BE(reliableSequence & 0xffff, 2);
  out.set(body, 4);
  return out;
}

/** Fields of a CONNECT; defaults are what a stock ENet client with default settings sends. */
export interface ConnectFields {
  outgoingPeerId?: number;
  incomingSessionId?: number;
  outgoingSessionId?: number;
  mtu?: number;
  windowSize?: number;
  channelCount?: number;
  connectId?: number;
  data?: number;
}

/** A CONNECT command (48 bytes, ACKNOWLEDGE flag, channel 0xFF, reliable sequence 1). */
export function connectCommand(fields: ConnectFields = {}): Buffer {
  const body = Buffer.alloc(44);
  body.writeUInt16BE(fields.outgoingPeerId ?? 0, 0);
  body[2] = fields.incomingSessionId ?? 0xff;
  body[3] = fields.outgoingSessionId ?? 0xff;
  body.writeUInt32BE(fields.mtu ?? 1392, 4);
  body.writeUInt32BE(fields.windowSize ?? 65536, 8);
  body.writeUInt32BE(fields.channelCount ?? 4, 12);
  body.writeUInt32BE(0, 16); // incomingBandwidth: unlimited
  body.writeUInt32BE(0, 20); // outgoingBandwidth: unlimited
  body.writeUInt32BE(5000, 24); // packetThrottleInterval (ENET_PEER_PACKET_THROTTLE_INTERVAL)
  body.writeUInt32BE(2, 28); // packetThrottleAcceleration
  body.writeUInt32BE(2, 32); // packetThrottleDeceleration
  body.writeUInt32BE((fields.connectId ?? 1) >>> 0, 36);
  body.writeUInt32BE((fields.data ?? 0) >>> 0, 40);
  return command(Command.Connect | FLAG_ACKNOWLEDGE, 0xff, 1, body);
}

/** A whole CONNECT datagram as a stock client sends it: no peer id yet, SENT_TIME set, one CONNECT command. */
export function connectDatagram(fields: ConnectFields = {}, sentTime = 0): Buffer {
  return Buffer.concat([header(NO_PEER_ID, 0, sentTime), connectCommand(fields)]);
}

/** An ACKNOWLEDGE of reliable command `sequence` on `channelId`, sent in a datagram stamped `sentTime`. */
export function acknowledgeCommand(channelId: number, sequence: number, sentTime: number): Buffer {
  const body = Buffer.alloc(4);
  body.writeUInt16BE(sequence & 0xffff, 0);
  body.writeUInt16BE(sentTime & 0xffff, 2);
  return command(Command.Acknowledge, channelId, sequence, body);
}

/** A SEND_FRAGMENT command with every field given (the payload bytes follow the 24-byte command). */
export function fragmentCommand(
  fields: { channelId: number; reliableSequence: number; startSequence: number; fragmentCount: number; fragmentNumber: number; totalLength: number; fragmentOffset: number },
  payload: Uint8Array,
  dataLength = payload.length,
  commandNumber: number = Command.SendFragment,
): Buffer {
  const body = Buffer.alloc(20);
  body.writeUInt16BE(fields.startSequence & 0xffff, 0);
  body.writeUInt16BE(dataLength & 0xffff, 2);
  body.writeUInt32BE(fields.fragmentCount >>> 0, 4);
  body.writeUInt32BE(fields.fragmentNumber >>> 0, 8);
  body.writeUInt32BE(fields.totalLength >>> 0, 12);
  body.writeUInt32BE(fields.fragmentOffset >>> 0, 16);
  const flags = commandNumber === Command.SendFragment ? FLAG_ACKNOWLEDGE : 0;
  return Buffer.concat([command(commandNumber | flags, fields.channelId, fields.reliableSequence, body), payload]);
}

/** One parsed command of a received datagram. */
export interface ParsedCommand {
  readonly number: number;
  readonly flags: number;
  readonly channelId: number;
  readonly reliableSequence: number;
  /** The command bytes, header included (payload of SEND_* excluded). */
  readonly bytes: Buffer;
}

/** One parsed datagram. */
export interface ParsedDatagram {
  readonly peerId: number;
  readonly session: number;
  readonly sentTime: number | undefined;
  readonly commands: ParsedCommand[];
}

/** Parses a datagram ENet sent; stops at the first command it cannot size. */
export function parseDatagram(bytes: Buffer): ParsedDatagram | undefined {
  if (bytes.length < 2) return undefined;
  const field = bytes.readUInt16BE(0);
  const hasSentTime = (field & HEADER_SENT_TIME) !== 0;
  let at = hasSentTime ? 4 : 2;
  if (bytes.length < at) return undefined;
  const commands: ParsedCommand[] = [];
  while (at + 4 <= bytes.length) {
    const number = bytes[at] & 0x0f;
    const size = COMMAND_BYTES[number] ?? 0;
    if (size === 0 || at + size > bytes.length) break;
    const parsed: ParsedCommand = {
      number,
      flags: bytes[at] & 0xf0,
      channelId: bytes[at + 1],
      reliableSequence: bytes.readUInt16BE(at + 2),
      bytes: bytes.subarray(at, at + size),
    };
    commands.push(parsed);
    at += size;
    // SEND_* commands carry dataLength payload bytes after the command.
    if (number === Command.SendReliable) at += bytes.readUInt16BE(at - 2);
    else if (number === Command.SendUnreliable || number === Command.SendUnsequenced) at += bytes.readUInt16BE(at - 2);
    else if (number === Command.SendFragment || number === Command.SendUnreliableFragment) at += parsed.bytes.readUInt16BE(6);
  }
  return { peerId: field & 0x0fff, session: (field >> 12) & 3, sentTime: hasSentTime ? bytes.readUInt16BE(2) : undefined, commands };
}

/** Binds a UDP socket on 127.0.0.1 with an OS-picked port. */
export async function bindUdp(): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // A server answering after the socket closed must not crash the spec.
  socket.on('error', () => undefined);
  return socket;
}

/** Sends `datagrams` to 127.0.0.1:`port` and resolves once every send completed (errors are counted, not thrown). */
export function sendAll(socket: Socket, port: number, datagrams: readonly Uint8Array[]): Promise<number> {
  let pending = datagrams.length;
  let failed = 0;
  if (pending === 0) return Promise.resolve(0);
  return new Promise((resolve) => {
    for (const datagram of datagrams) {
      socket.send(datagram, port, '127.0.0.1', (error) => {
        if (error) failed++;
        if (--pending === 0) resolve(failed);
      });
    }
  });
}

/** Closes a socket; closing one twice is fine. */
export function closeQuietly(socket: Socket): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}

/**
 * A client that speaks just enough ENet by hand: it sends a CONNECT, acknowledges the server's VERIFY_CONNECT (so
 * the server sees a real connection from this socket's address and port) and then acknowledges every reliable
 * command the server sends (pings included) until {@link RawEnetClient.goSilent} is called. Everything else it
 * sends is whatever the spec crafts, stamped with a correct header by {@link RawEnetClient.sendCommands}.
 */
export class RawEnetClient {
  /** The server's peer index for this client, from VERIFY_CONNECT; set once connected. */
  serverPeerId = -1;
  /** Session bits the server expects in our headers (VERIFY_CONNECT's outgoingSessionID). */
  session = 0;
  /** Datagrams received from the server. */
  received = 0;
  /** DISCONNECT commands received from the server, with their data. */
  readonly disconnects: number[] = [];
  /** Reliable commands acknowledged so far. */
  acknowledged = 0;
  isSilent = false;
  private constructor(readonly socket: Socket, readonly port: number, readonly connectId: number) {
    socket.on('message', (bytes) => this.onDatagram(bytes));
  }

  /** A bound raw client aimed at 127.0.0.1:`port`; call {@link RawEnetClient.sendConnect} to start the handshake. */
  static async open(port: number, connectId: number): Promise<RawEnetClient> {
    return new RawEnetClient(await bindUdp(), port, connectId);
  }

  get isConnected(): boolean {
    return this.serverPeerId >= 0;
  }

  /** Local UDP port of this client. */
  get localPort(): number {
    return this.socket.address().port;
  }

  /** Sends (or resends) the CONNECT. */
  sendConnect(fields: ConnectFields = {}): Promise<number> {
    return sendAll(this.socket, this.port, [connectDatagram({ connectId: this.connectId, ...fields }, Date.now())]);
  }

  /** Sends one datagram made of a correct header for this connection and `commands`, as given. */
  sendCommands(commands: readonly Uint8Array[], headerFlags = 0): Promise<number> {
    return sendAll(this.socket, this.port, [this.datagram(commands, headerFlags)]);
  }

  /** One datagram: a correct header for this connection, then `commands` as given. */
  datagram(commands: readonly Uint8Array[], headerFlags = 0): Buffer {
    return Buffer.concat([header(this.serverPeerId, this.session, Date.now(), headerFlags), ...commands]);
  }

  /** Sends a clean DISCONNECT (unacknowledged, as enet_peer_disconnect_now does). */
  sendDisconnect(data = 0): Promise<number> {
    const body = Buffer.alloc(4);
    body.writeUInt32BE(data >>> 0, 0);
    return this.sendCommands([command(Command.Disconnect | FLAG_UNSEQUENCED, 0xff, 0, body)]);
  }

  /** Stops acknowledging anything: to the server this client has vanished. */
  goSilent(): void {
    this.isSilent = true;
  }

  close(): void {
    this.socket.removeAllListeners('message');
    closeQuietly(this.socket);
  }

  private onDatagram(bytes: Buffer): void {
    this.received++;
    const parsed = parseDatagram(bytes);
    if (parsed === undefined) return;
    const acks: Buffer[] = [];
    for (const each of parsed.commands) {
      if (each.number === Command.VerifyConnect && this.serverPeerId < 0) {
        this.serverPeerId = each.bytes.readUInt16BE(4);
        this.session = each.bytes[7] & 3;
      }
      if (each.number === Command.Disconnect) this.disconnects.push(each.bytes.readUInt32BE(4));
      if ((each.flags & FLAG_ACKNOWLEDGE) !== 0 && parsed.sentTime !== undefined) {
        acks.push(acknowledgeCommand(each.channelId, each.reliableSequence, parsed.sentTime));
      }
    }
    if (acks.length === 0 || this.isSilent || this.serverPeerId < 0) return;
    this.acknowledged += acks.length;
    this.socket.send(this.datagram(acks), this.port, '127.0.0.1', () => undefined);
  }
}
