import type { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';

/**
 * A small typed wrapper over the npm package `enet` 0.2.9: stock ENet 1.3.5 compiled to JavaScript with emscripten,
 * used by the interop specs as "somebody else's ENet". The package ships no types, so the parts we call are declared
 * here.
 *
 * Pumping: the package normally services a host from its own `setInterval` (started by `host.start()`, or by the
 * first `host.connect()`). The specs turn that off and call {@link StockEnetHost.service} once per pump tick
 * instead, so the stock side's events only happen inside the spec's bounded loop, interleaved with netpeer's
 * `popEvent()` in a fixed order. Received datagrams still arrive through Node's event loop (the package backs its
 * socket with a `dgram` socket), which the pump's sleep between ticks lets run.
 */

/** `enet.PACKET_FLAG` of ENet 1.3.5 (the same values as `PacketFlag` in lib/drivers/enet-binding.ts). */
export const StockPacketFlag = { Reliable: 1, Unsequenced: 2, UnreliableFragment: 8 } as const;

interface RawPacket {
  data(): Buffer;
  flags(): number;
}

interface RawPeer extends EventEmitter {
  send(channel: number, packet: RawPacket): boolean;
  disconnect(data?: number): RawPeer;
  disconnectLater(data?: number): RawPeer;
  disconnectNow(data?: number): RawPeer;
}

interface RawHost extends EventEmitter {
  connect(address: { address: string; port: number }, channelCount: number, data: number): RawPeer | undefined;
  address(): AddressInfo | undefined;
  destroy(): void;
  flush(): void;
  firstStart(): void;
  _service(): void;
}

interface RawHostOptions {
  address?: { address: string; port: number };
  peers: number;
  channels: number;
}

interface RawEnetModule {
  createServer(options: RawHostOptions, callback: (err: Error | undefined, host: RawHost) => void): RawHost | undefined;
  createClient(options: RawHostOptions, callback?: (err: Error | undefined, host: RawHost) => void): RawHost | undefined;
  Packet: new (bytes: Buffer, flags: number) => RawPacket;
}

const enet = require('enet') as RawEnetModule;

/** One packet a stock peer received: the ENet channel, the flags ENet 1.3.5 gave the packet, and a copy of the bytes. */
export interface StockPacket {
  readonly channel: number;
  readonly flags: number;
  readonly bytes: Buffer;
}

/** One connection of a {@link StockEnetHost}, incoming or outgoing. */
export class StockEnetPeer {
  /** True from the ENet connect event until the disconnect event. */
  isConnected = false;
  /** The `data` of an incoming connect (what the remote passed to `enet_host_connect`); undefined for outgoing ones. */
  connectData: number | undefined = undefined;
  /** The `data` of the disconnect event, once it happened. */
  disconnectData: number | undefined = undefined;
  /** Every packet received from the remote side, in the order ENet delivered them. */
  readonly received: StockPacket[] = [];

  constructor(private readonly raw: RawPeer, connected: boolean) {
    this.isConnected = connected;
    raw.on('connect', () => {
      this.isConnected = true;
    });
    raw.on('message', (packet: RawPacket, channel: number) => {
      // The package destroys the packet when the handler returns: copy now.
      this.received.push({ channel, flags: packet.flags(), bytes: Buffer.from(packet.data()) });
    });
    raw.on('disconnect', (data: number | undefined) => {
      this.isConnected = false;
      this.disconnectData = data ?? 0;
    });
  }

  /** True once the disconnect event happened. */
  get isDisconnected(): boolean {
    return this.disconnectData !== undefined;
  }

  /**
   * Queues `bytes` as one ENet packet with `flags` on `channel`; it goes out on the next {@link StockEnetHost.service}.
   * @throws Error if ENet 1.3.5 refuses it (not connected, or a channel beyond the negotiated count)
   */
  send(channel: number, bytes: Buffer, flags: number): void {
    if (this.raw.send(channel, new enet.Packet(bytes, flags))) {
      throw new Error(`stock ENet refused a ${bytes.length}-byte packet on channel ${channel} with flags ${flags}`);
    }
  }

  /**
   * `enet_peer_disconnect`: ENet 1.3.5 first drops every packet still queued on the peer (`enet_peer_reset_queues`),
   * then sends the disconnect command with `data` and waits for its acknowledgement.
   */
  disconnect(data = 0): void {
    this.raw.disconnect(data);
  }

  /** `enet_peer_disconnect_later`: the disconnect command with `data` goes out once the queued packets are sent. */
  disconnectLater(data = 0): void {
    this.raw.disconnectLater(data);
  }

  /**
   * `enet_peer_disconnect_now`: sends an unsequenced disconnect with `data` at once and resets the peer (the
   * disconnect event fires here, synchronously). Keep the host alive for a tick afterwards: the package's socket
   * sends asynchronously, and destroying the host right away loses the datagram.
   */
  disconnectNow(data = 0): void {
    this.raw.disconnectNow(data);
  }
}

/** A stock ENet 1.3.5 host, serviced by hand. Always {@link destroy} it, or its UDP socket keeps mocha alive. */
export class StockEnetHost {
  /** Peers in the order they were connected to or from. */
  readonly peers: StockEnetPeer[] = [];
  private isDestroyed = false;

  private constructor(private readonly raw: RawHost) {
    // No interval of its own: the spec services the host once per tick.
    raw.firstStart = () => undefined;
    raw.on('connect', (peer: RawPeer, data: number | undefined, outgoing: boolean) => {
      if (outgoing) return;
      const incoming = new StockEnetPeer(peer, true);
      incoming.connectData = data;
      this.peers.push(incoming);
    });
  }

  /** A server bound to `127.0.0.1` on a port the OS picks (see {@link port}), allowing `channels` channels. */
  static createServer(options: { channels: number; peers?: number }): Promise<StockEnetHost> {
    return new Promise((resolve, reject) => {
      const raw = enet.createServer(
        { address: { address: '127.0.0.1', port: 0 }, peers: options.peers ?? 8, channels: options.channels },
        (err, host) => (err !== undefined ? reject(err) : resolve(new StockEnetHost(host))),
      );
      if (raw === undefined) reject(new Error('stock ENet could not create a server host'));
    });
  }

  /** A client host with room for one outgoing connection. */
  static createClient(options: { channels: number }): StockEnetHost {
    const raw = enet.createClient({ peers: 1, channels: options.channels });
    if (raw === undefined) throw new Error('stock ENet could not create a client host');
    return new StockEnetHost(raw);
  }

  /** The UDP port of a server host. */
  get port(): number {
    return this.raw.address()?.port ?? 0;
  }

  /** Starts connecting to `127.0.0.1:port`, asking for `channelCount` channels. */
  connect(port: number, channelCount: number, data = 0): StockEnetPeer {
    const raw = this.raw.connect({ address: '127.0.0.1', port }, channelCount, data);
    if (raw === undefined) throw new Error('stock ENet has no free peer to connect with');
    const peer = new StockEnetPeer(raw, false);
    this.peers.push(peer);
    return peer;
  }

  /** One `enet_host_service(host, event, 0)` loop: sends what is queued, handles what arrived, emits events. */
  service(): void {
    if (!this.isDestroyed) this.raw._service();
  }

  /** Resets every peer (ENet's disconnect-now), destroys the host and closes its socket. Safe to call twice. */
  destroy(): void {
    if (this.isDestroyed) return;
    this.isDestroyed = true;
    this.raw.destroy();
  }
}
