/*
 * What one system call per datagram costs on loopback, against batched calls:
 * the measurement behind the addon's send batching (sendmmsg) and read-ahead
 * (recvmmsg). Linux only. Not ENet: plain UDP sockets on 127.0.0.1.
 *
 * Each round sends DATAGRAMS datagrams of 64 bytes in 4 pieces (as ENet
 * gathers a header, commands and data) from one socket to another, first one
 * sendmsg() each, then in sendmmsg() batches; and reads them back one
 * recvmsg() each, then in recvmmsg() batches. Prints the median over ROUNDS of
 * the ns per datagram of each, as "RESULT {json}".
 *
 *   udp-syscalls [rounds] [batch]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#define DATAGRAMS 1000
#define MAX_BATCH 256
#define SLOT_BYTES 4096

static double NowNs(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int CompareDoubles(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static double Median(double* values, int count) {
  qsort(values, (size_t)count, sizeof(double), CompareDoubles);
  return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2;
}

static unsigned char payload[64];
static struct sockaddr_in to;

/* The four pieces of one datagram. */
static void Pieces(struct iovec* iov) {
  iov[0].iov_base = payload;      iov[0].iov_len = 4;
  iov[1].iov_base = payload + 4;  iov[1].iov_len = 12;
  iov[2].iov_base = payload + 16; iov[2].iov_len = 16;
  iov[3].iov_base = payload + 32; iov[3].iov_len = 32;
}

static void SendOneByOne(int fd) {
  for (int i = 0; i < DATAGRAMS; ++i) {
    struct iovec iov[4];
    Pieces(iov);
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_name = &to;
    m.msg_namelen = sizeof(to);
    m.msg_iov = iov;
    m.msg_iovlen = 4;
    sendmsg(fd, &m, MSG_NOSIGNAL);
  }
}

static void SendBatched(int fd, int batch) {
  static struct mmsghdr messages[MAX_BATCH];
  static struct iovec iovs[MAX_BATCH][4];
  for (int at = 0; at < DATAGRAMS; at += batch) {
    int n = DATAGRAMS - at < batch ? DATAGRAMS - at : batch;
    for (int k = 0; k < n; ++k) {
      Pieces(iovs[k]);
      memset(&messages[k], 0, sizeof(messages[k]));
      messages[k].msg_hdr.msg_name = &to;
      messages[k].msg_hdr.msg_namelen = sizeof(to);
      messages[k].msg_hdr.msg_iov = iovs[k];
      messages[k].msg_hdr.msg_iovlen = 4;
    }
    for (int sent = 0; sent < n;) {
      int r = sendmmsg(fd, messages + sent, (unsigned)(n - sent), MSG_NOSIGNAL);
      if (r <= 0) break;
      sent += r;
    }
  }
}

static int ReceiveOneByOne(int fd) {
  static unsigned char buffer[SLOT_BYTES];
  int count = 0;
  for (;;) {
    struct sockaddr_in from;
    struct iovec iov = {buffer, sizeof(buffer)};
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_name = &from;
    m.msg_namelen = sizeof(from);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (recvmsg(fd, &m, MSG_DONTWAIT) < 0) return count;
    ++count;
  }
}

static int ReceiveBatched(int fd, int batch) {
  static unsigned char slots[MAX_BATCH][SLOT_BYTES];
  static struct mmsghdr messages[MAX_BATCH];
  static struct iovec iovs[MAX_BATCH];
  static struct sockaddr_in from[MAX_BATCH];
  int count = 0;
  for (;;) {
    for (int k = 0; k < batch; ++k) {
      iovs[k].iov_base = slots[k];
      iovs[k].iov_len = SLOT_BYTES;
      memset(&messages[k], 0, sizeof(messages[k]));
      messages[k].msg_hdr.msg_name = &from[k];
      messages[k].msg_hdr.msg_namelen = sizeof(from[k]);
      messages[k].msg_hdr.msg_iov = &iovs[k];
      messages[k].msg_hdr.msg_iovlen = 1;
    }
    int r = recvmmsg(fd, messages, (unsigned)batch, MSG_DONTWAIT, NULL);
    if (r <= 0) return count;
    count += r;
  }
}

int main(int argc, char** argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 21;
  int batch = argc > 2 ? atoi(argv[2]) : 64;
  if (rounds < 1 || rounds > 1000 || batch < 1 || batch > MAX_BATCH) {
    fprintf(stderr, "usage: udp-syscalls [rounds 1..1000] [batch 1..%d]\n", MAX_BATCH);
    return 2;
  }
  int receiver = socket(AF_INET, SOCK_DGRAM, 0);
  int sender = socket(AF_INET, SOCK_DGRAM, 0);
  int bufferBytes = 4 << 20; /* room for a whole round; Linux caps it at rmem_max */
  setsockopt(receiver, SOL_SOCKET, SO_RCVBUF, &bufferBytes, sizeof(bufferBytes));
  memset(&to, 0, sizeof(to));
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(to);
  if (bind(receiver, (struct sockaddr*)&to, sizeof(to)) != 0 ||
      getsockname(receiver, (struct sockaddr*)&to, &length) != 0) {
    perror("bind");
    return 1;
  }
  double* sendOne = calloc((size_t)rounds, sizeof(double));
  double* sendBatch = calloc((size_t)rounds, sizeof(double));
  double* receiveOne = calloc((size_t)rounds, sizeof(double));
  double* receiveBatch = calloc((size_t)rounds, sizeof(double));
  int lost = 0;
  for (int round = 0; round < rounds; ++round) {
    double t0 = NowNs();
    SendOneByOne(sender);
    double t1 = NowNs();
    int got = ReceiveOneByOne(receiver);
    double t2 = NowNs();
    sendOne[round] = (t1 - t0) / DATAGRAMS;
    receiveOne[round] = got > 0 ? (t2 - t1) / got : 0;
    lost += DATAGRAMS - got;
    t0 = NowNs();
    SendBatched(sender, batch);
    t1 = NowNs();
    got = ReceiveBatched(receiver, batch);
    t2 = NowNs();
    sendBatch[round] = (t1 - t0) / DATAGRAMS;
    receiveBatch[round] = got > 0 ? (t2 - t1) / got : 0;
    lost += DATAGRAMS - got;
  }
  printf("RESULT {\"datagrams\":%d,\"rounds\":%d,\"batch\":%d,\"sendmsgNs\":%.0f,\"sendmmsgNs\":%.0f,"
         "\"recvmsgNs\":%.0f,\"recvmmsgNs\":%.0f,\"lost\":%d}\n",
         DATAGRAMS, rounds, batch, Median(sendOne, rounds), Median(sendBatch, rounds),
         Median(receiveOne, rounds), Median(receiveBatch, rounds), lost);
  return 0;
}
