/**
 * Stable codes carried by {@link NetworkError}. Each is documented in the README's "Error codes" section; code
 * values never change between releases, so callers may switch on them.
 */
export const NetworkErrorCode = {
  /** The message pool has no free slot: recycle received messages, or raise `messagePoolSize`. */
  PoolExhausted: 'POOL_EXHAUSTED',
  /** A message is larger than its channel or the driver can carry. */
  MessageTooLarge: 'MESSAGE_TOO_LARGE',
  /** The per-connection send queue is full: the link cannot carry what is being sent. */
  SendQueueFull: 'SEND_QUEUE_FULL',
  /** The driver could not create its host or socket (for example the address is in use). */
  HostCreateFailed: 'HOST_CREATE_FAILED',
  /** The address could not be parsed or resolved. */
  AddressInvalid: 'ADDRESS_INVALID',
  /** The driver has no free slot for another outgoing connection. */
  NoFreeConnection: 'NO_FREE_CONNECTION',
  /** The native ENet addon could not be loaded (not built, or built for another platform). */
  NativeUnavailable: 'NATIVE_UNAVAILABLE',
  /** The driver reported a failure it has no more specific code for. */
  DriverFailure: 'DRIVER_FAILURE',
} as const;

/** One of the string values of {@link NetworkErrorCode}. */
export type NetworkErrorCode = (typeof NetworkErrorCode)[keyof typeof NetworkErrorCode];

/** Options for {@link NetworkError}. */
export interface NetworkErrorOptions {
  /** The underlying error, when this one wraps another. */
  cause?: unknown;
}

/**
 * An engine failure (as opposed to misuse, which throws `TypeError`/`RangeError`). Switch on `code`, not on the
 * message text.
 */
export class NetworkError extends Error {
  /** The stable code of this failure. */
  readonly code: NetworkErrorCode;

  /**
   * @param code - one of {@link NetworkErrorCode}
   * @param message - a sentence for humans; say how to fix it where there is a fix
   */
  constructor(code: NetworkErrorCode, message: string, options?: NetworkErrorOptions) {
    super(message);
    this.name = 'NetworkError';
    this.code = code;
    if (options && 'cause' in options) {
      Object.defineProperty(this, 'cause', { value: options.cause, writable: true, configurable: true });
    }
    Error.captureStackTrace?.(this, NetworkError);
  }
}

/** True when `value` is a {@link NetworkError}, optionally with the given code. */
export function isNetworkError(value: unknown, code?: NetworkErrorCode): value is NetworkError {
  return value instanceof NetworkError && (code === undefined || value.code === code);
}
