/*
 * One-way 64-byte messages over stock ENet (the npm package `enet.c`), the C twin of
 * bench/enet-throughput.bench.ts: same message layout, channels, pacing and measurement, so the two can be compared.
 *
 *   enet-throughput recv <total> <warmup> <reliable 0|1> <creditEvery>
 *       prints "PORT n", then at the end "RESULT {json}"
 *   enet-throughput send <port> <total> <reliable 0|1> <window> <burst> <maxQueuedBytes>
 *
 * Pacing (the same as the netpeer bench, which explains it): the sender sends bursts of <burst> messages and services
 * the host between bursts; it never runs more than <window> messages ahead of the receiver's last credit, which the
 * receiver sends (reliably) every <creditEvery> messages. The receiver times from the first message with
 * seq >= warmup to the last message received, taking the clock once per drained batch.
 */
#define ENET_IMPLEMENTATION
#include "enet.h"
#include "bench-common.h"

static int run_receiver(uint32_t total, uint32_t warmup, int reliable, uint32_t creditEvery) {
  ENetHost *host = bench_listen();
  ENetPeer *peer = bench_accept(host, 30.0);
  ENetEvent event;
  uint8_t control[BENCH_CONTROL_BYTES];

  uint32_t received = 0, measured = 0, expected = 0, orderErrors = 0, credited = 0, highest = 0;
  uint64_t serviceErrors = 0;
  double first = 0, last = 0, endAt = 0;
  int inBatch = 0, finished = 0, gotEnd = 0;

  while (!finished) {
    int r = enet_host_service(host, &event, 0);
    if (r < 0) {
      ++serviceErrors;
      continue;
    }
    if (r > 0) {
      if (event.type == ENET_EVENT_TYPE_RECEIVE) {
        const uint8_t *data = event.packet->data;
        if (event.packet->dataLength == BENCH_MESSAGE_BYTES) {
          uint32_t seq = bench_get_u32(data);
          if (reliable && seq != expected) ++orderErrors;
          expected = seq + 1;
          if (seq + 1 > highest) highest = seq + 1;
          ++received;
          if (seq >= warmup) {
            if (measured++ == 0) first = bench_now_s();
          }
          inBatch = 1;
          if (reliable && received == total) {
            last = bench_now_s();
            finished = 1;
          }
        } else if (event.packet->dataLength == 4 && bench_get_u32(data) == BENCH_END_MARKER) {
          gotEnd = 1;
          endAt = bench_now_s();
        }
        enet_packet_destroy(event.packet);
      } else if (event.type == ENET_EVENT_TYPE_DISCONNECT || event.type == ENET_EVENT_TYPE_DISCONNECT_TIMEOUT) {
        bench_die("sender went away");
      }
      continue;
    }
    /* r == 0: the batch is drained. */
    if (inBatch) {
      if (measured > 0) last = bench_now_s();
      inBatch = 0;
    }
    if (received - credited >= creditEvery) {
      credited = received;
      bench_put_u32(control, BENCH_KIND_CREDIT);
      bench_put_u32(control + 4, highest);
      enet_peer_send(peer, BENCH_RELIABLE_CHANNEL, enet_packet_create(control, sizeof(control), ENET_PACKET_FLAG_RELIABLE));
    }
    /* Unreliable: after the end marker, wait a little for stragglers (UDP on loopback keeps order, so few or none). */
    if (gotEnd && bench_now_s() - endAt > 0.05) finished = 1;
  }

  bench_put_u32(control, BENCH_KIND_DONE);
  bench_put_u32(control + 4, received);
  enet_peer_send(peer, BENCH_RELIABLE_CHANNEL, enet_packet_create(control, sizeof(control), ENET_PACKET_FLAG_RELIABLE));
  enet_host_flush(host);
  bench_linger(host, 3.0);

  double seconds = last - first;
  printf("RESULT {\"received\":%u,\"measured\":%u,\"sent\":%u,\"warmup\":%u,\"seconds\":%.6f,\"rate\":%.1f,"
         "\"orderErrors\":%u,\"serviceErrors\":%llu}\n",
         received, measured, total, warmup, seconds, measured > 1 && seconds > 0 ? (measured - 1) / seconds : 0.0,
         orderErrors, (unsigned long long)serviceErrors);
  fflush(stdout);
  enet_host_destroy(host);
  return orderErrors == 0 && (!reliable || received == total) ? 0 : 2;
}

/* Reliable payload bytes queued on a peer and not yet on the wire: what netpeer's getStats().pendingReliableBytes
 * reports (the addon walks the same list). */
static size_t queued_reliable_bytes(ENetPeer *peer) {
  size_t total = 0;
  for (ENetListIterator it = enet_list_begin(&peer->outgoingReliableCommands); it != enet_list_end(&peer->outgoingReliableCommands);
       it = enet_list_next(it)) {
    total += ((ENetOutgoingCommand *)it)->fragmentLength;
  }
  return total;
}

static int run_sender(uint16_t port, uint32_t total, int reliable, uint32_t window, uint32_t burst, size_t maxQueued) {
  ENetPeer *peer;
  ENetHost *host = bench_connect(port, &peer);
  ENetEvent event;
  uint8_t message[BENCH_MESSAGE_BYTES];
  memset(message, 0xAB, sizeof(message));
  const enet_uint8 channel = reliable ? BENCH_RELIABLE_CHANNEL : BENCH_UNRELIABLE_CHANNEL;
  const enet_uint32 flags = reliable ? ENET_PACKET_FLAG_RELIABLE : BENCH_UNRELIABLE_FLAGS;

  uint32_t seq = 0, credit = 0;
  int done = 0, endSent = 0;
  /* BENCH_DEBUG=1 samples ENet's outgoing queue (commands not yet on the wire) to check the pacing bounds it. */
  const int debug = getenv("BENCH_DEBUG") != NULL;
  size_t debugMaxQueued = 0, rounds = 0;
  while (!done) {
    if (debug && (++rounds & 63) == 0) {
      size_t queued = enet_list_size(&peer->outgoingReliableCommands);
      if (queued > debugMaxQueued) debugMaxQueued = queued;
    }
    uint32_t limit = credit + window < total ? credit + window : total;
    if (maxQueued > 0 && queued_reliable_bytes(peer) > maxQueued) limit = seq;
    for (uint32_t n = 0; seq < limit && n < burst; ++n, ++seq) {
      bench_put_u32(message, seq);
      if (enet_peer_send(peer, channel, enet_packet_create(message, sizeof(message), flags)) < 0) bench_die("enet_peer_send");
    }
    int errors = 0, r;
    while ((r = enet_host_service(host, &event, 0)) != 0) {
      if (r < 0) {
        if (++errors >= 64) break;
        continue;
      }
      if (event.type == ENET_EVENT_TYPE_RECEIVE) {
        if (event.packet->dataLength == BENCH_CONTROL_BYTES) {
          uint32_t kind = bench_get_u32(event.packet->data), value = bench_get_u32(event.packet->data + 4);
          if (kind == BENCH_KIND_CREDIT && value > credit) credit = value;
          if (kind == BENCH_KIND_DONE) done = 1;
        }
        enet_packet_destroy(event.packet);
      } else if (event.type == ENET_EVENT_TYPE_DISCONNECT || event.type == ENET_EVENT_TYPE_DISCONNECT_TIMEOUT) {
        bench_die("receiver went away");
      }
    }
    /* The service above put every earlier unreliable message on the wire, so the marker comes after them. */
    if (seq >= total && !endSent && !reliable) {
      bench_put_u32(message, BENCH_END_MARKER);
      enet_peer_send(peer, BENCH_RELIABLE_CHANNEL, enet_packet_create(message, 4, ENET_PACKET_FLAG_RELIABLE));
      endSent = 1;
    }
  }
  if (debug) fprintf(stderr, "sender: max queued reliable commands %zu (sampled every 64 rounds)\n", debugMaxQueued);
  enet_peer_disconnect_now(peer, 0);
  enet_host_flush(host);
  enet_host_destroy(host);
  return 0;
}

int main(int argc, char **argv) {
  if (enet_initialize() != 0) bench_die("enet_initialize");
  int status = 64;
  if (argc == 6 && strcmp(argv[1], "recv") == 0) {
    status = run_receiver((uint32_t)strtoul(argv[2], NULL, 10), (uint32_t)strtoul(argv[3], NULL, 10), atoi(argv[4]),
                          (uint32_t)strtoul(argv[5], NULL, 10));
  } else if (argc == 8 && strcmp(argv[1], "send") == 0) {
    status = run_sender((uint16_t)atoi(argv[2]), (uint32_t)strtoul(argv[3], NULL, 10), atoi(argv[4]),
                        (uint32_t)strtoul(argv[5], NULL, 10), (uint32_t)strtoul(argv[6], NULL, 10),
                        (size_t)strtoul(argv[7], NULL, 10));
  } else {
    fprintf(stderr, "usage: %s recv <total> <warmup> <reliable> <creditEvery> | send <port> <total> <reliable> <window> <burst> <maxQueuedBytes>\n", argv[0]);
  }
  enet_deinitialize();
  return status;
}
