#include "core/flight_json.h"

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tutti {

std::string recorderToJson(const RecorderSnapshot& snapshot) {
  nlohmann::json operations = nlohmann::json::array();
  for (const RecordedOperation& op : snapshot.operations) {
    nlohmann::json peers = nlohmann::json::array();
    for (const RecordedPeer& p : op.peers) {
      peers.push_back({{"peer", p.peer},
                       {"sent", p.sent},
                       {"send_total", p.sendTotal},
                       {"received", p.received},
                       {"recv_total", p.recvTotal}});
    }
    operations.push_back({{"id", op.id},
                          {"collective", op.collective},
                          {"count", op.count},
                          {"type", op.type},
                          {"op", op.op},
                          {"root", op.root},
                          {"algorithm", op.algorithm},
                          {"state", operationStateName(op.state)},
                          {"error", op.error},
                          {"queued_us", op.queuedUs},
                          {"start_us", op.startUs},
                          {"end_us", op.endUs},
                          {"peers", std::move(peers)}});
  }
  nlohmann::json document = {{"tutti_flight_recorder", kFlightRecorderFormat},
                             {"rank", snapshot.rank},
                             {"nranks", snapshot.nranks},
                             {"reason", snapshot.reason},
                             {"taken_us", snapshot.takenUs},
                             {"operations", std::move(operations)}};
  // Replace, not throw, on bytes that are not UTF-8: an error message may quote a path.
  return document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

namespace {

bool parseState(const std::string& name, OperationState* out) {
  for (OperationState state : {OperationState::kQueued, OperationState::kRunning,
                               OperationState::kCompleted, OperationState::kFailed}) {
    if (name == operationStateName(state)) {
      *out = state;
      return true;
    }
  }
  return false;
}

}  // namespace

Status recorderFromJson(const std::string& text, RecorderSnapshot* out) {
  nlohmann::json document = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) {
    return makeError(tuttiInvalidArgument, "not a JSON object");
  }
  // at() and get() throw on a missing key or a wrong kind: one message for every such case.
  try {
    if (document.at("tutti_flight_recorder").get<int>() != kFlightRecorderFormat) {
      return makeError(tuttiInvalidArgument, "flight recorder format {}, this reader knows {}",
                       document.at("tutti_flight_recorder").dump(), kFlightRecorderFormat);
    }
    RecorderSnapshot snapshot;
    snapshot.rank = document.at("rank").get<int>();
    snapshot.nranks = document.at("nranks").get<int>();
    snapshot.reason = document.at("reason").get<std::string>();
    snapshot.takenUs = document.at("taken_us").get<int64_t>();
    for (const nlohmann::json& entry : document.at("operations")) {
      RecordedOperation op;
      op.id = entry.at("id").get<uint64_t>();
      op.collective = entry.at("collective").get<std::string>();
      op.count = entry.at("count").get<uint64_t>();
      op.type = entry.at("type").get<std::string>();
      op.op = entry.at("op").get<std::string>();
      op.root = entry.at("root").get<int>();
      op.algorithm = entry.at("algorithm").get<std::string>();
      const std::string state = entry.at("state").get<std::string>();
      if (!parseState(state, &op.state)) {
        return makeError(tuttiInvalidArgument, "operation {}: unknown state '{}'", op.id, state);
      }
      op.error = entry.at("error").get<std::string>();
      op.queuedUs = entry.at("queued_us").get<int64_t>();
      op.startUs = entry.at("start_us").get<int64_t>();
      op.endUs = entry.at("end_us").get<int64_t>();
      for (const nlohmann::json& p : entry.at("peers")) {
        op.peers.push_back(RecordedPeer{p.at("peer").get<int>(), p.at("sent").get<uint64_t>(),
                                        p.at("send_total").get<uint64_t>(),
                                        p.at("received").get<uint64_t>(),
                                        p.at("recv_total").get<uint64_t>()});
      }
      snapshot.operations.push_back(std::move(op));
    }
    if (snapshot.nranks < 1 || snapshot.rank < 0 || snapshot.rank >= snapshot.nranks) {
      return makeError(tuttiInvalidArgument, "rank {} of {} ranks", snapshot.rank, snapshot.nranks);
    }
    *out = std::move(snapshot);
  } catch (const nlohmann::json::exception& e) {
    return makeError(tuttiInvalidArgument, "{}", e.what());
  }
  return Status::ok();
}

Status readRecorderFile(const std::string& path, RecorderSnapshot* out) {
  std::ifstream file(path);
  if (!file) return systemError("cannot read " + path, errno);
  std::stringstream text;
  text << file.rdbuf();
  Status status = recorderFromJson(text.str(), out);
  if (!status.isOk()) return makeError(status.code(), "{}: {}", path, status.message());
  return Status::ok();
}

}  // namespace tutti
