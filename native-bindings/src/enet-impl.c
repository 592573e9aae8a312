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
