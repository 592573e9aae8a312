/*
 * Send batching: the datagrams ENet sends in one walk over its peers leave in
 * sendmmsg() calls of up to NETPEER_SEND_BATCH_DATAGRAMS instead of one
 * sendmsg() each. On loopback a sendmsg() of a small datagram costs ~5 us
 * here and ~1 us of it is the system call itself, which a batch pays once
 * (npm run bench:udp-syscalls). A server answering hundreds of
 * clients a tick sends hundreds of datagrams in each walk.
 *
 * Linux only (sendmmsg); elsewhere begin returns 0 and every datagram goes
 * out at once, as before. Never on an impaired socket: the impairment hooks
 * keep their own per-datagram path.
 *
 * One batch per thread, for one socket: ENet sends only from the thread that
 * services its host, and a walk never sends on another socket.
 */
#ifndef NETPEER_SEND_BATCH_H_
#define NETPEER_SEND_BATCH_H_

#include <stdint.h>
#ifndef _WIN32
#include <sys/socket.h>
#include <sys/types.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Datagrams one sendmmsg() call takes at most. */
#define NETPEER_SEND_BATCH_DATAGRAMS 64

/* What a batch did: datagrams it took (held, then sent or refused), and the
 * datagrams the kernel refused with their bytes. */
typedef struct NetpeerSendBatchTotals {
  uint64_t held;
  uint64_t datagrams;
  uint64_t bytes;
} NetpeerSendBatchTotals;

/* From now on, datagrams sent on `fd` by this thread are held (copied) and
 * leave at netpeer_send_batch_end() or when the batch is full. Returns 1 when
 * this call opened the batch; 0 when datagrams go out one by one (not Linux,
 * `fd` impaired, no memory, or a batch already open on this thread, which
 * this call must then leave alone). */
int netpeer_send_batch_begin(int64_t fd);

/* Only after a begin that returned 1: sends what is held, closes the batch and
 * adds to *totals the datagrams it took and those the kernel refused (each is
 * skipped and the rest still go; an unbatched walk stopped at the first). */
void netpeer_send_batch_end(NetpeerSendBatchTotals* totals);

#ifndef _WIN32
/* For the sendmsg hook: holds the datagram when a batch is open on `fd` and
 * returns its length as sendmsg() would; returns -2 (and holds nothing) when
 * no batch is open on `fd` or it cannot hold this datagram, for the caller to
 * send it itself (after what the batch held, which then leaves first). */
ssize_t netpeer_send_batch_add(int fd, const struct msghdr* msg, int flags);
#endif

#ifdef __cplusplus
}
#endif

#endif /* NETPEER_SEND_BATCH_H_ */
