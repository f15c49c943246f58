#include "base/net_iface.h"

#include <ifaddrs.h>
#include <net/if.h>

#include <algorithm>
#include <cstring>
#include <sstream>

namespace tutti {

bool ifnameMatches(const std::string& spec, const std::string& name) {
  if (spec.empty()) return true;
  std::string list = spec;
  bool exclude = false;
  bool exact = false;
  if (list[0] == '^') {
    exclude = true;
    list.erase(0, 1);
  }
  if (!list.empty() && list[0] == '=') {
    exact = true;
    list.erase(0, 1);
  }
  bool matched = false;
  std::stringstream stream(list);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (item.empty()) continue;
    if (exact ? name == item : name.compare(0, item.size(), item) == 0) {
      matched = true;
      break;
    }
  }
  return exclude ? !matched : matched;
}

std::vector<NetIface> listInterfaces(int family) {
  std::vector<NetIface> found;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return found;
  for (ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || !(it->ifa_flags & IFF_UP)) continue;
    int fam = it->ifa_addr->sa_family;
    if (fam != AF_INET && fam != AF_INET6) continue;
    if (family != 0 && fam != family) continue;
    NetIface iface;
    iface.name = it->ifa_name;
    iface.addr.length = fam == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    std::memcpy(&iface.addr.storage, it->ifa_addr, iface.addr.length);
    found.push_back(iface);
  }
  freeifaddrs(list);
  auto rank = [](const NetIface& iface) {
    if (iface.addr.family() == AF_INET) return 0;
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&iface.addr.storage);
    return IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr) ? 2 : 1;
  };
  // Keep the kernel's interface order; within one interface prefer IPv4, then global IPv6.
  std::vector<NetIface> ordered;
  std::vector<std::string> seen;
  for (const NetIface& iface : found) {
    if (std::find(seen.begin(), seen.end(), iface.name) != seen.end()) continue;
    seen.push_back(iface.name);
    size_t first = ordered.size();
    for (const NetIface& same : found) {
      if (same.name == iface.name) ordered.push_back(same);
    }
    std::stable_sort(ordered.begin() + first, ordered.end(),
                     [&](const NetIface& a, const NetIface& b) { return rank(a) < rank(b); });
  }
  return ordered;
}

Status chooseInterface(const std::string& spec, int family, NetIface* out) {
  std::vector<NetIface> all = listInterfaces(family);
  std::vector<std::string> order = spec.empty()
                                       ? std::vector<std::string>{"^docker,lo", "docker", "lo"}
                                       : std::vector<std::string>{spec};
  for (const std::string& rule : order) {
    for (const NetIface& iface : all) {
      if (ifnameMatches(rule, iface.name)) {
        *out = iface;
        return Status::ok();
      }
    }
  }
  return makeError(tuttiSystemError,
                   "no usable network interface matches TUTTI_SOCKET_IFNAME='{}' (family {})", spec,
                   family == AF_INET    ? "AF_INET"
                   : family == AF_INET6 ? "AF_INET6"
                                        : "any");
}

namespace {

// Name order with a trailing number compared as a number: eth2 before eth10.
bool railNameBefore(const std::string& a, const std::string& b) {
  auto split = [](const std::string& name) {
    size_t digits = name.find_last_not_of("0123456789") + 1;  // npos + 1 == 0: all digits
    std::string stem = name.substr(0, digits);
    std::string number = name.substr(digits);
    return std::make_pair(stem, number);
  };
  auto [stemA, numberA] = split(a);
  auto [stemB, numberB] = split(b);
  if (stemA != stemB) return stemA < stemB;
  if (numberA.size() != numberB.size()) return numberA.size() < numberB.size();
  return numberA < numberB;
}

}  // namespace

std::vector<NetIface> selectRails(const std::vector<NetIface>& all, const std::string& spec,
                                  int family, int maxRails) {
  const std::string rule = spec.empty() ? "^docker,lo" : spec;
  std::vector<NetIface> rails;
  for (const NetIface& iface : all) {
    if (iface.addr.family() != family || !ifnameMatches(rule, iface.name)) continue;
    if (family == AF_INET6 &&
        IN6_IS_ADDR_LINKLOCAL(
            &reinterpret_cast<const sockaddr_in6*>(&iface.addr.storage)->sin6_addr)) {
      continue;
    }
    bool seen = std::any_of(rails.begin(), rails.end(),
                            [&](const NetIface& rail) { return rail.name == iface.name; });
    if (!seen) rails.push_back(iface);
  }
  std::stable_sort(rails.begin(), rails.end(), [](const NetIface& a, const NetIface& b) {
    return railNameBefore(a.name, b.name);
  });
  if (static_cast<int>(rails.size()) > maxRails) rails.resize(std::max(maxRails, 0));
  return rails;
}

}  // namespace tutti
