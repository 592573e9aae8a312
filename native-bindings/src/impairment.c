/*
 * Datagram-level network impairment for ENet sockets; see impairment.h.
 *
 * Locking: gTableMutex guards the fd table; each State has its own mutex,
 * taken while gTableMutex is still held (Acquire), so Release can unlink a
 * state, then wait on its mutex for any operation that found it before, and
 * free it. An fd is only used by the thread running its host, so in practice
 * neither lock is ever contended.
 *
 * The recvmsg hook also skips zero-length and truncated datagrams for every
 * socket, impaired or not (see NETPEER_RECEIVE_MAX_SKIPPED in impairment.h),
 * counting them in the thread's bound NetpeerReceiveCounters.
 */
#include "impairment.h"
#include "receive-batch.h"
#include "send-batch.h"

#ifdef _WIN32

int netpeer_impairment_supported(void) { return 0; }
int netpeer_impairment_has(int64_t fd) {
  (void)fd;
  return 0;
}
int netpeer_impairment_configure(int64_t fd, int direction,
                                 const NetpeerImpairment* params,
                                 uint32_t seed) {
  (void)fd; (void)direction; (void)params; (void)seed;
  return -1;
}
void netpeer_impairment_add_stats(int64_t fd, double* out) { (void)fd; (void)out; }
void netpeer_impairment_pump(int64_t fd) { (void)fd; }
void netpeer_impairment_flush_outgoing(int64_t fd) { (void)fd; }
void netpeer_impairment_release(int64_t fd, double* stats_out) {
  (void)fd; (void)stats_out;
}
void netpeer_impairment_release_all(void) {}
NetpeerReceiveCounters* netpeer_receive_counters_bind(
    NetpeerReceiveCounters* counters) {
  (void)counters;
  return NULL;
}

#else  /* POSIX */

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

/* Datagrams one direction may hold; beyond it new ones are dropped. */
#define MAX_QUEUED 65536u
/* A bandwidth-limited link drops what would wait longer than this. */
#define MAX_LINK_QUEUE_NS 1000000000ull
/* Extra hold of a reordered datagram on top of latency + jitter. */
#define REORDER_EXTRA_NS 10000000ull
/* Datagrams read from the socket per recvmsg() call of ENet. */
#define MAX_DRAIN 256
/* Largest UDP payload (IPv6 jumbograms aside). */
#define RX_BUFFER_BYTES 65536

#define NS_PER_MS 1000000.0
#define NS_PER_S 1000000000.0

typedef struct Datagram {
  uint64_t due;  /* monotonic ns */
  uint64_t seq;  /* FIFO among equal due times */
  size_t length;
  socklen_t nameLength;
  struct sockaddr_storage name;
  unsigned char data[];
} Datagram;

/* Binary min-heap on (due, seq). */
typedef struct Queue {
  Datagram** items;
  size_t count;
  size_t capacity;
} Queue;

typedef struct Direction {
  int active;  /* any parameter non-zero */
  double latencyNs;
  double jitterNs;
  double lossRate;
  double duplicateRate;
  double reorderRate;
  double bandwidth;     /* bytes per second, 0 = unlimited */
  uint64_t linkFreeAt;  /* ns, bandwidth model */
  uint64_t lastDue;     /* ns, latest due time of an in-order datagram */
  uint64_t rng;         /* xorshift64* state, never 0 */
  Queue queue;
  uint64_t stats[NETPEER_IMPAIR_STATS_PER_DIRECTION];
} Direction;

typedef struct State {
  pthread_mutex_t mutex;
  int fd;
  uint64_t seq;
  Direction dir[2];
  unsigned char* rxBuffer; /* RX_BUFFER_BYTES, allocated on first drain */
} State;

typedef struct Entry {
  int fd;
  State* state;
} Entry;

static pthread_mutex_t gTableMutex = PTHREAD_MUTEX_INITIALIZER;
static Entry* gTable = NULL;
static size_t gTableCount = 0;
static size_t gTableCapacity = 0;
/* Number of entries in gTable, readable without the lock: 0 = fast path. */
static int gImpairedCount = 0;
/* See netpeer_receive_counters_bind(). */
static __thread NetpeerReceiveCounters* tReceiveCounters = NULL;

/* ---------------------------------------------------------------- helpers */

static uint64_t NowNs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

static void Seed(Direction* d, uint32_t seed, int direction) {
  uint64_t s = SplitMix64(((uint64_t)seed << 1) | (uint64_t)(direction & 1));
  d->rng = s != 0 ? s : 0x2545F4914F6CDD1Dull;
}

/* xorshift64*, uniform in [0, 1). */
static double Random01(Direction* d) {
  uint64_t x = d->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  d->rng = x;
  return (double)((x * 0x2545F4914F6CDD1Dull) >> 11) * (1.0 / 9007199254740992.0);
}

static int QueueLess(const Datagram* a, const Datagram* b) {
  return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static int QueuePush(Queue* q, Datagram* item) {
  if (q->count == q->capacity) {
    size_t capacity = q->capacity != 0 ? q->capacity * 2 : 64;
    Datagram** items = (Datagram**)realloc(q->items, capacity * sizeof(*items));
    if (items == NULL) return -1;
    q->items = items;
    q->capacity = capacity;
  }
  size_t i = q->count++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!QueueLess(item, q->items[parent])) break;
    q->items[i] = q->items[parent];
    i = parent;
  }
  q->items[i] = item;
  return 0;
}

static Datagram* QueueTop(const Queue* q) {
  return q->count != 0 ? q->items[0] : NULL;
}

static Datagram* QueuePop(Queue* q) {
  if (q->count == 0) return NULL;
  Datagram* top = q->items[0];
  Datagram* last = q->items[--q->count];
  size_t i = 0;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= q->count) break;
    if (child + 1 < q->count && QueueLess(q->items[child + 1], q->items[child])) {
      ++child;
    }
    if (!QueueLess(q->items[child], last)) break;
    q->items[i] = q->items[child];
    i = child;
  }
  if (q->count != 0) q->items[i] = last;
  return top;
}

static void QueueFree(Queue* q) {
  for (size_t i = 0; i < q->count; ++i) free(q->items[i]);
  free(q->items);
  q->items = NULL;
  q->count = q->capacity = 0;
}

static void FreeState(State* s) {
  QueueFree(&s->dir[0].queue);
  QueueFree(&s->dir[1].queue);
  free(s->rxBuffer);
  pthread_mutex_destroy(&s->mutex);
  free(s);
}

/* Finds the state of `fd` and returns it locked, or NULL. */
static State* Acquire(int fd) {
  State* found = NULL;
  pthread_mutex_lock(&gTableMutex);
  for (size_t i = 0; i < gTableCount; ++i) {
    if (gTable[i].fd == fd) {
      found = gTable[i].state;
      pthread_mutex_lock(&found->mutex);
      break;
    }
  }
  pthread_mutex_unlock(&gTableMutex);
  return found;
}

static void Unlock(State* s) { pthread_mutex_unlock(&s->mutex); }

static int AnyImpaired(void) {
  return __atomic_load_n(&gImpairedCount, __ATOMIC_ACQUIRE) != 0;
}

/* fd from the int64 API; anything that is not an fd matches nothing. */
static int ToFd(int64_t fd) { return fd >= 0 && fd <= 0x7fffffff ? (int)fd : -1; }

int netpeer_impairment_has(int64_t fd) {
  if (!AnyImpaired()) return 0;
  State* s = Acquire(ToFd(fd));
  if (s == NULL) return 0;
  Unlock(s);
  return 1;
}

/* ------------------------------------------------------------- decisions */

/* Decides the fate of one datagram of `length` bytes entering direction `d`
 * at `now`: fills due[] with the delivery time of each copy to deliver and
 * returns how many (0 = dropped, 2 = duplicated). Always draws the same five
 * numbers per datagram, so each decision depends only on the seed and the
 * datagram's position, not on the other parameters. */
static int Plan(Direction* d, uint64_t now, size_t length, uint64_t due[2]) {
  double uLoss = Random01(d);
  double uDuplicate = Random01(d);
  double uReorder = Random01(d);
  double uJitter[2];
  uJitter[0] = Random01(d);
  uJitter[1] = Random01(d);

  if (uLoss < d->lossRate) {
    ++d->stats[NETPEER_IMPAIR_STAT_DROPPED];
    return 0;
  }
  int copies = 1;
  if (uDuplicate < d->duplicateRate) {
    copies = 2;
    ++d->stats[NETPEER_IMPAIR_STAT_DUPLICATED];
  }
  int planned = 0;
  for (int i = 0; i < copies; ++i) {
    uint64_t departure = now;
    if (d->bandwidth > 0) {
      uint64_t start = d->linkFreeAt > now ? d->linkFreeAt : now;
      if (start - now > MAX_LINK_QUEUE_NS) {
        ++d->stats[NETPEER_IMPAIR_STAT_OVERFLOW_DROPPED];
        continue;
      }
      d->linkFreeAt = start + (uint64_t)((double)length * NS_PER_S / d->bandwidth);
      departure = d->linkFreeAt;  /* last bit on the wire */
    }
    double delay = d->latencyNs + d->jitterNs * (2.0 * uJitter[i] - 1.0);
    if (delay < 0) delay = 0;
    if (i == 0 && uReorder < d->reorderRate) {
      /* Held back: everything sent in the next latency + jitter + 10 ms
       * overtakes it. It does not hold back the others. */
      delay += d->latencyNs + d->jitterNs + (double)REORDER_EXTRA_NS;
      ++d->stats[NETPEER_IMPAIR_STAT_REORDERED];
      due[planned++] = departure + (uint64_t)delay;
      continue;
    }
    /* Jitter varies the delay but, as on a FIFO path, never the order: a
     * datagram is not delivered before one that entered the link earlier.
     * Reordering is reorderRate's alone. */
    uint64_t at = departure + (uint64_t)delay;
    if (at < d->lastDue) at = d->lastDue;
    d->lastDue = at;
    due[planned++] = at;
  }
  return planned;
}

/* Copies a datagram into direction `d`'s queue, due at `due` (counted as
 * delayed when that is after `now`). Counts and drops it when the queue is
 * full or memory is short. */
static void Enqueue(State* s, Direction* d, uint64_t now, uint64_t due,
                    const void* name, socklen_t nameLength,
                    const struct iovec* iov, size_t iovCount, size_t length) {
  if (d->queue.count >= MAX_QUEUED) {
    ++d->stats[NETPEER_IMPAIR_STAT_OVERFLOW_DROPPED];
    return;
  }
  Datagram* item = (Datagram*)malloc(sizeof(Datagram) + (length != 0 ? length : 1));
  if (item == NULL) {
    ++d->stats[NETPEER_IMPAIR_STAT_OVERFLOW_DROPPED];
    return;
  }
  item->due = due;
  item->seq = s->seq++;
  item->length = length;
  if (name != NULL && nameLength > 0) {
    if (nameLength > (socklen_t)sizeof(item->name)) {
      nameLength = (socklen_t)sizeof(item->name);
    }
    memcpy(&item->name, name, nameLength);
    item->nameLength = nameLength;
  } else {
    item->nameLength = 0;
  }
  size_t offset = 0;
  for (size_t i = 0; i < iovCount && offset < length; ++i) {
    size_t n = iov[i].iov_len;
    if (n > length - offset) n = length - offset;
    if (n != 0) memcpy(item->data + offset, iov[i].iov_base, n);
    offset += n;
  }
  if (QueuePush(&d->queue, item) != 0) {
    free(item);
    ++d->stats[NETPEER_IMPAIR_STAT_OVERFLOW_DROPPED];
    return;
  }
  if (due > now) ++d->stats[NETPEER_IMPAIR_STAT_DELAYED];
}

static ssize_t SendDatagram(int fd, Datagram* item) {
  struct iovec iov;
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  iov.iov_base = item->data;
  iov.iov_len = item->length;
  msg.msg_name = item->nameLength != 0 ? &item->name : NULL;
  msg.msg_namelen = item->nameLength;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  /* A full socket buffer loses the datagram, as it would have for ENet. */
  return sendmsg(fd, &msg, MSG_NOSIGNAL);
}

/* Sends outgoing datagrams due by `now` (all of them if flushAll). */
static void PumpLocked(State* s, uint64_t now, int flushAll) {
  Queue* q = &s->dir[NETPEER_IMPAIR_OUTGOING].queue;
  Datagram* top;
  while ((top = QueueTop(q)) != NULL && (flushAll || top->due <= now)) {
    QueuePop(q);
    SendDatagram(s->fd, top);
    free(top);
  }
}

static void ApplyParams(Direction* d, const NetpeerImpairment* p) {
  d->latencyNs = p->latencyMs * NS_PER_MS;
  d->jitterNs = p->jitterMs * NS_PER_MS;
  d->lossRate = p->lossRate;
  d->duplicateRate = p->duplicateRate;
  d->reorderRate = p->reorderRate;
  d->bandwidth = p->bandwidthBytesPerSec;
  d->active = p->latencyMs > 0 || p->jitterMs > 0 || p->lossRate > 0 ||
              p->duplicateRate > 0 || p->reorderRate > 0 ||
              p->bandwidthBytesPerSec > 0;
}

/* ------------------------------------------------------------ public API */

int netpeer_impairment_supported(void) { return 1; }

int netpeer_impairment_configure(int64_t fd64, int direction,
                                 const NetpeerImpairment* params,
                                 uint32_t seed) {
  int fd = ToFd(fd64);
  if (fd < 0 || (direction != 0 && direction != 1) || params == NULL) return -1;
  State* s = Acquire(fd);
  if (s == NULL) {
    s = (State*)calloc(1, sizeof(State));
    if (s == NULL) return -1;
    pthread_mutex_init(&s->mutex, NULL);
    s->fd = fd;
    Seed(&s->dir[0], 0, 0);
    Seed(&s->dir[1], 0, 1);
    pthread_mutex_lock(&gTableMutex);
    /* Only the thread running this fd's host configures it, so no other
     * thread can have inserted it meanwhile. */
    if (gTableCount == gTableCapacity) {
      size_t capacity = gTableCapacity != 0 ? gTableCapacity * 2 : 8;
      Entry* table = (Entry*)realloc(gTable, capacity * sizeof(*table));
      if (table == NULL) {
        pthread_mutex_unlock(&gTableMutex);
        FreeState(s);
        return -1;
      }
      gTable = table;
      gTableCapacity = capacity;
    }
    gTable[gTableCount].fd = fd;
    gTable[gTableCount].state = s;
    ++gTableCount;
    __atomic_store_n(&gImpairedCount, (int)gTableCount, __ATOMIC_RELEASE);
    pthread_mutex_lock(&s->mutex);
    pthread_mutex_unlock(&gTableMutex);
  }
  Direction* d = &s->dir[direction];
  ApplyParams(d, params);
  Seed(d, seed, direction);
  if (d->bandwidth <= 0) d->linkFreeAt = 0;
  Unlock(s);
  return 0;
}

void netpeer_impairment_add_stats(int64_t fd, double* out) {
  if (out == NULL || !AnyImpaired()) return;
  State* s = Acquire(ToFd(fd));
  if (s == NULL) return;
  for (int dir = 0; dir < 2; ++dir) {
    for (int i = 0; i < NETPEER_IMPAIR_STATS_PER_DIRECTION; ++i) {
      out[dir * NETPEER_IMPAIR_STATS_PER_DIRECTION + i] += (double)s->dir[dir].stats[i];
    }
  }
  Unlock(s);
}

void netpeer_impairment_pump(int64_t fd) {
  if (!AnyImpaired()) return;
  State* s = Acquire(ToFd(fd));
  if (s == NULL) return;
  if (s->dir[NETPEER_IMPAIR_OUTGOING].queue.count != 0) PumpLocked(s, NowNs(), 0);
  Unlock(s);
}

void netpeer_impairment_flush_outgoing(int64_t fd) {
  if (!AnyImpaired()) return;
  State* s = Acquire(ToFd(fd));
  if (s == NULL) return;
  PumpLocked(s, 0, 1);
  Unlock(s);
}

void netpeer_impairment_release(int64_t fd64, double* stats_out) {
  if (!AnyImpaired()) return;
  int fd = ToFd(fd64);
  State* s = NULL;
  pthread_mutex_lock(&gTableMutex);
  for (size_t i = 0; i < gTableCount; ++i) {
    if (gTable[i].fd == fd) {
      s = gTable[i].state;
      gTable[i] = gTable[--gTableCount];
      break;
    }
  }
  __atomic_store_n(&gImpairedCount, (int)gTableCount, __ATOMIC_RELEASE);
  if (gTableCount == 0) {
    free(gTable);
    gTable = NULL;
    gTableCapacity = 0;
  }
  pthread_mutex_unlock(&gTableMutex);
  if (s == NULL) return;
  /* Waits for an operation that found the state before it was unlinked. */
  pthread_mutex_lock(&s->mutex);
  if (stats_out != NULL) {
    for (int dir = 0; dir < 2; ++dir) {
      for (int i = 0; i < NETPEER_IMPAIR_STATS_PER_DIRECTION; ++i) {
        stats_out[dir * NETPEER_IMPAIR_STATS_PER_DIRECTION + i] +=
            (double)s->dir[dir].stats[i];
      }
    }
  }
  pthread_mutex_unlock(&s->mutex);
  FreeState(s);
}

void netpeer_impairment_release_all(void) {
  pthread_mutex_lock(&gTableMutex);
  Entry* table = gTable;
  size_t count = gTableCount;
  gTable = NULL;
  gTableCount = gTableCapacity = 0;
  __atomic_store_n(&gImpairedCount, 0, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&gTableMutex);
  for (size_t i = 0; i < count; ++i) {
    pthread_mutex_lock(&table[i].state->mutex);
    pthread_mutex_unlock(&table[i].state->mutex);
    FreeState(table[i].state);
  }
  free(table);
}

/* ------------------------------------------------------------------ hooks */

ssize_t netpeer_impaired_sendmsg(int fd, const struct msghdr* msg, int flags) {
  /* Held for one sendmmsg() with the rest of ENet's walk (send-batch.h). */
  ssize_t held = netpeer_send_batch_add(fd, msg, flags);
  if (held != -2) return held;
  if (!AnyImpaired()) return sendmsg(fd, msg, flags);
  State* s = Acquire(fd);
  if (s == NULL) return sendmsg(fd, msg, flags);
  Direction* d = &s->dir[NETPEER_IMPAIR_OUTGOING];
  if (!d->active && d->queue.count == 0) {
    Unlock(s);
    return sendmsg(fd, msg, flags);
  }
  uint64_t now = NowNs();
  PumpLocked(s, now, 0);  /* what is due leaves before the new datagram */
  if (!d->active) {
    Unlock(s);
    return sendmsg(fd, msg, flags);
  }

  size_t length = 0;
  for (size_t i = 0; i < (size_t)msg->msg_iovlen; ++i) length += msg->msg_iov[i].iov_len;
  uint64_t due[2];
  int copies = Plan(d, now, length, due);
  ssize_t result = (ssize_t)length;  /* "sent", whatever became of it */
  for (int i = 0; i < copies; ++i) {
    if (due[i] <= now) {
      /* Undelayed: straight out, no copy. The first copy's outcome is what
       * ENet sees, as for an unimpaired socket. */
      ssize_t sent = sendmsg(fd, msg, flags);
      if (i == 0) result = sent;
    } else {
      Enqueue(s, d, now, due[i], msg->msg_name, msg->msg_namelen, msg->msg_iov,
              (size_t)msg->msg_iovlen, length);
    }
  }
  Unlock(s);
  return result;
}

/* Reads what is waiting on the socket into the incoming queue. Returns 0, or
 * the errno of a socket error that stopped it. */
static int DrainLocked(State* s, Direction* d, uint64_t now) {
  if (s->rxBuffer == NULL) {
    s->rxBuffer = (unsigned char*)malloc(RX_BUFFER_BYTES);
    if (s->rxBuffer == NULL) return 0;  /* leave it on the socket */
  }
  for (int n = 0; n < MAX_DRAIN; ++n) {
    struct sockaddr_storage name;
    struct iovec iov;
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    iov.iov_base = s->rxBuffer;
    iov.iov_len = RX_BUFFER_BYTES;
    m.msg_name = &name;
    m.msg_namelen = sizeof(name);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    ssize_t received = recvmsg(s->fd, &m, MSG_DONTWAIT);
    if (received < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
      return errno;
    }
    uint64_t due[2];
    int copies = Plan(d, now, (size_t)received, due);
    for (int i = 0; i < copies; ++i) {
      /* Undelayed ones are queued too (due now): the queue is what ENet
       * reads from while this direction holds anything. */
      Enqueue(s, d, now, due[i], &name, m.msg_namelen, &iov, 1, (size_t)received);
    }
  }
  return 0;
}

/* Hands one queued datagram to the caller as recvmsg() would: truncated to
 * the caller's buffers with MSG_TRUNC set, length returned. */
static ssize_t Deliver(Datagram* item, struct msghdr* msg) {
  if (msg->msg_name != NULL) {
    socklen_t n = item->nameLength;
    if (n > msg->msg_namelen) n = msg->msg_namelen;
    memcpy(msg->msg_name, &item->name, n);
  }
  msg->msg_namelen = item->nameLength;
  size_t offset = 0;
  for (size_t i = 0; i < (size_t)msg->msg_iovlen && offset < item->length; ++i) {
    size_t n = msg->msg_iov[i].iov_len;
    if (n > item->length - offset) n = item->length - offset;
    if (n != 0) memcpy(msg->msg_iov[i].iov_base, item->data + offset, n);
    offset += n;
  }
  msg->msg_flags = offset < item->length ? MSG_TRUNC : 0;
  msg->msg_controllen = 0;
  return (ssize_t)offset;
}

/* The read-ahead bound for `fd` on this thread, or NULL. */
static NetpeerReadAhead* BoundReadAhead(int fd) {
  NetpeerReceiveCounters* counters = tReceiveCounters;
  if (counters == NULL || counters->readAhead == NULL || counters->fd != (int64_t)fd) return NULL;
  return counters->readAhead;
}

/* One datagram for the caller: what the host's read-ahead holds, else straight
 * from the socket (through the read-ahead when this socket is not impaired) or
 * from the incoming impairment queue. */
static ssize_t ReceiveOne(int fd, struct msghdr* msg, int flags) {
  NetpeerReadAhead* readAhead = BoundReadAhead(fd);
  if (readAhead != NULL) {
    ssize_t taken = netpeer_read_ahead_take(readAhead, fd, msg, !netpeer_impairment_has(fd));
    if (taken != -2) return taken;
  }
  if (!AnyImpaired()) return recvmsg(fd, msg, flags);
  State* s = Acquire(fd);
  if (s == NULL) return recvmsg(fd, msg, flags);
  Direction* d = &s->dir[NETPEER_IMPAIR_INCOMING];
  if (!d->active && d->queue.count == 0) {
    Unlock(s);
    return recvmsg(fd, msg, flags);
  }
  uint64_t now = NowNs();
  int error = d->active ? DrainLocked(s, d, now) : 0;
  Datagram* top = QueueTop(&d->queue);
  if (top != NULL && top->due <= now) {
    QueuePop(&d->queue);
    ssize_t result = Deliver(top, msg);
    free(top);
    Unlock(s);
    return result;
  }
  if (!d->active) {
    /* Turned off with datagrams still held back: new ones pass straight. */
    Unlock(s);
    return recvmsg(fd, msg, flags);
  }
  Unlock(s);
  errno = error != 0 ? error : EWOULDBLOCK;
  return -1;
}

NetpeerReceiveCounters* netpeer_receive_counters_bind(
    NetpeerReceiveCounters* counters) {
  NetpeerReceiveCounters* previous = tReceiveCounters;
  tReceiveCounters = counters;
  return previous;
}

/* Skips what ENet must never see (see impairment.h): a zero-length datagram
 * would end ENet's receive pass as if the socket were empty, a truncated one
 * would abort it. */
ssize_t netpeer_impaired_recvmsg(int fd, struct msghdr* msg, int flags) {
  /* recvmsg() overwrites the lengths; every retry starts from the caller's. */
  const struct msghdr caller = *msg;
  for (int skipped = 0;;) {
    ssize_t received = ReceiveOne(fd, msg, flags);
    if (received < 0) return received;
    const int truncated = (msg->msg_flags & MSG_TRUNC) != 0;
    if (received > 0 && !truncated) return received;
    NetpeerReceiveCounters* counters = tReceiveCounters;
    if (counters != NULL && counters->fd == (int64_t)fd) {
      if (truncated) {
        ++counters->truncatedDropped;
      } else {
        ++counters->emptyDropped;
      }
    }
    if (++skipped >= NETPEER_RECEIVE_MAX_SKIPPED) {
      /* Bounded work per call under a flood: "nothing more for now". */
      errno = EWOULDBLOCK;
      return -1;
    }
    msg->msg_namelen = caller.msg_namelen;
    msg->msg_controllen = caller.msg_controllen;
    msg->msg_flags = 0;
  }
}

/* ENet only polls its own socket, waiting to receive (enet_socket_wait). With
 * datagrams held back, the wait must end when one falls due (incoming: report
 * POLLIN; outgoing: send it and keep waiting), not only when the socket
 * becomes readable. */
int netpeer_impaired_poll(struct pollfd* fds, nfds_t nfds, int timeout) {
  /* Datagrams already read ahead make the socket readable for ENet. */
  if (nfds == 1 && (fds[0].events & POLLIN) != 0) {
    NetpeerReadAhead* readAhead = BoundReadAhead(fds[0].fd);
    if (readAhead != NULL && netpeer_read_ahead_holds(readAhead) != 0) {
      fds[0].revents = POLLIN;
      return 1;
    }
  }
  if (!AnyImpaired() || nfds != 1) return poll(fds, nfds, timeout);
  State* s = Acquire(fds[0].fd);
  if (s == NULL) return poll(fds, nfds, timeout);
  if (s->dir[0].queue.count == 0 && s->dir[1].queue.count == 0) {
    Unlock(s);
    return poll(fds, nfds, timeout);
  }
  int fd = fds[0].fd;
  uint64_t now = NowNs();
  const uint64_t forever = UINT64_MAX;
  uint64_t deadline = timeout < 0 ? forever : now + (uint64_t)timeout * 1000000ull;
  for (;;) {
    PumpLocked(s, now, 0);
    Datagram* in = QueueTop(&s->dir[NETPEER_IMPAIR_INCOMING].queue);
    if (in != NULL && in->due <= now && (fds[0].events & POLLIN)) {
      Unlock(s);
      fds[0].revents = POLLIN;
      return 1;
    }
    Datagram* out = QueueTop(&s->dir[NETPEER_IMPAIR_OUTGOING].queue);
    uint64_t wake = deadline;
    if (in != NULL && (fds[0].events & POLLIN) && in->due < wake) wake = in->due;
    if (out != NULL && out->due < wake) wake = out->due;
    Unlock(s);
    int waitMs = -1;
    if (wake != forever) {
      uint64_t ns = wake > now ? wake - now : 0;
      uint64_t ms = (ns + 999999ull) / 1000000ull;  /* round up: never early */
      waitMs = ms > 0x7fffffffull ? 0x7fffffff : (int)ms;
    }
    int result = poll(fds, nfds, waitMs);
    if (result != 0) return result;  /* readable, or an error */
    now = NowNs();
    if (deadline != forever && now >= deadline) return 0;
    s = Acquire(fd);
    if (s == NULL) return 0;
  }
}

#endif  /* POSIX */
