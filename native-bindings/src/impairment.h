/*
 * Simulated network conditions at the datagram level.
 *
 * src/enet-impl.c redirects ENet's own sendmsg/recvmsg/poll call sites to the
 * netpeer_impaired_* hooks below (and nothing else: the system headers are
 * included first, so their declarations keep the real names). The hooks keep
 * per-socket state in a small mutex-protected table keyed by fd; an fd with no
 * state costs one atomic load while no socket at all is impaired, one table
 * lookup otherwise, and then calls straight through.
 *
 * Per direction (outgoing, incoming): latency, uniform +-jitter (clamped at
 * zero delay, and order-preserving: a datagram is never delivered before one
 * that entered the link earlier), loss, duplication, reordering (a datagram
 * held back by an extra latency + jitter + 10 ms, so later ones overtake it),
 * and a bandwidth limit (serialization delay, tail drop beyond 1 s of queue),
 * all decided by a seeded PRNG in datagram order: five draws per datagram
 * whatever the parameters, so each decision depends only on the seed and the
 * datagram's position in its direction. POSIX only; on Windows netpeer_impairment_supported() is 0
 * and every other function is a no-op.
 */
#ifndef NETPEER_IMPAIRMENT_H_
#define NETPEER_IMPAIRMENT_H_

#include <stdint.h>

#ifndef _WIN32
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

enum {
  NETPEER_IMPAIR_OUTGOING = 0,
  NETPEER_IMPAIR_INCOMING = 1,
  /* Counters per direction, in this order; outgoing first, then incoming. */
  NETPEER_IMPAIR_STAT_DROPPED = 0,
  NETPEER_IMPAIR_STAT_DUPLICATED = 1,
  NETPEER_IMPAIR_STAT_DELAYED = 2,
  NETPEER_IMPAIR_STAT_REORDERED = 3,
  NETPEER_IMPAIR_STAT_OVERFLOW_DROPPED = 4,
  NETPEER_IMPAIR_STATS_PER_DIRECTION = 5,
  NETPEER_IMPAIR_STATS_LENGTH = 10
};

/* Upper bound of latencyMs and jitterMs (the caller validates). */
#define NETPEER_IMPAIR_MAX_DELAY_MS 60000.0

typedef struct NetpeerImpairment {
  double latencyMs;             /* >= 0 */
  double jitterMs;              /* >= 0, uniform in [-jitter, +jitter] */
  double lossRate;              /* 0..1 */
  double duplicateRate;         /* 0..1 */
  double reorderRate;           /* 0..1 */
  double bandwidthBytesPerSec;  /* >= 0, 0 = unlimited */
} NetpeerImpairment;

/* 1 where the hooks are compiled in (POSIX), 0 on Windows. */
int netpeer_impairment_supported(void);

/* 1 while `fd` has impairment state (configured, even if all-zero since, or
 * still holding datagrams): its datagrams must take the hooks' per-datagram
 * path. Takes the table lock only while some socket is impaired. */
int netpeer_impairment_has(int64_t fd);

/* Sets one direction of `fd` (creating its state on first use) and re-seeds
 * that direction's PRNG from `seed`. All-zero parameters turn the direction
 * off; datagrams it already holds are still delivered when due.
 * Returns 0, or -1 when out of memory (or unsupported). */
int netpeer_impairment_configure(int64_t fd, int direction,
                                 const NetpeerImpairment* params,
                                 uint32_t seed);

/* Adds the counters of `fd` (zero if it has no state) to out[0..9]. */
void netpeer_impairment_add_stats(int64_t fd, double* out);

/* Sends the outgoing datagrams of `fd` that are due. */
void netpeer_impairment_pump(int64_t fd);

/* Sends every outgoing datagram `fd` still holds, due or not (a closing host:
 * they were already "on the wire"). */
void netpeer_impairment_flush_outgoing(int64_t fd);

/* Forgets `fd`: frees its queues (held datagrams are discarded) after adding
 * its counters to `stats_out` when that is not NULL. Must run before the fd is
 * closed, since fds are reused. */
void netpeer_impairment_release(int64_t fd, double* stats_out);

/* Frees every state (last environment gone). */
void netpeer_impairment_release_all(void);

/*
 * Receive hygiene, on POSIX whether or not a socket is impaired: the recvmsg
 * hook never hands ENet a datagram ENet would stop its receive pass on.
 *   - zero-length datagrams: ENet reads a 0 result as "socket empty" and
 *     stops, so one empty datagram would hide everything queued behind it;
 *   - datagrams larger than ENet's buffer (MSG_TRUNC): ENet returns -1 and
 *     abandons the pass.
 * Both are consumed silently and the hook reads on, up to
 * NETPEER_RECEIVE_MAX_SKIPPED in a row per call (then it reports "nothing
 * more for now", EWOULDBLOCK; the caller may look again). Windows has no hook:
 * there ENet still stops on them (the caller's readability check resumes it).
 */
#define NETPEER_RECEIVE_MAX_SKIPPED 256

struct NetpeerReadAhead;

typedef struct NetpeerReceiveCounters {
  int64_t fd;                /* socket these counters are for */
  uint64_t emptyDropped;     /* zero-length datagrams consumed */
  uint64_t truncatedDropped; /* datagrams larger than ENet's buffer consumed */
  /* The host's read-ahead (receive-batch.h), or NULL: bound with the
   * counters, so the hooks read through it. */
  struct NetpeerReadAhead* readAhead;
} NetpeerReceiveCounters;

/* Makes `counters` the calling thread's receive counters (NULL: none) and
 * returns the previous ones. The hook counts into them only for datagrams of
 * counters->fd. Bound around enet_host_service(), the only caller of
 * enet_socket_receive(), so no fd table is needed. */
NetpeerReceiveCounters* netpeer_receive_counters_bind(
    NetpeerReceiveCounters* counters);

#ifndef _WIN32
/* The hooks ENet's call sites are redirected to. Same contracts as the libc
 * calls they stand for, except that the recvmsg hook skips zero-length and
 * truncated datagrams (see NETPEER_RECEIVE_MAX_SKIPPED). */
ssize_t netpeer_impaired_sendmsg(int fd, const struct msghdr* msg, int flags);
ssize_t netpeer_impaired_recvmsg(int fd, struct msghdr* msg, int flags);
int netpeer_impaired_poll(struct pollfd* fds, nfds_t nfds, int timeout);
#endif

#ifdef __cplusplus
}
#endif

#endif /* NETPEER_IMPAIRMENT_H_ */
