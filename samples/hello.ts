// The hello exchange of the model: the client connects and says "Hello, Server!", the server prints it and answers
// "Hello, Client(<id>)!", the client prints that and both shut down. Server and client run in one process, each
// with its own tick loop.
//
//   npm start                      (over ENet on UDP loopback)
//   npx ts-node samples/hello.ts local   (in-process LocalDriver, no addon needed)
import { NetworkChannelType, NetworkEvent, NetworkEventType, NetworkPeer, type NetworkDriverName } from '../lib';

const driver = (process.argv[2] ?? 'enet') as NetworkDriverName;
const TICK_MS = 1000 / 60;
const MAX_TICKS = 600; // 10 s at 60 Hz: give up rather than hang

const server = NetworkPeer.createPeer({ driver, address: '127.0.0.1', port: 0 });
server.listen();
console.log(`[server] listening on 127.0.0.1:${server.localPort} (${driver})`);

const client = NetworkPeer.createPeer({ driver, address: '127.0.0.1', port: server.localPort });
client.connect();

const event = new NetworkEvent();
let done = false;

function serverTick(): void {
  while (server.popEvent(event)) {
    if (event.eventType === NetworkEventType.Connected) {
      console.log(`[server] client ${event.sender.connectionId} connected`);
    } else if (event.eventType === NetworkEventType.Message && event.message !== null) {
      console.log(`[server] got "${event.message.readString()}" from client ${event.sender.connectionId}`);
      server.recycleMessage(event.message);
      const answer = server.beginSendMessage();
      answer.writeString(`Hello, Client(${event.sender.connectionId})!`);
      server.endSendMessage(NetworkChannelType.ReliableOrdered, answer, event.sender);
    } else if (event.eventType === NetworkEventType.Disconnected || event.eventType === NetworkEventType.Timeout) {
      console.log(`[server] client ${event.sender.connectionId} left`);
    }
  }
  server.flush();
}

function clientTick(): void {
  while (client.popEvent(event)) {
    if (event.eventType === NetworkEventType.Connected) {
      console.log('[client] connected, saying hello');
      const hello = client.beginSendMessage();
      hello.writeString('Hello, Server!');
      client.endSendMessage(NetworkChannelType.ReliableOrdered, hello);
    } else if (event.eventType === NetworkEventType.Message && event.message !== null) {
      console.log(`[client] got "${event.message.readString()}"`);
      client.recycleMessage(event.message);
      done = true;
    } else {
      console.log(`[client] connection ended (event ${event.eventType}, reason ${event.reason})`);
      done = true;
    }
  }
  client.flush();
}

let ticks = 0;
const timer = setInterval(() => {
  serverTick();
  clientTick();
  if (done || ++ticks >= MAX_TICKS) {
    clearInterval(timer);
    NetworkPeer.shutdownPeer(client);
    NetworkPeer.shutdownPeer(server);
    if (!done) {
      console.error('[hello] no answer within 10 s');
      process.exitCode = 1;
    }
  }
}, TICK_MS);
