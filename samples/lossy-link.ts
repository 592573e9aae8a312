// A bad link, seen from a game: the client's link has 100 ± 20 ms latency and 10% loss each way (simulated on
// every datagram, so ENet retransmits what it must). At 60 Hz the client sends one numbered ReliableOrdered and one
// numbered Unreliable message per tick. Reliable ones all arrive, in order; unreliable ones visibly drop. Stats
// print once per second, then both sides shut down.
//
//   npx ts-node samples/lossy-link.ts [seconds] [enet|local]
import { ENetDriver, NetworkChannelType, NetworkEvent, NetworkEventType, NetworkPeer, SimulatedDriver, LocalDriver, type NetworkDriver, type NetworkStats } from '../lib';

const seconds = Number(process.argv[2] ?? 6);
const kind = process.argv[3] ?? 'enet';
const inner: NetworkDriver = kind === 'local' ? new LocalDriver() : new ENetDriver();
const link = new SimulatedDriver(inner, { seed: 2026, latencyMs: 100, jitterMs: 20, lossRate: 0.1 });

const server = NetworkPeer.createPeer({ driver: kind === 'local' ? new LocalDriver() : 'enet', port: 0 });
server.listen();
const client = NetworkPeer.createPeer({ driver: link, port: server.localPort });
client.connect();
console.log(`lossy-link over ${link.name}: 100 ± 20 ms, 10% loss each way, ${seconds} s`);

const event = new NetworkEvent();
const sent = { reliable: 0, unreliable: 0 };
const got = { reliable: 0, unreliable: 0, outOfOrder: 0 };
let nextReliable = 0;
let connected = false;
let ticks = 0;

function serverTick(): void {
  while (server.popEvent(event)) {
    if (event.eventType !== NetworkEventType.Message || event.message === null) continue;
    const message = event.message;
    const isReliable = message.readBoolean();
    const value = message.readUInt32();
    if (isReliable && message.length > 5) {
      console.log(`[server] got "${message.readString()}"`);
    } else if (isReliable) {
      got.reliable++;
      if (value !== nextReliable) got.outOfOrder++;
      nextReliable = value + 1;
    } else {
      got.unreliable++;
    }
    server.recycleMessage(message);
  }
  server.flush();
}

function send(channel: NetworkChannelType, value: number, text?: string): void {
  const message = client.beginSendMessage();
  message.writeBoolean(channel === NetworkChannelType.ReliableOrdered);
  message.writeUInt32(value);
  if (text !== undefined) message.writeString(text);
  client.endSendMessage(channel, message);
}

function clientTick(): void {
  while (client.popEvent(event)) {
    if (event.eventType === NetworkEventType.Connected) {
      connected = true;
      console.log('[client] connected, saying hello');
      send(NetworkChannelType.ReliableOrdered, 0, 'Hello, Server!');
    } else if (event.eventType !== NetworkEventType.Message) {
      console.log(`[client] connection ended (event ${event.eventType}, reason ${event.reason})`);
      connected = false;
    } else if (event.message !== null) {
      client.recycleMessage(event.message);
    }
  }
  if (connected) {
    send(NetworkChannelType.ReliableOrdered, sent.reliable++);
    send(NetworkChannelType.Unreliable, sent.unreliable++);
  }
  client.flush();
}

function report(stats: NetworkStats): void {
  const dropped = sent.unreliable - got.unreliable;
  console.log(
    `[${(ticks / 60).toFixed(0)} s] reliable ${got.reliable}/${sent.reliable} (out of order ${got.outOfOrder}) | ` +
      `unreliable ${got.unreliable}/${sent.unreliable} (${dropped} not arrived) | rtt ${stats.rttMs.toFixed(0)} ms ± ${stats.rttVarianceMs.toFixed(0)} | ` +
      `loss ${stats.packetLossPercent.toFixed(1)}% | out ${stats.bytesSentPerSecond.toFixed(0)} B/s | pool ${stats.poolInUse}/${stats.poolHighWater}`,
  );
}

const timer = setInterval(() => {
  clientTick();
  serverTick();
  ticks++;
  if (ticks % 60 === 0 && connected) report(client.getStats());
  if (ticks >= seconds * 60) {
    clearInterval(timer);
    // Let what is still in flight land (latency plus a few retransmissions) before the last count.
    let drain = 0;
    const drainer = setInterval(() => {
      clientTick();
      serverTick();
      if (++drain >= 60 || got.reliable === sent.reliable) {
        clearInterval(drainer);
        report(client.getStats());
        console.log(got.reliable === sent.reliable && got.outOfOrder === 0 ? 'every reliable message arrived, in order' : 'RELIABLE MESSAGES MISSING');
        NetworkPeer.shutdownPeer(client);
        NetworkPeer.shutdownPeer(server);
      }
    }, 1000 / 60);
    connected = false;
  }
}, 1000 / 60);
