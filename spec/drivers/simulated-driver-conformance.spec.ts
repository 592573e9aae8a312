import { LocalDriver, SimulatedDriver } from '../../lib';
import { describeDriverConformance } from '../helpers/driver-conformance';

// Every guarantee must hold through impairments that the channel types allow: latency, jitter, reordering and
// duplication (discarded), with no loss so that the "at least one unreliable message arrives" checks stay exact.
describeDriverConformance({
  title: 'SimulatedDriver over LocalDriver (5 ms ± 3 ms, 20% reordered, 20% duplicated)',
  makeDriver: () => new SimulatedDriver(new LocalDriver(), { seed: 7, latencyMs: 5, jitterMs: 3, reorderRate: 0.2, duplicateRate: 0.2 }),
  address: '127.0.0.1',
  tickMs: 1,
});
