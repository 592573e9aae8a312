import type { NetworkDriver } from './drivers/network-driver';

/** A driver given by name in {@link NetworkConfig.driver}. */
export type NetworkDriverName = 'enet' | 'local';

/**
 * How a peer is built. Every field is optional; {@link DEFAULT_CONFIG} holds the defaults. Bad values throw a
 * `TypeError` (wrong type, unknown option) or `RangeError` (out of range) that names the option and its range.
 */
export interface NetworkConfig {
  /** The transport: a driver instance (owned by the peer from then on) or a name. Default: `'enet'`. */
  driver?: NetworkDriver | NetworkDriverName;
  /** Most connections a server accepts; one more is refused with reason `ServerFull`. 1..4095. Default: 32. */
  connectionsLimit?: number;
  /** Messages in the pool shared by sending and receiving. 129..1,048,576. Default: 2048. */
  messagePoolSize?: number;
  /** Bytes per pooled message, the largest message that can be sent or received. 33..16,777,216. Default: 1500. */
  messageSize?: number;
  /** Address to listen on (server) or connect to (client): an IPv4/IPv6 literal, a host name, or `'any'` (all interfaces). Default: `'127.0.0.1'`. */
  address?: string;
  /** UDP port to listen on or connect to; 0 on a server lets the OS pick (read it back from `peer.localPort`). 0..65535. Default: 7777. */
  port?: number;
  /** ENet channels requested per connection: 4 (one per channel type) or 1 (everything on channel 0, as a Flax peer does). Default: 4. */
  channelCount?: 1 | 4;
  /** Interval between keep-alive pings on an idle connection, in milliseconds. 10..60,000. Default: 500 (ENet's). */
  pingIntervalMs?: number;
  /** Unacknowledged retries before a connection may time out (ENet's timeout limit). 1..1,024. Default: 32 (ENet's). */
  timeoutLimit?: number;
  /** A silent connection is never declared lost before this many milliseconds. 10..3,600,000. Default: 5000 (ENet's). */
  timeoutMinimumMs?: number;
  /** A silent connection is always declared lost after this many milliseconds; >= `timeoutMinimumMs`. 10..3,600,000. Default: 30000 (ENet's). */
  timeoutMaximumMs?: number;
  /**
   * Most bytes queued for one connection and not yet delivered (not yet acknowledged, on ENet); a send over it throws
   * `SEND_QUEUE_FULL`, so a peer sending faster than the link carries cannot grow memory without bound.
   * 1,024..1,073,741,824. Default: 524,288 (512 KiB).
   */
  sendQueueLimitBytes?: number;
  /**
   * Size asked for the UDP socket's receive buffer (`SO_RCVBUF`; ENet drivers only), in bytes. Datagrams that arrive
   * while it is full are dropped by the kernel and resent by ENet, so a server with many clients that reads its
   * socket once per tick wants more than ENet's default. The kernel caps it at `net.core.rmem_max` on Linux.
   * 4,096..268,435,456. Default: 262,144 (256 KiB, ENet's).
   */
  socketReceiveBufferBytes?: number;
}

/** A {@link NetworkConfig} with every field present and checked. */
export type ResolvedNetworkConfig = Required<NetworkConfig>;

/** The defaults of every {@link NetworkConfig} field. */
export const DEFAULT_CONFIG: Readonly<ResolvedNetworkConfig> = Object.freeze({
  driver: 'enet',
  connectionsLimit: 32,
  messagePoolSize: 2048,
  messageSize: 1500,
  address: '127.0.0.1',
  port: 7777,
  channelCount: 4,
  pingIntervalMs: 500,
  timeoutLimit: 32,
  timeoutMinimumMs: 5000,
  timeoutMaximumMs: 30000,
  sendQueueLimitBytes: 512 * 1024,
  socketReceiveBufferBytes: 256 * 1024,
} as const);

/** Largest pool a peer may allocate, in bytes (`messagePoolSize * messageSize`). */
export const MAX_POOL_BYTES = 1024 * 1024 * 1024;

const INTEGER_RANGES: ReadonlyArray<readonly [keyof NetworkConfig, number, number]> = [
  ['connectionsLimit', 1, 4095],
  ['messagePoolSize', 129, 1_048_576],
  ['messageSize', 33, 16_777_216],
  ['port', 0, 65535],
  ['pingIntervalMs', 10, 60_000],
  ['timeoutLimit', 1, 1024],
  ['timeoutMinimumMs', 10, 3_600_000],
  ['timeoutMaximumMs', 10, 3_600_000],
  ['sendQueueLimitBytes', 1024, 1024 * 1024 * 1024],
  ['socketReceiveBufferBytes', 4096, 256 * 1024 * 1024],
];

const KNOWN_OPTIONS = new Set<string>(Object.keys(DEFAULT_CONFIG));

/**
 * Fills defaults and checks every option.
 * @throws TypeError for an unknown option or a value of the wrong type
 * @throws RangeError for a value outside its range
 */
export function resolveConfig(config: NetworkConfig = {}): ResolvedNetworkConfig {
  if (config === null || typeof config !== 'object') {
    throw new TypeError(`Expected config to be an object, got ${config === null ? 'null' : typeof config}`);
  }
  for (const key of Object.keys(config)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new TypeError(`Expected no option "${key}": NetworkConfig has ${[...KNOWN_OPTIONS].join(', ')}`);
    }
  }
  const resolved = { ...DEFAULT_CONFIG };
  for (const [key, value] of Object.entries(config)) {
    if (value !== undefined) (resolved as Record<string, unknown>)[key] = value;
  }

  for (const [name, min, max] of INTEGER_RANGES) {
    const value = resolved[name];
    if (typeof value !== 'number' || Number.isNaN(value)) {
      throw new TypeError(`Expected the "${name}" option to be an integer from ${min} to ${max}, got ${describe(value)}`);
    }
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`Expected the "${name}" option to be an integer from ${min} to ${max}, got ${value}`);
    }
  }
  if (resolved.timeoutMaximumMs < resolved.timeoutMinimumMs) {
    throw new RangeError(
      `Expected the "timeoutMaximumMs" option (${resolved.timeoutMaximumMs}) to be at least "timeoutMinimumMs" (${resolved.timeoutMinimumMs})`,
    );
  }
  if (resolved.messagePoolSize * resolved.messageSize > MAX_POOL_BYTES) {
    throw new RangeError(
      `Expected "messagePoolSize" x "messageSize" to be at most ${MAX_POOL_BYTES} bytes, got ${resolved.messagePoolSize} x ${resolved.messageSize}`,
    );
  }
  if (resolved.channelCount !== 1 && resolved.channelCount !== 4) {
    const err = typeof resolved.channelCount === 'number' ? RangeError : TypeError;
    throw new err(`Expected the "channelCount" option to be 1 or 4, got ${describe(resolved.channelCount)}`);
  }
  if (typeof resolved.address !== 'string') {
    throw new TypeError(`Expected the "address" option to be a string (an IP literal, a host name or 'any'), got ${describe(resolved.address)}`);
  }
  if (resolved.address.length === 0 || resolved.address.length > 255) {
    throw new RangeError(`Expected the "address" option to be 1 to 255 characters long, got ${resolved.address.length}`);
  }
  const driver = resolved.driver;
  if (driver !== 'enet' && driver !== 'local' && !isDriverLike(driver)) {
    throw new TypeError(`Expected the "driver" option to be 'enet', 'local' or a NetworkDriver instance, got ${describe(driver)}`);
  }
  return resolved;
}

function isDriverLike(value: unknown): value is NetworkDriver {
  if (value === null || typeof value !== 'object') return false;
  const candidate = value as Record<string, unknown>;
  return ['initialize', 'dispose', 'listen', 'connect', 'disconnect', 'service', 'send', 'flush'].every(
    (method) => typeof candidate[method] === 'function',
  );
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
