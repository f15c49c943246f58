// tuttiCommInitFromEnv: TUTTI_COMM_ID plus the rank and size of each launcher's variables,
// over IPv4 and IPv6 loopback.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "mp/harness.h"

namespace tutti::test {
namespace {

// A port that was free a moment ago.
int freePort(int family) {
  int fd = socket(family, SOCK_STREAM, 0);
  sockaddr_storage storage{};
  socklen_t length;
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    length = sizeof(*in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_loopback;
    length = sizeof(*in6);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    close(fd);
    return -1;
  }
  getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length);
  int port = family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port)
                               : ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  close(fd);
  return port;
}

void clearLauncherEnv() {
  for (const char* name :
       {"TUTTI_RANK", "TUTTI_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
        "SLURM_PROCID", "SLURM_NTASKS", "PMI_RANK", "PMI_SIZE", "RANK", "WORLD_SIZE"}) {
    unsetenv(name);
  }
}

int allReduceFromEnv(int rank, int nranks) {
  tuttiComm_t comm = nullptr;
  tuttiResult_t rc = tuttiCommInitFromEnv(&comm);
  if (rc != tuttiSuccess) {
    std::fprintf(stderr, "rank %d: init from env: %s\n", rank, tuttiGetLastError(nullptr));
    return 2;
  }
  int gotRank = -1;
  int gotCount = -1;
  tuttiCommUserRank(comm, &gotRank);
  tuttiCommCount(comm, &gotCount);
  std::vector<int64_t> data(101, rank + 1);
  rc = tuttiAllReduce(data.data(), data.data(), data.size(), tuttiInt64, tuttiSum, comm, nullptr);
  tuttiCommDestroy(comm);
  const int64_t want = static_cast<int64_t>(nranks) * (nranks + 1) / 2;
  for (int64_t v : data) {
    if (v != want) return 1;
  }
  return rc == tuttiSuccess && gotRank == rank && gotCount == nranks ? 0 : 1;
}

void runFromEnv(const std::string& commId, const char* rankVar, const char* sizeVar, int nranks) {
  LaunchResult result = runRanks(
      nranks,
      [&](int rank, int n, const tuttiUniqueId&) {
        clearLauncherEnv();
        setenv("TUTTI_COMM_ID", commId.c_str(), 1);
        setenv(rankVar, std::to_string(rank).c_str(), 1);
        setenv(sizeVar, std::to_string(n).c_str(), 1);
        setenv("TUTTI_TIMEOUT_MS", "30000", 1);
        return allReduceFromEnv(rank, n);
      },
      120, /*makeId=*/false);
  EXPECT_TRUE(result.ok) << commId << " " << rankVar << ": " << result.failure;
}

TEST(InitFromEnvTest, EveryLauncherVariableFamily) {
  runFromEnv("127.0.0.1:" + std::to_string(freePort(AF_INET)), "TUTTI_RANK", "TUTTI_WORLD_SIZE", 3);
  runFromEnv("127.0.0.1:" + std::to_string(freePort(AF_INET)), "OMPI_COMM_WORLD_RANK",
             "OMPI_COMM_WORLD_SIZE", 2);
  runFromEnv("localhost:" + std::to_string(freePort(AF_INET)), "SLURM_PROCID", "SLURM_NTASKS", 2);
  runFromEnv("127.0.0.1:" + std::to_string(freePort(AF_INET)), "PMI_RANK", "PMI_SIZE", 2);
  runFromEnv("127.0.0.1:" + std::to_string(freePort(AF_INET)), "RANK", "WORLD_SIZE", 4);
}

// Under srun with no TUTTI_COMM_ID every task derives rank 0's address from the step's variables
// (core/slurm_rendezvous.h); the test picks job and step ids whose port is free here.
TEST(InitFromEnvTest, SrunStepNeedsNoCommId) {
  unsigned long job = 0;
  unsigned long step = 0;
  int port = -1;
  for (unsigned long candidate = static_cast<unsigned long>(getpid()) * 7919 % 20000, tries = 0;
       tries < 200 && port < 0; ++tries, candidate = (candidate + 997) % 20000) {
    const int wanted = 12000 + static_cast<int>(candidate);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    in.sin_port = htons(static_cast<uint16_t>(wanted));
    if (bind(fd, reinterpret_cast<sockaddr*>(&in), sizeof(in)) == 0) {
      port = wanted;
      job = candidate / 64;
      step = candidate % 64;
    }
    close(fd);
  }
  ASSERT_GT(port, 0) << "no free port in [12000, 32000)";
  LaunchResult result = runRanks(
      3,
      [&](int rank, int n, const tuttiUniqueId&) {
        clearLauncherEnv();
        unsetenv("TUTTI_COMM_ID");
        setenv("SLURM_PROCID", std::to_string(rank).c_str(), 1);
        setenv("SLURM_NTASKS", std::to_string(n).c_str(), 1);
        setenv("SLURM_STEP_NODELIST", "127.0.0.1", 1);
        setenv("SLURM_JOB_ID", std::to_string(job).c_str(), 1);
        setenv("SLURM_STEP_ID", std::to_string(step).c_str(), 1);
        setenv("TUTTI_TIMEOUT_MS", "30000", 1);
        return allReduceFromEnv(rank, n);
      },
      120, /*makeId=*/false);
  EXPECT_TRUE(result.ok) << "port " << port << ": " << result.failure;
}

TEST(InitFromEnvTest, SrunStepWithoutANodeListIsNamed) {
  LaunchResult result = runRanks(
      1,
      [](int, int, const tuttiUniqueId&) {
        clearLauncherEnv();
        unsetenv("TUTTI_COMM_ID");
        unsetenv("SLURM_STEP_NODELIST");
        unsetenv("SLURM_JOB_NODELIST");
        setenv("SLURM_PROCID", "0", 1);
        setenv("SLURM_NTASKS", "1", 1);
        tuttiComm_t comm = nullptr;
        if (tuttiCommInitFromEnv(&comm) != tuttiInvalidArgument) return 1;
        const std::string error = tuttiGetLastError(nullptr);
        return error.find("SLURM_STEP_NODELIST") != std::string::npos &&
                       error.find("TUTTI_COMM_ID") != std::string::npos
                   ? 0
                   : 1;
      },
      60, false);
  EXPECT_TRUE(result.ok) << result.failure;
}

TEST(InitFromEnvTest, Ipv6Loopback) {
  int port = freePort(AF_INET6);
  if (port < 0) GTEST_SKIP() << "no IPv6 loopback on this host";
  runFromEnv("[::1]:" + std::to_string(port), "TUTTI_RANK", "TUTTI_WORLD_SIZE", 3);
}

TEST(InitFromEnvTest, MissingVariablesAreNamed) {
  LaunchResult result = runRanks(
      1,
      [](int, int, const tuttiUniqueId&) {
        clearLauncherEnv();
        unsetenv("TUTTI_COMM_ID");
        tuttiComm_t comm = nullptr;
        if (tuttiCommInitFromEnv(&comm) != tuttiInvalidArgument) return 1;
        if (std::string(tuttiGetLastError(nullptr)).find("TUTTI_COMM_ID") == std::string::npos) {
          return 1;
        }
        setenv("TUTTI_COMM_ID", "127.0.0.1:1", 1);
        if (tuttiCommInitFromEnv(&comm) != tuttiInvalidArgument) return 1;
        if (std::string(tuttiGetLastError(nullptr)).find("TUTTI_RANK") == std::string::npos) {
          return 1;
        }
        setenv("TUTTI_COMM_ID", "127.0.0.1", 1);
        setenv("TUTTI_RANK", "0", 1);
        setenv("TUTTI_WORLD_SIZE", "1", 1);
        return tuttiCommInitFromEnv(&comm) == tuttiInvalidArgument ? 0 : 1;
      },
      60, false);
  EXPECT_TRUE(result.ok) << result.failure;
}

}  // namespace
}  // namespace tutti::test
