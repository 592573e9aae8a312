/*
 * Reliable ping-pong over stock ENet (the npm package `enet.c`), the C twin of bench/enet-pingpong.bench.ts: the
 * client sends one 64-byte reliable message on channel 3 (netpeer's ReliableOrdered), flushes, and services the
 * host in a tight loop until the server's echo arrives; the server echoes each message and flushes at once.
 *
 *   enet-pingpong server                                 prints "PORT n"; exits when the client disconnects
 *   enet-pingpong client <port> <roundTrips> <warmup>    prints "RESULT {json}" (times in microseconds)
 */
#define ENET_IMPLEMENTATION
#include "enet.h"
#include "bench-common.h"

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int run_server(void) {
  ENetHost *host = bench_listen();
  bench_accept(host, 30.0);
  ENetEvent event;
  double lastActivity = bench_now_s();
  for (;;) {
    int r = enet_host_service(host, &event, 0);
    if (r <= 0) {
      /* Idle check only when nothing happened; a stuck client must not keep us forever. */
      if (r == 0 && bench_now_s() - lastActivity > 30.0) bench_die("client silent for 30 s");
      continue;
    }
    if (event.type == ENET_EVENT_TYPE_RECEIVE) {
      ENetPacket *pong = enet_packet_create(event.packet->data, event.packet->dataLength, ENET_PACKET_FLAG_RELIABLE);
      enet_peer_send(event.peer, event.channelID, pong);
      enet_host_flush(host);
      enet_packet_destroy(event.packet);
      lastActivity = bench_now_s();
    } else if (event.type == ENET_EVENT_TYPE_DISCONNECT || event.type == ENET_EVENT_TYPE_DISCONNECT_TIMEOUT) {
      break;
    }
  }
  enet_host_destroy(host);
  return 0;
}

static int run_client(uint16_t port, uint32_t roundTrips, uint32_t warmup) {
  ENetPeer *peer;
  ENetHost *host = bench_connect(port, &peer);
  ENetEvent event;
  uint8_t message[BENCH_MESSAGE_BYTES];
  memset(message, 0xAB, sizeof(message));
  double *rtt = malloc(sizeof(double) * (roundTrips > 0 ? roundTrips : 1));
  if (rtt == NULL) bench_die("malloc");

  double started = 0;
  for (uint32_t i = 0; i < warmup + roundTrips; ++i) {
    if (i == warmup) started = bench_now_s();
    double t0 = bench_now_s();
    bench_put_u32(message, i);
    enet_peer_send(peer, BENCH_RELIABLE_CHANNEL, enet_packet_create(message, sizeof(message), ENET_PACKET_FLAG_RELIABLE));
    enet_host_flush(host);
    int got = 0;
    while (!got) {
      int r = enet_host_service(host, &event, 0);
      if (r <= 0) {
        if (bench_now_s() - t0 > 10.0) bench_die("no pong for 10 s");
        continue;
      }
      if (event.type == ENET_EVENT_TYPE_RECEIVE) {
        if (event.packet->dataLength != BENCH_MESSAGE_BYTES || bench_get_u32(event.packet->data) != i) bench_die("wrong pong");
        enet_packet_destroy(event.packet);
        got = 1;
      } else if (event.type == ENET_EVENT_TYPE_DISCONNECT || event.type == ENET_EVENT_TYPE_DISCONNECT_TIMEOUT) {
        bench_die("server went away");
      }
    }
    if (i >= warmup) rtt[i - warmup] = (bench_now_s() - t0) * 1e6;
  }
  double seconds = bench_now_s() - started;

  double sum = 0;
  for (uint32_t i = 0; i < roundTrips; ++i) sum += rtt[i];
  qsort(rtt, roundTrips, sizeof(double), compare_doubles);
  /* Nearest rank, as the netpeer bench computes it. */
  uint32_t p50 = (uint32_t)(0.50 * roundTrips + 0.999999), p99 = (uint32_t)(0.99 * roundTrips + 0.999999);
  if (p50 < 1) p50 = 1;
  if (p99 < 1) p99 = 1;
  printf("RESULT {\"roundTrips\":%u,\"seconds\":%.6f,\"perSecond\":%.1f,\"meanUs\":%.3f,\"p50Us\":%.3f,\"p99Us\":%.3f,"
         "\"minUs\":%.3f,\"maxUs\":%.3f}\n",
         roundTrips, seconds, roundTrips / seconds, sum / roundTrips, rtt[p50 - 1], rtt[p99 - 1], rtt[0],
         rtt[roundTrips - 1]);
  fflush(stdout);
  free(rtt);
  enet_peer_disconnect_now(peer, 0);
  enet_host_flush(host);
  enet_host_destroy(host);
  return 0;
}

int main(int argc, char **argv) {
  if (enet_initialize() != 0) bench_die("enet_initialize");
  int status = 64;
  if (argc == 2 && strcmp(argv[1], "server") == 0) {
    status = run_server();
  } else if (argc == 5 && strcmp(argv[1], "client") == 0) {
    status = run_client((uint16_t)atoi(argv[2]), (uint32_t)strtoul(argv[3], NULL, 10), (uint32_t)strtoul(argv[4], NULL, 10));
  } else {
    fprintf(stderr, "usage: %s server | client <port> <roundTrips> <warmup>\n", argv[0]);
  }
  enet_deinitialize();
  return status;
}
