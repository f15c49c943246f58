// Choosing the network interface (and address) a rank listens on, with NCCL_SOCKET_IFNAME's
// syntax: a comma-separated list of name prefixes; "=" before the list makes them exact names;
// "^" before it (and before "=") excludes them instead.
#pragma once

#include <string>
#include <vector>

#include "base/socket.h"
#include "base/status.h"

namespace tutti {

struct NetIface {
  std::string name;
  SockAddr addr;  // port 0
};

// True when name is selected by spec (NCCL syntax; an empty spec selects everything).
bool ifnameMatches(const std::string& spec, const std::string& name);

// All usable (up, with an address) interfaces, IPv4 before IPv6 on each interface; link-local
// IPv6 addresses last. family: AF_INET, AF_INET6 or 0 for both.
std::vector<NetIface> listInterfaces(int family);

// The interface to use: with a spec, the first one it matches; without, NCCL's order: any but
// docker* and lo, then docker*, then lo.
Status chooseInterface(const std::string& spec, int family, NetIface* out);

}  // namespace tutti
