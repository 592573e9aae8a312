/*
 * The service pass HostWrap uses instead of enet_host_service() with a zero
 * timeout, in two halves defined in enet-impl.c (where ENet's static protocol
 * functions are visible). See the comment there and HostWrap::ServiceEvents.
 * Include after enet.h.
 */
#ifndef NETPEER_SERVICE_PASS_H_
#define NETPEER_SERVICE_PASS_H_

#include "send-batch.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NETPEER_STAGE_QUEUED 0
#define NETPEER_STAGE_SEND 1
#define NETPEER_STAGE_RECEIVE 2
#define NETPEER_STAGE_DONE 3

/* Dispatch, send (with timeout checks), receive, dispatch. The send goes out
 * in batches (send-batch.h), whose figures are added to *sendTotals. */
int netpeer_host_send_receive(ENetHost *host, ENetEvent *event, int *stage,
                              NetpeerSendBatchTotals *sendTotals);
/* Dispatch, receive, dispatch: goes on reading without sending. */
int netpeer_host_receive(ENetHost *host, ENetEvent *event, int *stage);
/* enet_host_flush() sending in batches; adds their figures to *sendTotals. */
void netpeer_host_flush(ENetHost *host, NetpeerSendBatchTotals *sendTotals);

#ifdef __cplusplus
}
#endif

#endif /* NETPEER_SERVICE_PASS_H_ */
