/*
 * Read-ahead for a busy host's socket: when ENet asks for one datagram and
 * none is held, the recvmsg hook reads up to NETPEER_READ_AHEAD_DATAGRAMS with
 * one recvmmsg() and hands them to ENet one at a time, so a server reading
 * hundreds of datagrams a tick pays the system call once per batch (on
 * loopback here ~1.5 us a datagram by recvmsg(), ~1.05 us in recvmmsg()
 * batches of 16: npm run bench:udp-syscalls). ENet may stop reading
 * mid-batch (at an event, or after 256 datagrams); what is held then waits
 * for the host's next receive, ahead of the socket, and the poll hook reports
 * the socket readable meanwhile.
 *
 * Owned by a host (HostWrap creates one once a service call has read many
 * datagrams, so a client reading a few a tick never pays for the buffer) and
 * bound with its receive counters (impairment.h) while the host is serviced.
 * Linux only. Never fills on an impaired socket; what it holds when
 * impairment is switched on is still handed out first (it was read first),
 * unimpaired: at most 15 datagrams. ENet's receive uses no flags (a MSG_PEEK
 * would consume the datagram here) and no control messages (none are kept).
 */
#ifndef NETPEER_RECEIVE_BATCH_H_
#define NETPEER_RECEIVE_BATCH_H_

#include <stdint.h>
#ifndef _WIN32
#include <sys/socket.h>
#include <sys/types.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Datagrams one recvmmsg() reads at most. */
#define NETPEER_READ_AHEAD_DATAGRAMS 16

typedef struct NetpeerReadAhead NetpeerReadAhead;

/* A new, empty read-ahead (~67 KiB: ENet's 4096-byte receive buffer per
 * datagram), or NULL where recvmmsg() is missing or memory is short. */
NetpeerReadAhead* netpeer_read_ahead_create(void);

/* Frees it and whatever it still holds. NULL is fine. */
void netpeer_read_ahead_destroy(NetpeerReadAhead* readAhead);

/* Datagrams read from the socket and not yet handed out. */
unsigned netpeer_read_ahead_holds(const NetpeerReadAhead* readAhead);

/* Datagrams handed out so far (0 for NULL). */
uint64_t netpeer_read_ahead_delivered(const NetpeerReadAhead* readAhead);

#ifndef _WIN32
/* For the recvmsg hook: hands out the next held datagram as recvmsg() would
 * (truncated to the caller's buffers with MSG_TRUNC set, or with MSG_TRUNC
 * when the kernel truncated it). When none is held and `mayRead`, first reads
 * what the socket has, up to NETPEER_READ_AHEAD_DATAGRAMS, with one
 * recvmmsg(); its failure (EWOULDBLOCK: nothing there) is returned as
 * recvmsg() would. Returns -2 when nothing is held and it did not read. */
ssize_t netpeer_read_ahead_take(NetpeerReadAhead* readAhead, int fd,
                                struct msghdr* msg, int mayRead);
#endif

#ifdef __cplusplus
}
#endif

#endif /* NETPEER_RECEIVE_BATCH_H_ */
