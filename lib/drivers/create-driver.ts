import type { NetworkDriverName } from '../network-config';
import { LocalDriver } from './local-driver';
import type { NetworkDriver } from './network-driver';

/** Turns the `driver` option into a driver instance. The ENet driver (and its addon) loads only when asked for. */
export function createDriver(driver: NetworkDriver | NetworkDriverName): NetworkDriver {
  if (driver === 'local') return new LocalDriver();
  if (driver === 'enet') {
    // Loaded on demand so that a peer on another driver never needs the native addon.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { ENetDriver } = require('./enet-driver') as { ENetDriver: new () => NetworkDriver };
    return new ENetDriver();
  }
  return driver;
}
