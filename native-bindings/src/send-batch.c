/*
 * Send batching for ENet's walks over its peers; see send-batch.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sendmmsg */
#endif
#include "send-batch.h"

#include "impairment.h"

#if defined(__linux__)

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

/* Payload bytes one batch holds: 16 datagrams of ENet's largest MTU (4096),
 * 64 of the default 1400. */
#define ARENA_BYTES 65536

typedef struct SendBatch {
  int open;
  int fd;
  int flags;
  unsigned count;
  size_t used;
  uint64_t held; /* datagrams this batch took, sent or refused */
  NetpeerSendBatchTotals refused;
  struct mmsghdr messages[NETPEER_SEND_BATCH_DATAGRAMS];
  struct iovec iovecs[NETPEER_SEND_BATCH_DATAGRAMS];
  struct sockaddr_storage names[NETPEER_SEND_BATCH_DATAGRAMS];
  unsigned char arena[ARENA_BYTES];
} SendBatch;

/* ~77 KiB, allocated on the first batch of a thread that services a host and
 * freed when that thread exits (a static __thread array would be allocated
 * for every thread of the process where dlopen'ed TLS is not lazy, as musl). */
static __thread SendBatch* tBatch;
static pthread_key_t gBatchKey;
static pthread_once_t gBatchKeyOnce = PTHREAD_ONCE_INIT;
static int gBatchKeyMade;

static void MakeBatchKey(void) { gBatchKeyMade = pthread_key_create(&gBatchKey, free) == 0; }

static SendBatch* ThreadBatch(void) {
  if (tBatch != NULL) return tBatch;
  pthread_once(&gBatchKeyOnce, MakeBatchKey);
  if (!gBatchKeyMade) return NULL;
  SendBatch* b = (SendBatch*)calloc(1, sizeof(SendBatch));
  if (b == NULL) return NULL;
  if (pthread_setspecific(gBatchKey, b) != 0) {
    free(b);
    return NULL;
  }
  tBatch = b;
  return b;
}

/* Sends every held datagram, in order. One the kernel refuses (a full device
 * queue: ENOBUFS, EAGAIN) is counted and skipped, as the unbatched send would
 * have lost it. */
static void Drain(SendBatch* b) {
  unsigned sent = 0;
  while (sent < b->count) {
    int n = sendmmsg(b->fd, b->messages + sent, b->count - sent, b->flags);
    if (n > 0) {
      sent += (unsigned)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      /* The first of the rest failed: skip it, send on. */
      ++b->refused.datagrams;
      b->refused.bytes += b->iovecs[sent].iov_len;
      ++sent;
    }
  }
  b->count = 0;
  b->used = 0;
}

int netpeer_send_batch_begin(int64_t fd) {
  if (fd < 0 || fd > 0x7fffffff || netpeer_impairment_has(fd)) return 0;
  SendBatch* b = ThreadBatch();
  if (b == NULL || b->open) return 0;
  b->open = 1;
  b->fd = (int)fd;
  b->count = 0;
  b->used = 0;
  b->refused.datagrams = b->refused.bytes = 0;
  b->held = 0;
  return 1;
}

void netpeer_send_batch_end(NetpeerSendBatchTotals* totals) {
  SendBatch* b = tBatch;
  if (b == NULL || !b->open) return;
  if (b->count != 0) Drain(b);
  b->open = 0;
  totals->datagrams += b->refused.datagrams;
  totals->bytes += b->refused.bytes;
  totals->held += b->held;
}

ssize_t netpeer_send_batch_add(int fd, const struct msghdr* msg, int flags) {
  SendBatch* b = tBatch;
  if (b == NULL || !b->open || fd != b->fd) return -2;
  size_t length = 0;
  for (size_t i = 0; i < (size_t)msg->msg_iovlen; ++i) length += msg->msg_iov[i].iov_len;
  if (msg->msg_controllen != 0 || msg->msg_namelen > sizeof(struct sockaddr_storage) ||
      length > ARENA_BYTES) {
    /* Not one ENet sends; it goes out by itself, after what is held. */
    if (b->count != 0) Drain(b);
    return -2;
  }
  if (b->count == NETPEER_SEND_BATCH_DATAGRAMS || b->used + length > ARENA_BYTES ||
      (b->count != 0 && flags != b->flags)) {
    Drain(b);
  }
  unsigned k = b->count++;
  ++b->held;
  unsigned char* data = b->arena + b->used;
  size_t at = 0;
  for (size_t i = 0; i < (size_t)msg->msg_iovlen; ++i) {
    size_t n = msg->msg_iov[i].iov_len;
    if (n != 0) memcpy(data + at, msg->msg_iov[i].iov_base, n);
    at += n;
  }
  b->used += length;
  b->flags = flags;
  b->iovecs[k].iov_base = data;
  b->iovecs[k].iov_len = length;
  if (msg->msg_name != NULL) memcpy(&b->names[k], msg->msg_name, msg->msg_namelen);
  struct msghdr* h = &b->messages[k].msg_hdr;
  h->msg_name = msg->msg_name != NULL ? &b->names[k] : NULL;
  h->msg_namelen = msg->msg_name != NULL ? msg->msg_namelen : 0;
  h->msg_iov = &b->iovecs[k];
  h->msg_iovlen = 1;
  h->msg_control = NULL;
  h->msg_controllen = 0;
  h->msg_flags = 0;
  return (ssize_t)length;
}

#else /* not Linux: no sendmmsg */

int netpeer_send_batch_begin(int64_t fd) {
  (void)fd;
  return 0;
}
void netpeer_send_batch_end(NetpeerSendBatchTotals* totals) { (void)totals; }
#ifndef _WIN32
ssize_t netpeer_send_batch_add(int fd, const struct msghdr* msg, int flags) {
  (void)fd; (void)msg; (void)flags;
  return -2;
}
#endif

#endif
