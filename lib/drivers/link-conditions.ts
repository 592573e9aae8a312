/** Impairments of one direction of a simulated link. Every field is optional and 0 (off) by default. */
export interface LinkConditions {
  /** Delay added to every message or datagram, in milliseconds. 0..60,000. */
  latencyMs?: number;
  /** Random extra delay, uniform in ±`jitterMs` (never below zero total delay), in milliseconds. 0..60,000. */
  jitterMs?: number;
  /** Share of unreliable messages (datagrams, on ENet) dropped. 0..1. */
  lossRate?: number;
  /** Share of unreliable messages (datagrams, on ENet) delivered twice. 0..1. */
  duplicateRate?: number;
  /** Share of unreliable messages (datagrams, on ENet) held back so that later ones overtake them. 0..1. */
  reorderRate?: number;
  /** Link capacity in bytes per second; 0 is unlimited. Over a second of queueing, unreliable traffic is dropped. */
  bandwidthBytesPerSec?: number;
}

/** {@link LinkConditions} with every field present and checked. */
export type ResolvedLinkConditions = Required<LinkConditions>;

/** Options of a simulated link: top-level conditions apply both ways; `outgoing`/`incoming` override per direction. */
export interface SimulationOptions extends LinkConditions {
  /** Seed of the random decisions (uint32): the same seed and the same traffic give the same trace. Default: 1. */
  seed?: number;
  /** Overrides for what this peer sends. */
  outgoing?: LinkConditions;
  /** Overrides for what this peer receives. */
  incoming?: LinkConditions;
}

const LIMITS: ReadonlyArray<readonly [keyof LinkConditions, number, number]> = [
  ['latencyMs', 0, 60_000],
  ['jitterMs', 0, 60_000],
  ['lossRate', 0, 1],
  ['duplicateRate', 0, 1],
  ['reorderRate', 0, 1],
  ['bandwidthBytesPerSec', 0, 1e12],
];

const KNOWN = new Set<string>([...LIMITS.map(([name]) => name), 'seed', 'outgoing', 'incoming']);

/** All-zero conditions: a perfect link. */
export const PERFECT_LINK: Readonly<ResolvedLinkConditions> = Object.freeze({
  latencyMs: 0,
  jitterMs: 0,
  lossRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
  bandwidthBytesPerSec: 0,
});

/** The checked conditions of both directions and the seed. */
export interface ResolvedSimulation {
  readonly seed: number;
  readonly outgoing: ResolvedLinkConditions;
  readonly incoming: ResolvedLinkConditions;
}

/**
 * Checks options and merges the top level into each direction.
 * @throws TypeError for an unknown option or a non-number; RangeError for a value outside its range
 */
export function resolveSimulation(options: SimulationOptions): ResolvedSimulation {
  if (options === null || typeof options !== 'object') throw new TypeError('Expected simulation options to be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new TypeError(`Expected no option "${key}": simulation options are ${[...KNOWN].join(', ')}`);
  }
  const seed = options.seed ?? 1;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new RangeError(`Expected the "seed" option to be an integer from 0 to 4294967295, got ${String(seed)}`);
  }
  return {
    seed,
    outgoing: resolveDirection(options, options.outgoing, 'outgoing'),
    incoming: resolveDirection(options, options.incoming, 'incoming'),
  };
}

/** True when the conditions change nothing. */
export function isPerfect(conditions: ResolvedLinkConditions): boolean {
  return LIMITS.every(([name]) => conditions[name] === 0);
}

function resolveDirection(base: LinkConditions, override: LinkConditions | undefined, direction: string): ResolvedLinkConditions {
  if (override !== undefined && (override === null || typeof override !== 'object')) {
    throw new TypeError(`Expected the "${direction}" option to be an object of link conditions`);
  }
  const resolved = { ...PERFECT_LINK } as Record<keyof LinkConditions, number>;
  for (const [name, min, max] of LIMITS) {
    const value = override?.[name] ?? base[name] ?? 0;
    const label = override?.[name] !== undefined ? `${direction}.${name}` : name;
    if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`Expected the "${label}" option to be a number from ${min} to ${max}`);
    if (value < min || value > max) throw new RangeError(`Expected the "${label}" option to be from ${min} to ${max}, got ${value}`);
    resolved[name] = value;
  }
  for (const key of Object.keys(override ?? {})) {
    if (!LIMITS.some(([name]) => name === key)) throw new TypeError(`Expected no option "${direction}.${key}"`);
  }
  return resolved;
}
