/*
 * Shared by the C ENet benchmarks: clock, address setup and the wire layout they share with the netpeer benches
 * (bench/enet-throughput.bench.ts, bench/enet-pingpong.bench.ts). ENet itself comes from the npm package `enet.c`
 * (node_modules/enet.c/include, passed with -I by bench/c-enet.ts); each program defines ENET_IMPLEMENTATION once.
 */
#ifndef NETPEER_BENCH_COMMON_H
#define NETPEER_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What a netpeer host asks for: 4 ENet channels (one per channel type); ReliableOrdered is ENet channel 3 with the
 * reliable flag, Unreliable is channel 0, unsequenced + unreliable fragment (lib/drivers/enet-driver.ts). */
#define BENCH_CHANNELS 4
#define BENCH_RELIABLE_CHANNEL 3
#define BENCH_UNRELIABLE_CHANNEL 0
#define BENCH_UNRELIABLE_FLAGS (ENET_PACKET_FLAG_UNSEQUENCED | ENET_PACKET_FLAG_UNRELIABLE_FRAGMENT)
/* A netpeer server opens connectionsLimit (32) + headroom (8) peer slots; the C server does the same. */
#define BENCH_SERVER_PEERS 40

/* Data message: u32 seq (LE) + 60 filler bytes. Control messages (receiver to sender): u32 kind + u32 value. */
#define BENCH_MESSAGE_BYTES 64
#define BENCH_CONTROL_BYTES 8
#define BENCH_END_MARKER 0xFFFFFFFFu
#define BENCH_KIND_CREDIT 1u
#define BENCH_KIND_DONE 2u

static inline double bench_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void bench_put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t bench_get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void bench_die(const char *what) {
  fprintf(stderr, "error: %s\n", what);
  exit(1);
}

/* 127.0.0.1 as this ENet fork wants it: IPv6 sockets only, so the v4-mapped form (as the netpeer addon does). */
static inline ENetAddress bench_loopback(uint16_t port) {
  ENetAddress address;
  memset(&address, 0, sizeof(address));
  if (enet_address_set_host_ip(&address, "::ffff:127.0.0.1") < 0) bench_die("enet_address_set_host_ip");
  address.port = port;
  return address;
}

/* A server on 127.0.0.1 with an OS-chosen port; prints "PORT n" so the harness can start the other side. */
static inline ENetHost *bench_listen(void) {
  ENetAddress address = bench_loopback(0);
  ENetHost *host = enet_host_create(&address, BENCH_SERVER_PEERS, BENCH_CHANNELS, 0, 0);
  if (host == NULL) bench_die("enet_host_create (server)");
  ENetAddress bound;
  if (enet_socket_get_address(host->socket, &bound) < 0) bench_die("enet_socket_get_address");
  printf("PORT %u\n", (unsigned)bound.port);
  fflush(stdout);
  return host;
}

/* A client host (any address, port 0, one peer slot, as the netpeer client opens) connected to 127.0.0.1:port. */
static inline ENetHost *bench_connect(uint16_t port, ENetPeer **peerOut) {
  ENetAddress any;
  memset(&any, 0, sizeof(any));
  any.host = ENET_HOST_ANY;
  ENetHost *host = enet_host_create(&any, 1, BENCH_CHANNELS, 0, 0);
  if (host == NULL) bench_die("enet_host_create (client)");
  ENetAddress server = bench_loopback(port);
  ENetPeer *peer = enet_host_connect(host, &server, BENCH_CHANNELS, 0);
  if (peer == NULL) bench_die("enet_host_connect");
  double deadline = bench_now_s() + 5.0;
  ENetEvent event;
  while (bench_now_s() < deadline) {
    if (enet_host_service(host, &event, 1) > 0 && event.type == ENET_EVENT_TYPE_CONNECT) {
      *peerOut = peer;
      return host;
    }
  }
  bench_die("no connection within 5 s");
  return NULL;
}

/* Waits (servicing) up to `seconds` for the first connection; returns its peer. */
static inline ENetPeer *bench_accept(ENetHost *host, double seconds) {
  double deadline = bench_now_s() + seconds;
  ENetEvent event;
  while (bench_now_s() < deadline) {
    if (enet_host_service(host, &event, 0) > 0) {
      if (event.type == ENET_EVENT_TYPE_CONNECT) return event.peer;
      if (event.type == ENET_EVENT_TYPE_RECEIVE) enet_packet_destroy(event.packet);
    }
  }
  bench_die("no client within the time limit");
  return NULL;
}

/* Services until the remote side disconnects or `seconds` pass, so a last reliable message is surely delivered. */
static inline void bench_linger(ENetHost *host, double seconds) {
  double deadline = bench_now_s() + seconds;
  ENetEvent event;
  while (bench_now_s() < deadline) {
    int r = enet_host_service(host, &event, 1);
    if (r <= 0) continue;
    if (event.type == ENET_EVENT_TYPE_RECEIVE) enet_packet_destroy(event.packet);
    if (event.type == ENET_EVENT_TYPE_DISCONNECT || event.type == ENET_EVENT_TYPE_DISCONNECT_TIMEOUT) return;
  }
}

#endif
