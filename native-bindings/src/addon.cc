// Module entry: exports { Host, layoutVersion, <constants> } and ties every
// ENetHost to the lifetime of the Node environment (main thread or worker)
// that created it.
#include <napi.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "addon-data.h"
#include "enet-host.h"
#include "event-records.h"
#include "impairment.h"

namespace netpeer {

thread_local bool tZeroEnetAllocations = true;

namespace {

// enet_initialize()/enet_deinitialize() are process-wide (WSAStartup on
// Windows) while the addon is loaded once per environment, so they are
// reference counted across environments.
std::mutex gEnetMutex;
int gEnetUsers = 0;

// ENet's allocator. Zeroed memory unless tZeroEnetAllocations says this
// allocation cannot be a reassembly buffer: this ENet fork hands out a
// fragmented packet once every fragment number has arrived, whether or not the
// fragments covered all of totalLength (upstream ENet alike), so a peer
// sending fragments with gaps would otherwise get uninitialised heap bytes
// delivered to the application (and echoed back by anything that relays
// messages).
void* ENET_CALLBACK ZeroedMalloc(size_t size) {
  if (size == 0) size = 1;
  return tZeroEnetAllocations ? std::calloc(1, size) : std::malloc(size);
}

void ENET_CALLBACK FreeMemory(void* memory) { std::free(memory); }

// ENet's default reaction to a failed allocation is abort(): the whole
// process would go down. Every ENet caller of enet_malloc() handles NULL
// (the packet, command or peer is simply not created), so carry on.
void ENET_CALLBACK IgnoreNoMemory() {}

bool AcquireEnet() {
  std::lock_guard<std::mutex> lock(gEnetMutex);
  if (gEnetUsers == 0) {
    ENetCallbacks callbacks;
    std::memset(&callbacks, 0, sizeof(callbacks));  // as ENet asks
    callbacks.malloc = ZeroedMalloc;
    callbacks.free = FreeMemory;
    callbacks.no_memory = IgnoreNoMemory;
    if (enet_initialize_with_callbacks(ENET_VERSION, &callbacks) != 0) {
      return false;
    }
  }
  ++gEnetUsers;
  return true;
}

void ReleaseEnet() {
  std::lock_guard<std::mutex> lock(gEnetMutex);
  if (--gEnetUsers == 0) {
    // Every host is destroyed by now; this only frees what a socket that
    // never went through HostWrap::Destroy could have left.
    netpeer_impairment_release_all();
    enet_deinitialize();
  }
}

// Runs when the environment shuts down, before its JS objects are finalized:
// destroys the hosts JS never closed so no socket or ENet memory is left for
// a finalizer that may run in any order, or never.
void CleanupEnv(void* arg) {
  auto* data = static_cast<AddonData*>(arg);
  std::vector<HostWrap*> open(data->openHosts.begin(), data->openHosts.end());
  for (HostWrap* host : open) host->Destroy();
  delete data;
  ReleaseEnet();
}

// The fast path: plain Node-API functions taking only numbers, the host by
// the id Host#bindBuffers() returned. Skipping node-addon-api's ObjectWrap
// unwrap and the typed-array checks of the methods makes a call about 250 ns
// cheaper here (an empty send: ~105 ns against ~355 ns, measured by
// bench/native-call.bench.ts), and a game loop makes several of them per tick
// even when nothing happens.
HostWrap* HostById(napi_env env, napi_callback_info info, size_t* argc,
                   napi_value* argv, double* numbers) {
  void* data = nullptr;
  const size_t wanted = *argc;
  if (napi_get_cb_info(env, info, argc, argv, nullptr, &data) != napi_ok) {
    return nullptr;
  }
  for (size_t i = 0; i < wanted; ++i) {
    if (i >= *argc ||
        napi_get_value_double(env, argv[i], &numbers[i]) != napi_ok) {
      napi_throw_type_error(env, nullptr, "Expected only numbers");
      return nullptr;
    }
  }
  auto* addon = static_cast<AddonData*>(data);
  const double id = numbers[0];
  if (addon == nullptr || !(id >= 1) || id != std::floor(id) ||
      id >= static_cast<double>(addon->hostsById.size())) {
    return nullptr;
  }
  return addon->hostsById[static_cast<size_t>(id)];
}

napi_value NumberValue(napi_env env, double value) {
  napi_value result = nullptr;
  napi_create_double(env, value, &result);
  return result;
}

// serviceBound(id, maxPayload, timeoutMs): what Host#service() returns.
napi_value ServiceBound(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  double numbers[3];
  HostWrap* host = HostById(env, info, &argc, argv, numbers);
  if (host == nullptr) return NumberValue(env, kErrState);
  // A wait in milliseconds: a negative or fractional one is a mistake, not
  // 49 days.
  const double timeoutMs = numbers[2];
  if (!(timeoutMs >= 0) || timeoutMs > 2147483647.0 ||
      timeoutMs != std::floor(timeoutMs)) {
    return NumberValue(env, kErrRange);
  }
  return NumberValue(env, static_cast<double>(host->ServiceBound(
                              env, numbers[1], static_cast<uint32_t>(timeoutMs))));
}

// sendBound(id, sendLength, deferredLength, flush): records sent or status.
napi_value SendBound(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  double numbers[4];
  HostWrap* host = HostById(env, info, &argc, argv, numbers);
  if (host == nullptr) return NumberValue(env, kErrState);
  return NumberValue(env, static_cast<double>(host->SendBound(
                              env, numbers[1], numbers[2], numbers[3] != 0)));
}

void SetFunction(napi_env env, Napi::Object exports, const char* name,
                 napi_callback callback, AddonData* data) {
  napi_value function = nullptr;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, data,
                           &function) == napi_ok) {
    exports.Set(name, Napi::Value(env, function));
  }
}

void SetConstant(Napi::Env env, Napi::Object exports, const char* name,
                 double value) {
  exports.DefineProperty(Napi::PropertyDescriptor::Value(
      name, Napi::Number::New(env, value), napi_enumerable));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  if (!AcquireEnet()) {
    Napi::Error::New(env, "enet_initialize() failed")
        .ThrowAsJavaScriptException();
    return exports;
  }
  auto* data = new AddonData();
  // No finalizer: CleanupEnv owns the data, and it runs before the instance
  // data would be finalized.
  napi_set_instance_data(env, data, nullptr, nullptr);
  napi_add_env_cleanup_hook(env, CleanupEnv, data);

  exports.Set("Host", HostWrap::Init(env));
  SetFunction(env, exports, "serviceBound", ServiceBound, data);
  SetFunction(env, exports, "sendBound", SendBound, data);
  SetConstant(env, exports, "layoutVersion", kLayoutVersion);
  SetConstant(env, exports, "EVENT_CONNECT", kEventConnect);
  SetConstant(env, exports, "EVENT_DISCONNECT", kEventDisconnect);
  SetConstant(env, exports, "EVENT_DISCONNECT_TIMEOUT", kEventDisconnectTimeout);
  SetConstant(env, exports, "EVENT_RECEIVE", kEventReceive);
  SetConstant(env, exports, "ERR_RESOLVE", kErrResolve);
  SetConstant(env, exports, "ERR_HOST_CREATE", kErrHostCreate);
  SetConstant(env, exports, "ERR_NO_PEER", kErrNoPeer);
  SetConstant(env, exports, "ERR_STATE", kErrState);
  SetConstant(env, exports, "ERR_BAD_PEER", kErrBadPeer);
  SetConstant(env, exports, "ERR_BAD_BATCH", kErrBadBatch);
  SetConstant(env, exports, "ERR_RANGE", kErrRange);
  SetConstant(env, exports, "ERR_UNSUPPORTED", kErrUnsupported);
  SetConstant(env, exports, "PACKET_FLAG_RELIABLE", kPacketFlagReliable);
  SetConstant(env, exports, "PACKET_FLAG_UNSEQUENCED", kPacketFlagUnsequenced);
  SetConstant(env, exports, "PACKET_FLAG_UNRELIABLE_FRAGMENT",
              kPacketFlagUnreliableFragment);
  SetConstant(env, exports, "RECORD_HEADER_BYTES", kRecordHeaderBytes);
  SetConstant(env, exports, "SEND_HEADER_BYTES", kSendHeaderBytes);
  // Minimum lengths of the Float64Arrays peerStats()/hostStats() fill.
  SetConstant(env, exports, "PEER_STATS_LENGTH", kPeerStatsLength);
  SetConstant(env, exports, "HOST_STATS_LENGTH", kHostStatsLength);
  SetConstant(env, exports, "IMPAIRMENT_STATS_LENGTH", kImpairmentStatsLength);
  return exports;
}

}  // namespace
}  // namespace netpeer

// The ENet flag values are fixed by the wire protocol; check our mirror.
static_assert(netpeer::kPacketFlagReliable == ENET_PACKET_FLAG_RELIABLE, "");
static_assert(netpeer::kImpairmentStatsLength == NETPEER_IMPAIR_STATS_LENGTH, "");
static_assert(netpeer::kPacketFlagUnsequenced == ENET_PACKET_FLAG_UNSEQUENCED, "");
static_assert(netpeer::kPacketFlagUnreliableFragment ==
                  ENET_PACKET_FLAG_UNRELIABLE_FRAGMENT, "");

// NODE_API_MODULE pastes the name into an identifier, so no namespace here.
static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return netpeer::Init(env, exports);
}

NODE_API_MODULE(netpeer_enet, InitModule)
