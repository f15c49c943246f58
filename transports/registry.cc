#include "transports/registry.h"

#include <algorithm>
#include <sstream>

namespace tutti {

std::string TransportRegistry::names() const {
  std::string out;
  for (const TransportEntry& entry : entries_)
    out += (out.empty() ? "" : ", ") + std::string(entry.name);
  return out;
}

Status TransportRegistry::preference(const std::string& spec,
                                     std::vector<const TransportEntry*>* out) const {
  out->clear();
  if (spec.empty()) {
    for (const TransportEntry& entry : entries_) {
      if (entry.byDefault) out->push_back(&entry);
    }
    return Status::ok();
  }
  std::stringstream items(spec);
  std::string item;
  while (std::getline(items, item, ',')) {
    auto found = std::find_if(entries_.begin(), entries_.end(),
                              [&](const TransportEntry& entry) { return item == entry.name; });
    if (found == entries_.end()) {
      return makeError(tuttiInvalidArgument,
                       "TUTTI_TRANSPORT='{}': '{}' names no transport built into this library "
                       "(have: {})",
                       spec, item, names());
    }
    if (std::find(out->begin(), out->end(), &*found) != out->end()) {
      return makeError(tuttiInvalidArgument, "TUTTI_TRANSPORT='{}' names '{}' twice", spec, item);
    }
    out->push_back(&*found);
  }
  if (out->empty()) {
    return makeError(tuttiInvalidArgument, "TUTTI_TRANSPORT='{}' names no transport", spec);
  }
  return Status::ok();
}

std::vector<int> TransportRegistry::choosePerPeer(const std::vector<const TransportEntry*>& order,
                                                  const Params& params,
                                                  const std::vector<RankDescriptor>& ranks,
                                                  int self, const std::vector<int>& peers) {
  std::vector<int> chosen;
  for (int peer : peers) {
    int index = -1;
    for (size_t t = 0; t < order.size() && index < 0; ++t) {
      if (order[t]->canConnect(params, ranks[self], ranks[peer])) index = static_cast<int>(t);
    }
    chosen.push_back(index);
  }
  return chosen;
}

}  // namespace tutti
