import { expect } from 'chai';
import { isNetworkError, NetworkEvent, NetworkEventType, NetworkPeer } from '../../lib';
import { HOST_STATS_LENGTH, LAYOUT_VERSION, MIRRORED_CONSTANTS, loadNativeBinding, setNativeBinding, type NativeModule } from '../../lib/drivers/enet-binding';

describe('enet-binding', () => {
  afterEach(() => setNativeBinding(undefined));

  it('loads the addon built by npm install, with the record layout this library reads', () => {
    expect(loadNativeBinding().layoutVersion).to.equal(LAYOUT_VERSION);
  });

  it('mirrors every numeric constant of native-bindings/src/event-records.h', () => {
    const binding = loadNativeBinding();
    for (const [name, value] of Object.entries(MIRRORED_CONSTANTS)) {
      expect(binding[name], name).to.equal(value);
    }
  });

  it('throws a NetworkError NATIVE_UNAVAILABLE naming the fix when the addon is missing', () => {
    setNativeBinding('/nonexistent/netpeer_enet.node');
    expect(() => NetworkPeer.createPeer({ driver: 'enet' }))
      .to.throw(/npm install/)
      .that.satisfies((e: unknown) => isNetworkError(e, 'NATIVE_UNAVAILABLE'));
  });

  it('refuses an addon with another record layout instead of misreading its records', () => {
    const stale = { ...loadNativeBinding(), layoutVersion: LAYOUT_VERSION + 1 } as NativeModule;
    setNativeBinding(stale);
    expect(() => NetworkPeer.createPeer({ driver: 'enet' })).to.throw(/record layout/);
  });
});

describe('enet-binding fast calls (bindBuffers, serviceBound, sendBound)', () => {
  const ERR_STATE = -5;
  const ERR_BAD_BATCH = -7;

  function openHost(): { binding: NativeModule; host: InstanceType<NativeModule['Host']> } {
    const binding = loadNativeBinding();
    const host = new binding.Host();
    expect(host.open('127.0.0.1', 0, 1, 4, 0, 1200)).to.be.at.least(0);
    return { binding, host };
  }

  it('binds only an open host, and gives each host its own id', () => {
    const binding = loadNativeBinding();
    const closed = new binding.Host();
    expect(closed.bindBuffers(new Uint8Array(64), new Uint8Array(64), new Uint8Array(64))).to.equal(ERR_STATE);
    const a = openHost();
    const b = openHost();
    try {
      const idA = a.host.bindBuffers(new Uint8Array(1024), new Uint8Array(64), new Uint8Array(64));
      const idB = b.host.bindBuffers(new Uint8Array(1024), new Uint8Array(64), new Uint8Array(64));
      expect(idA).to.be.above(0);
      expect(idB).to.be.above(0).and.not.equal(idA);
      // Binding again (the driver does when its batches grow) keeps the id.
      expect(a.host.bindBuffers(new Uint8Array(2048), new Uint8Array(128), new Uint8Array(128))).to.equal(idA);
      expect(a.binding.serviceBound(idA, 1200, 0)).to.equal(0);
    } finally {
      a.host.close();
      b.host.close();
    }
  });

  it('answers ERR_STATE for an unknown id and after close, and never reuses an id', () => {
    const { binding, host } = openHost();
    const id = host.bindBuffers(new Uint8Array(1024), new Uint8Array(64), new Uint8Array(64));
    expect(binding.serviceBound(0, 1200, 0)).to.equal(ERR_STATE);
    expect(binding.serviceBound(1e9, 1200, 0)).to.equal(ERR_STATE);
    expect(binding.sendBound(-1, 0, 0, 1)).to.equal(ERR_STATE);
    host.close();
    expect(binding.serviceBound(id, 1200, 0)).to.equal(ERR_STATE);
    expect(binding.sendBound(id, 0, 0, 1)).to.equal(ERR_STATE);
    const next = openHost();
    try {
      expect(next.host.bindBuffers(new Uint8Array(64), new Uint8Array(64), new Uint8Array(64))).to.be.above(id);
    } finally {
      next.host.close();
    }
  });

  it('throws a TypeError for arguments that are not numbers', () => {
    const { binding, host } = openHost();
    try {
      const id = host.bindBuffers(new Uint8Array(1024), new Uint8Array(64), new Uint8Array(64));
      const loose = binding as unknown as { serviceBound: (...args: unknown[]) => number; sendBound: (...args: unknown[]) => number };
      expect(() => loose.serviceBound(String(id), 1200, 0)).to.throw(TypeError);
      expect(() => loose.serviceBound(id, 1200)).to.throw(TypeError);
      expect(() => loose.sendBound(id, 0, 0)).to.throw(TypeError);
      expect(() => (host as unknown as { bindBuffers: (...args: unknown[]) => number }).bindBuffers([], new Uint8Array(1), new Uint8Array(1))).to.throw(TypeError);
    } finally {
      host.close();
    }
  });

  it('rejects a batch length past the bound buffer with ERR_BAD_BATCH, sending nothing', () => {
    const { binding, host } = openHost();
    try {
      const id = host.bindBuffers(new Uint8Array(1024), new Uint8Array(64), new Uint8Array(64));
      expect(binding.sendBound(id, 65, 0, 0)).to.equal(ERR_BAD_BATCH);
      expect(binding.sendBound(id, 0, 68, 0)).to.equal(ERR_BAD_BATCH);
      expect(binding.sendBound(id, 3.5, 0, 0)).to.equal(ERR_BAD_BATCH);
      expect(binding.sendBound(id, 0, 0, 1)).to.equal(0);
    } finally {
      host.close();
    }
  });

  it('refuses to touch a bound buffer that was transferred away (detached) instead of writing to freed memory', () => {
    const { binding, host } = openHost();
    try {
      const receive = new Uint8Array(1024);
      const send = new Uint8Array(64);
      const id = host.bindBuffers(receive, send, new Uint8Array(64));
      structuredClone(receive.buffer, { transfer: [receive.buffer] });
      structuredClone(send.buffer, { transfer: [send.buffer] });
      expect(receive.byteLength).to.equal(0);
      expect(binding.serviceBound(id, 1200, 0)).to.equal(ERR_STATE);
      expect(binding.sendBound(id, 12, 0, 0)).to.equal(ERR_STATE);
    } finally {
      host.close();
    }
  });
});

describe('enet-binding setReceiveBuffer', () => {
  it('sets the socket receive buffer of an open host and reports what the kernel granted', () => {
    const binding = loadNativeBinding();
    const closed = new binding.Host();
    expect(closed.setReceiveBuffer(65536)).to.equal(-5);
    const host = new binding.Host();
    expect(host.open('127.0.0.1', 0, 1, 4, 0, 1200)).to.be.at.least(0);
    try {
      expect(host.setReceiveBuffer(0)).to.equal(-8);
      expect(host.setReceiveBuffer(1.5)).to.equal(-8);
      // Linux doubles the figure for its bookkeeping; other systems report it as asked.
      expect(host.setReceiveBuffer(65536)).to.be.at.least(65536);
    } finally {
      host.close();
    }
  });

  it('lets a peer ask for a larger buffer through socketReceiveBufferBytes and still connect', async () => {
    const server = NetworkPeer.createPeer({ driver: 'enet', address: '127.0.0.1', port: 0, socketReceiveBufferBytes: 1024 * 1024 });
    let client: NetworkPeer | undefined;
    try {
      server.listen();
      client = NetworkPeer.createPeer({ driver: 'enet', address: '127.0.0.1', port: server.localPort, socketReceiveBufferBytes: 65536 });
      client.connect();
      const event = new NetworkEvent();
      let connected = false;
      for (let i = 0; i < 2000 && !connected; i++) {
        while (server.popEvent(event)) {
          if (event.message !== null) server.recycleMessage(event.message);
        }
        while (client.popEvent(event)) connected ||= event.eventType === NetworkEventType.Connected;
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      expect(connected).to.equal(true);
    } finally {
      if (client !== undefined) NetworkPeer.shutdownPeer(client);
      NetworkPeer.shutdownPeer(server);
    }
  });
});


describe('enet-binding service pass (acknowledgements wait for the next send)', () => {
  type Side = { host: InstanceType<NativeModule['Host']>; id: number; receive: Uint8Array; send: Uint8Array };
  const binding = (): NativeModule => loadNativeBinding();
  const sides: Side[] = [];
  const busyWait = (ms: number): void => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      // spin: these checks are about what one native call returns, so no event loop turn may run in between
    }
  };
  const open = (peers: number): Side => {
    const host = new (binding().Host)();
    expect(host.open('127.0.0.1', 0, peers, 4, 0, 1200)).to.be.at.least(0);
    const receive = new Uint8Array(1 << 20);
    const send = new Uint8Array(1 << 16);
    const side = { host, id: host.bindBuffers(receive, send, new Uint8Array(1024)), receive, send };
    sides.push(side);
    return side;
  };
  /** One service() call; the record types it returned, as letters (C connect, D disconnect, T timeout, R receive). */
  const service = (side: Side): string => {
    const written = binding().serviceBound(side.id, 1200, 0);
    const view = new DataView(side.receive.buffer);
    let types = '';
    for (let at = 0; at < written; at = (at + 16 + view.getUint32(at + 12, true) + 3) & ~3) types += '?CDTR'[side.receive[at]];
    return types;
  };
  /** `count` 8-byte messages to `handle` on channel 0 with `flags`, then a flush, in one call. */
  const sendMessages = (side: Side, handle: number, count: number, flags: number): void => {
    const view = new DataView(side.send.buffer);
    let at = 0;
    for (let i = 0; i < count; i++, at += 24) {
      view.setUint32(at, 8, true);
      view.setUint16(at + 4, 1, true);
      side.send[at + 6] = 0;
      view.setUint32(at + 8, flags, true);
      view.setUint32(at + 12, handle, true);
    }
    expect(binding().sendBound(side.id, at, 0, 1)).to.equal(count);
  };
  const connect = (server: Side): { side: Side; handle: number } => {
    const side = open(1);
    const handle = side.host.connect('127.0.0.1', server.host.localPort(), 4, 0);
    expect(handle).to.be.at.least(0);
    return { side, handle };
  };

  /** A client connected to `server`, both serviced for a few rounds so the handshake is over. */
  const connectAndSettle = (server: Side): { side: Side; handle: number } => {
    const client = connect(server);
    for (let i = 0; i < 20; i++) {
      service(client.side);
      service(server);
      busyWait(2);
    }
    return client;
  };

  afterEach(() => {
    for (const side of sides.splice(0)) side.host.close();
  });

  it('reads on past the 256 datagrams this ENet reads per receive: 300 arrive from one call', () => {
    const server = open(4);
    const client = connectAndSettle(server);
    for (let i = 0; i < 300; i++) sendMessages(client.side, client.handle, 1, 2); // unsequenced: one datagram each
    busyWait(20);
    expect(service(server)).to.equal('R'.repeat(300));
  });

  /** hostStats() of `side`: [2] datagrams sent, [3] received, [13] sent in sendmmsg() batches, [14] read ahead. */
  const hostStats = (side: Side): Float64Array => {
    const out = new Float64Array(HOST_STATS_LENGTH);
    expect(side.host.hostStats(out)).to.equal(0);
    return out;
  };

  it('sends every datagram of a pass or a flush in sendmmsg() batches (Linux)', function () {
    if (process.platform !== 'linux') this.skip();
    const server = open(4);
    const client = connectAndSettle(server);
    const before = hostStats(client.side);
    for (let i = 0; i < 50; i++) sendMessages(client.side, client.handle, 1, 2);
    service(client.side);
    const after = hostStats(client.side);
    expect(after[2] - before[2], 'datagrams sent').to.be.at.least(50);
    expect(after[13] - before[13], 'datagrams sent in batches').to.equal(after[2] - before[2]);
  });

  it('reads a busy host\'s socket ahead with recvmmsg() once one call has read 64 datagrams (Linux)', function () {
    if (process.platform !== 'linux') this.skip();
    const server = open(4);
    const client = connectAndSettle(server);
    const burst = (count: number): void => {
      for (let i = 0; i < count; i++) sendMessages(client.side, client.handle, 1, 2); // unsequenced: one datagram each
      busyWait(20);
    };
    burst(30);
    expect(service(server)).to.equal('R'.repeat(30));
    expect(hostStats(server)[14], 'read ahead by a host that read 30 at most').to.equal(0);
    burst(100);
    expect(service(server)).to.equal('R'.repeat(100));
    burst(50);
    const before = hostStats(server);
    expect(service(server)).to.equal('R'.repeat(50));
    const after = hostStats(server);
    expect(after[14] - before[14], 'datagrams read ahead').to.equal(after[3] - before[3]);
    expect(after[3] - before[3]).to.be.at.least(50);
  });

  it('goes on receiving after a connection completes in the middle of a receive', () => {
    const server = open(8);
    const a = connect(server);
    for (let i = 0; i < 20; i++) {
      service(a.side);
      service(server);
      busyWait(2);
    }
    const b = connect(server);
    service(b.side);
    busyWait(5);
    // The server takes B's CONNECT; with no event to hand out, its VERIFY_CONNECT leaves before the call returns.
    expect(service(server)).to.equal('');
    busyWait(5);
    // B acknowledges it (and sends that at its next call); the server's Connect event comes with that datagram.
    expect(service(b.side) + service(b.side)).to.equal('C');
    busyWait(5);
    sendMessages(a.side, a.handle, 5, 1); // then five reliable messages from A
    busyWait(10);
    expect(service(server)).to.equal('CRRRRR');
  });

  it('acknowledges a small batch at the next send, and a batch filling an eighth of the receive buffer at once', () => {
    const server = open(4); // receive buffer 1 MiB: at once from 128 KiB of records
    const client = connectAndSettle(server);
    const figures = new Float64Array(12);
    const inTransit = (): number => {
      service(client.side); // takes in whatever acknowledgements arrived
      expect(client.side.host.peerStats(client.handle, figures)).to.equal(0);
      return figures[6]; // reliable bytes sent and not yet acknowledged
    };
    // Two messages: their acknowledgement waits in the server's queue for its next send.
    sendMessages(client.side, client.handle, 2, 1);
    busyWait(10);
    expect(service(server)).to.equal('RR');
    busyWait(10);
    expect(inTransit()).to.be.above(0);
    service(server); // its send
    busyWait(10);
    expect(inTransit()).to.equal(0);
    // 6,000 messages of 8 bytes make 144,000 bytes of records: acknowledged before the call returns.
    for (let sent = 0; sent < 6000; sent += 1000) {
      sendMessages(client.side, client.handle, 1000, 1);
      busyWait(5);
      service(client.side);
    }
    busyWait(20);
    let received = '';
    for (let call = 0; call < 10 && received.length < 6000; call++) received += service(server);
    expect(received).to.equal('R'.repeat(6000));
    busyWait(10);
    expect(inTransit()).to.equal(0);
  });

  it('rejects a negative or fractional wait and a fractional host id', () => {
    const side = open(1);
    expect(binding().serviceBound(side.id, 1200, -1)).to.equal(-8);
    expect(binding().serviceBound(side.id, 1200, 0.5)).to.equal(-8);
    expect(binding().serviceBound(side.id + 0.5, 1200, 0)).to.equal(-5);
  });
});
