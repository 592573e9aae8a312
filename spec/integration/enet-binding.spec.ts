import { expect } from 'chai';
import { isNetworkError, NetworkEvent, NetworkEventType, NetworkPeer } from '../../lib';
import { LAYOUT_VERSION, MIRRORED_CONSTANTS, loadNativeBinding, setNativeBinding, type NativeModule } from '../../lib/drivers/enet-binding';

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

