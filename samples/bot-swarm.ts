// N bot clients in one process, for samples/headless-server.ts: each connects, learns its entity from the Welcome
// message, steers toward a random goal at 60 Hz (UnreliableOrdered input), and counts snapshots and game events.
// Reports its totals to the parent over IPC when told to stop (it stops by itself after the bounded run time).
//
//   npx ts-node samples/bot-swarm.ts <port> <bots> <seconds>
import { NetworkChannelType, NetworkEvent, NetworkEventType, NetworkPeer, type NetworkConnection } from '../lib';
import { Kind } from './game-protocol';

interface Bot {
  readonly peer: NetworkPeer;
  readonly server: NetworkConnection;
  readonly goal: Float32Array;
  entity: number;
}

const [port, botCount, seconds] = process.argv.slice(2, 5).map(Number);
const event = new NetworkEvent();
const totals = { connected: 0, snapshots: 0, events: 0, inputs: 0, ended: 0 };

const bots: Bot[] = Array.from({ length: botCount }, () => {
  const peer = NetworkPeer.createPeer({ driver: 'enet', address: '127.0.0.1', port, messagePoolSize: 256, messageSize: 4096 });
  return { peer, server: peer.connect(), goal: new Float32Array(2), entity: -1 };
});

function tickBot(bot: Bot): void {
  const { peer } = bot;
  while (peer.popEvent(event)) {
    if (event.eventType === NetworkEventType.Connected) {
      totals.connected++;
    } else if (event.eventType === NetworkEventType.Message && event.message !== null) {
      const message = event.message;
      const kind = message.readUInt8();
      if (kind === Kind.Snapshot) totals.snapshots++;
      else if (kind === Kind.GameEvent) totals.events++;
      else if (kind === Kind.Welcome) bot.entity = message.readUInt16();
      peer.recycleMessage(message);
    } else {
      totals.ended++;
    }
  }
  if (bot.server.isConnected && bot.entity >= 0) {
    if (Math.random() < 0.02) {
      bot.goal[0] = Math.random() * 2 - 1;
      bot.goal[1] = Math.random() * 2 - 1;
    }
    const input = peer.beginSendMessage();
    input.writeUInt8(Kind.Input);
    input.writeVector2(bot.goal);
    peer.endSendMessage(NetworkChannelType.UnreliableOrdered, input);
    totals.inputs++;
  }
  peer.flush();
}

const started = Date.now();
const timer = setInterval(() => {
  for (const bot of bots) tickBot(bot);
  if (Date.now() - started > (seconds + 5) * 1000) stop();
}, 1000 / 60);

function stop(): void {
  clearInterval(timer);
  for (const bot of bots) NetworkPeer.shutdownPeer(bot.peer);
  if (process.send !== undefined) process.send({ totals }, () => process.exit(0));
  else process.exit(0);
}

process.on('message', (text) => {
  if (text === 'stop') stop();
});
