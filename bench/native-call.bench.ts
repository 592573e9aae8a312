// What one call into the addon costs from JS, by the two ways lib/drivers/enet-driver.ts could make it: a method of
// the ObjectWrap `Host` taking a typed array (`host.send(batch, 0)`, `host.service(out, 1200, 0)`), and the module
// functions taking only numbers on buffers bound once (`sendBound(id, 0, 0, 0)`, `serviceBound(id, 1200, 0)`). Both
// do the same native work on an open, idle host (an empty batch; a service pass with nothing to receive), so the
// difference is the crossing. Why the driver uses the second: bench/README.md, "Where the time goes".
//
//   node -r ts-node/register/transpile-only bench/native-call.bench.ts [--calls 1000000]
import { loadNativeBinding } from '../lib/drivers/enet-binding';
import { argInt, formatFixed } from './bench-common';

const calls = argInt('calls', 1_000_000);
const binding = loadNativeBinding();
const host = new binding.Host();
if (host.open('127.0.0.1', 0, 1, 4, 0, 1200) < 0) throw new Error('Could not open a host');
const receive = new Uint8Array(256 * 1024);
const batch = new Uint8Array(256 * 1024);
const id = host.bindBuffers(receive, batch, new Uint8Array(1024));

function measure(name: string, call: () => number): void {
  for (let i = 0; i < calls / 10; i++) call();
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    if (call() < 0) throw new Error(`${name} failed`);
  }
  console.log(`  ${name.padEnd(46)} ${formatFixed(Number(process.hrtime.bigint() - started) / calls, 0)} ns per call`);
}

try {
  console.log(`native-call: ${calls} calls each, after ${calls / 10} warm-up calls`);
  for (let round = 1; round <= 2; round++) {
    console.log(`round ${round}`);
    measure('host.send(batch, 0)            (ObjectWrap)', () => host.send(batch, 0));
    measure('sendBound(id, 0, 0, 0)         (numbers)', () => binding.sendBound(id, 0, 0, 0));
    measure('host.service(out, 1200, 0)     (ObjectWrap)', () => host.service(receive, 1200, 0));
    measure('serviceBound(id, 1200, 0)      (numbers)', () => binding.serviceBound(id, 1200, 0));
  }
} finally {
  host.close();
}
