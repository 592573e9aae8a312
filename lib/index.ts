// Peer
export { NetworkPeer } from './network-peer';
export { DEFAULT_CONFIG, MAX_POOL_BYTES, resolveConfig } from './network-config';
export type { NetworkConfig, NetworkDriverName, ResolvedNetworkConfig } from './network-config';

// Events and connections
export { NetworkEvent, NetworkEventType, DisconnectReason } from './network-event';
export { NetworkConnection, NO_CONNECTION } from './network-connection';

// Messages and channels
export { NetworkMessage } from './network-message';
export type { FloatList } from './network-message';
export { MessagePool } from './message-pool';
export { NetworkChannelType } from './network-channel-type';

// Statistics
export { NetworkStats, RATE_WINDOW_MS } from './network-stats';

// Errors
export { NetworkError, NetworkErrorCode, isNetworkError } from './errors';
export type { NetworkErrorOptions } from './errors';

// Drivers
export type { NetworkDriver, DriverSink } from './drivers/network-driver';
export { ENetDriver } from './drivers/enet-driver';
export { LocalDriver } from './drivers/local-driver';
export type { LocalDriverOptions } from './drivers/local-driver';
export { LocalNetwork } from './drivers/local-network';
export { SimulatedDriver } from './drivers/simulated-driver';
export type { DatagramImpairable, SimulationCounters } from './drivers/simulated-driver';
export type { LinkConditions, SimulationOptions } from './drivers/link-conditions';
export type { OutgoingMessage } from './drivers/network-driver';

// Time
export { ManualClock, systemClock } from './clock';
export type { Clock } from './clock';
