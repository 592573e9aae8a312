// Child process for lifecycle specs: connects an ENet client to 127.0.0.1:<port>, tells the parent over IPC once
// connected, then keeps servicing until the parent kills it (bounded to 30 s so it can never outlive a test run).
import { NetworkEvent, NetworkEventType, NetworkPeer } from '../../lib';

const port = Number(process.argv[2]);
const client = NetworkPeer.createPeer({ driver: 'enet', address: '127.0.0.1', port, pingIntervalMs: 100 });
client.connect();
const event = new NetworkEvent();
const started = Date.now();
const timer = setInterval(() => {
  while (client.popEvent(event)) {
    if (event.eventType === NetworkEventType.Connected) process.send?.('connected');
  }
  if (Date.now() - started > 30_000) {
    clearInterval(timer);
    NetworkPeer.shutdownPeer(client);
  }
}, 5);
