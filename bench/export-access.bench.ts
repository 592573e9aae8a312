// Why lib/index.ts uses `export import X = module.X`: reads of an enum member through the package's exports object, as
// a game loop does on every event (`event.eventType === NetworkEventType.Message`), through the two shapes TypeScript
// compiles a CommonJS re-export to: a getter (`export { X } from './x'`) or a data property (`export import`). The
// real index (lib/index.ts) is measured too; it must match the data-property figure.
//
//   node -r ts-node/register/transpile-only bench/export-access.bench.ts [--reads 20000000]
import * as lib from '../lib';
import { NetworkEventType } from '../lib/network-event';
import { NetworkChannelType } from '../lib/network-channel-type';
import { argInt, formatFixed } from './bench-common';

const source = { NetworkEventType, NetworkChannelType };
type Exports = Record<string, unknown> & typeof source;

/**
 * An exports object as TypeScript emits it for `count` exported names: first `exports.A = exports.B = ... = void 0`,
 * then one statement per name. A re-export turns each name into a getter (`Object.defineProperty(exports, 'A',
 * { enumerable: true, get })`), which reconfigures a data property into an accessor; `export import` assigns it.
 */
function emulateExports(count: number, asGetters: boolean): Exports {
  const names = ['NetworkEventType', 'NetworkChannelType'];
  for (let i = names.length; i < count; i++) names.push(`Export${i}`);
  const exportsObject: Record<string, unknown> = {};
  Object.defineProperty(exportsObject, '__esModule', { value: true });
  for (const name of names) exportsObject[name] = undefined;
  for (const name of names) {
    const value = (source as Record<string, unknown>)[name] ?? {};
    if (asGetters) Object.defineProperty(exportsObject, name, { enumerable: true, get: () => value });
    else exportsObject[name] = value;
  }
  return exportsObject as Exports;
}

// lib/index.ts exports about 25 values.
const withGetters = emulateExports(25, true);
const withData = emulateExports(25, false);

const reads = argInt('reads', 20_000_000);
let sink = 0;

function measure(name: string, exportsObject: Exports): void {
  const read = (): number => exportsObject.NetworkEventType.Message + exportsObject.NetworkChannelType.ReliableOrdered;
  for (let i = 0; i < 1_000_000; i++) sink += read();
  const started = process.hrtime.bigint();
  for (let i = 0; i < reads; i++) sink += read();
  const ns = Number(process.hrtime.bigint() - started) / reads / 2;
  console.log(`  ${name.padEnd(44)} ${formatFixed(ns, 2)} ns per read`);
}

console.log(`export-access: ${reads} x 2 enum-member reads per shape, after 1,000,000 warm-up`);
for (let round = 1; round <= 2; round++) {
  console.log(`round ${round}`);
  measure('getter (export { X } from)', withGetters);
  measure('data property (export import X = m.X)', withData);
  measure('lib/index.ts as shipped', lib as unknown as Exports);
}
if (sink === 0) console.log('(unreachable)');
