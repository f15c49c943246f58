// The flight recorder's ring, its JSON file, the file path and tutti-doctor's diagnosis.
#include "core/flight_recorder.h"

#include <gtest/gtest.h>

#include "core/flight_diagnosis.h"
#include "core/flight_dump.h"
#include "core/flight_json.h"

namespace tutti {
namespace {

CollectiveArgs allReduce(size_t count) {
  CollectiveArgs args;
  args.collective = Collective::kAllReduce;
  args.count = count;
  return args;
}

TEST(FlightRecorderTest, KeepsTheLastOperationsOldestFirst) {
  FlightRecorder recorder(3, 2);
  for (uint64_t id = 1; id <= 5; ++id) {
    ASSERT_NE(recorder.start(id, allReduce(id * 10), "ring", {1}), nullptr);
    recorder.finish(Status::ok());
  }
  RecorderSnapshot snapshot = recorder.snapshot(1, "request");
  EXPECT_EQ(snapshot.rank, 1);
  EXPECT_EQ(snapshot.nranks, 2);
  ASSERT_EQ(snapshot.operations.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const RecordedOperation& op = snapshot.operations[i];
    EXPECT_EQ(op.id, i + 3);
    EXPECT_EQ(op.count, (i + 3) * 10);
    EXPECT_EQ(op.collective, "all_reduce");
    EXPECT_EQ(op.op, "sum");
    EXPECT_EQ(op.root, -1);
    EXPECT_EQ(op.algorithm, "ring");
    EXPECT_EQ(op.state, OperationState::kCompleted);
    EXPECT_GT(op.startUs, 0);
    EXPECT_GE(op.endUs, op.startUs);
  }
}

TEST(FlightRecorderTest, QueuedOperationsStartInOrderAndFailuresKeepTheError) {
  FlightRecorder recorder(8, 3);
  recorder.queue(4, allReduce(1));  // four operations ran before: this is #5
  CollectiveArgs broadcast;
  broadcast.collective = Collective::kBroadcast;
  broadcast.count = 2;
  broadcast.root = 2;
  recorder.queue(4, broadcast);  // #6
  RecorderSnapshot queued = recorder.snapshot(0, "request");
  ASSERT_EQ(queued.operations.size(), 2u);
  EXPECT_EQ(queued.operations[0].id, 5u);
  EXPECT_EQ(queued.operations[1].id, 6u);
  EXPECT_EQ(queued.operations[1].root, 2);
  EXPECT_EQ(queued.operations[1].op, "");
  EXPECT_EQ(queued.operations[1].state, OperationState::kQueued);
  EXPECT_GT(queued.operations[0].queuedUs, 0);
  EXPECT_EQ(queued.operations[0].startUs, 0);

  PeerProgress* progress = recorder.start(5, allReduce(1), "rd", {2});
  ASSERT_NE(progress, nullptr);
  addBytes(progress[2].sendTotal, 64);
  addBytes(progress[2].sent, 16);
  addBytes(progress[2].recvTotal, 64);
  RecorderSnapshot running = recorder.snapshot(0, "request");
  ASSERT_EQ(running.operations.size(), 2u);  // the queued entry started, no new one
  const RecordedOperation& op = running.operations[0];
  EXPECT_EQ(op.state, OperationState::kRunning);
  ASSERT_EQ(op.peers.size(), 1u);  // only the peers the plan moves bytes with
  EXPECT_EQ(op.peers[0].peer, 2);
  EXPECT_EQ(op.peers[0].sent, 16u);
  EXPECT_EQ(op.peers[0].sendTotal, 64u);
  EXPECT_EQ(op.peers[0].received, 0u);
  EXPECT_EQ(op.peers[0].recvTotal, 64u);
  recorder.finish(makeError(tuttiTimeout, "no progress"));
  recorder.start(6, broadcast, "ring", {0, 1});
  RecorderSnapshot after = recorder.snapshot(0, "failure");
  EXPECT_EQ(after.operations[0].state, OperationState::kFailed);
  EXPECT_EQ(after.operations[0].error, "no progress");
  EXPECT_EQ(after.operations[1].state, OperationState::kRunning);
  EXPECT_EQ(after.operations[1].algorithm, "ring");
  // A new operation's counters start from zero in a reused slot.
  recorder.finish(Status::ok());
  for (uint64_t id = 7; id <= 14; ++id) {
    recorder.start(id, allReduce(1), "ring", {1});
    recorder.finish(Status::ok());
  }
  for (const RecordedOperation& each : recorder.snapshot(0, "request").operations) {
    EXPECT_TRUE(each.peers.empty()) << each.id;
    EXPECT_EQ(each.error, "") << each.id;
  }
}

TEST(FlightRecorderTest, CapacityZeroRecordsNothing) {
  FlightRecorder recorder(0, 4);
  EXPECT_FALSE(recorder.enabled());
  recorder.queue(0, allReduce(1));
  EXPECT_EQ(recorder.start(1, allReduce(1), "ring", {1}), nullptr);
  recorder.finish(Status::ok());
  EXPECT_TRUE(recorder.snapshot(0, "request").operations.empty());
}

RecorderSnapshot sample() {
  RecorderSnapshot s;
  s.rank = 2;
  s.nranks = 4;
  s.reason = "failure";
  s.takenUs = 1700000000000000;
  RecordedOperation op;
  op.id = 57;
  op.collective = "all_reduce";
  op.count = 1048576;
  op.type = "float";
  op.op = "sum";
  op.algorithm = "ring";
  op.state = OperationState::kFailed;
  op.error = "all_reduce: no progress for 1000 ms \"quoted\"\n";
  op.startUs = s.takenUs - 1000;
  op.peers = {{1, 0, 0, 4096, 65536}, {3, 65536, 65536, 0, 0}};
  s.operations.push_back(op);
  op.id = 58;
  op.state = OperationState::kQueued;
  op.error.clear();
  op.peers.clear();
  s.operations.push_back(op);
  return s;
}

TEST(FlightRecorderJsonTest, RoundTripsEveryField) {
  const RecorderSnapshot written = sample();
  RecorderSnapshot read;
  ASSERT_TRUE(recorderFromJson(recorderToJson(written), &read).isOk());
  EXPECT_EQ(read.rank, 2);
  EXPECT_EQ(read.nranks, 4);
  EXPECT_EQ(read.reason, "failure");
  EXPECT_EQ(read.takenUs, written.takenUs);
  ASSERT_EQ(read.operations.size(), 2u);
  const RecordedOperation& op = read.operations[0];
  EXPECT_EQ(op.id, 57u);
  EXPECT_EQ(op.count, 1048576u);
  EXPECT_EQ(op.type, "float");
  EXPECT_EQ(op.op, "sum");
  EXPECT_EQ(op.root, -1);
  EXPECT_EQ(op.state, OperationState::kFailed);
  EXPECT_EQ(op.error, written.operations[0].error);
  EXPECT_EQ(op.startUs, written.operations[0].startUs);
  ASSERT_EQ(op.peers.size(), 2u);
  EXPECT_EQ(op.peers[0].peer, 1);
  EXPECT_EQ(op.peers[0].received, 4096u);
  EXPECT_EQ(op.peers[0].recvTotal, 65536u);
  EXPECT_EQ(op.peers[1].sent, 65536u);
  EXPECT_EQ(read.operations[1].state, OperationState::kQueued);
}

TEST(FlightRecorderJsonTest, RejectsWhatIsNotARecorderFile) {
  RecorderSnapshot read;
  EXPECT_EQ(recorderFromJson("{", &read).code(), tuttiInvalidArgument);
  EXPECT_EQ(recorderFromJson("[]", &read).code(), tuttiInvalidArgument);
  std::string text = recorderToJson(sample());
  std::string otherVersion = text;
  otherVersion.replace(otherVersion.find("\"tutti_flight_recorder\": 1"), 26,
                       "\"tutti_flight_recorder\": 9");
  EXPECT_EQ(recorderFromJson(otherVersion, &read).code(), tuttiInvalidArgument);
  std::string badState = text;
  badState.replace(badState.find("\"failed\""), 8, "\"lost\"");
  Status status = recorderFromJson(badState, &read);
  EXPECT_EQ(status.code(), tuttiInvalidArgument);
  EXPECT_NE(status.message().find("lost"), std::string::npos);
  std::string missing = text;
  missing.replace(missing.find("\"nranks\""), 8, "\"ranks\"");
  EXPECT_EQ(recorderFromJson(missing, &read).code(), tuttiInvalidArgument);
  EXPECT_EQ(readRecorderFile("/nonexistent/fr.json", &read).code(), tuttiSystemError);
}

TEST(FlightRecorderPathTest, RankReplacesPercentROrIsAppended) {
  EXPECT_EQ(flightRecorderPath("/tmp/fr.%r.json", 3), "/tmp/fr.3.json");
  EXPECT_EQ(flightRecorderPath("/tmp/%r/fr-%r", 12), "/tmp/12/fr-12");
  EXPECT_EQ(flightRecorderPath("/tmp/fr.json", 3), "/tmp/fr.json.rank3");
  EXPECT_EQ(flightRecorderPath("/tmp/100%", 0), "/tmp/100%.rank0");
}

// Rank snapshots of calls 1..last, each completed, the last in the given state with the peers.
RecorderSnapshot rankAt(int rank, int nranks, uint64_t last, OperationState lastState,
                        std::vector<RecordedPeer> peers = {}) {
  RecorderSnapshot s;
  s.rank = rank;
  s.nranks = nranks;
  for (uint64_t id = 1; id <= last; ++id) {
    RecordedOperation op;
    op.id = id;
    op.collective = "all_reduce";
    op.count = 1024;
    op.state = id == last ? lastState : OperationState::kCompleted;
    if (id == last) op.peers = peers;
    s.operations.push_back(op);
  }
  return s;
}

TEST(FlightDiagnosisTest, NamesTheRankThatNeverStartedTheCall) {
  std::vector<RecorderSnapshot> files = {
      rankAt(0, 4, 4, OperationState::kFailed), rankAt(1, 4, 4, OperationState::kFailed),
      rankAt(3, 4, 3, OperationState::kCompleted), rankAt(2, 4, 4, OperationState::kRunning)};
  Diagnosis d = diagnose(files, 4);
  EXPECT_TRUE(d.stalled);
  EXPECT_EQ(d.line,
            "call #4 all_reduce(count 1024): rank 3 never started it; ranks 0,1,2 wait on rank 3");
  EXPECT_NE(d.table.find("not started"), std::string::npos) << d.table;
  // Without rank 1's file the line says so.
  files.erase(files.begin() + 1);
  EXPECT_EQ(diagnose(files, 4).line,
            "call #4 all_reduce(count 1024): rank 3 never started it; ranks 0,2 wait on rank 3; "
            "rank 1 wrote no file");
}

TEST(FlightDiagnosisTest, NamesTheLinkThatCarriedLeast) {
  // Ring 0 -> 1 -> 2 -> 0: the 1 -> 2 link got 4096 of 65536 bytes, the others more.
  std::vector<RecorderSnapshot> files = {
      rankAt(0, 3, 9, OperationState::kFailed, {{1, 65536, 65536, 0, 0}, {2, 0, 0, 32768, 65536}}),
      rankAt(1, 3, 9, OperationState::kFailed, {{0, 0, 0, 65536, 65536}, {2, 4096, 65536, 0, 0}}),
      rankAt(2, 3, 9, OperationState::kFailed, {{1, 0, 0, 4096, 65536}, {0, 32768, 65536, 0, 0}})};
  EXPECT_EQ(diagnose(files, 3).line,
            "call #9 all_reduce(count 1024): rank 1 -> rank 2 link stalled at 4096 of 65536 "
            "bytes (rank 1 sent 4096)");
}

// A rank with no file (stopped or killed) while the others failed: the cause they were all told
// leads, not the byte counts; without a shared cause the link is named as before.
TEST(FlightDiagnosisTest, NamesTheCauseWhenARankWroteNoFile) {
  const std::string cause = "rank 2 (host h, pid 7) failed: it sent no heartbeat for 2001 ms";
  std::vector<RecorderSnapshot> files = {
      rankAt(0, 3, 9, OperationState::kFailed, {{1, 65536, 65536, 0, 0}, {2, 0, 0, 0, 65536}}),
      rankAt(1, 3, 9, OperationState::kFailed, {{0, 0, 0, 65536, 65536}, {2, 4096, 65536, 0, 0}})};
  files[0].operations.back().error = cause + "; all_reduce call #9 on rank 0: shm: shut down";
  files[1].operations.back().error = cause + "; all_reduce call #9 on rank 1: tcp: reset";
  EXPECT_EQ(diagnose(files, 3).line,
            "call #9 all_reduce(count 1024): rank 2 wrote no file; ranks 0,1 failed: " + cause);
  files[1].operations.back().error = "something else; all_reduce call #9 on rank 1: tcp: reset";
  EXPECT_EQ(diagnose(files, 3).line,
            "call #9 all_reduce(count 1024): rank 2 -> rank 0 link stalled at 0 of 65536 bytes; "
            "rank 2 wrote no file");
}

TEST(FlightDiagnosisTest, SaysWhenNothingStalled) {
  std::vector<RecorderSnapshot> files = {rankAt(0, 2, 5, OperationState::kCompleted),
                                         rankAt(1, 2, 5, OperationState::kCompleted)};
  Diagnosis d = diagnose(files, 2);
  EXPECT_FALSE(d.stalled);
  EXPECT_EQ(d.line, "no stalled call: every rank completed call #5");
}

// What a rank answers the watch about itself: the call it runs and whom it waits for, else the
// last call it ended and how long ago, with queued ones counted.
TEST(FlightDiagnosisTest, DescribesWhereOneRankStands) {
  constexpr int64_t kNowUs = 50'000'000;
  RecorderSnapshot s = rankAt(1, 3, 9, OperationState::kRunning,
                              {{0, 65536, 65536, 65536, 65536}, {2, 65536, 65536, 4096, 65536}});
  s.operations.back().startUs = kNowUs - 1'520'000;
  EXPECT_EQ(describeRecordedState(s, kNowUs),
            "in call #9 all_reduce(count 1024) for 1520 ms, waiting for rank 2 (4096 of 65536 "
            "bytes in)");
  EXPECT_EQ(awaitedRank(s), 2);
  // Of two ranks awaited, the one with the smaller share in, then the lower rank.
  s.operations.back().peers[0].received = 8192;
  EXPECT_EQ(awaitedRank(s), 2);
  s.operations.back().peers[0].received = 2048;
  EXPECT_EQ(awaitedRank(s), 0);
  s.operations.back().peers[0].received = 4096;
  EXPECT_EQ(awaitedRank(s), 0);
  s.operations.back().peers[0].received = 65536;
  s.operations.back().peers[1].received = 65536;
  EXPECT_EQ(describeRecordedState(s, kNowUs),
            "in call #9 all_reduce(count 1024) for 1520 ms, every byte it awaits received");
  EXPECT_EQ(awaitedRank(s), -1);

  s = rankAt(1, 3, 9, OperationState::kCompleted);
  s.operations.back().endUs = kNowUs - 20'013'000;
  RecordedOperation queued;
  queued.id = 10;
  queued.state = OperationState::kQueued;
  s.operations.push_back(queued);
  EXPECT_EQ(describeRecordedState(s, kNowUs),
            "in no call: its last, call #9 all_reduce(count 1024), completed 20013 ms ago (1 "
            "more queued on its progress thread)");
  s.operations.pop_back();
  s.operations.back().state = OperationState::kFailed;
  EXPECT_EQ(describeRecordedState(s, kNowUs),
            "in no call: its last, call #9 all_reduce(count 1024), failed 20013 ms ago");
  EXPECT_EQ(awaitedRank(s), -1);
  EXPECT_EQ(describeRecordedState(RecorderSnapshot{}, kNowUs),
            "in no call: none recorded on this communicator");
}

}  // namespace
}  // namespace tutti
