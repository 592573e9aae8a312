// Cost of popEvent() per event with a full queue: the driver has already moved every event into the peer's queue,
// so each call is the peer's own work (ring read, filling the caller's event). Messages are recycled after timing.
//
//   node -r ts-node/register/transpile-only bench/pop-event.bench.ts [events] [runs]
import { LocalDriver, LocalNetwork, NetworkChannelType, NetworkEvent, NetworkEventType, NetworkPeer, type NetworkMessage } from '../lib';

const EVENTS = Number(process.argv[2] ?? 100_000);
const RUNS = Number(process.argv[3] ?? 7);

const network = new LocalNetwork();
const server = NetworkPeer.createPeer({ driver: new LocalDriver({ network }), port: 0, messagePoolSize: EVENTS + 16, messageSize: 64, sendQueueLimitBytes: 1 << 30 });
server.listen();
const client = NetworkPeer.createPeer({ driver: new LocalDriver({ network }), port: server.localPort, messagePoolSize: 1024, messageSize: 64 });
client.connect();
const event = new NetworkEvent();
while (!client.popEvent(event) || event.eventType !== NetworkEventType.Connected) server.popEvent(event);
while (server.popEvent(event));

const held: NetworkMessage[] = new Array<NetworkMessage>(EVENTS);
const perEventNs: number[] = [];
for (let run = 0; run < RUNS; run++) {
  for (let i = 0; i < EVENTS; i++) {
    const message = client.beginSendMessage();
    message.writeUInt32(i);
    client.endSendMessage(NetworkChannelType.Reliable, message);
  }
  // The first call services the driver once, which queues every event; it is not timed.
  if (!server.popEvent(event) || event.message === null) throw new Error('expected a message');
  held[0] = event.message;
  const started = process.hrtime.bigint();
  for (let i = 1; i < EVENTS; i++) {
    server.popEvent(event);
    held[i] = event.message as NetworkMessage;
  }
  const elapsed = Number(process.hrtime.bigint() - started);
  for (let i = 0; i < EVENTS; i++) server.recycleMessage(held[i]);
  if (run > 0) perEventNs.push(elapsed / (EVENTS - 1)); // run 0 warms the JIT
}
perEventNs.sort((a, b) => a - b);
const median = perEventNs[perEventNs.length >> 1];
console.log(`pop-event: ${EVENTS.toLocaleString('en-US')} queued events, ${perEventNs.length} timed runs`);
console.log(`  popEvent  median ${median.toFixed(1)} ns/event (min ${perEventNs[0].toFixed(1)}, max ${perEventNs[perEventNs.length - 1].toFixed(1)})`);
NetworkPeer.shutdownPeer(client);
NetworkPeer.shutdownPeer(server);
