/*
 * Read-ahead for a busy host's socket; see receive-batch.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* recvmmsg */
#endif
#include "receive-batch.h"

#include <stdlib.h>

#if defined(__linux__)

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

/* ENet's receive buffer (ENET_PROTOCOL_MAXIMUM_MTU): a datagram the kernel
 * truncates to this would have been truncated for ENet too. */
#define SLOT_BYTES 4096

struct NetpeerReadAhead {
  unsigned count;     /* datagrams read by the last recvmmsg() */
  unsigned next;      /* the next one to hand out */
  uint64_t delivered; /* handed out, all told */
  struct mmsghdr messages[NETPEER_READ_AHEAD_DATAGRAMS];
  struct iovec iovecs[NETPEER_READ_AHEAD_DATAGRAMS];
  struct sockaddr_storage names[NETPEER_READ_AHEAD_DATAGRAMS];
  unsigned char slots[NETPEER_READ_AHEAD_DATAGRAMS][SLOT_BYTES];
};

NetpeerReadAhead* netpeer_read_ahead_create(void) {
  return (NetpeerReadAhead*)calloc(1, sizeof(NetpeerReadAhead));
}

void netpeer_read_ahead_destroy(NetpeerReadAhead* readAhead) { free(readAhead); }

unsigned netpeer_read_ahead_holds(const NetpeerReadAhead* readAhead) {
  return readAhead != NULL ? readAhead->count - readAhead->next : 0;
}

uint64_t netpeer_read_ahead_delivered(const NetpeerReadAhead* readAhead) {
  return readAhead != NULL ? readAhead->delivered : 0;
}

/* One recvmmsg() into the slots; returns its result. */
static int Fill(NetpeerReadAhead* r, int fd) {
  for (unsigned i = 0; i < NETPEER_READ_AHEAD_DATAGRAMS; ++i) {
    r->iovecs[i].iov_base = r->slots[i];
    r->iovecs[i].iov_len = SLOT_BYTES;
    struct msghdr* h = &r->messages[i].msg_hdr;
    h->msg_name = &r->names[i];
    h->msg_namelen = sizeof(r->names[i]);
    h->msg_iov = &r->iovecs[i];
    h->msg_iovlen = 1;
    h->msg_control = NULL;
    h->msg_controllen = 0;
    h->msg_flags = 0;
    r->messages[i].msg_len = 0;
  }
  int n;
  do {
    n = recvmmsg(fd, r->messages, NETPEER_READ_AHEAD_DATAGRAMS, MSG_DONTWAIT, NULL);
  } while (n < 0 && errno == EINTR);
  r->count = n > 0 ? (unsigned)n : 0;
  r->next = 0;
  return n;
}

ssize_t netpeer_read_ahead_take(NetpeerReadAhead* r, int fd, struct msghdr* msg,
                                int mayRead) {
  if (r->next == r->count) {
    if (!mayRead) return -2;
    int n = Fill(r, fd);
    if (n < 0) return -1;  /* errno from recvmmsg(): EWOULDBLOCK when empty */
    if (n == 0) {
      errno = EWOULDBLOCK;
      return -1;
    }
  }
  const struct mmsghdr* item = &r->messages[r->next];
  const unsigned char* data = r->slots[r->next];
  const size_t length = item->msg_len;
  ++r->next;
  ++r->delivered;
  if (msg->msg_name != NULL) {
    socklen_t n = item->msg_hdr.msg_namelen;
    if (n > msg->msg_namelen) n = msg->msg_namelen;
    memcpy(msg->msg_name, item->msg_hdr.msg_name, n);
  }
  msg->msg_namelen = item->msg_hdr.msg_namelen;
  size_t offset = 0;
  for (size_t i = 0; i < (size_t)msg->msg_iovlen && offset < length; ++i) {
    size_t n = msg->msg_iov[i].iov_len;
    if (n > length - offset) n = length - offset;
    if (n != 0) memcpy(msg->msg_iov[i].iov_base, data + offset, n);
    offset += n;
  }
  msg->msg_flags = (offset < length || (item->msg_hdr.msg_flags & MSG_TRUNC) != 0) ? MSG_TRUNC : 0;
  msg->msg_controllen = 0;
  return (ssize_t)offset;
}

#else /* not Linux: no recvmmsg, no read-ahead */

NetpeerReadAhead* netpeer_read_ahead_create(void) { return NULL; }
void netpeer_read_ahead_destroy(NetpeerReadAhead* readAhead) { (void)readAhead; }
unsigned netpeer_read_ahead_holds(const NetpeerReadAhead* readAhead) {
  (void)readAhead;
  return 0;
}
uint64_t netpeer_read_ahead_delivered(const NetpeerReadAhead* readAhead) {
  (void)readAhead;
  return 0;
}
#ifndef _WIN32
ssize_t netpeer_read_ahead_take(NetpeerReadAhead* readAhead, int fd,
                                struct msghdr* msg, int mayRead) {
  (void)readAhead; (void)fd; (void)msg; (void)mayRead;
  return -2;
}
#endif

#endif
