import { expect } from 'chai';
import { isNetworkError, NetworkPeer } from '../../lib';
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
