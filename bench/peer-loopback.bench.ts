// Pushes messages through two LocalDriver peers in one process through the public API (begin, write, end on the
// client; popEvent, read, recycle on the server) and prints messages/s, heap growth and GC count, to show that the
// TypeScript side allocates nothing per message.
//
//   node --expose-gc -r ts-node/register/transpile-only bench/peer-loopback.bench.ts [messages]
import { GCProfiler } from 'node:v8';
import { LocalDriver, LocalNetwork, NetworkChannelType, NetworkEvent, NetworkEventType, NetworkPeer } from '../lib';

const TOTAL = Number(process.argv[2] ?? 1_000_000);
const BATCH = 1000;
const WARMUP = 100_000;
const PAYLOAD_WORDS = 16; // 64 bytes

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('Run with node --expose-gc so heap figures are taken after a full collection');

const network = new LocalNetwork();
const server = NetworkPeer.createPeer({ driver: new LocalDriver({ network }), port: 0 });
server.listen();
const client = NetworkPeer.createPeer({ driver: new LocalDriver({ network }), port: server.localPort });
client.connect();
const event = new NetworkEvent();
while (!client.popEvent(event) || event.eventType !== NetworkEventType.Connected) server.popEvent(event);

let checksum = 0;
function run(count: number): void {
  for (let sent = 0; sent < count; sent += BATCH) {
    for (let i = 0; i < BATCH; i++) {
      const message = client.beginSendMessage();
      for (let w = 0; w < PAYLOAD_WORDS; w++) message.writeUInt32(sent + i);
      client.endSendMessage(NetworkChannelType.ReliableOrdered, message);
    }
    let received = 0;
    while (received < BATCH && server.popEvent(event)) {
      if (event.message !== null) {
        checksum = (checksum + event.message.readUInt32()) >>> 0;
        server.recycleMessage(event.message);
        received++;
      }
    }
    if (received !== BATCH) throw new Error(`lost messages: ${received} of ${BATCH}`);
  }
}

run(WARMUP);
gc();
const heapBefore = process.memoryUsage().heapUsed;
// GCProfiler records every collection synchronously; a PerformanceObserver only hears of them once the event loop
// runs, which this synchronous loop never lets it do.
const profiler = new GCProfiler();
profiler.start();
const started = process.hrtime.bigint();
run(TOTAL);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const gcCount = profiler.stop().statistics.length;
gc();
const heapAfter = process.memoryUsage().heapUsed;

console.log(`peer-loopback: ${TOTAL.toLocaleString('en-US')} messages of ${PAYLOAD_WORDS * 4} bytes, LocalDriver, ReliableOrdered`);
console.log(`  throughput   ${Math.round(TOTAL / seconds).toLocaleString('en-US')} messages/s (${seconds.toFixed(2)} s)`);
console.log(`  heap growth  ${((heapAfter - heapBefore) / 1024).toFixed(1)} KiB (after full GC)`);
console.log(`  GC runs      ${gcCount} during the timed run`);
console.log(`  pool in use  ${client.pool.inUse} client, ${server.pool.inUse} server (checksum ${checksum})`);
NetworkPeer.shutdownPeer(client);
NetworkPeer.shutdownPeer(server);
