import { join } from 'node:path';
import { NetworkError, NetworkErrorCode } from '../errors';

/**
 * The ENet host object of the native addon (native-bindings/src/enet-host.cc). Mechanism only: it takes and
 * returns numbers and JS-owned buffers; every policy decision is made in enet-driver.ts. Negative returns are the
 * `NativeStatus` codes below.
 * @internal
 */
export interface NativeHost {
  open(address: string, port: number, peerLimit: number, channelLimit: number, mtu: number, maxPacketBytes?: number): number;
  localPort(): number;
  connect(address: string, port: number, channelCount: number, data: number): number;
  configurePeer(handle: number, pingIntervalMs: number, timeoutLimit: number, timeoutMinimumMs: number, timeoutMaximumMs: number): number;
  disconnect(handle: number, data: number, mode: number): number;
  service(out: Uint8Array, maxPayload: number, timeoutMs: number): number;
  serviceHeld(maxPayload: number, maxHeldBytes: number): number;
  send(batch: Uint8Array, length: number): number;
  flush(): void;
  peerStats(handle: number, out: Float64Array): number;
  hostStats(out: Float64Array): number;
  resetPeer(handle: number): number;
  setConnectionLimit(limit: number, refuseData: number, silent?: boolean): number;
  setPeerDefaults(pingIntervalMs: number, timeoutLimit: number, timeoutMinimumMs: number, timeoutMaximumMs: number): number;
  setImpairment(direction: number, latencyMs: number, jitterMs: number, lossRate: number, duplicateRate: number, reorderRate: number, bandwidthBytesPerSec: number, seed: number): number;
  impairmentStats(out: Float64Array): number;
  close(notifyData?: number): void;
  /**
   * Hands over the driver's receive, send and deferred batch buffers once (again after they grow); the module's
   * `serviceBound`/`sendBound` then use them. Returns the host id for those calls (> 0), or a status.
   */
  bindBuffers(receive: Uint8Array, send: Uint8Array, deferred: Uint8Array): number;
  /** Asks for a socket receive buffer of `bytes` (SO_RCVBUF); returns the size the kernel granted, or a status. */
  setReceiveBuffer(bytes: number): number;
}

/** The addon's exports. @internal */
export interface NativeModule {
  readonly Host: new () => NativeHost;
  readonly layoutVersion: number;
  /** `Host#service()` into the bound receive buffer, the host by id: only numbers cross, the cheap call. */
  readonly serviceBound: (hostId: number, maxPayload: number, timeoutMs: number) => number;
  /** `Host#send()` of the bound send batch, then of the deferred one, then `flush()` if `flush` is 1, in one call. */
  readonly sendBound: (hostId: number, sendLength: number, deferredLength: number, flush: number) => number;
  readonly [constant: string]: unknown;
}

/** Record layout version this file is written for; the addon must report the same. @internal */
export const LAYOUT_VERSION = 2;

/** Event record types written by `NativeHost.service()`. Mirrors native-bindings/src/event-records.h. @internal */
export const NativeEvent = { Connect: 1, Disconnect: 2, DisconnectTimeout: 3, Receive: 4 } as const;

/** Negative status codes of native calls. Mirrors native-bindings/src/event-records.h. @internal */
export const NativeStatus = { Resolve: -2, HostCreate: -3, NoPeer: -4, State: -5, BadPeer: -6, BadBatch: -7, Range: -8, Unsupported: -9 } as const;

/** ENet packet flags (enet.h). @internal */
export const PacketFlag = { Reliable: 1, Unsequenced: 2, UnreliableFragment: 8 } as const;

/** `disconnect()` modes. @internal */
export const DisconnectMode = { Graceful: 0, Now: 1, Later: 2 } as const;

/** Bytes of a `service()` record header and of a `send()` record header. @internal */
export const RECORD_HEADER_BYTES = 16;
/** @internal */
export const SEND_HEADER_BYTES = 12;
/** Entries `hostStats()` and `peerStats()` fill. @internal */
export const HOST_STATS_LENGTH = 15;
/** @internal */
export const PEER_STATS_LENGTH = 12;
/** Entries `impairmentStats()` fills: five counters per direction. @internal */
export const IMPAIRMENT_STATS_LENGTH = 10;

/** The names whose values the addon exports and this file mirrors; a spec asserts they match. @internal */
export const MIRRORED_CONSTANTS: Readonly<Record<string, number>> = Object.freeze({
  EVENT_CONNECT: NativeEvent.Connect,
  EVENT_DISCONNECT: NativeEvent.Disconnect,
  EVENT_DISCONNECT_TIMEOUT: NativeEvent.DisconnectTimeout,
  EVENT_RECEIVE: NativeEvent.Receive,
  ERR_RESOLVE: NativeStatus.Resolve,
  ERR_HOST_CREATE: NativeStatus.HostCreate,
  ERR_NO_PEER: NativeStatus.NoPeer,
  ERR_STATE: NativeStatus.State,
  ERR_BAD_PEER: NativeStatus.BadPeer,
  ERR_BAD_BATCH: NativeStatus.BadBatch,
  ERR_RANGE: NativeStatus.Range,
  ERR_UNSUPPORTED: NativeStatus.Unsupported,
  PACKET_FLAG_RELIABLE: PacketFlag.Reliable,
  PACKET_FLAG_UNSEQUENCED: PacketFlag.Unsequenced,
  PACKET_FLAG_UNRELIABLE_FRAGMENT: PacketFlag.UnreliableFragment,
  RECORD_HEADER_BYTES,
  SEND_HEADER_BYTES,
  HOST_STATS_LENGTH,
  PEER_STATS_LENGTH,
  IMPAIRMENT_STATS_LENGTH,
});

/** Where the addon is built by `npm install`. */
export const DEFAULT_ADDON_PATH = join(__dirname, '..', '..', 'native-bindings', 'build', 'Release', 'netpeer_enet.node');

let loaded: NativeModule | undefined;
let injected: NativeModule | string | undefined;

/**
 * Replaces the addon that ENet drivers load: a path to a `.node` file, or an object with the same shape (for
 * specs). Pass `undefined` to go back to the default. Affects drivers initialized afterwards.
 */
export function setNativeBinding(binding: NativeModule | string | undefined): void {
  injected = binding;
  loaded = undefined;
}

/**
 * The ENet addon, loaded once.
 * @throws NetworkError `NATIVE_UNAVAILABLE` when it is not built or does not match this version of the library
 */
export function loadNativeBinding(): NativeModule {
  if (loaded !== undefined) return loaded;
  const source = injected ?? DEFAULT_ADDON_PATH;
  let binding: NativeModule;
  if (typeof source === 'string') {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      binding = require(source) as NativeModule;
    } catch (cause) {
      throw new NetworkError(
        NetworkErrorCode.NativeUnavailable,
        `The ENet addon could not be loaded from ${source}: run "npm install" (it needs g++, make and python3), or use driver: 'local'`,
        { cause },
      );
    }
  } else {
    binding = source;
  }
  if (binding.layoutVersion !== LAYOUT_VERSION) {
    throw new NetworkError(
      NetworkErrorCode.NativeUnavailable,
      `The ENet addon has record layout ${String(binding.layoutVersion)}, this library expects ${LAYOUT_VERSION}: rebuild it with "npm rebuild netpeer"`,
    );
  }
  loaded = binding;
  return binding;
}
