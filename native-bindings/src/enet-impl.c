/*
 * The one translation unit that compiles ENet, from the pinned npm package
 * `enet.c` (include path set in binding.gyp). No ENet source is copied into
 * this repository; the C++ files include the same header without
 * ENET_IMPLEMENTATION and link against the symbols defined here.
 *
 * On POSIX, ENet's socket I/O goes through the impairment hooks
 * (impairment.c) without touching ENet's source: every system header enet.h
 * includes is included here first, so their include guards make enet.h's own
 * #includes no-ops and the macros below rename only ENet's call sites:
 *   - sendmsg: enet_socket_send (every datagram ENet sends);
 *   - recvmsg: enet_socket_receive (every datagram ENet receives);
 *   - poll:    enet_socket_wait (a service() with a timeout must wake when a
 *              held-back datagram falls due, not only when the socket does).
 * zpl ENet 2.1.2 uses no other send/receive/wait call on POSIX (no sendto,
 * recvfrom or select outside enet_socketset_select, which ENet never calls).
 * Behind the same hooks, on Linux, the datagrams of a send pass leave in
 * sendmmsg() batches (send-batch.h) and a busy host's socket is read ahead
 * with recvmmsg() (receive-batch.h).
 */
#ifndef _WIN32
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <poll.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netdb.h>
#include <unistd.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#ifdef __APPLE__
#include <mach/clock.h>
#include <mach/mach.h>
#include <Availability.h>
#endif
#endif

#include <stdlib.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "impairment.h"
#include "send-batch.h"

#ifndef _WIN32
#define sendmsg netpeer_impaired_sendmsg
#define recvmsg netpeer_impaired_recvmsg
#define poll netpeer_impaired_poll
#endif

#define ENET_IMPLEMENTATION
#include "enet.h"

#ifndef _WIN32
#undef sendmsg
#undef recvmsg
#undef poll
#endif

#include "service-pass.h"

/* Closes a batch opened on host's socket. ENet counted every held datagram as
 * sent (the hook returned its length); the refused ones come out of the
 * host's totals again (a peer's own byte total keeps them: which peer a
 * refused datagram was for is not kept). Adds the batch's figures to
 * *totals. */
static void netpeer_close_send_batch(ENetHost *host, NetpeerSendBatchTotals *totals) {
    NetpeerSendBatchTotals batch = {0, 0, 0};
    netpeer_send_batch_end(&batch);
    host->totalSentData -= (enet_uint32)batch.bytes;
    host->totalSentPackets -= (enet_uint32)batch.datagrams;
    totals->held += batch.held;
    totals->datagrams += batch.datagrams;
    totals->bytes += batch.bytes;
}

/*
 * The two halves of a zero-timeout enet_host_service() pass that HostWrap
 * strings together (see HostWrap::ServiceEvents): ENet acknowledges what a
 * pass receives in that same pass; with these the acknowledgements wait in
 * ENet's queue for the next send (the next service() or the flush after the
 * application answered), so an ack and the reply to the same datagram share
 * one datagram instead of two. They live here because the protocol functions
 * they call are static to this translation unit.
 *
 * Each starts, as ENet's own pass does, by handing out an event already
 * queued, and stores in *stage where it returned, so the caller can resume
 * the way enet_host_service() would:
 *   NETPEER_STAGE_QUEUED  an event that was already queued;
 *   NETPEER_STAGE_SEND    the send (a timeout event, or -1) - send again;
 *   NETPEER_STAGE_RECEIVE the receive stopped early (an event such as a
 *                         connect, or -1 after 256 datagrams) - receive again;
 *   NETPEER_STAGE_DONE    the receive ran to its end; the result is the first
 *                         event it queued, or 0.
 */
static int netpeer_host_pass(ENetHost *host, ENetEvent *event, int *stage, int withSend,
                             NetpeerSendBatchTotals *sendTotals) {
    int result;
    event->type = ENET_EVENT_TYPE_NONE;
    event->peer = NULL;
    event->packet = NULL;
    *stage = NETPEER_STAGE_QUEUED;
    result = enet_protocol_dispatch_incoming_commands(host, event);
    if (result != 0) return result;
    host->serviceTime = enet_time_get();
    if (withSend) {
        if (ENET_TIME_DIFFERENCE(host->serviceTime, host->bandwidthThrottleEpoch) >= ENET_HOST_BANDWIDTH_THROTTLE_INTERVAL) {
            enet_host_bandwidth_throttle(host);
        }
        *stage = NETPEER_STAGE_SEND;
        int batched = netpeer_send_batch_begin((int64_t)host->socket);
        result = enet_protocol_send_outgoing_commands(host, event, 1);
        if (batched) netpeer_close_send_batch(host, sendTotals);
        if (result != 0) return result;
    }
    *stage = NETPEER_STAGE_RECEIVE;
    result = enet_protocol_receive_incoming_commands(host, event);
    if (result != 0) return result;
    *stage = NETPEER_STAGE_DONE;
    return enet_protocol_dispatch_incoming_commands(host, event);
}

int netpeer_host_send_receive(ENetHost *host, ENetEvent *event, int *stage,
                              NetpeerSendBatchTotals *sendTotals) {
    return netpeer_host_pass(host, event, stage, 1, sendTotals);
}

/* The same without the send: to go on reading after a receive stopped early. */
int netpeer_host_receive(ENetHost *host, ENetEvent *event, int *stage) {
    NetpeerSendBatchTotals none = {0, 0, 0};
    return netpeer_host_pass(host, event, stage, 0, &none);
}

/* enet_host_flush() with its datagrams sent in batches (send-batch.h). */
void netpeer_host_flush(ENetHost *host, NetpeerSendBatchTotals *sendTotals) {
    int batched = netpeer_send_batch_begin((int64_t)host->socket);
    enet_host_flush(host);
    if (batched) netpeer_close_send_batch(host, sendTotals);
}
