// Per-environment state of the addon (one per main thread or worker).
#ifndef NETPEER_ADDON_DATA_H_
#define NETPEER_ADDON_DATA_H_

#include <unordered_set>
#include <vector>

namespace netpeer {

class HostWrap;

// Whether ENet's allocator hands out zeroed memory on this thread (default
// true). Zeroing matters for one allocation only: the buffer a fragmented
// packet is reassembled in, which a peer sending fragments with gaps could
// otherwise get delivered with leftover heap bytes. HostWrap turns it off
// while it runs code that cannot reassemble (building send batches; a received
// datagram whose commands it scanned and found no fragment in), which spares
// a memset per packet, command and acknowledgement on the hot path.
extern thread_local bool tZeroEnetAllocations;

// Sets tZeroEnetAllocations for a scope and restores true when it ends.
class ZeroAllocationsScope {
 public:
  explicit ZeroAllocationsScope(bool zero) { tZeroEnetAllocations = zero; }
  ~ZeroAllocationsScope() { tZeroEnetAllocations = true; }
  ZeroAllocationsScope(const ZeroAllocationsScope&) = delete;
  ZeroAllocationsScope& operator=(const ZeroAllocationsScope&) = delete;
};

struct AddonData {
  // Hosts whose ENetHost is still open. The env cleanup hook destroys them so
  // that no socket or ENet allocation outlives the environment, whatever order
  // the garbage collector would have finalized the JS objects in.
  std::unordered_set<HostWrap*> openHosts;
  // Hosts that bound their batch buffers (Host#bindBuffers), by id: the fast
  // module functions reach a host through this table instead of unwrapping a
  // JS object. Ids are never reused (a stale id finds nullptr), and Destroy()
  // clears the entry before the table can go away.
  std::vector<HostWrap*> hostsById{nullptr};
};

}  // namespace netpeer

#endif  // NETPEER_ADDON_DATA_H_
