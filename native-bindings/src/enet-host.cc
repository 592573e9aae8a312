#include "enet-host.h"

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <string>

#include "addon-data.h"
#include "event-records.h"
#include "impairment.h"
#include "receive-batch.h"
#include "service-pass.h"

// ENet's own command size table (commandSizes in enet.h, defined in
// enet-impl.c but not declared by the header).
extern "C" size_t enet_protocol_command_size(enet_uint8 commandNumber);


namespace netpeer {
namespace {

// Bounds that keep one service() call finite even under a datagram flood:
// enet_host_service() returning -1 is routine in this ENet fork (a busy pass
// of 256 datagrams, a datagram larger than the MTU), so errors are counted and
// servicing goes on, but never forever.
constexpr int kMaxConsecutiveServiceErrors = 64;
constexpr int kMaxServiceIterations = 1 << 16;
// service() sends the acknowledgements of what it received before returning
// when the events it packed fill at least this fraction of the buffer (1/8 of
// the 256 KiB default: about 400 messages of 64 bytes), instead of leaving
// them for the next send.
constexpr size_t kAckNowBatchFraction = 8;
// ENet takes "nothing received" for "socket empty"; when the socket is still
// readable (the recvmsg hook stopped after a run of skipped datagrams, or on
// Windows a zero-length datagram) servicing resumes, at most this many times
// per call.
constexpr int kMaxReadableResumes = 64;
// A host gets a read-ahead (receive-batch.h) once one service call has read
// this many datagrams: a busy server, not a client reading a few a tick.
constexpr enet_uint32 kReadAheadAfterDatagrams = 64;

// maximumWaitingData for an open() with maxPacketBytes: at least this, at
// most ENet's default, 64 messages in between.
constexpr size_t kMinWaitingData = 4u * 1024 * 1024;
constexpr size_t kWaitingDataPerMessage = 64;
// RecountWaitingData() runs at most this often per peer.
constexpr uint32_t kWaitingDataRecountMs = 250;

// A message above maxPacketBytes reaches ENet as a packet holding only these
// bytes (see InterceptPeerDatagram), which service()/serviceHeld() recognise,
// drop and count in oversizeDropped. Random per process, so that no
// application payload matches it by design; forging it would only let a peer
// have its own message dropped.
constexpr size_t kOversizeMarkerBytes = 16;

// serviceHeld() stops taking events from ENet at this many held events, even
// when they carry no payload (a connect/disconnect storm), so the FIFO's
// bookkeeping stays bounded too.
constexpr size_t kMaxHeldEvents = 1 << 16;

constexpr uint32_t kPeerDisconnect = 0;       // graceful; drops queued data
constexpr uint32_t kPeerDisconnectNow = 1;    // immediate, no local event
constexpr uint32_t kPeerDisconnectLater = 2;  // graceful after queued data

// Explicit little-endian access: the record layout is LE on every platform
// Node runs on, big-endian s390x included.
inline uint32_t ReadU16(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8);
}

inline uint32_t ReadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

inline void WriteU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

// Big-endian (network order) access for ENet protocol headers. Byte-wise, so
// they work on unaligned datagram bytes.
inline uint32_t ReadBE16(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 8) | static_cast<uint32_t>(p[1]);
}

inline uint32_t ReadBE32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) |
         (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}

inline void WriteBE16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

inline void WriteBE32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// ENet wire layout (identical in ENet 1.3 and this fork, which interoperate):
// a 2-byte header field (peer id in the low 12 bits, session in bits 12-13,
// COMPRESSED and SENT_TIME flags in bits 14-15), then a 2-byte sentTime only
// when SENT_TIME is set, then commands that each start with
// u8 command, u8 channelID, u16 reliableSequenceNumber. The offsets below are
// those of the packed ENet structs; the static_asserts pin them.
constexpr size_t kWireHeaderShort = 2;  // peerID field only
constexpr size_t kWireHeaderLong = 4;   // peerID + sentTime
constexpr size_t kConnectOutgoingPeerIdOffset = 4;
constexpr size_t kConnectIncomingSessionOffset = 6;
constexpr size_t kConnectChannelCountOffset = 16;
constexpr size_t kConnectConnectIdOffset = 40;
constexpr size_t kConnectBytes = 48;
constexpr size_t kDisconnectDataOffset = 4;
constexpr size_t kDisconnectBytes = 8;
static_assert(sizeof(ENetProtocolHeader) == kWireHeaderLong, "");
static_assert(offsetof(ENetProtocolHeader, sentTime) == kWireHeaderShort, "");
static_assert(sizeof(ENetProtocolConnect) == kConnectBytes, "");
static_assert(offsetof(ENetProtocolConnect, outgoingPeerID) ==
                  kConnectOutgoingPeerIdOffset, "");
static_assert(offsetof(ENetProtocolConnect, incomingSessionID) ==
                  kConnectIncomingSessionOffset, "");
static_assert(offsetof(ENetProtocolConnect, channelCount) ==
                  kConnectChannelCountOffset, "");
static_assert(offsetof(ENetProtocolConnect, connectID) ==
                  kConnectConnectIdOffset, "");
static_assert(sizeof(ENetProtocolDisconnect) == kDisconnectBytes, "");
static_assert(offsetof(ENetProtocolDisconnect, data) == kDisconnectDataOffset, "");
// dataLength of the SEND_* commands, and the fragment fields.
constexpr size_t kSendReliableLengthOffset = 4;
constexpr size_t kSendUnreliableLengthOffset = 6;
constexpr size_t kSendUnsequencedLengthOffset = 6;
constexpr size_t kFragmentLengthOffset = 6;
constexpr size_t kFragmentCountOffset = 8;
constexpr size_t kFragmentNumberOffset = 12;
constexpr size_t kFragmentTotalLengthOffset = 16;
constexpr size_t kFragmentOffsetOffset = 20;
static_assert(offsetof(ENetProtocolSendReliable, dataLength) ==
                  kSendReliableLengthOffset, "");
static_assert(offsetof(ENetProtocolSendUnreliable, dataLength) ==
                  kSendUnreliableLengthOffset, "");
static_assert(offsetof(ENetProtocolSendUnsequenced, dataLength) ==
                  kSendUnsequencedLengthOffset, "");
static_assert(offsetof(ENetProtocolSendFragment, dataLength) ==
                  kFragmentLengthOffset, "");
static_assert(offsetof(ENetProtocolSendFragment, fragmentCount) ==
                  kFragmentCountOffset, "");
static_assert(offsetof(ENetProtocolSendFragment, fragmentNumber) ==
                  kFragmentNumberOffset, "");
static_assert(offsetof(ENetProtocolSendFragment, totalLength) ==
                  kFragmentTotalLengthOffset, "");
static_assert(offsetof(ENetProtocolSendFragment, fragmentOffset) ==
                  kFragmentOffsetOffset, "");
static_assert(sizeof(ENetProtocolSendFragment) == 24, "");

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

const uint8_t* OversizeMarker() {
  // Thread-safe one-time initialisation (C++11 statics).
  static const struct Marker {
    uint8_t bytes[kOversizeMarkerBytes];
    Marker() {
      int local = 0;
      uint64_t seed =
          static_cast<uint64_t>(
              std::chrono::steady_clock::now().time_since_epoch().count()) ^
          (static_cast<uint64_t>(
               std::chrono::system_clock::now().time_since_epoch().count())
           << 1) ^
          static_cast<uint64_t>(reinterpret_cast<uintptr_t>(&local)) ^
          (static_cast<uint64_t>(reinterpret_cast<uintptr_t>(this)) << 17);
      for (size_t i = 0; i < kOversizeMarkerBytes; i += 8) {
        seed = SplitMix64(seed);
        for (size_t b = 0; b < 8; ++b) {
          bytes[i + b] = static_cast<uint8_t>(seed >> (8 * b));
        }
      }
    }
  } marker;
  return marker.bytes;
}

// Payload bytes held by the incoming commands of `queue`.
size_t WaitingBytes(ENetList* queue) {
  size_t total = 0;
  for (ENetListIterator it = enet_list_begin(queue); it != enet_list_end(queue);
       it = enet_list_next(it)) {
    const ENetPacket* packet = reinterpret_cast<ENetIncomingCommand*>(it)->packet;
    if (packet != nullptr) total += packet->dataLength;
  }
  return total;
}

// The HostWrap whose enet_host_service() call is running on this thread.
// ENet only receives datagrams (and so only calls host->intercept) inside
// enet_host_service(), which only JS_service and JS_serviceHeld call,
// synchronously: the zpl ENetHost has no user-data field to find the wrapper
// from, and this needs neither a lock nor a registry that could outlive a
// host.
// The same scope binds the host's receive counters for the recvmsg hook
// (impairment.h), for the same reason.
thread_local HostWrap* tServicing = nullptr;

class ServicingScope {
 public:
  ServicingScope(HostWrap* host, NetpeerReceiveCounters* counters)
      : previous_(tServicing),
        previousCounters_(netpeer_receive_counters_bind(counters)) {
    tServicing = host;
  }
  ~ServicingScope() {
    tZeroEnetAllocations = true;  // the last datagram's answer ends here
    tServicing = previous_;
    netpeer_receive_counters_bind(previousCounters_);
  }
  ServicingScope(const ServicingScope&) = delete;
  ServicingScope& operator=(const ServicingScope&) = delete;

 private:
  HostWrap* previous_;
  NetpeerReceiveCounters* previousCounters_;
};

// An integer in [lo, hi]; NaN, infinities and fractions are not.
inline bool IsIntIn(double v, double lo, double hi) {
  return v >= lo && v <= hi && v == std::floor(v);
}

bool ThrowTypeError(const Napi::CallbackInfo& info, const char* message) {
  Napi::TypeError::New(info.Env(), message).ThrowAsJavaScriptException();
  return false;
}

bool RequireNumber(const Napi::CallbackInfo& info, size_t i,
                   const char* message) {
  return info[i].IsNumber() || ThrowTypeError(info, message);
}

bool RequireString(const Napi::CallbackInfo& info, size_t i,
                   const char* message) {
  return info[i].IsString() || ThrowTypeError(info, message);
}

bool RequireTypedArray(const Napi::CallbackInfo& info, size_t i,
                       napi_typedarray_type type, const char* message) {
  return (info[i].IsTypedArray() &&
          info[i].As<Napi::TypedArray>().TypedArrayType() == type) ||
         ThrowTypeError(info, message);
}

// The Float64Array argument `i` a stats call fills, and its length. On a
// non-Float64Array (TypeError thrown; *failure is undefined) or one shorter
// than minLength (*failure is ERR_RANGE) returns nullptr.
double* StatsOut(const Napi::CallbackInfo& info, size_t i, size_t minLength,
                 size_t* length, Napi::Value* failure) {
  if (!RequireTypedArray(info, i, napi_float64_array,
                         "Expected out to be a Float64Array")) {
    *failure = info.Env().Undefined();
    return nullptr;
  }
  Napi::Float64Array array = info[i].As<Napi::Float64Array>();
  if (array.Data() == nullptr || array.ElementLength() < minLength) {
    *failure = Napi::Number::New(info.Env(), kErrRange);
    return nullptr;
  }
  *length = array.ElementLength();
  return array.Data();
}

double NumberAt(const Napi::CallbackInfo& info, size_t i) {
  return info[i].As<Napi::Number>().DoubleValue();
}

// ToUint32 semantics (wraps), for opaque 32-bit data such as reasons.
uint32_t Uint32At(const Napi::CallbackInfo& info, size_t i) {
  return info[i].As<Napi::Number>().Uint32Value();
}

// Parses an IP literal into an ENetAddress. This ENet fork only has IPv6
// sockets (dual-stack, V6ONLY off) and its enet_address_set_host_ip() accepts
// IPv6 text only, so IPv4 literals become ::ffff:a.b.c.d here.
// AI_NUMERICHOST: never a DNS lookup on the JS thread; "%scope" suffixes of
// link-local IPv6 addresses are honoured.
bool ParseAddress(const std::string& text, uint16_t port, ENetAddress* out) {
  std::memset(out, 0, sizeof(*out));
  out->port = port;
  if (text.empty()) {
    out->host = ENET_HOST_ANY;
    return true;
  }
  struct addrinfo hints;
  std::memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICHOST;
  struct addrinfo* list = nullptr;
  if (getaddrinfo(text.c_str(), nullptr, &hints, &list) != 0 || !list) {
    return false;
  }
  bool ok = true;
  if (list->ai_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(list->ai_addr);
    uint8_t* bytes = out->host.s6_addr;
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    std::memcpy(bytes + 12, &sin->sin_addr, 4);
  } else if (list->ai_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(list->ai_addr);
    out->host = sin6->sin6_addr;
    out->sin6_scope_id = static_cast<enet_uint16>(sin6->sin6_scope_id);
  } else {
    ok = false;
  }
  freeaddrinfo(list);
  return ok;
}

// service()/serviceHeld() maxPayload argument: receives above it are dropped.
uint64_t MaxPayloadArg(double value) {
  return value > 0 ? static_cast<uint64_t>(std::fmin(value, 4294967295.0)) : 0;
}

// Bytes queued on a peer but not yet handed to the socket.
uint64_t QueuedBytes(ENetList* queue) {
  uint64_t total = 0;
  for (ENetListIterator it = enet_list_begin(queue); it != enet_list_end(queue);
       it = enet_list_next(it)) {
    total += reinterpret_cast<ENetOutgoingCommand*>(it)->fragmentLength;
  }
  return total;
}

}  // namespace

Napi::Function HostWrap::Init(Napi::Env env) {
  return DefineClass(
      env, "Host",
      {
          InstanceMethod<&HostWrap::JS_open>("open"),
          InstanceMethod<&HostWrap::JS_localPort>("localPort"),
          InstanceMethod<&HostWrap::JS_connect>("connect"),
          InstanceMethod<&HostWrap::JS_configurePeer>("configurePeer"),
          InstanceMethod<&HostWrap::JS_disconnect>("disconnect"),
          InstanceMethod<&HostWrap::JS_service>("service"),
          InstanceMethod<&HostWrap::JS_serviceHeld>("serviceHeld"),
          InstanceMethod<&HostWrap::JS_send>("send"),
          InstanceMethod<&HostWrap::JS_flush>("flush"),
          InstanceMethod<&HostWrap::JS_peerStats>("peerStats"),
          InstanceMethod<&HostWrap::JS_hostStats>("hostStats"),
          InstanceMethod<&HostWrap::JS_resetPeer>("resetPeer"),
          InstanceMethod<&HostWrap::JS_setRefuseConnections>(
              "setRefuseConnections"),
          InstanceMethod<&HostWrap::JS_setConnectionLimit>(
              "setConnectionLimit"),
          InstanceMethod<&HostWrap::JS_setPeerDefaults>("setPeerDefaults"),
          InstanceMethod<&HostWrap::JS_setImpairment>("setImpairment"),
          InstanceMethod<&HostWrap::JS_impairmentStats>("impairmentStats"),
          InstanceMethod<&HostWrap::JS_close>("close"),
          InstanceMethod<&HostWrap::JS_bindBuffers>("bindBuffers"),
          InstanceMethod<&HostWrap::JS_setReceiveBuffer>("setReceiveBuffer"),
      });
}

HostWrap::HostWrap(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<HostWrap>(info),
      addon_(info.Env().GetInstanceData<AddonData>()),
      env_(info.Env()) {}

HostWrap::~HostWrap() { Destroy(); }

void HostWrap::Destroy() {
  ClearHeld();
  if (host_ == nullptr) return;
  FoldHostTotals();
  // Before enet_host_destroy closes the socket: a later socket may get the
  // same fd, and must not inherit this one's impairment.
  netpeer_impairment_release(static_cast<int64_t>(host_->socket),
                             impairmentTotals_);
  enet_host_destroy(host_);
  host_ = nullptr;
  readAheadDelivered_ += netpeer_read_ahead_delivered(receiveCounters_.readAhead);
  netpeer_read_ahead_destroy(receiveCounters_.readAhead);
  receiveCounters_.readAhead = nullptr;
  ReleaseBound();
  if (addon_ != nullptr) addon_->openHosts.erase(this);
}

void HostWrap::ReleaseBound() {
  if (id_ != 0 && addon_ != nullptr && id_ < addon_->hostsById.size()) {
    addon_->hostsById[id_] = nullptr;
  }
  id_ = 0;
  for (BoundBuffer& bound : bound_) {
    if (bound.ref != nullptr) napi_delete_reference(env_, bound.ref);
    bound = BoundBuffer();
  }
}

uint8_t* HostWrap::BoundData(napi_env env, const BoundBuffer& bound) const {
  napi_value buffer;
  bool detached = true;
  void* data = nullptr;
  size_t byteLength = 0;
  if (bound.ref == nullptr ||
      napi_get_reference_value(env, bound.ref, &buffer) != napi_ok ||
      buffer == nullptr ||
      napi_is_detached_arraybuffer(env, buffer, &detached) != napi_ok ||
      detached ||
      napi_get_arraybuffer_info(env, buffer, &data, &byteLength) != napi_ok ||
      data == nullptr || bound.offset + bound.length > byteLength) {
    return nullptr;
  }
  return static_cast<uint8_t*>(data) + bound.offset;
}

void HostWrap::HoldEvent(const ENetEvent& event) {
  uint32_t bytes = event.packet != nullptr
                       ? static_cast<uint32_t>(event.packet->dataLength)
                       : 0;
  held_.push_back(HeldEvent{event, bytes});
  heldBytes_ += bytes;
  if (IsDisconnect(event)) ++heldDisconnects_;
  if (event.peer != nullptr) ++heldPerPeer_[event.peer - host_->peers];
}

void HostWrap::PopHeld() {
  const HeldEvent& head = held_.front();
  heldBytes_ -= head.bytes;
  if (IsDisconnect(head.event)) --heldDisconnects_;
  if (head.event.peer != nullptr) --heldPerPeer_[head.event.peer - host_->peers];
  held_.pop_front();
}

void HostWrap::ClearHeld() {
  for (HeldEvent& entry : held_) {
    if (entry.event.packet != nullptr) enet_packet_destroy(entry.event.packet);
  }
  // Swaps rather than clear(): a burst of held events leaves no capacity
  // behind.
  std::deque<HeldEvent>().swap(held_);
  heldBytes_ = 0;
  heldDisconnects_ = 0;
  for (uint32_t& count : heldPerPeer_) count = 0;
}

void HostWrap::FoldHostTotals() {
  bytesSent_ += host_->totalSentData;
  bytesReceived_ += host_->totalReceivedData;
  packetsSent_ += host_->totalSentPackets;
  packetsReceived_ += host_->totalReceivedPackets;
  host_->totalSentData = 0;
  host_->totalReceivedData = 0;
  host_->totalSentPackets = 0;
  host_->totalReceivedPackets = 0;
}

ENetPeer* HostWrap::PeerAt(const Napi::Value& handle) const {
  if (host_ == nullptr) return nullptr;
  double index = handle.As<Napi::Number>().DoubleValue();
  if (!IsIntIn(index, 0, static_cast<double>(host_->peerCount) - 1)) {
    return nullptr;
  }
  return &host_->peers[static_cast<size_t>(index)];
}

// open(address, port, peerLimit, channelLimit, mtu, maxPacketBytes?): status
//
// maxPacketBytes (optional; undefined or 0 = ENet's 32 MiB): the largest
// message this host takes in. Larger ones are acknowledged and sequenced as
// usual but never buffered: the intercept shrinks them to marker packets that
// service()/serviceHeld() drop, counting each message once in
// oversizeDropped. It also sizes ENet's per-peer receive buffering
// (host->maximumWaitingData = clamp(64 * maxPacketBytes, 4 MiB, 32 MiB)).
Napi::Value HostWrap::JS_open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool hasMaxPacketBytes = info.Length() > 5 && !info[5].IsUndefined();
  if (!RequireString(info, 0, "Expected address to be a string") ||
      !RequireNumber(info, 1, "Expected port to be a number") ||
      !RequireNumber(info, 2, "Expected peerLimit to be a number") ||
      !RequireNumber(info, 3, "Expected channelLimit to be a number") ||
      !RequireNumber(info, 4, "Expected mtu to be a number") ||
      (hasMaxPacketBytes &&
       !RequireNumber(info, 5,
                      "Expected maxPacketBytes to be a number or undefined"))) {
    return env.Undefined();
  }
  if (host_ != nullptr || addon_ == nullptr) {
    return Napi::Number::New(env, kErrState);
  }
  double port = NumberAt(info, 1);
  double peerLimit = NumberAt(info, 2);
  double channelLimit = NumberAt(info, 3);
  double mtu = NumberAt(info, 4);
  double maxPacketBytes = hasMaxPacketBytes ? NumberAt(info, 5) : 0;
  // ENet would overrun its fixed packetData[ENET_PROTOCOL_MAXIMUM_MTU]
  // buffers with a larger MTU, so the ranges are enforced here too.
  if (!IsIntIn(port, 0, 65535) ||
      !IsIntIn(peerLimit, 1, ENET_PROTOCOL_MAXIMUM_PEER_ID) ||
      !IsIntIn(channelLimit, ENET_PROTOCOL_MINIMUM_CHANNEL_COUNT,
               ENET_PROTOCOL_MAXIMUM_CHANNEL_COUNT) ||
      !(mtu == 0 || IsIntIn(mtu, ENET_PROTOCOL_MINIMUM_MTU,
                            ENET_PROTOCOL_MAXIMUM_MTU)) ||
      !(maxPacketBytes == 0 ||
        IsIntIn(maxPacketBytes, kOversizeMarkerBytes,
                ENET_HOST_DEFAULT_MAXIMUM_PACKET_SIZE))) {
    return Napi::Number::New(env, kErrRange);
  }
  ENetAddress address;
  if (!ParseAddress(info[0].As<Napi::String>().Utf8Value(),
                    static_cast<uint16_t>(port), &address)) {
    return Napi::Number::New(env, kErrResolve);
  }
  ENetHost* host = enet_host_create(&address, static_cast<size_t>(peerLimit),
                                    static_cast<size_t>(channelLimit), 0, 0);
  if (host == nullptr) return Napi::Number::New(env, kErrHostCreate);
  // This ENet fork sizes its receive buffer by host->mtu and drops (-1) any
  // larger datagram, while a server adopts each client's MTU unclamped: a
  // client with a bigger MTU than ours could never deliver a full datagram.
  // So host->mtu stays at the protocol maximum (receive anything legal) and
  // the configured MTU is what our peers advertise, stamped in JS_connect.
  peerMtu_ = mtu != 0 ? static_cast<enet_uint32>(mtu)
                      : static_cast<enet_uint32>(ENET_HOST_DEFAULT_MTU);
  host->mtu = ENET_PROTOCOL_MAXIMUM_MTU;
  if (maxPacketBytes != 0) {
    maxPacketBytes_ = static_cast<size_t>(maxPacketBytes);
    // ENet checks incoming lengths against maximumPacketSize too: the marker
    // packet of an oversize fragmented message is max(fragmentCount, 16)
    // bytes (fragmentCount <= 2^20), so ENet's limit stays at least that.
    // Every length it sees has been checked against maxPacketBytes_ first.
    host->maximumPacketSize =
        maxPacketBytes_ > ENET_PROTOCOL_MAXIMUM_FRAGMENT_COUNT
            ? maxPacketBytes_
            : static_cast<size_t>(ENET_PROTOCOL_MAXIMUM_FRAGMENT_COUNT);
    size_t waiting = kWaitingDataPerMessage * maxPacketBytes_;
    if (waiting > ENET_HOST_DEFAULT_MAXIMUM_WAITING_DATA) {
      waiting = ENET_HOST_DEFAULT_MAXIMUM_WAITING_DATA;
    }
    host->maximumWaitingData = waiting > kMinWaitingData ? waiting : kMinWaitingData;
  } else {
    maxPacketBytes_ = ENET_HOST_DEFAULT_MAXIMUM_PACKET_SIZE;
  }
  // Always installed: it validates every datagram before ENet parses it.
  host->intercept = &HostWrap::InterceptThunk;
  host_ = host;
  heldPerPeer_.assign(host->peerCount, 0);
  waitingRecountAt_.assign(host->peerCount, 0);
  waitingRecounted_.assign(host->peerCount, 0);
  bytesSent_ = bytesReceived_ = packetsSent_ = packetsReceived_ = 0;
  serviceErrors_ = oversizeDropped_ = sendSkipped_ = 0;
  sendBatchTotals_ = NetpeerSendBatchTotals{0, 0, 0};
  readAheadTried_ = false;
  readAheadDelivered_ = 0;
  refusedConnections_ = unreliableDroppedWhileStalled_ = 0;
  malformedDropped_ = 0;
  receiveCounters_.fd = static_cast<int64_t>(host->socket);
  receiveCounters_.emptyDropped = receiveCounters_.truncatedDropped = 0;
  refuseData_ = 0;
  connectionLimit_ = kNoConnectionLimit;
  limitRefuseData_ = 0;
  limitSilent_ = false;
  hasPeerDefaults_ = false;
  for (double& total : impairmentTotals_) total = 0;
  addon_->openHosts.insert(this);
  return Napi::Number::New(env, 0);
}

// localPort(): number
Napi::Value HostWrap::JS_localPort(const Napi::CallbackInfo& info) {
  ENetAddress address;
  if (host_ == nullptr || enet_socket_get_address(host_->socket, &address) < 0) {
    return Napi::Number::New(info.Env(), -1);
  }
  return Napi::Number::New(info.Env(), address.port);
}

// connect(address, port, channelCount, data): peer handle or status
Napi::Value HostWrap::JS_connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireString(info, 0, "Expected address to be a string") ||
      !RequireNumber(info, 1, "Expected port to be a number") ||
      !RequireNumber(info, 2, "Expected channelCount to be a number") ||
      !RequireNumber(info, 3, "Expected data to be a number")) {
    return env.Undefined();
  }
  if (host_ == nullptr) return Napi::Number::New(env, kErrState);
  double port = NumberAt(info, 1);
  double channelCount = NumberAt(info, 2);
  if (!IsIntIn(port, 1, 65535) ||
      !IsIntIn(channelCount, ENET_PROTOCOL_MINIMUM_CHANNEL_COUNT,
               ENET_PROTOCOL_MAXIMUM_CHANNEL_COUNT)) {
    return Napi::Number::New(env, kErrRange);
  }
  std::string text = info[0].As<Napi::String>().Utf8Value();
  ENetAddress address;
  if (text.empty() ||
      !ParseAddress(text, static_cast<uint16_t>(port), &address)) {
    return Napi::Number::New(env, kErrResolve);
  }
  // enet_host_connect takes the first free slot as it is and advertises its
  // mtu, which enet_peer_reset set to host->mtu (see JS_open); the slot's
  // ping/timeout settings are ENet's defaults after a reset too.
  for (size_t i = 0; i < host_->peerCount; ++i) {
    if (host_->peers[i].state == ENET_PEER_STATE_DISCONNECTED) {
      host_->peers[i].mtu = peerMtu_;
      if (hasPeerDefaults_) ApplyPeerDefaults(&host_->peers[i]);
    }
  }
  // A held event may name a slot ENet has already freed (a disconnect, or a
  // peer JS reset since). Handing that slot to a new connection before JS
  // has read the event would attribute the event to the wrong connection, so
  // every such slot looks busy (ZOMBIE, which enet_host_connect skips) for
  // the duration of the call. Incoming connections may still take the slot:
  // their CONNECT event is queued behind the held ones, so JS reads them in
  // order.
  std::vector<ENetPeer*> guarded;
  if (!held_.empty()) {
    for (size_t i = 0; i < host_->peerCount; ++i) {
      if (heldPerPeer_[i] != 0 &&
          host_->peers[i].state == ENET_PEER_STATE_DISCONNECTED) {
        host_->peers[i].state = ENET_PEER_STATE_ZOMBIE;
        guarded.push_back(&host_->peers[i]);
      }
    }
  }
  ENetPeer* peer = enet_host_connect(
      host_, &address, static_cast<size_t>(channelCount), Uint32At(info, 3));
  for (ENetPeer* slot : guarded) slot->state = ENET_PEER_STATE_DISCONNECTED;
  if (peer == nullptr) return Napi::Number::New(env, kErrNoPeer);
  return Napi::Number::New(env, static_cast<double>(peer - host_->peers));
}

// configurePeer(handle, pingIntervalMs, timeoutLimit, timeoutMinimumMs,
//               timeoutMaximumMs): status
Napi::Value HostWrap::JS_configurePeer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireNumber(info, 0, "Expected handle to be a number") ||
      !RequireNumber(info, 1, "Expected pingIntervalMs to be a number") ||
      !RequireNumber(info, 2, "Expected timeoutLimit to be a number") ||
      !RequireNumber(info, 3, "Expected timeoutMinimumMs to be a number") ||
      !RequireNumber(info, 4, "Expected timeoutMaximumMs to be a number")) {
    return env.Undefined();
  }
  ENetPeer* peer = PeerAt(info[0]);
  if (peer == nullptr) return Napi::Number::New(env, kErrBadPeer);
  // 0 means "ENet default" for each of these, as in ENet itself.
  enet_peer_ping_interval(peer, Uint32At(info, 1));
  enet_peer_timeout(peer, Uint32At(info, 2), Uint32At(info, 3),
                    Uint32At(info, 4));
  return Napi::Number::New(env, 0);
}

// disconnect(handle, data, mode): status
Napi::Value HostWrap::JS_disconnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireNumber(info, 0, "Expected handle to be a number") ||
      !RequireNumber(info, 1, "Expected data to be a number") ||
      !RequireNumber(info, 2, "Expected mode to be a number")) {
    return env.Undefined();
  }
  ENetPeer* peer = PeerAt(info[0]);
  if (peer == nullptr) return Napi::Number::New(env, kErrBadPeer);
  uint32_t data = Uint32At(info, 1);
  double mode = NumberAt(info, 2);
  if (mode == kPeerDisconnect) {
    enet_peer_disconnect(peer, data);
  } else if (mode == kPeerDisconnectNow) {
    enet_peer_disconnect_now(peer, data);
  } else if (mode == kPeerDisconnectLater) {
    enet_peer_disconnect_later(peer, data);
  } else {
    return Napi::Number::New(env, kErrRange);
  }
  return Napi::Number::New(env, 0);
}

HostWrap::PackResult HostWrap::PackEvent(const ENetEvent& event, uint8_t* out,
                                         size_t capacity, size_t* offset,
                                         uint64_t maxPayload) {
  uint8_t type;
  uint8_t channel = 0;
  uint8_t flags = 0;
  uint32_t data = event.data;
  uint32_t length = 0;
  switch (event.type) {
    case ENET_EVENT_TYPE_CONNECT:
      type = kEventConnect;
      channel = static_cast<uint8_t>(event.peer->channelCount);
      break;
    case ENET_EVENT_TYPE_DISCONNECT:
      type = kEventDisconnect;
      break;
    case ENET_EVENT_TYPE_DISCONNECT_TIMEOUT:
      type = kEventDisconnectTimeout;
      break;
    case ENET_EVENT_TYPE_RECEIVE:
      if (TakeOversize(event)) return PackResult::kDropped;
      if (event.packet->dataLength > maxPayload) {
        enet_packet_destroy(event.packet);
        ++oversizeDropped_;
        return PackResult::kDropped;
      }
      type = kEventReceive;
      channel = event.channelID;
      flags = static_cast<uint8_t>(event.packet->flags & 0xFF);
      data = 0;
      length = static_cast<uint32_t>(event.packet->dataLength);
      break;
    default:
      if (event.packet != nullptr) enet_packet_destroy(event.packet);
      return PackResult::kDropped;
  }

  uint64_t start = *offset;
  uint64_t end = AlignRecord(start + kRecordHeaderBytes + length);
  if (end > capacity) return PackResult::kNoRoom;

  uint8_t* record = out + start;
  record[kRecordTypeOffset] = type;
  record[kRecordChannelOffset] = channel;
  record[kRecordFlagsOffset] = flags;
  record[3] = 0;
  WriteU32(record + kRecordPeerOffset,
           static_cast<uint32_t>(event.peer - host_->peers));
  WriteU32(record + kRecordDataOffset, data);
  WriteU32(record + kRecordLengthOffset, length);
  uint8_t* payload = record + kRecordHeaderBytes;
  if (length > 0) std::memcpy(payload, event.packet->data, length);
  std::memset(payload + length, 0, end - (start + kRecordHeaderBytes + length));
  if (event.packet != nullptr) enet_packet_destroy(event.packet);
  *offset = static_cast<size_t>(end);
  return PackResult::kWritten;
}

// Calls enet_host_service() until it has nothing more to give or `keepGoing`
// says stop, handing each event to `take` (false: stop; an event not taken
// must have been held). Counts this fork's -1 returns (after a busy receive
// pass, or an oversized datagram) and goes on, and resumes a pass that may
// have stopped with datagrams still waiting.
template <typename KeepGoing, typename Take>
void HostWrap::ServiceEvents(uint32_t timeoutMs, KeepGoing keepGoing, Take take) {
  ServicingScope servicing(this, &receiveCounters_);
  const enet_uint32 datagramsAtStart = host_->totalReceivedPackets;
  int consecutiveErrors = 0;
  int resumes = 0;
  // What enet_host_service() does, in the order it does it, except that the
  // acknowledgements of what this call receives are not sent before it
  // returns (they leave with the application's replies: see ServiceInto):
  // send and receive until the receive runs to its end, resuming the send
  // after a timeout event and the receive after a connect event or this
  // fork's -1 after 256 datagrams; then hand out the queued events.
  enum class Next { kSendReceive, kReceive, kDispatch };
  Next next = Next::kSendReceive;
  ReceiveMark mark = MarkReceive();
  ReceiveMark completedMark = mark;
  for (int i = 0; i < kMaxServiceIterations && keepGoing(); ++i) {
    ENetEvent event;
    int result;
    int stage = NETPEER_STAGE_DONE;
    if (timeoutMs != 0) {
      // A call that may wait is ENet's own pass.
      mark = MarkReceive();
      result = enet_host_service(host_, &event, timeoutMs);
      timeoutMs = 0;
      completedMark = mark;
      next = Next::kDispatch;
    } else if (next == Next::kDispatch) {
      result = enet_host_check_events(host_, &event);
    } else {
      mark = MarkReceive();
      result = next == Next::kSendReceive
                   ? netpeer_host_send_receive(host_, &event, &stage, &sendBatchTotals_)
                   : netpeer_host_receive(host_, &event, &stage);
      if (stage == NETPEER_STAGE_RECEIVE) {
        next = Next::kReceive;
      } else if (stage == NETPEER_STAGE_DONE) {
        next = Next::kDispatch;
        completedMark = mark;
      }
      // NETPEER_STAGE_QUEUED and NETPEER_STAGE_SEND: the same pass again.
    }
    if (result < 0) {
      ++serviceErrors_;
      if (++consecutiveErrors >= kMaxConsecutiveServiceErrors) break;
      continue;
    }
    consecutiveErrors = 0;
    if (result == 0) {
      // Only a finished receive or an empty queue returns 0 (next is
      // kDispatch). Asking the socket costs a poll() per call, so only after a receive
      // that may have stopped with datagrams still waiting.
      if (resumes < kMaxReadableResumes && MayHaveStoppedEarly(completedMark) &&
          SocketReadable()) {
        ++resumes;
        next = Next::kReceive;
        continue;
      }
      break;
    }
    if (!take(event)) break;
  }
  if (!readAheadTried_ &&
      host_->totalReceivedPackets - datagramsAtStart >= kReadAheadAfterDatagrams) {
    readAheadTried_ = true;  // NULL where there is no recvmmsg(): once is enough
    receiveCounters_.readAhead = netpeer_read_ahead_create();
  }
  FoldHostTotals();
}

// service(out, maxPayload, timeoutMs): bytes written or status
//
// Delivers the held events first, oldest first, and only once none is left
// services ENet for new ones. An event that does not fit in `out` is held
// (left at, or appended to, the FIFO) and returned by the next call.
Napi::Value HostWrap::JS_service(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireTypedArray(info, 0, napi_uint8_array,
                         "Expected out to be a Uint8Array") ||
      !RequireNumber(info, 1, "Expected maxPayload to be a number") ||
      !RequireNumber(info, 2, "Expected timeoutMs to be a number")) {
    return env.Undefined();
  }
  Napi::Uint8Array outArray = info[0].As<Napi::Uint8Array>();
  uint8_t* out = outArray.Data();
  size_t capacity = out != nullptr ? outArray.ByteLength() : 0;
  return Napi::Number::New(
      env, static_cast<double>(ServiceInto(out, capacity,
                                           MaxPayloadArg(NumberAt(info, 1)),
                                           Uint32At(info, 2))));
}

int64_t HostWrap::ServiceBound(napi_env env, double maxPayload,
                               uint32_t timeoutMs) {
  const BoundBuffer& bound = bound_[kBoundReceive];
  uint8_t* out = BoundData(env, bound);
  if (out == nullptr) return kErrState;
  return ServiceInto(out, bound.length, MaxPayloadArg(maxPayload), timeoutMs);
}

int64_t HostWrap::ServiceInto(uint8_t* out, size_t capacity,
                              uint64_t maxPayload, uint32_t timeoutMs) {
  if (host_ == nullptr) return kErrState;

  // Held-back outgoing datagrams that are due leave first (a no-op unless
  // this host's socket is impaired).
  netpeer_impairment_pump(static_cast<int64_t>(host_->socket));

  size_t offset = 0;
  if (!held_.empty()) {
    do {
      // PackEvent consumes the packet unless there is no room; PopHeld then
      // only forgets the entry.
      if (PackEvent(held_.front().event, out, capacity, &offset, maxPayload) ==
          PackResult::kNoRoom) {
        return static_cast<int64_t>(offset);
      }
      PopHeld();
    } while (!held_.empty());
    timeoutMs = 0;  // we already have something to return
  }

  const uint64_t datagramsBefore = packetsReceived_ + host_->totalReceivedPackets;
  ServiceEvents(timeoutMs, [] { return true; }, [&](ENetEvent& event) {
    if (PackEvent(event, out, capacity, &offset, maxPayload) == PackResult::kNoRoom) {
      HoldEvent(event);
      return false;
    }
    return true;
  });
  const bool readAny = packetsReceived_ + host_->totalReceivedPackets != datagramsBefore;
  // The passes above left their acknowledgements (and protocol answers such
  // as a VERIFY_CONNECT) queued, to leave with the application's replies at
  // its next send or service. Send them now when nothing will be replied to
  // (datagrams came in but no event came out of this call), or when the
  // batch is so large that the application will take a while over it while
  // a sender whose window is full waits for them. A call that read nothing
  // has nothing new to acknowledge, and its pass already sent the rest: no
  // flush, which would walk every peer slot again.
  if ((offset == 0 && readAny) || offset >= capacity / kAckNowBatchFraction) {
    FlushBatched();
  }
  return static_cast<int64_t>(offset);
}

// serviceHeld(maxPayload, maxHeldBytes): events held or status
//
// Keeps ENet serviced while the application does not take events (acks,
// pings, retransmissions and the socket reads go on) without losing anything
// ENet has acknowledged: reliable receives, connects and disconnects are
// appended to the held FIFO, which service() delivers later in order;
// unreliable receives are destroyed and counted (unreliableDroppedWhileStalled),
// receives above maxPayload too (oversizeDropped). Once the FIFO holds
// maxHeldBytes payload bytes (or kMaxHeldEvents events) ENet is not serviced
// any more: it then stops reading the socket, and the remote retransmits what
// it could not deliver.
Napi::Value HostWrap::JS_serviceHeld(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireNumber(info, 0, "Expected maxPayload to be a number") ||
      !RequireNumber(info, 1, "Expected maxHeldBytes to be a number")) {
    return env.Undefined();
  }
  if (host_ == nullptr) return Napi::Number::New(env, kErrState);
  uint64_t maxPayload = MaxPayloadArg(NumberAt(info, 0));
  double maxHeldArg = NumberAt(info, 1);
  if (!(maxHeldArg >= 0)) return Napi::Number::New(env, kErrRange);  // NaN too
  uint64_t maxHeldBytes =
      static_cast<uint64_t>(std::fmin(maxHeldArg, 9007199254740991.0));
  auto full = [&] {
    return heldBytes_ >= maxHeldBytes || held_.size() >= kMaxHeldEvents;
  };
  // Full: do not receive at all rather than receive and discard.
  if (full()) return Napi::Number::New(env, static_cast<double>(held_.size()));

  netpeer_impairment_pump(static_cast<int64_t>(host_->socket));

  ServiceEvents(0, [&] { return !full(); }, [&](ENetEvent& event) {
    switch (event.type) {
      case ENET_EVENT_TYPE_RECEIVE:
        // Oversize first: that counter means the same stalled or not.
        if (TakeOversize(event)) {
          // dropped and counted
        } else if (event.packet->dataLength > maxPayload) {
          enet_packet_destroy(event.packet);
          ++oversizeDropped_;
        } else if ((event.packet->flags & ENET_PACKET_FLAG_RELIABLE) == 0) {
          enet_packet_destroy(event.packet);
          ++unreliableDroppedWhileStalled_;
        } else {
          HoldEvent(event);
        }
        break;
      case ENET_EVENT_TYPE_CONNECT:
      case ENET_EVENT_TYPE_DISCONNECT:
      case ENET_EVENT_TYPE_DISCONNECT_TIMEOUT:
        HoldEvent(event);
        break;
      default:
        if (event.packet != nullptr) enet_packet_destroy(event.packet);
        break;
    }
    return true;
  });
  // Nothing the application sends will carry these acknowledgements while it
  // is stalled, and once the FIFO is full no pass runs: send them now.
  FlushBatched();
  return Napi::Number::New(env, static_cast<double>(held_.size()));
}

// send(batch, length): records processed or status
Napi::Value HostWrap::JS_send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireTypedArray(info, 0, napi_uint8_array,
                         "Expected batch to be a Uint8Array") ||
      !RequireNumber(info, 1, "Expected length to be a number")) {
    return env.Undefined();
  }
  Napi::Uint8Array batchArray = info[0].As<Napi::Uint8Array>();
  const uint8_t* batch = batchArray.Data();
  size_t byteLength = batch != nullptr ? batchArray.ByteLength() : 0;
  return Napi::Number::New(
      env, static_cast<double>(SendBatch(batch, byteLength, NumberAt(info, 1))));
}

// The send batch, then the deferred one (see ENetDriver), then a flush if
// asked: what send(), send() and flush() do, in one crossing.
int64_t HostWrap::SendBound(napi_env env, double sendLength,
                            double deferredLength, bool flush) {
  if (host_ == nullptr) return kErrState;
  int64_t records = 0;
  const double lengths[2] = {sendLength, deferredLength};
  const int which[2] = {kBoundSend, kBoundDeferred};
  for (int i = 0; i < 2; ++i) {
    if (lengths[i] == 0) continue;
    const BoundBuffer& bound = bound_[which[i]];
    const uint8_t* batch = BoundData(env, bound);
    if (batch == nullptr) return kErrState;
    int64_t sent = SendBatch(batch, bound.length, lengths[i]);
    if (sent < 0) return sent;
    records += sent;
  }
  if (flush) {
    netpeer_impairment_pump(static_cast<int64_t>(host_->socket));
    FlushBatched();
  }
  return records;
}

int64_t HostWrap::SendBatch(const uint8_t* batch, size_t byteLength,
                            double lengthArg) {
  if (host_ == nullptr) return kErrState;
  // Packets are filled from the batch, commands by ENet: nothing to zero.
  ZeroAllocationsScope plainAllocations(false);
  if (!IsIntIn(lengthArg, 0, static_cast<double>(byteLength))) {
    return kErrBadBatch;
  }
  const uint64_t length = static_cast<uint64_t>(lengthArg);
  // Validate every record before sending any, so a malformed batch is
  // rejected whole instead of half sent.
  int records = 0;
  for (uint64_t offset = 0; offset < length; ++records) {
    if (offset + kSendHeaderBytes > length) {
      return kErrBadBatch;
    }
    const uint8_t* record = batch + offset;
    uint64_t end = offset + kSendHeaderBytes +
                   4ull * ReadU16(record + kSendTargetCountOffset) +
                   ReadU32(record + kSendLengthOffset);
    if (end > length) return kErrBadBatch;
    offset = AlignRecord(end);
  }

  for (uint64_t offset = 0; offset < length;) {
    const uint8_t* record = batch + offset;
    uint32_t payloadLength = ReadU32(record + kSendLengthOffset);
    uint32_t targetCount = ReadU16(record + kSendTargetCountOffset);
    uint8_t channel = record[kSendChannelOffset];
    uint32_t flags = ReadU32(record + kSendFlagsOffset) & kSendFlagMask;
    const uint8_t* targets = record + kSendHeaderBytes;
    const uint8_t* payload = targets + 4u * targetCount;
    offset = AlignRecord(offset + kSendHeaderBytes + 4ull * targetCount +
                         payloadLength);
    if (targetCount == 0) continue;

    // One packet shared by every target: a multicast is encoded once.
    ENetPacket* packet = enet_packet_create(payload, payloadLength, flags);
    if (packet == nullptr) {
      sendSkipped_ += targetCount;
      continue;
    }
    for (uint32_t t = 0; t < targetCount; ++t) {
      uint32_t handle = ReadU32(targets + 4u * t);
      if (handle >= host_->peerCount ||
          host_->peers[handle].state != ENET_PEER_STATE_CONNECTED ||
          enet_peer_send(&host_->peers[handle], channel, packet) < 0) {
        // enet_peer_send also refuses a channel the peer did not negotiate
        // and packets above host->maximumPacketSize.
        ++sendSkipped_;
      }
    }
    if (packet->referenceCount == 0) enet_packet_destroy(packet);
  }
  return records;
}

// flush(): void
Napi::Value HostWrap::JS_flush(const Napi::CallbackInfo& info) {
  if (host_ != nullptr) {
    netpeer_impairment_pump(static_cast<int64_t>(host_->socket));
    FlushBatched();
  }
  return info.Env().Undefined();
}

// peerStats(handle, out: Float64Array): status
Napi::Value HostWrap::JS_peerStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireNumber(info, 0, "Expected handle to be a number")) return env.Undefined();
  size_t length = 0;
  Napi::Value failure;
  double* out = StatsOut(info, 1, kPeerStatsLength, &length, &failure);
  if (out == nullptr) return failure;
  ENetPeer* peer = PeerAt(info[0]);
  if (peer == nullptr) return Napi::Number::New(env, kErrBadPeer);
  out[0] = peer->roundTripTime;
  out[1] = peer->roundTripTimeVariance;
  out[2] = static_cast<double>(peer->totalPacketsSent);
  out[3] = peer->totalPacketsLost;
  out[4] = static_cast<double>(peer->totalDataSent);
  out[5] = static_cast<double>(peer->totalDataReceived);
  out[6] = peer->reliableDataInTransit;
  out[7] = static_cast<double>(QueuedBytes(&peer->outgoingReliableCommands) +
                               QueuedBytes(&peer->outgoingUnreliableCommands));
  out[8] = peer->state;
  out[9] = static_cast<double>(peer->packetLoss) / ENET_PEER_PACKET_LOSS_SCALE;
  out[10] = peer->mtu;
  out[11] = static_cast<double>(peer->channelCount);
  return Napi::Number::New(env, 0);
}

// hostStats(out: Float64Array): status. Counters survive close(); see
// kHostStatsLength for the layout.
Napi::Value HostWrap::JS_hostStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = 0;
  Napi::Value failure;
  double* out = StatsOut(info, 0, kHostStatsMinimumLength, &length, &failure);
  if (out == nullptr) return failure;
  if (host_ != nullptr) FoldHostTotals();
  out[0] = static_cast<double>(bytesSent_);
  out[1] = static_cast<double>(bytesReceived_);
  out[2] = static_cast<double>(packetsSent_);
  out[3] = static_cast<double>(packetsReceived_);
  out[4] = static_cast<double>(serviceErrors_ + sendBatchTotals_.datagrams +
                               receiveCounters_.truncatedDropped);
  out[5] = static_cast<double>(oversizeDropped_);
  out[6] = static_cast<double>(sendSkipped_);
  out[7] = host_ != nullptr ? static_cast<double>(host_->connectedPeers) : 0;
  out[8] = static_cast<double>(refusedConnections_);
  if (length >= kHostStatsLengthV2) {
    out[9] = static_cast<double>(unreliableDroppedWhileStalled_);
    out[10] = static_cast<double>(held_.size());
  }
  if (length >= kHostStatsLengthV3) {
    out[11] = static_cast<double>(receiveCounters_.emptyDropped);
    out[12] = static_cast<double>(malformedDropped_);
  }
  if (length >= kHostStatsLength) {
    out[13] = static_cast<double>(sendBatchTotals_.held);
    out[14] = static_cast<double>(
        readAheadDelivered_ +
        netpeer_read_ahead_delivered(receiveCounters_.readAhead));
  }
  return Napi::Number::New(env, 0);
}

// resetPeer(handle): status
Napi::Value HostWrap::JS_resetPeer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireNumber(info, 0, "Expected handle to be a number")) {
    return env.Undefined();
  }
  ENetPeer* peer = PeerAt(info[0]);
  if (peer == nullptr) return Napi::Number::New(env, kErrBadPeer);
  enet_peer_reset(peer);
  return Napi::Number::New(env, 0);
}

// setRefuseConnections(data): status. 0 accepts new connections (the default
// after open()); any other uint32 refuses every new one with a DISCONNECT
// carrying `data`, before ENet allocates a peer: the client sees only that
// disconnect, never a connect. Connected peers are not affected. Independent
// of setConnectionLimit(): while on, it refuses whatever the limit says, with
// its own data; turning it off leaves the limit in force.
Napi::Value HostWrap::JS_setRefuseConnections(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireNumber(info, 0, "Expected data to be a number")) {
    return env.Undefined();
  }
  if (host_ == nullptr) return Napi::Number::New(env, kErrState);
  // No ToUint32 wrapping here: 2^32 silently meaning "accept" would be a trap.
  double data = NumberAt(info, 0);
  if (!IsIntIn(data, 0, 4294967295.0)) return Napi::Number::New(env, kErrRange);
  refuseData_ = static_cast<uint32_t>(data);
  return Napi::Number::New(env, 0);
}

// setConnectionLimit(limit, refuseData, silent?): status
//
// limit -1 removes the limit (the default after open()); 0..4095 refuses a
// new CONNECT, before ENet allocates anything for it, while at least `limit`
// peers exist: every peer slot that is not DISCONNECTED (connected, half-open
// handshakes, disconnecting, zombies) plus held disconnect events (connections
// JS has not seen end yet). While a limit is set, a CONNECT that would find no
// free slot is refused as well instead of being ignored. The decision is made
// per datagram, so CONNECTs arriving in one receive pass are counted against
// each other. A refused client gets a DISCONNECT carrying refuseData (a
// CONNECTING ENet peer turns it into a DISCONNECT event with that data), or
// nothing at all when `silent` is true. Independent of
// setRefuseConnections(), which takes precedence while on.
Napi::Value HostWrap::JS_setConnectionLimit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool hasSilent = info.Length() > 2 && !info[2].IsUndefined();
  if (!RequireNumber(info, 0, "Expected limit to be a number") ||
      !RequireNumber(info, 1, "Expected refuseData to be a number")) {
    return env.Undefined();
  }
  if (hasSilent && !info[2].IsBoolean()) {
    ThrowTypeError(info, "Expected silent to be a boolean or undefined");
    return env.Undefined();
  }
  if (host_ == nullptr) return Napi::Number::New(env, kErrState);
  double limit = NumberAt(info, 0);
  double data = NumberAt(info, 1);
  if (!IsIntIn(limit, -1, ENET_PROTOCOL_MAXIMUM_PEER_ID) ||
      !IsIntIn(data, 0, 4294967295.0)) {
    return Napi::Number::New(env, kErrRange);
  }
  connectionLimit_ =
      limit < 0 ? kNoConnectionLimit : static_cast<uint32_t>(limit);
  limitRefuseData_ = static_cast<uint32_t>(data);
  limitSilent_ = hasSilent && info[2].As<Napi::Boolean>().Value();
  return Napi::Number::New(env, 0);
}

// setPeerDefaults(pingIntervalMs, timeoutLimit, timeoutMinimumMs,
//                 timeoutMaximumMs): status
//
// What configurePeer() sets, for every peer from the moment ENet creates it:
// stamped on the free slots just before ENet takes one (an incoming CONNECT
// the intercept lets through, or connect()), since enet_peer_reset() restores
// ENet's defaults (ping 500 ms, timeouts 32 / 5 s / 30 s) on every slot it
// frees. So half-open handshakes expire on this schedule too. Applied at once
// to the peers that exist and are not connected yet. 0 means ENet's default
// for each, as in configurePeer().
Napi::Value HostWrap::JS_setPeerDefaults(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireNumber(info, 0, "Expected pingIntervalMs to be a number") ||
      !RequireNumber(info, 1, "Expected timeoutLimit to be a number") ||
      !RequireNumber(info, 2, "Expected timeoutMinimumMs to be a number") ||
      !RequireNumber(info, 3, "Expected timeoutMaximumMs to be a number")) {
    return env.Undefined();
  }
  if (host_ == nullptr) return Napi::Number::New(env, kErrState);
  hasPeerDefaults_ = true;
  defaultPingInterval_ = Uint32At(info, 0);
  defaultTimeoutLimit_ = Uint32At(info, 1);
  defaultTimeoutMinimum_ = Uint32At(info, 2);
  defaultTimeoutMaximum_ = Uint32At(info, 3);
  for (size_t i = 0; i < host_->peerCount; ++i) {
    switch (host_->peers[i].state) {
      case ENET_PEER_STATE_DISCONNECTED:
      case ENET_PEER_STATE_CONNECTING:
      case ENET_PEER_STATE_ACKNOWLEDGING_CONNECT:
      case ENET_PEER_STATE_CONNECTION_PENDING:
      case ENET_PEER_STATE_CONNECTION_SUCCEEDED:
        ApplyPeerDefaults(&host_->peers[i]);
        break;
      default:
        break;
    }
  }
  return Napi::Number::New(env, 0);
}

void HostWrap::ApplyPeerDefaults(ENetPeer* peer) const {
  enet_peer_ping_interval(peer, defaultPingInterval_);
  enet_peer_timeout(peer, defaultTimeoutLimit_, defaultTimeoutMinimum_,
                    defaultTimeoutMaximum_);
}

HostWrap::ReceiveMark HostWrap::MarkReceive() const {
  return ReceiveMark{host_->totalReceivedPackets,
                     receiveCounters_.emptyDropped + receiveCounters_.truncatedDropped};
}

bool HostWrap::MayHaveStoppedEarly(const ReceiveMark& mark) const {
#ifdef _WIN32
  // No socket hook there: an empty datagram still ends ENet's pass uncounted.
  (void)mark;
  return true;
#else
  const uint64_t skipped =
      receiveCounters_.emptyDropped + receiveCounters_.truncatedDropped;
  return host_->totalReceivedPackets - mark.receivedPackets >= 256 ||
         skipped - mark.skippedDatagrams >= NETPEER_RECEIVE_MAX_SKIPPED;
#endif
}

bool HostWrap::SocketReadable() const {
  enet_uint32 condition = ENET_SOCKET_WAIT_RECEIVE;
  return enet_socket_wait(host_->socket, &condition, 0) == 0 &&
         (condition & ENET_SOCKET_WAIT_RECEIVE) != 0;
}

bool HostWrap::TakeOversize(const ENetEvent& event) {
  const ENetPacket* packet = event.packet;
  if (event.type != ENET_EVENT_TYPE_RECEIVE || packet == nullptr ||
      packet->dataLength < kOversizeMarkerBytes ||
      std::memcmp(packet->data, OversizeMarker(), kOversizeMarkerBytes) != 0) {
    return false;
  }
  enet_packet_destroy(event.packet);
  ++oversizeDropped_;
  return true;
}

// setImpairment(direction, latencyMs, jitterMs, lossRate, duplicateRate,
//               reorderRate, bandwidthBytesPerSec, seed): status
// Simulated network conditions for every datagram this host's socket sends
// (direction 0) or receives (direction 1); see impairment.h. All-zero
// parameters turn a direction off. Each call re-seeds that direction.
Napi::Value HostWrap::JS_setImpairment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireNumber(info, 0, "Expected direction to be a number") ||
      !RequireNumber(info, 1, "Expected latencyMs to be a number") ||
      !RequireNumber(info, 2, "Expected jitterMs to be a number") ||
      !RequireNumber(info, 3, "Expected lossRate to be a number") ||
      !RequireNumber(info, 4, "Expected duplicateRate to be a number") ||
      !RequireNumber(info, 5, "Expected reorderRate to be a number") ||
      !RequireNumber(info, 6, "Expected bandwidthBytesPerSec to be a number") ||
      !RequireNumber(info, 7, "Expected seed to be a number")) {
    return env.Undefined();
  }
  if (!netpeer_impairment_supported()) {
    return Napi::Number::New(env, kErrUnsupported);
  }
  if (host_ == nullptr) return Napi::Number::New(env, kErrState);
  double direction = NumberAt(info, 0);
  NetpeerImpairment params;
  params.latencyMs = NumberAt(info, 1);
  params.jitterMs = NumberAt(info, 2);
  params.lossRate = NumberAt(info, 3);
  params.duplicateRate = NumberAt(info, 4);
  params.reorderRate = NumberAt(info, 5);
  params.bandwidthBytesPerSec = NumberAt(info, 6);
  double seed = NumberAt(info, 7);
  // Written so that NaN fails every test.
  auto inRange = [](double v, double lo, double hi) { return v >= lo && v <= hi; };
  if (!IsIntIn(direction, 0, 1) ||
      !inRange(params.latencyMs, 0, NETPEER_IMPAIR_MAX_DELAY_MS) ||
      !inRange(params.jitterMs, 0, NETPEER_IMPAIR_MAX_DELAY_MS) ||
      !inRange(params.lossRate, 0, 1) || !inRange(params.duplicateRate, 0, 1) ||
      !inRange(params.reorderRate, 0, 1) ||
      !inRange(params.bandwidthBytesPerSec, 0, 1e15) ||
      !IsIntIn(seed, 0, 4294967295.0)) {
    return Napi::Number::New(env, kErrRange);
  }
  if (netpeer_impairment_configure(static_cast<int64_t>(host_->socket),
                                   static_cast<int>(direction), &params,
                                   static_cast<uint32_t>(seed)) != 0) {
    return Napi::Number::New(env, kErrState);  // out of memory
  }
  return Napi::Number::New(env, 0);
}

// impairmentStats(out: Float64Array): status. Counters survive close().
Napi::Value HostWrap::JS_impairmentStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = 0;
  Napi::Value failure;
  double* out = StatsOut(info, 0, kImpairmentStatsLength, &length, &failure);
  if (out == nullptr) return failure;
  for (uint32_t i = 0; i < kImpairmentStatsLength; ++i) {
    out[i] = impairmentTotals_[i];
  }
  if (host_ != nullptr) {
    netpeer_impairment_add_stats(static_cast<int64_t>(host_->socket), out);
  }
  return Napi::Number::New(env, 0);
}

int ENET_CALLBACK HostWrap::InterceptThunk(ENetHost* host, void* /*event*/) {
  HostWrap* self = tServicing;
  if (self == nullptr || self->host_ != host) return 0;
  return self->InterceptReceived();
}

int HostWrap::InterceptReceived() {
  ENetHost* host = host_;
  // Zeroed allocations unless InterceptPeerDatagram scans every command ENet
  // will act on and finds no fragment among them.
  tZeroEnetAllocations = true;
  // With checksums the header carries 4 more bytes and a reply would need
  // one; this addon never sets host->checksum, so just stay out of the way.
  if (host->checksum != nullptr) return 0;
  uint8_t* data = host->receivedData;
  const size_t length = host->receivedDataLength;
  if (data == nullptr || length < kWireHeaderShort) return 0;
  // Nothing can be sent to port 0 (sendmsg fails with EINVAL), yet ENet would
  // give such a source a peer whose every send fails, and a failed send
  // aborts ENet's whole send pass (and the receive behind it).
  if (host->receivedAddress.port == 0) {
    ++malformedDropped_;
    return 1;
  }

  const uint32_t field = ReadBE16(data);
  const uint32_t peerId =
      field & ~static_cast<uint32_t>(ENET_PROTOCOL_HEADER_FLAG_MASK |
                                     ENET_PROTOCOL_HEADER_SESSION_MASK);
  // This host has no decompressor: ENet drops compressed datagrams unread.
  if ((field & ENET_PROTOCOL_HEADER_FLAG_COMPRESSED) != 0) return 0;
  const size_t headerSize = (field & ENET_PROTOCOL_HEADER_FLAG_SENT_TIME) != 0
                                ? kWireHeaderLong
                                : kWireHeaderShort;
  if (length < headerSize) return 0;
  if (peerId == ENET_PROTOCOL_MAXIMUM_PEER_ID) {
    return InterceptConnect(data, length, headerSize);
  }
  if (peerId >= host->peerCount) return 0;  // ENet ignores it
  return InterceptPeerDatagram(&host->peers[peerId], data, length, headerSize);
}

// Mirrors what enet_protocol_handle_incoming_commands() would take as a
// connection attempt, so that everything else (including malformed datagrams
// ENet ignores) still reaches ENet untouched:
//   - header peer id ENET_PROTOCOL_MAXIMUM_PEER_ID (no peer yet), not
//     compressed (checked by the caller);
//   - exactly one command, CONNECT (ENet ignores a CONNECT followed by more
//     bytes, and anything else without a peer), with a channel count ENet
//     would accept;
//   - not a retransmission of a CONNECT ENet already accepted (same address,
//     port and connectID on a peer that is not DISCONNECTED or CONNECTING, as
//     in enet_protocol_handle_connect(), which then ignores it).
int HostWrap::InterceptConnect(const uint8_t* data, size_t length,
                               size_t headerSize) {
  const bool limited = connectionLimit_ != kNoConnectionLimit;
  if (refuseData_ == 0 && !limited && !hasPeerDefaults_) return 0;
  ENetHost* host = host_;
  if (length != headerSize + kConnectBytes) return 0;
  const uint8_t* connect = data + headerSize;
  if ((connect[0] & ENET_PROTOCOL_COMMAND_MASK) != ENET_PROTOCOL_COMMAND_CONNECT) {
    return 0;
  }
  const uint32_t channelCount = ReadBE32(connect + kConnectChannelCountOffset);
  if (channelCount < ENET_PROTOCOL_MINIMUM_CHANNEL_COUNT ||
      channelCount > ENET_PROTOCOL_MAXIMUM_CHANNEL_COUNT) {
    return 0;
  }

  // connectID is opaque: compared in wire order, as ENet stores it.
  enet_uint32 connectId;
  std::memcpy(&connectId, connect + kConnectConnectIdOffset, sizeof(connectId));
  size_t busy = 0;
  for (size_t i = 0; i < host->peerCount; ++i) {
    const ENetPeer& peer = host->peers[i];
    if (peer.state == ENET_PEER_STATE_DISCONNECTED) continue;
    ++busy;
    if (peer.state != ENET_PEER_STATE_CONNECTING &&
        std::memcmp(&peer.address.host, &host->receivedAddress.host,
                    sizeof(peer.address.host)) == 0 &&
        peer.address.port == host->receivedAddress.port &&
        peer.connectID == connectId) {
      return 0;
    }
  }

  uint32_t reason;
  bool silent;
  if (refuseData_ != 0) {
    reason = refuseData_;
    silent = false;
  } else if (limited && (busy + heldDisconnects_ >= connectionLimit_ ||
                         busy == host->peerCount)) {
    reason = limitRefuseData_;
    silent = limitSilent_;
  } else {
    // Accepted: ENet takes the first DISCONNECTED slot, as it is.
    if (hasPeerDefaults_) {
      for (size_t i = 0; i < host->peerCount; ++i) {
        if (host->peers[i].state == ENET_PEER_STATE_DISCONNECTED) {
          ApplyPeerDefaults(&host->peers[i]);
        }
      }
    }
    return 0;
  }

  ++refusedConnections_;
  if (silent) return 1;
  const uint32_t target = ReadBE16(connect + kConnectOutgoingPeerIdOffset);
  // A client that named no peer of its own cannot be addressed: drop its
  // attempt silently rather than let ENet accept it.
  if (target >= ENET_PROTOCOL_MAXIMUM_PEER_ID) return 1;

  // A connecting peer has outgoingPeerID == ENET_PROTOCOL_MAXIMUM_PEER_ID, so
  // ENet (1.3 and this fork) checks no session bits before VERIFY_CONNECT;
  // they are still set to what ENet would answer from a fresh peer slot.
  const uint32_t requested = connect[kConnectIncomingSessionOffset];
  const uint32_t session =
      requested == 0xFF
          ? 0
          : (requested + 1) & (ENET_PROTOCOL_HEADER_SESSION_MASK >>
                               ENET_PROTOCOL_HEADER_SESSION_SHIFT);

  // Header without SENT_TIME (nothing to acknowledge), then one DISCONNECT:
  // no ACKNOWLEDGE flag, channel 0xFF, sequence 0, data = reason. A
  // CONNECTING client turns it into a DISCONNECT event with that data
  // (enet_protocol_handle_disconnect: CONNECTING -> ZOMBIE, eventData).
  uint8_t reply[kWireHeaderShort + kDisconnectBytes];
  WriteBE16(reply, target | (session << ENET_PROTOCOL_HEADER_SESSION_SHIFT));
  uint8_t* command = reply + kWireHeaderShort;
  command[0] = ENET_PROTOCOL_COMMAND_DISCONNECT;
  command[1] = 0xFF;
  WriteBE16(command + 2, 0);
  WriteBE32(command + kDisconnectDataOffset, reason);

  ENetBuffer buffer;
  buffer.data = reply;
  buffer.dataLength = sizeof(reply);
  int sent = enet_socket_send(host->socket, &host->receivedAddress, &buffer, 1);
  if (sent > 0) {
    host->totalSentData += static_cast<enet_uint32>(sent);
    host->totalSentPackets++;
  }
  return 1;
}

// Walks the commands as enet_protocol_handle_incoming_commands() does (sizes
// from ENet's own table; it stops where ENet would stop parsing: a truncated
// or unknown command, a SEND_* payload past the end, a CONNECT) and, for each
// SEND_FRAGMENT / SEND_UNRELIABLE_FRAGMENT, applies upstream ENet 1.3.17's
// checks that this fork lacks or applies too late:
//   fragmentCount <= ENET_PROTOCOL_MAXIMUM_FRAGMENT_COUNT,
//   fragmentNumber < fragmentCount, totalLength >= fragmentCount (this fork
//   allocates a fragmentCount-bit bitmap per message that maximumWaitingData
//   does not count), fragmentOffset < totalLength,
//   dataLength <= totalLength - fragmentOffset, and the data in the datagram.
// One invalid fragment drops the whole datagram (counted in malformedDropped):
// no stock ENet peer ever sends one.
//
// A message above maxPacketBytes_ (a fragment's totalLength, or a single
// SEND_*'s dataLength) is legal but unwanted. Refusing it outright would
// leave its reliable commands unacknowledged (the sender's connection would
// die of retransmissions) and its sequence numbers unused (the channel would
// stall). So it is rewritten in place, and the datagram shrunk:
//   - SEND_*: dataLength 16, payload = the marker;
//   - fragments: totalLength = max(fragmentCount, 16), fragmentOffset 0,
//     dataLength 16 with the marker for fragment 0, 0 for the others. The
//     bitmap ENet allocates stays counted (totalLength >= fragmentCount).
// ENet then acknowledges and sequences it as usual and eventually delivers a
// marker packet, which service()/serviceHeld() drop and count once in
// oversizeDropped (an incomplete unreliable one is never delivered, nor
// counted).
int HostWrap::InterceptPeerDatagram(ENetPeer* peer, uint8_t* data,
                                    size_t length, size_t headerSize) {
  ENetHost* host = host_;
  // What ENet ignores before parsing any command.
  if (peer->state == ENET_PEER_STATE_DISCONNECTED ||
      peer->state == ENET_PEER_STATE_ZOMBIE ||
      std::memcmp(&peer->address.host, &host->receivedAddress.host,
                  sizeof(peer->address.host)) != 0 ||
      peer->address.port != host->receivedAddress.port) {
    return 0;
  }
  const uint32_t session = (ReadBE16(data) & ENET_PROTOCOL_HEADER_SESSION_MASK) >>
                           ENET_PROTOCOL_HEADER_SESSION_SHIFT;
  if (peer->outgoingPeerID < ENET_PROTOCOL_MAXIMUM_PEER_ID &&
      session != peer->incomingSessionID) {
    return 0;
  }

  enum class Payload { kKeep, kMarker, kNone };
  bool sawFragment = false;
  size_t read = headerSize;
  size_t write = headerSize;
  while (read < length) {
    const size_t left = length - read;
    if (left < sizeof(ENetProtocolCommandHeader)) break;
    const uint8_t* source = data + read;
    const uint8_t number = source[0] & ENET_PROTOCOL_COMMAND_MASK;
    if (number >= ENET_PROTOCOL_COMMAND_COUNT) break;
    const size_t size = enet_protocol_command_size(number);
    if (size == 0 || size > left) break;
    if (number == ENET_PROTOCOL_COMMAND_CONNECT) break;

    size_t lengthOffset = 0;
    bool fragment = false;
    switch (number) {
      case ENET_PROTOCOL_COMMAND_SEND_RELIABLE:
        lengthOffset = kSendReliableLengthOffset;
        break;
      case ENET_PROTOCOL_COMMAND_SEND_UNRELIABLE:
        lengthOffset = kSendUnreliableLengthOffset;
        break;
      case ENET_PROTOCOL_COMMAND_SEND_UNSEQUENCED:
        lengthOffset = kSendUnsequencedLengthOffset;
        break;
      case ENET_PROTOCOL_COMMAND_SEND_FRAGMENT:
      case ENET_PROTOCOL_COMMAND_SEND_UNRELIABLE_FRAGMENT:
        lengthOffset = kFragmentLengthOffset;
        fragment = true;
        sawFragment = true;
        break;
      default:
        break;
    }
    const size_t payload = lengthOffset != 0 ? ReadBE16(source + lengthOffset) : 0;
    Payload action = Payload::kKeep;
    uint32_t shrunkTotal = 0;
    if (fragment) {
      const uint32_t count = ReadBE32(source + kFragmentCountOffset);
      const uint32_t index = ReadBE32(source + kFragmentNumberOffset);
      const uint32_t total = ReadBE32(source + kFragmentTotalLengthOffset);
      const uint32_t offset = ReadBE32(source + kFragmentOffsetOffset);
      if (count > ENET_PROTOCOL_MAXIMUM_FRAGMENT_COUNT || index >= count ||
          total < count || offset >= total || payload > total - offset ||
          payload > left - size) {
        ++malformedDropped_;
        return 1;
      }
      if (total > maxPacketBytes_) {
        // A real fragment 0 of a message too big for one datagram carries
        // hundreds of bytes; the marker must fit where its data was.
        if (index == 0 && payload < kOversizeMarkerBytes) {
          ++malformedDropped_;
          return 1;
        }
        action = index == 0 ? Payload::kMarker : Payload::kNone;
        shrunkTotal = count > kOversizeMarkerBytes
                          ? count
                          : static_cast<uint32_t>(kOversizeMarkerBytes);
      }
    } else if (lengthOffset != 0) {
      if (payload > left - size) break;  // ENet stops here as well
      // payload > maxPacketBytes_ >= 16: the marker fits.
      if (payload > maxPacketBytes_) action = Payload::kMarker;
    }

    const size_t kept = action == Payload::kKeep     ? payload
                        : action == Payload::kMarker ? kOversizeMarkerBytes
                                                     : 0;
    // write <= read, and every rewrite only shrinks, so nothing is written
    // over bytes not read yet.
    uint8_t* target = data + write;
    if (target != source) std::memmove(target, source, size);
    if (action == Payload::kKeep) {
      if (payload != 0 && target != source) {
        std::memmove(target + size, source + size, payload);
      }
    } else {
      WriteBE16(target + lengthOffset, static_cast<uint32_t>(kept));
      if (fragment) {
        WriteBE32(target + kFragmentTotalLengthOffset, shrunkTotal);
        WriteBE32(target + kFragmentOffsetOffset, 0);
      }
      if (kept != 0) std::memcpy(target + size, OversizeMarker(), kept);
    }
    read += size + payload;
    write += size + kept;
  }
  if (write != read) {
    // What ENet would not parse anyway stays behind the rewritten commands.
    std::memmove(data + write, data + read, length - read);
    host->receivedDataLength = write + (length - read);
  }
  if (peer->totalWaitingData >= host->maximumWaitingData) RecountWaitingData(peer);
  // The loop above stops exactly where ENet stops parsing, so every command
  // ENet will act on was seen: without a fragment nothing is reassembled.
  tZeroEnetAllocations = sawFragment;
  return 0;
}

void HostWrap::RecountWaitingData(ENetPeer* peer) {
  const size_t index = static_cast<size_t>(peer - host_->peers);
  const enet_uint32 now = host_->serviceTime;
  if (waitingRecounted_[index] != 0 &&
      ENET_TIME_DIFFERENCE(now, waitingRecountAt_[index]) < kWaitingDataRecountMs) {
    return;
  }
  waitingRecounted_[index] = 1;
  waitingRecountAt_[index] = now;
  size_t total = WaitingBytes(&peer->dispatchedCommands);
  for (size_t c = 0; c < peer->channelCount; ++c) {
    total += WaitingBytes(&peer->channels[c].incomingReliableCommands);
    total += WaitingBytes(&peer->channels[c].incomingUnreliableCommands);
  }
  peer->totalWaitingData = total;
}

// close(notifyData?): void
// bindBuffers(receive, send, deferred: Uint8Array): host id (> 0) or status
//
// Hands the driver's three batch buffers over once, so that the hot calls
// (the module functions serviceBound/sendBound) take only numbers: a call
// with a typed array and an ObjectWrap receiver costs several times more
// than the work of a quiet service pass. Binding again replaces the buffers
// and keeps the id. The buffers stay JS-owned; they must not be transferred
// (a detached one makes the fast calls return ERR_STATE, never touch it).
Napi::Value HostWrap::JS_bindBuffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  for (size_t i = 0; i < 3; ++i) {
    if (!RequireTypedArray(info, i, napi_uint8_array,
                           "Expected receive, send and deferred to be Uint8Arrays")) {
      return env.Undefined();
    }
  }
  if (host_ == nullptr || addon_ == nullptr) return Napi::Number::New(env, kErrState);
  BoundBuffer fresh[3];
  for (int i = 0; i < 3; ++i) {
    Napi::Uint8Array view = info[i].As<Napi::Uint8Array>();
    napi_ref ref = nullptr;
    if (napi_create_reference(env, view.ArrayBuffer(), 1, &ref) != napi_ok) {
      for (BoundBuffer& made : fresh) {
        if (made.ref != nullptr) napi_delete_reference(env, made.ref);
      }
      return Napi::Number::New(env, kErrState);
    }
    fresh[i].ref = ref;
    fresh[i].offset = view.ByteOffset();
    fresh[i].length = view.ByteLength();
  }
  const uint32_t id = id_;
  ReleaseBound();
  for (int i = 0; i < 3; ++i) bound_[i] = fresh[i];
  if (id != 0) {
    id_ = id;
  } else {
    id_ = static_cast<uint32_t>(addon_->hostsById.size());
    addon_->hostsById.push_back(nullptr);
  }
  addon_->hostsById[id_] = this;
  return Napi::Number::New(env, id_);
}

// setReceiveBuffer(bytes): bytes granted (as getsockopt reports them) or status
Napi::Value HostWrap::JS_setReceiveBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireNumber(info, 0, "Expected bytes to be a number")) return env.Undefined();
  if (host_ == nullptr) return Napi::Number::New(env, kErrState);
  const double bytes = NumberAt(info, 0);
  if (!IsIntIn(bytes, 1, 2147483647.0)) return Napi::Number::New(env, kErrRange);
  if (enet_socket_set_option(host_->socket, ENET_SOCKOPT_RCVBUF,
                             static_cast<int>(bytes)) != 0) {
    return Napi::Number::New(env, kErrRange);
  }
#ifdef _WIN32
  return Napi::Number::New(env, bytes);
#else
  int granted = 0;
  socklen_t length = sizeof(granted);
  if (getsockopt(host_->socket, SOL_SOCKET, SO_RCVBUF, &granted, &length) != 0) {
    return Napi::Number::New(env, bytes);
  }
  return Napi::Number::New(env, granted);
#endif
}

Napi::Value HostWrap::JS_close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool notify = info.Length() > 0 && !info[0].IsUndefined();
  if (notify &&
      !RequireNumber(info, 0, "Expected notifyData to be a number or undefined")) {
    return env.Undefined();
  }
  if (host_ == nullptr) return env.Undefined();
  if (notify) {
    uint32_t data = Uint32At(info, 0);
    for (size_t i = 0; i < host_->peerCount; ++i) {
      if (host_->peers[i].state != ENET_PEER_STATE_DISCONNECTED) {
        enet_peer_disconnect_now(&host_->peers[i], data);
      }
    }
    FlushBatched();
  }
  // Datagrams an impaired socket still holds back were already "on the
  // wire": they go now rather than vanish (the notification above included).
  netpeer_impairment_flush_outgoing(static_cast<int64_t>(host_->socket));
  Destroy();
  return env.Undefined();
}

}  // namespace netpeer
