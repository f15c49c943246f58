// Environment parsing: parameters, launcher variables, log settings, interface selection.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "base/log.h"
#include "base/net_iface.h"
#include "base/params.h"
#include "core/launcher_env.h"
#include "transports/tcp/tcp_params.h"

namespace tutti {
namespace {

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) {
      hadOld_ = true;
      old_ = old;
    }
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (hadOld_) {
      setenv(name_, old_.c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  bool hadOld_ = false;
  std::string old_;
};

TEST(ParamsTest, DefaultsEnvironmentAndConfig) {
  Params params;
  ASSERT_TRUE(loadParams(nullptr, &params).isOk());
  EXPECT_EQ(params.timeoutMs, 600000);
  TcpParams tcp;
  ASSERT_TRUE(loadTcpParams(params, &tcp).isOk());
  EXPECT_EQ(tcp.socketsPerPeer, 2);
  tuttiConfig_t sockets = TUTTI_CONFIG_INITIALIZER;
  sockets.nSocksPerPeer = 5;
  {
    ScopedEnv env("TUTTI_NSOCKS_PERPEER", "3");
    ASSERT_TRUE(loadParams(nullptr, &params).isOk());
    ASSERT_TRUE(loadTcpParams(params, &tcp).isOk());
    EXPECT_EQ(tcp.socketsPerPeer, 3);  // the transport's own table, from the environment
    ASSERT_TRUE(loadParams(&sockets, &params).isOk());
    ASSERT_TRUE(loadTcpParams(params, &tcp).isOk());
    EXPECT_EQ(tcp.socketsPerPeer, 5);  // config beats environment
  }
  {
    ScopedEnv env("TUTTI_TIMEOUT_MS", "1234");
    ASSERT_TRUE(loadParams(nullptr, &params).isOk());
    EXPECT_EQ(params.timeoutMs, 1234);
    tuttiConfig_t config = TUTTI_CONFIG_INITIALIZER;
    config.timeoutMs = 99;
    ASSERT_TRUE(loadParams(&config, &params).isOk());
    EXPECT_EQ(params.timeoutMs, 99);  // config beats environment
  }
}

TEST(ParamsTest, BadValuesNameTheVariableOrField) {
  Params params;
  {
    ScopedEnv env("TUTTI_NSOCKS_PERPEER", "lots");
    ASSERT_TRUE(loadParams(nullptr, &params).isOk());
    TcpParams tcp;
    Status status = loadTcpParams(params, &tcp);
    EXPECT_EQ(status.code(), tuttiInvalidArgument);
    EXPECT_NE(status.message().find("TUTTI_NSOCKS_PERPEER"), std::string::npos);
  }
  tuttiConfig_t config = TUTTI_CONFIG_INITIALIZER;
  config.timeoutMs = 0;
  Status status = loadParams(&config, &params);
  EXPECT_EQ(status.code(), tuttiInvalidArgument);
  EXPECT_NE(status.message().find("timeoutMs"), std::string::npos);
  tuttiConfig_t garbage{};
  EXPECT_EQ(loadParams(&garbage, &params).code(), tuttiInvalidArgument);
}

TEST(LauncherEnvTest, FirstMatchingLauncherWins) {
  for (const char* name :
       {"TUTTI_RANK", "TUTTI_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
        "SLURM_PROCID", "SLURM_NTASKS", "PMI_RANK", "PMI_SIZE", "RANK", "WORLD_SIZE"}) {
    unsetenv(name);
  }
  LauncherRank launcher;
  bool found = true;
  ASSERT_TRUE(rankFromLauncher(&launcher, &found).isOk());
  EXPECT_FALSE(found);
  {
    ScopedEnv rank("SLURM_PROCID", "3");
    ScopedEnv size("SLURM_NTASKS", "4");
    ASSERT_TRUE(rankFromLauncher(&launcher, &found).isOk());
    EXPECT_TRUE(found);
    EXPECT_EQ(launcher.rank, 3);
    EXPECT_EQ(launcher.size, 4);
    ScopedEnv ompiRank("OMPI_COMM_WORLD_RANK", "1");
    ScopedEnv ompiSize("OMPI_COMM_WORLD_SIZE", "2");
    ASSERT_TRUE(rankFromLauncher(&launcher, &found).isOk());
    EXPECT_EQ(launcher.rank, 1);
    EXPECT_EQ(launcher.source, "OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE");
  }
  {
    ScopedEnv rank("RANK", "5");
    ScopedEnv size("WORLD_SIZE", "5");
    EXPECT_EQ(rankFromLauncher(&launcher, &found).code(), tuttiInvalidArgument);
  }
}

TEST(LogTest, SubsystemsAndFileNames) {
  EXPECT_EQ(parseLogSubsys("INIT,NET"), kLogInit | kLogNet);
  EXPECT_EQ(parseLogSubsys("all"), kLogAll);
  EXPECT_EQ(parseLogSubsys("^COLL"), ~static_cast<uint32_t>(kLogColl));
  std::string path = expandLogPath("/tmp/tutti.%h.%p.log");
  char host[64] = {0};
  gethostname(host, sizeof(host) - 1);
  EXPECT_EQ(path, std::string("/tmp/tutti.") + host + "." + std::to_string(getpid()) + ".log");
}

TEST(NetIfaceTest, NcclIfnameSyntax) {
  EXPECT_TRUE(ifnameMatches("", "eth0"));
  EXPECT_TRUE(ifnameMatches("eth", "eth0"));
  EXPECT_FALSE(ifnameMatches("eth", "ib0"));
  EXPECT_TRUE(ifnameMatches("ib,eth", "eth1"));
  EXPECT_FALSE(ifnameMatches("=eth", "eth0"));
  EXPECT_TRUE(ifnameMatches("=eth0", "eth0"));
  EXPECT_FALSE(ifnameMatches("^docker,lo", "lo"));
  EXPECT_TRUE(ifnameMatches("^docker,lo", "eth0"));
  EXPECT_FALSE(ifnameMatches("^=eth0", "eth0"));
  EXPECT_TRUE(ifnameMatches("^=eth0", "eth01"));
}

TEST(NetIfaceTest, LoopbackCanBeChosenInBothFamilies) {
  NetIface iface;
  ASSERT_TRUE(chooseInterface("=lo", AF_INET, &iface).isOk());
  EXPECT_EQ(iface.name, "lo");
  EXPECT_TRUE(iface.addr.isLoopback());
  Status v6 = chooseInterface("=lo", AF_INET6, &iface);
  if (v6.isOk()) EXPECT_EQ(iface.addr.family(), AF_INET6);
  EXPECT_EQ(chooseInterface("=nosuchif0", 0, &iface).code(), tuttiSystemError);
}

}  // namespace
}  // namespace tutti
