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

// The rails of a rank (several NICs, each on a network of its own, as in rail-optimised
// clusters): of `all` (listInterfaces' order), the interfaces that spec selects (without a spec:
// any but docker* and lo), one address each of `family` (IPv6 link-local ones left out: they
// name no network between hosts), in name order, at most maxRails. Two hosts pair their rails by
// position, so rail r of every host must be on the network of rail r of the others; naming the
// interfaces alike on every host (ib0, ib1 or eth0, eth1) gives that order.
std::vector<NetIface> selectRails(const std::vector<NetIface>& all, const std::string& spec,
                                  int family, int maxRails);

}  // namespace tutti
