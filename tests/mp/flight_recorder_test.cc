// The flight recorder across processes: a rank that skips a call leaves the others to time out;
// every rank's file names the call, and the diagnosis tutti-doctor prints names the rank.
// A rank frozen by SIGSTOP is found by the heartbeats and named. tuttiCommDumpState and SIGUSR1
// write the file of a live communicator.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "core/flight_diagnosis.h"
#include "core/flight_json.h"
#include "mp/harness.h"

namespace tutti::test {
namespace {

std::string makeTempDir() {
  char pattern[] = "/tmp/tutti-flight-XXXXXX";
  const char* dir = mkdtemp(pattern);
  return dir == nullptr ? "" : dir;
}

std::string rankFile(const std::string& dir, int rank) {
  return dir + "/fr." + std::to_string(rank) + ".json";
}

bool allReduceOnce(tuttiComm_t comm, std::vector<float>* data) {
  return tuttiAllReduce(data->data(), data->data(), data->size(), tuttiFloat32, tuttiSum, comm,
                        nullptr) == tuttiSuccess;
}

TEST(FlightRecorderRanksTest, RankThatSkipsACallIsNamedByEveryFileAndTheDiagnosis) {
  constexpr int kRanks = 4;
  constexpr int kTimeoutMs = 800;
  constexpr int kCompleted = 3;  // calls every rank makes before rank 3 skips #4
  const std::string dir = makeTempDir();
  ASSERT_FALSE(dir.empty());
  LaunchResult result = runRanks(
      kRanks,
      [&](int rank, int nranks, const tuttiUniqueId& id) {
        setenv("TUTTI_FLIGHT_RECORDER_FILE", (dir + "/fr.%r.json").c_str(), 1);
        tuttiComm_t comm = initComm(rank, nranks, id, kTimeoutMs);
        if (comm == nullptr) return 2;
        std::vector<float> data(1024, 1.0f);
        for (int call = 0; call < kCompleted; ++call) {
          if (!allReduceOnce(comm, &data)) return 3;
        }
        if (rank == kRanks - 1) {
          // Skips call #4 and stays alive, so that the others time out instead of seeing it go.
          if (tuttiCommDumpState(comm) != tuttiSuccess) return 4;
          std::this_thread::sleep_for(std::chrono::milliseconds(3 * kTimeoutMs));
        } else if (allReduceOnce(comm, &data)) {
          return 5;  // must fail: rank 3 never joins
        }
        tuttiCommDestroy(comm);
        return 0;
      },
      60);
  ASSERT_TRUE(result.ok) << result.failure;

  std::vector<RecorderSnapshot> files;
  for (int rank = 0; rank < kRanks; ++rank) {
    RecorderSnapshot snapshot;
    Status status = readRecorderFile(rankFile(dir, rank), &snapshot);
    ASSERT_TRUE(status.isOk()) << status.message();
    EXPECT_EQ(snapshot.rank, rank);
    EXPECT_EQ(snapshot.nranks, kRanks);
    ASSERT_FALSE(snapshot.operations.empty());
    const RecordedOperation& last = snapshot.operations.back();
    if (rank == kRanks - 1) {
      EXPECT_EQ(snapshot.reason, "request");
      EXPECT_EQ(last.id, static_cast<uint64_t>(kCompleted));
      EXPECT_EQ(last.state, OperationState::kCompleted);
      // A completed call moved every byte it had to, with every peer of its plan.
      ASSERT_FALSE(last.peers.empty());
      for (const RecordedPeer& peer : last.peers) {
        EXPECT_EQ(peer.sent, peer.sendTotal);
        EXPECT_EQ(peer.received, peer.recvTotal);
      }
    } else {
      EXPECT_EQ(snapshot.reason, "failure");
      EXPECT_EQ(last.id, static_cast<uint64_t>(kCompleted + 1));
      EXPECT_EQ(last.collective, "all_reduce");
      EXPECT_EQ(last.count, 1024u);
      EXPECT_EQ(last.state, OperationState::kFailed);
      EXPECT_FALSE(last.error.empty());
      EXPECT_GE(last.endUs, last.startUs);
    }
    files.push_back(snapshot);
  }
  Diagnosis diagnosis = diagnose(files, kRanks);
  std::printf("%s\n%s", diagnosis.line.c_str(), diagnosis.table.c_str());
  EXPECT_EQ(diagnosis.line,
            "call #4 all_reduce(count 1024): rank 3 never started it; ranks 0,1,2 wait on rank 3");
  for (int rank = 0; rank < kRanks; ++rank) std::remove(rankFile(dir, rank).c_str());
  rmdir(dir.c_str());
}

// A rank frozen by SIGSTOP before call #4 writes nothing; the heartbeats find it, every other
// rank's file records call #4 failed with an error naming it, and the diagnosis says so.
TEST(FlightRecorderRanksTest, StoppedRankIsNamedByTheOthersFilesAndTheDiagnosis) {
  constexpr int kRanks = 4;
  constexpr int kStopped = kRanks - 1;
  constexpr int kCompleted = 3;
  const std::string dir = makeTempDir();
  ASSERT_FALSE(dir.empty());
  const std::string pidFile = dir + "/stopped.pid";
  LaunchResult result = runRanks(
      kRanks,
      [&](int rank, int nranks, const tuttiUniqueId& id) {
        setenv("TUTTI_FLIGHT_RECORDER_FILE", (dir + "/fr.%r.json").c_str(), 1);
        setenv("TUTTI_HEARTBEAT_TIMEOUT_MS", "1500", 1);
        // The call's own timeout is far off: only the heartbeats can find the stopped rank.
        tuttiComm_t comm = initComm(rank, nranks, id, 60000);
        if (comm == nullptr) return 2;
        std::vector<float> data(1024, 1.0f);
        for (int call = 0; call < kCompleted; ++call) {
          if (!allReduceOnce(comm, &data)) return 3;
        }
        if (rank == kStopped) {
          FILE* f = std::fopen(pidFile.c_str(), "w");
          if (f == nullptr) return 4;
          std::fprintf(f, "%d\n", static_cast<int>(getpid()));
          std::fclose(f);
          raise(SIGSTOP);
          // Continued by rank 0 once the others failed: the communicator is failed here too.
          tuttiCommDestroy(comm);
          return 0;
        }
        if (allReduceOnce(comm, &data)) return 5;  // must fail: rank 3 is frozen
        if (rank == 0) {
          int pid = 0;
          FILE* f = std::fopen(pidFile.c_str(), "r");
          if (f == nullptr || std::fscanf(f, "%d", &pid) != 1 || pid <= 0) return 6;
          std::fclose(f);
          kill(pid, SIGCONT);
        }
        tuttiCommDestroy(comm);
        return 0;
      },
      60);
  ASSERT_TRUE(result.ok) << result.failure;

  std::vector<RecorderSnapshot> files;
  for (int rank = 0; rank < kStopped; ++rank) {
    RecorderSnapshot snapshot;
    Status status = readRecorderFile(rankFile(dir, rank), &snapshot);
    ASSERT_TRUE(status.isOk()) << status.message();
    EXPECT_EQ(snapshot.reason, "failure");
    ASSERT_FALSE(snapshot.operations.empty());
    const RecordedOperation& last = snapshot.operations.back();
    EXPECT_EQ(last.id, static_cast<uint64_t>(kCompleted + 1));
    EXPECT_EQ(last.state, OperationState::kFailed);
    EXPECT_NE(last.error.find("rank 3"), std::string::npos) << last.error;
    files.push_back(snapshot);
  }
  EXPECT_NE(access(rankFile(dir, kStopped).c_str(), F_OK), 0) << "the stopped rank wrote a file";
  Diagnosis diagnosis = diagnose(files, kRanks);
  std::printf("%s\n%s", diagnosis.line.c_str(), diagnosis.table.c_str());
  EXPECT_TRUE(diagnosis.stalled);
  EXPECT_EQ(diagnosis.line.rfind("call #4 all_reduce(count 1024): ", 0), 0u) << diagnosis.line;
  EXPECT_NE(diagnosis.line.find(": rank 3 wrote no file; ranks 0,1,2 failed: rank 3 (host "),
            std::string::npos)
      << diagnosis.line;
  EXPECT_NE(diagnosis.line.find("heartbeat"), std::string::npos) << diagnosis.line;
  for (int rank = 0; rank < kRanks; ++rank) std::remove(rankFile(dir, rank).c_str());
  std::remove(pidFile.c_str());
  rmdir(dir.c_str());
}

bool waitForFile(const std::string& path, int timeoutMs) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  while (access(path.c_str(), R_OK) != 0) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST(FlightRecorderRanksTest, DumpStateAndSignalWriteTheFileOfALiveCommunicator) {
  const std::string dir = makeTempDir();
  ASSERT_FALSE(dir.empty());
  LaunchResult result = runRanks(2, [&](int rank, int nranks, const tuttiUniqueId& id) {
    // No %r: the rank is appended.
    const std::string pattern = dir + "/state.json";
    const std::string path = pattern + ".rank" + std::to_string(rank);
    setenv("TUTTI_FLIGHT_RECORDER_FILE", pattern.c_str(), 1);
    setenv("TUTTI_FLIGHT_RECORDER_SIGNAL", "1", 1);
    tuttiComm_t comm = initComm(rank, nranks, id, 10000);
    if (comm == nullptr) return 2;
    std::vector<float> data(1 << 16, 1.0f);
    if (!allReduceOnce(comm, &data)) return 3;
    if (tuttiCommDumpState(comm) != tuttiSuccess) return 4;
    RecorderSnapshot snapshot;
    Status status = readRecorderFile(path, &snapshot);
    if (!status.isOk() || snapshot.operations.size() != 1 ||
        snapshot.operations[0].state != OperationState::kCompleted ||
        snapshot.operations[0].peers.empty() || snapshot.reason != "request") {
      std::fprintf(stderr, "rank %d: %s\n", rank, status.message().c_str());
      return 5;
    }
    // SIGUSR1: the watching thread writes the file again, now with reason "signal".
    std::remove(path.c_str());
    kill(getpid(), SIGUSR1);
    if (!waitForFile(path, 5000)) return 6;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // renamed whole; settle anyway
    if (!readRecorderFile(path, &snapshot).isOk() || snapshot.reason != "signal") return 7;
    std::remove(path.c_str());
    tuttiCommDestroy(comm);
    if (tuttiCommDumpState(comm) != tuttiInvalidArgument) return 8;
    if (tuttiCommDumpState(nullptr) != tuttiInvalidArgument) return 9;
    return 0;
  });
  EXPECT_TRUE(result.ok) << result.failure;
  rmdir(dir.c_str());
}

TEST(FlightRecorderRanksTest, DumpStateWithTheRecorderOffIsInvalidUsage) {
  LaunchResult result = runRanks(1, [](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_FLIGHT_RECORDER", "0", 1);
    tuttiComm_t comm = initComm(rank, nranks, id, 10000);
    if (comm == nullptr) return 2;
    const tuttiResult_t rc = tuttiCommDumpState(comm);
    tuttiCommDestroy(comm);
    return rc == tuttiInvalidUsage ? 0 : 3;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

}  // namespace
}  // namespace tutti::test
