// Per-environment state of the addon (one per main thread or worker).
#ifndef NETPEER_ADDON_DATA_H_
#define NETPEER_ADDON_DATA_H_

#include <unordered_set>

namespace netpeer {

class HostWrap;

struct AddonData {
  // Hosts whose ENetHost is still open. The env cleanup hook destroys them so
  // that no socket or ENet allocation outlives the environment, whatever order
  // the garbage collector would have finalized the JS objects in.
  std::unordered_set<HostWrap*> openHosts;
};

}  // namespace netpeer

#endif  // NETPEER_ADDON_DATA_H_
