import { expect } from 'chai';
import { DEFAULT_CONFIG, LocalDriver, resolveConfig, type NetworkConfig } from '../lib';

describe('resolveConfig()', () => {
  it('fills every default from DESIGN (ENet driver, 32 connections, 2048 x 1500-byte messages, 127.0.0.1:7777)', () => {
    const config = resolveConfig();
    expect(config).to.deep.equal(DEFAULT_CONFIG);
    expect(config.driver).to.equal('enet');
    expect(config.connectionsLimit).to.equal(32);
    expect(config.messagePoolSize).to.equal(2048);
    expect(config.messageSize).to.equal(1500);
    expect(config.address).to.equal('127.0.0.1');
    expect(config.port).to.equal(7777);
    expect([config.pingIntervalMs, config.timeoutLimit, config.timeoutMinimumMs, config.timeoutMaximumMs]).to.deep.equal([500, 32, 5000, 30000]);
  });

  it('keeps given values and accepts a driver instance', () => {
    const driver = new LocalDriver();
    const config = resolveConfig({ driver, connectionsLimit: 4095, messagePoolSize: 129, messageSize: 33, address: '::1', port: 0, channelCount: 1 });
    expect(config.driver).to.equal(driver);
    expect([config.connectionsLimit, config.messagePoolSize, config.messageSize, config.address, config.port, config.channelCount]).to.deep.equal([4095, 129, 33, '::1', 0, 1]);
  });

  const outOfRange: Array<[keyof NetworkConfig, unknown, RegExp]> = [
    ['connectionsLimit', 0, /"connectionsLimit".*from 1 to 4095/],
    ['connectionsLimit', 4096, /"connectionsLimit".*from 1 to 4095/],
    ['connectionsLimit', 1.5, /"connectionsLimit"/],
    ['messagePoolSize', 128, /"messagePoolSize".*from 129/],
    ['messageSize', 32, /"messageSize".*from 33/],
    ['port', 65536, /"port".*from 0 to 65535/],
    ['port', -1, /"port"/],
    ['timeoutMinimumMs', 0, /"timeoutMinimumMs"/],
    ['channelCount', 2, /"channelCount".*1 or 4/],
    ['address', '', /"address"/],
    ['socketReceiveBufferBytes', 4095, /"socketReceiveBufferBytes".*from 4096 to 268435456/],
    ['socketReceiveBufferBytes', 268_435_457, /"socketReceiveBufferBytes"/],
  ];
  for (const [option, value, message] of outOfRange) {
    it(`throws a RangeError naming "${option}" for ${JSON.stringify(value)}`, () => {
      expect(() => resolveConfig({ [option]: value } as NetworkConfig)).to.throw(RangeError, message);
    });
  }

  const wrongType: Array<[keyof NetworkConfig, unknown]> = [
    ['connectionsLimit', '32'],
    ['port', null],
    ['messageSize', Number.NaN],
    ['address', 127001],
    ['driver', 'webrtc'],
    ['driver', {}],
    ['channelCount', '4'],
  ];
  for (const [option, value] of wrongType) {
    it(`throws a TypeError naming "${option}" for ${String(value)}`, () => {
      expect(() => resolveConfig({ [option]: value } as unknown as NetworkConfig)).to.throw(TypeError, new RegExp(`"${option}"`));
    });
  }

  it('throws a TypeError for an unknown option, so a typo is not silently ignored', () => {
    expect(() => resolveConfig({ conectionsLimit: 3 } as unknown as NetworkConfig)).to.throw(TypeError, /conectionsLimit/);
  });

  it('throws a RangeError when timeoutMaximumMs is below timeoutMinimumMs', () => {
    expect(() => resolveConfig({ timeoutMinimumMs: 2000, timeoutMaximumMs: 1000 })).to.throw(RangeError, /timeoutMaximumMs/);
  });

  it('throws a RangeError when the pool would exceed 1 GiB', () => {
    expect(() => resolveConfig({ messagePoolSize: 1_048_576, messageSize: 2048 })).to.throw(RangeError, /messagePoolSize.*messageSize/);
  });
});
