// HostWrap: one ENetHost behind the JS class `Host`.
//
// Mechanism only: arguments are type-checked (TypeError), everything else is
// reported as an int status from event-records.h. Buffers always belong to
// JS; the addon copies into and out of them and never exposes ENet memory.
#ifndef NETPEER_ENET_HOST_H_
#define NETPEER_ENET_HOST_H_

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "enet.h"
#include "event-records.h"
#include "impairment.h"
#include "service-pass.h"

namespace netpeer {

struct AddonData;

class HostWrap : public Napi::ObjectWrap<HostWrap> {
 public:
  static Napi::Function Init(Napi::Env env);

  explicit HostWrap(const Napi::CallbackInfo& info);
  ~HostWrap() override;

  // Releases the ENetHost and every held event (destroying their packets)
  // without notifying peers.
  // Idempotent; also called by the env cleanup hook.
  void Destroy();

  // The fast path (module functions in addon.cc, raw Node-API): the same work
  // as service() and send()+flush(), on the buffers given to bindBuffers().
  // Bytes written / records sent, or a negative status.
  int64_t ServiceBound(napi_env env, double maxPayload, uint32_t timeoutMs);
  int64_t SendBound(napi_env env, double sendLength, double deferredLength,
                    bool flush);

 private:
  enum class PackResult { kWritten, kDropped, kNoRoom };

  Napi::Value JS_open(const Napi::CallbackInfo& info);
  Napi::Value JS_localPort(const Napi::CallbackInfo& info);
  Napi::Value JS_connect(const Napi::CallbackInfo& info);
  Napi::Value JS_configurePeer(const Napi::CallbackInfo& info);
  Napi::Value JS_disconnect(const Napi::CallbackInfo& info);
  Napi::Value JS_service(const Napi::CallbackInfo& info);
  Napi::Value JS_serviceHeld(const Napi::CallbackInfo& info);
  Napi::Value JS_send(const Napi::CallbackInfo& info);
  Napi::Value JS_flush(const Napi::CallbackInfo& info);
  Napi::Value JS_peerStats(const Napi::CallbackInfo& info);
  Napi::Value JS_hostStats(const Napi::CallbackInfo& info);
  Napi::Value JS_resetPeer(const Napi::CallbackInfo& info);
  Napi::Value JS_setRefuseConnections(const Napi::CallbackInfo& info);
  Napi::Value JS_setConnectionLimit(const Napi::CallbackInfo& info);
  Napi::Value JS_setPeerDefaults(const Napi::CallbackInfo& info);
  Napi::Value JS_setImpairment(const Napi::CallbackInfo& info);
  Napi::Value JS_impairmentStats(const Napi::CallbackInfo& info);
  Napi::Value JS_close(const Napi::CallbackInfo& info);
  Napi::Value JS_bindBuffers(const Napi::CallbackInfo& info);
  Napi::Value JS_setReceiveBuffer(const Napi::CallbackInfo& info);

  int64_t ServiceInto(uint8_t* out, size_t capacity, uint64_t maxPayload,
                      uint32_t timeoutMs);
  int64_t SendBatch(const uint8_t* batch, size_t byteLength, double lengthArg);

  // A JS-owned buffer the fast path writes to or reads from: a strong
  // reference to its ArrayBuffer (so it cannot be collected) and the view's
  // place in it. The data pointer is looked up on every call, after checking
  // the ArrayBuffer was not detached, so nothing dangles.
  struct BoundBuffer {
    napi_ref ref = nullptr;
    size_t offset = 0;
    size_t length = 0;
  };
  static constexpr int kBoundReceive = 0;
  static constexpr int kBoundSend = 1;
  static constexpr int kBoundDeferred = 2;
  uint8_t* BoundData(napi_env env, const BoundBuffer& bound) const;
  void ReleaseBound();

  // host->intercept, installed by open(): finds the HostWrap being serviced
  // on this thread and lets it look at the datagram ENet just received.
  static int ENET_CALLBACK InterceptThunk(ENetHost* host, void* event);

  // Looks at every datagram before ENet parses it: 1 drops it, 0 lets ENet
  // have it (possibly rewritten in place, see InterceptPeerDatagram).
  int InterceptReceived();
  // A datagram with no peer id yet: refuses a new CONNECT (a DISCONNECT
  // carrying the refusal data, or nothing) while setRefuseConnections() is on
  // or the connection limit is reached; stamps the peer defaults on the free
  // slots before ENet takes one for a CONNECT it lets through.
  int InterceptConnect(const uint8_t* data, size_t length, size_t headerSize);
  // A datagram for an existing peer: validates every fragment command as
  // upstream ENet 1.3.17 does (drops the whole datagram otherwise), turns
  // messages above maxPacketBytes_ into small marker packets ENet still
  // acknowledges and sequences, and corrects the peer's waiting-data count.
  int InterceptPeerDatagram(ENetPeer* peer, uint8_t* data, size_t length,
                            size_t headerSize);
  // Recomputes peer->totalWaitingData from the packets it really holds (this
  // ENet fork never subtracts the incoming commands it discards), at most
  // every kWaitingDataRecountMs per peer and only once it reaches the limit.
  void RecountWaitingData(ENetPeer* peer);
  // Receives ENet would drop for us: marker packets of oversize messages.
  bool TakeOversize(const ENetEvent& event);
  void ApplyPeerDefaults(ENetPeer* peer) const;
  // Still readable after ENet reported an empty socket (a run of skipped
  // datagrams, or on Windows a zero-length one)?
  // The servicing loop shared by service() and serviceHeld().
  template <typename KeepGoing, typename Take>
  void ServiceEvents(uint32_t timeoutMs, KeepGoing keepGoing, Take take);

  // Receive figures before one enet_host_service() call, to tell afterwards
  // whether its pass may have stopped with datagrams still waiting.
  struct ReceiveMark {
    enet_uint32 receivedPackets;
    uint64_t skippedDatagrams;
  };
  ReceiveMark MarkReceive() const;
  bool MayHaveStoppedEarly(const ReceiveMark& mark) const;
  bool SocketReadable() const;

  // Peer for a JS handle, or nullptr when the host is closed or the handle is
  // not an integer index into host_->peers.
  ENetPeer* PeerAt(const Napi::Value& handle) const;

  // Writes one event record at *offset; consumes (destroys) its packet unless
  // the record does not fit, in which case the event is left untouched.
  PackResult PackEvent(const ENetEvent& event, uint8_t* out, size_t capacity,
                       size_t* offset, uint64_t maxPayload);

  // The held FIFO (see held_). HoldEvent appends (taking over the packet);
  // PopHeld removes the head without touching its packet (PackEvent has
  // consumed it); ClearHeld destroys every held packet.
  void HoldEvent(const ENetEvent& event);
  static bool IsDisconnect(const ENetEvent& event) {
    return event.type == ENET_EVENT_TYPE_DISCONNECT ||
           event.type == ENET_EVENT_TYPE_DISCONNECT_TIMEOUT;
  }
  void PopHeld();
  void ClearHeld();

  // Moves ENet's 32-bit host totals into our 64-bit counters so they never wrap.
  void FoldHostTotals();
  // enet_host_flush() with batched sends, counting refused datagrams.
  void FlushBatched() { netpeer_host_flush(host_, &sendBatchTotals_); }

  ENetHost* host_ = nullptr;
  AddonData* addon_ = nullptr;
  napi_env env_ = nullptr;
  uint32_t id_ = 0;  // in addon_->hostsById once bound, else 0
  BoundBuffer bound_[3];
  // MTU our connections advertise; host_->mtu is kept at the protocol maximum.
  enet_uint32 peerMtu_ = ENET_HOST_DEFAULT_MTU;

  // Events taken from ENet but not yet delivered to JS, oldest first:
  // service() delivers them before any new ENet event and leaves the ones
  // that do not fit in its output buffer here (the head is what used to be
  // the single "pending" event); serviceHeld() appends the events a stalled
  // application must not lose (reliable receives, connects, disconnects).
  // Each entry owns its packet. `bytes` is the payload length it counts for.
  struct HeldEvent {
    ENetEvent event;
    uint32_t bytes;
  };
  std::deque<HeldEvent> held_;
  uint64_t heldBytes_ = 0;
  // Held events per peer slot (host_->peerCount entries): connect() must not
  // hand a slot that held events still name to a new connection.
  std::vector<uint32_t> heldPerPeer_;
  // Held disconnect/timeout events: connections JS still counts as open
  // although ENet may have freed their slot (see InterceptConnect).
  size_t heldDisconnects_ = 0;

  uint64_t bytesSent_ = 0;
  uint64_t bytesReceived_ = 0;
  uint64_t packetsSent_ = 0;
  uint64_t packetsReceived_ = 0;
  uint64_t serviceErrors_ = 0;
  // Batched sends (send-batch.h): datagrams sent in batches, and those the
  // kernel refused, reported in serviceErrors (a failed unbatched send showed
  // as ENet's -1).
  NetpeerSendBatchTotals sendBatchTotals_ = {0, 0, 0};
  // The read-ahead (receive-batch.h, in receiveCounters_) was asked for once
  // a service call read many datagrams; datagrams it handed out before a
  // close() freed it.
  bool readAheadTried_ = false;
  uint64_t readAheadDelivered_ = 0;
  uint64_t oversizeDropped_ = 0;
  uint64_t sendSkipped_ = 0;
  uint64_t refusedConnections_ = 0;
  uint64_t unreliableDroppedWhileStalled_ = 0;
  // Datagrams dropped whole by the intercept: an invalid fragment command, or
  // a source port 0 (nothing can be sent back to it).
  uint64_t malformedDropped_ = 0;
  // Zero-length and truncated datagrams the recvmsg hook consumed on this
  // host's socket (fd set by open()). Truncated ones count as serviceErrors,
  // as they did when ENet's receive failed on them.
  NetpeerReceiveCounters receiveCounters_ = {-1, 0, 0, nullptr};

  // open()'s maxPacketBytes: larger messages are dropped (counted in
  // oversizeDropped) without ENet ever buffering them.
  size_t maxPacketBytes_ = ENET_HOST_DEFAULT_MAXIMUM_PACKET_SIZE;
  // Per peer slot: host->serviceTime of the last RecountWaitingData, and
  // whether there was one since the slot was (re)used.
  std::vector<uint32_t> waitingRecountAt_;
  std::vector<uint8_t> waitingRecounted_;

  // setRefuseConnections(): 0 accepts connections (subject to the limit
  // below), anything else is the disconnect data every new connection
  // attempt is refused with.
  uint32_t refuseData_ = 0;

  // setConnectionLimit(): a new CONNECT is refused while this many peers (not
  // DISCONNECTED, plus held disconnects) exist. kNoConnectionLimit = none.
  static constexpr uint32_t kNoConnectionLimit = 0xFFFFFFFFu;
  uint32_t connectionLimit_ = kNoConnectionLimit;
  uint32_t limitRefuseData_ = 0;
  bool limitSilent_ = false;

  // setPeerDefaults(): ping/timeout settings every peer starts with (0 =
  // ENet's default), stamped on free slots before ENet uses one.
  bool hasPeerDefaults_ = false;
  uint32_t defaultPingInterval_ = 0;
  uint32_t defaultTimeoutLimit_ = 0;
  uint32_t defaultTimeoutMinimum_ = 0;
  uint32_t defaultTimeoutMaximum_ = 0;

  // Impairment counters of sockets this wrapper has closed (impairment.c
  // forgets a socket's state when it closes); impairmentStats() adds the live
  // ones. Reset by open(), like the other counters.
  double impairmentTotals_[kImpairmentStatsLength] = {};
};

}  // namespace netpeer

#endif  // NETPEER_ENET_HOST_H_
