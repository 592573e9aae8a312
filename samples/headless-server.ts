// The main job: a 60 Hz authoritative simulation server and a swarm of bot clients on UDP loopback.
// The server owns a small world of moving entities; each client steers one with its inputs. Every tick the server
// moves the entities and broadcasts a snapshot (UnreliableOrdered: a late one is useless) to all clients in one
// multicast; game events (join, leave, bump) go ReliableOrdered. Bots run in a child process. One line a second:
// clients, messages in and out per second, server tick time, mean RTT. Bounded: it stops after the given time.
//
//   npm start                                   (32 bots, 10 s)
//   npx ts-node samples/headless-server.ts [bots] [seconds]
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { NetworkChannelType, NetworkEvent, NetworkEventType, NetworkPeer, NetworkStats, type NetworkConnection } from '../lib';
import { EventKind, Kind, WORLD_SIZE, writeEntity, writeSnapshotHeader } from './game-protocol';

const botCount = Number(process.argv[2] ?? 32);
const seconds = Number(process.argv[3] ?? 10);
const TICK_MS = 1000 / 60;
const SPEED = 20; // world units per second at full steer
const BUMP_DISTANCE = 2;

interface Entity {
  readonly id: number;
  readonly position: Float32Array;
  readonly steer: Float32Array;
}

const server = NetworkPeer.createPeer({ driver: 'enet', address: '127.0.0.1', port: 0, connectionsLimit: Math.max(32, botCount), messageSize: 4096 });
server.listen();
console.log(`headless server on 127.0.0.1:${server.localPort}: 60 Hz, ${botCount} bots for ${seconds} s`);

const entities = new Map<NetworkConnection, Entity>();
const everyone: NetworkConnection[] = [];
let nextEntityId = 1;
const event = new NetworkEvent();

function sendEvent(kind: number, entityId: number): void {
  if (everyone.length === 0) return;
  const message = server.beginSendMessage();
  message.writeUInt8(Kind.GameEvent);
  message.writeUInt8(kind);
  message.writeUInt16(entityId);
  server.endSendMessage(NetworkChannelType.ReliableOrdered, message, everyone);
}

function handleEvents(): void {
  while (server.popEvent(event)) {
    const sender = event.sender;
    if (event.eventType === NetworkEventType.Connected) {
      const entity: Entity = { id: nextEntityId++, position: Float32Array.of(Math.random() * 50 - 25, Math.random() * 50 - 25), steer: new Float32Array(2) };
      entities.set(sender, entity);
      everyone.push(sender);
      const welcome = server.beginSendMessage();
      welcome.writeUInt8(Kind.Welcome);
      welcome.writeUInt16(entity.id);
      server.endSendMessage(NetworkChannelType.ReliableOrdered, welcome, sender);
      sendEvent(EventKind.Joined, entity.id);
    } else if (event.eventType === NetworkEventType.Message && event.message !== null) {
      const message = event.message;
      const entity = entities.get(sender);
      if (entity !== undefined && message.readUInt8() === Kind.Input) message.readVector2(entity.steer);
      server.recycleMessage(message);
    } else {
      const entity = entities.get(sender);
      entities.delete(sender);
      everyone.splice(everyone.indexOf(sender), 1);
      if (entity !== undefined) sendEvent(EventKind.Left, entity.id);
    }
  }
}

function simulate(tick: number): void {
  const step = (SPEED * TICK_MS) / 1000;
  const list = [...entities.values()];
  for (const entity of list) {
    for (let axis = 0; axis < 2; axis++) {
      const steer = Math.max(-1, Math.min(1, entity.steer[axis]));
      entity.position[axis] = Math.max(-WORLD_SIZE, Math.min(WORLD_SIZE, entity.position[axis] + steer * step));
    }
  }
  // A cheap game rule so that reliable events flow: two entities close together bump (checked on a few pairs).
  for (let i = tick % 7; i + 1 < list.length; i += 7) {
    const a = list[i].position;
    const b = list[i + 1].position;
    if (Math.hypot(a[0] - b[0], a[1] - b[1]) < BUMP_DISTANCE) sendEvent(EventKind.Bumped, list[i].id);
  }
  if (everyone.length === 0) return;
  const snapshot = server.beginSendMessage();
  writeSnapshotHeader(snapshot, tick, list.length);
  for (const entity of list) writeEntity(snapshot, entity.id, entity.position);
  server.endSendMessage(NetworkChannelType.UnreliableOrdered, snapshot, everyone);
}

const swarm = fork(join(__dirname, 'bot-swarm.ts'), [String(server.localPort), String(botCount), String(seconds)], {
  execArgv: ['-r', 'ts-node/register/transpile-only'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});

const stats = new NetworkStats();
const tickTimes: number[] = [];
let tick = 0;
const timer = setInterval(() => {
  const began = performance.now();
  handleEvents();
  simulate(tick++);
  server.flush();
  tickTimes.push(performance.now() - began);
  if (tick % 60 === 0) {
    server.getStats(undefined, stats);
    tickTimes.sort((x, y) => x - y);
    const mean = tickTimes.reduce((sum, each) => sum + each, 0) / tickTimes.length;
    console.log(
      `[${tick / 60} s] clients ${entities.size} | in ${stats.messagesReceivedPerSecond.toFixed(0)} msg/s | out ${stats.messagesSentPerSecond.toFixed(0)} msg/s | ` +
        `tick mean ${mean.toFixed(2)} ms, max ${tickTimes[tickTimes.length - 1].toFixed(2)} ms | rtt ${stats.rttMs.toFixed(1)} ms | pool ${stats.poolInUse}/${stats.poolHighWater}`,
    );
    tickTimes.length = 0;
  }
  if (tick >= seconds * 60) finish();
}, TICK_MS);

function finish(): void {
  clearInterval(timer);
  swarm.once('message', (reply) => {
    const { totals } = reply as { totals: Record<string, number> };
    console.log(`bots: ${totals.connected} connected, ${totals.snapshots} snapshots and ${totals.events} game events received, ${totals.inputs} inputs sent`);
    NetworkPeer.shutdownPeer(server);
  });
  swarm.send('stop');
}
