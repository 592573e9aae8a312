import { expect } from 'chai';
import { NetworkStats } from '../lib';
import { RateMeter } from '../lib/network-stats';

describe('RateMeter', () => {
  it('reports per-second rates over the last window of at least one second', () => {
    const meter = new RateMeter();
    const stats = new NetworkStats();
    meter.update(1, stats, 0);
    stats.bytesSent = 3000;
    stats.messagesReceived = 50;
    meter.update(1, stats, 500);
    expect(stats.bytesSentPerSecond, 'no complete window yet').to.equal(0);
    stats.bytesSent = 4000;
    stats.messagesReceived = 100;
    meter.update(1, stats, 2000);
    expect(stats.bytesSentPerSecond).to.equal(2000);
    expect(stats.messagesReceivedPerSecond).to.equal(50);
    meter.update(1, stats, 2100);
    expect(stats.bytesSentPerSecond, 'polling inside a window repeats the last rate').to.equal(2000);
  });

  it('keeps one window per connection', () => {
    const meter = new RateMeter();
    const a = new NetworkStats();
    const b = new NetworkStats();
    meter.update(1, a, 0);
    meter.update(2, b, 0);
    a.messagesSent = 10;
    meter.update(1, a, 1000);
    meter.update(2, b, 1000);
    expect([a.messagesSentPerSecond, b.messagesSentPerSecond]).to.deep.equal([10, 0]);
  });
});

describe('NetworkStats', () => {
  it('clears every figure to 0', () => {
    const stats = new NetworkStats();
    const figures = stats as unknown as Record<string, number>;
    for (const key of Object.keys(stats)) figures[key] = 1;
    stats.clear();
    expect(Object.values(stats).every((v) => v === 0)).to.equal(true);
  });
});
