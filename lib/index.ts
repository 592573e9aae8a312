// Value exports are `export import` aliases, which compile to plain data properties of `exports`. A re-export
// (`export { X } from './x'`) compiles to a getter defined over a data property, which turns the exports object into a
// slow-mode one: each read of `NetworkEventType.Message` through it cost about 8-10 ns more here, and a game loop reads
// two or three per message (bench/export-access.bench.ts).

// Peer
import * as networkPeerModule from './network-peer';
export import NetworkPeer = networkPeerModule.NetworkPeer;
import * as networkConfigModule from './network-config';
export import DEFAULT_CONFIG = networkConfigModule.DEFAULT_CONFIG;
export import MAX_POOL_BYTES = networkConfigModule.MAX_POOL_BYTES;
export import resolveConfig = networkConfigModule.resolveConfig;
export type { NetworkConfig, NetworkDriverName, ResolvedNetworkConfig } from './network-config';

// Events and connections
import * as networkEventModule from './network-event';
export import NetworkEvent = networkEventModule.NetworkEvent;
export import NetworkEventType = networkEventModule.NetworkEventType;
export import DisconnectReason = networkEventModule.DisconnectReason;
import * as networkConnectionModule from './network-connection';
export import NetworkConnection = networkConnectionModule.NetworkConnection;
export import NO_CONNECTION = networkConnectionModule.NO_CONNECTION;

// Messages and channels
import * as networkMessageModule from './network-message';
export import NetworkMessage = networkMessageModule.NetworkMessage;
export type { FloatList } from './network-message';
import * as messagePoolModule from './message-pool';
export import MessagePool = messagePoolModule.MessagePool;
import * as networkChannelTypeModule from './network-channel-type';
export import NetworkChannelType = networkChannelTypeModule.NetworkChannelType;

// Statistics
import * as networkStatsModule from './network-stats';
export import NetworkStats = networkStatsModule.NetworkStats;
export import RATE_WINDOW_MS = networkStatsModule.RATE_WINDOW_MS;

// Errors
import * as errorsModule from './errors';
export import NetworkError = errorsModule.NetworkError;
export import NetworkErrorCode = errorsModule.NetworkErrorCode;
export import isNetworkError = errorsModule.isNetworkError;
export type { NetworkErrorOptions } from './errors';

// Drivers
export type { NetworkDriver, DriverSink } from './drivers/network-driver';
import * as driversEnetDriverModule from './drivers/enet-driver';
export import ENetDriver = driversEnetDriverModule.ENetDriver;
import * as driversLocalDriverModule from './drivers/local-driver';
export import LocalDriver = driversLocalDriverModule.LocalDriver;
export type { LocalDriverOptions } from './drivers/local-driver';
import * as driversLocalNetworkModule from './drivers/local-network';
export import LocalNetwork = driversLocalNetworkModule.LocalNetwork;
import * as driversSimulatedDriverModule from './drivers/simulated-driver';
export import SimulatedDriver = driversSimulatedDriverModule.SimulatedDriver;
export type { DatagramImpairable, SimulationCounters } from './drivers/simulated-driver';
export type { LinkConditions, SimulationOptions } from './drivers/link-conditions';
export type { OutgoingMessage } from './drivers/network-driver';

// Time
import * as clockModule from './clock';
export import ManualClock = clockModule.ManualClock;
export import systemClock = clockModule.systemClock;
export type { Clock } from './clock';
