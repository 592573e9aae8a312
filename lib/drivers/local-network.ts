import { isIP } from 'node:net';
import { NetworkError, NetworkErrorCode } from '../errors';

/** What the hub needs of a listening endpoint. */
export interface LocalListener {
  /** Takes a connection request numbered `requestId` (see {@link LocalNetwork.takeRequest}). */
  receiveConnectRequest(requestId: number): void;
}

/** A pending connection request: who asks, and under which of its own connection ids. */
export interface LocalConnectRequest {
  readonly client: object;
  readonly clientConnectionId: number;
  /** Delivers the server's answer: accepted as `serverConnectionId` on `server`, or refused for `reason`. */
  readonly accept: (server: object, serverConnectionId: number) => void;
  readonly refuse: (reason: number) => void;
}

interface Binding {
  readonly host: string;
  readonly listener: LocalListener;
}

const WILDCARD = '*';
const FIRST_EPHEMERAL_PORT = 49152;

/**
 * The in-process "network" that local endpoints find each other through, by address and port. One shared instance
 * serves a whole process (so two peers created independently can meet), and specs may make their own.
 */
export class LocalNetwork {
  /** The process-wide network that drivers use unless given another. */
  static readonly shared = new LocalNetwork();

  private readonly bindings = new Map<number, Binding[]>();
  private readonly requests = new Map<number, LocalConnectRequest>();
  private nextRequestId = 1;
  private nextEphemeralPort = FIRST_EPHEMERAL_PORT;

  /**
   * Binds `listener` to `address`:`port` (port 0 picks a free one).
   * @returns the bound port
   * @throws NetworkError `HOST_CREATE_FAILED` when the address and port are taken, `ADDRESS_INVALID` for a bad address
   */
  bind(listener: LocalListener, address: string, port: number): number {
    const host = normalizeHost(address);
    const chosen = port === 0 ? this.pickFreePort(host) : port;
    const bound = this.bindings.get(chosen) ?? [];
    if (bound.some((each) => each.host === host || each.host === WILDCARD || host === WILDCARD)) {
      throw new NetworkError(NetworkErrorCode.HostCreateFailed, `Address ${address}:${chosen} is already in use by another local peer`);
    }
    bound.push({ host, listener });
    this.bindings.set(chosen, bound);
    return chosen;
  }

  /** Removes every binding of `listener`. */
  unbind(listener: LocalListener): void {
    for (const [port, bound] of this.bindings) {
      const kept = bound.filter((each) => each.listener !== listener);
      if (kept.length === 0) this.bindings.delete(port);
      else this.bindings.set(port, kept);
    }
  }

  /** A port number for a client endpoint, as an OS would give an unbound socket. */
  allocateEphemeralPort(): number {
    return this.pickFreePort(WILDCARD);
  }

  /**
   * Sends a connection request to whoever listens on `address`:`port`.
   * @returns false when nobody listens there (the caller times out, as over a real network)
   * @throws NetworkError `ADDRESS_INVALID` for a bad address
   */
  requestConnection(address: string, port: number, request: LocalConnectRequest): boolean {
    const host = normalizeHost(address);
    if (host === WILDCARD) throw new NetworkError(NetworkErrorCode.AddressInvalid, `Cannot connect to the wildcard address ${address}`);
    const binding = this.bindings.get(port)?.find((each) => each.host === host || each.host === WILDCARD);
    if (binding === undefined) return false;
    const requestId = this.nextRequestId++;
    this.requests.set(requestId, request);
    binding.listener.receiveConnectRequest(requestId);
    return true;
  }

  /** Removes and returns a pending request, or `undefined` if it was withdrawn. */
  takeRequest(requestId: number): LocalConnectRequest | undefined {
    const request = this.requests.get(requestId);
    this.requests.delete(requestId);
    return request;
  }

  /** Withdraws every pending request made by `client`. */
  withdrawRequests(client: object): void {
    for (const [requestId, request] of this.requests) if (request.client === client) this.requests.delete(requestId);
  }

  private pickFreePort(host: string): number {
    for (let tries = 0; tries < 16384; tries++) {
      const port = this.nextEphemeralPort;
      this.nextEphemeralPort = port === 65535 ? FIRST_EPHEMERAL_PORT : port + 1;
      const bound = this.bindings.get(port);
      if (bound === undefined || !bound.some((each) => each.host === host || each.host === WILDCARD || host === WILDCARD)) return port;
    }
    throw new NetworkError(NetworkErrorCode.HostCreateFailed, 'No free local port is left');
  }
}

/** Maps an address to the host key bindings use: `'*'` for all interfaces, otherwise a normalized literal. */
function normalizeHost(address: string): string {
  if (address === 'any' || address === '0.0.0.0' || address === '::') return WILDCARD;
  if (address === 'localhost') return '127.0.0.1';
  const family = isIP(address);
  if (family === 4) return address;
  if (family === 6) return address.toLowerCase();
  throw new NetworkError(
    NetworkErrorCode.AddressInvalid,
    `Expected an IP literal, 'localhost' or 'any' for the local driver, got ${JSON.stringify(address)}`,
  );
}
