// Environment parsing: parameters, launcher variables, log settings, interface selection.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

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

NetIface fakeIface(const std::string& name, const char* address) {
  NetIface iface;
  iface.name = name;
  EXPECT_TRUE(parseHostPort(std::string(std::strchr(address, ':') ? "[" : "") + address +
                                (std::strchr(address, ':') ? "]" : "") + ":0",
                            &iface.addr)
                  .isOk())
      << address;
  return iface;
}

TEST(NetIfaceTest, RailsAreTheSelectedInterfacesInNameOrderOneAddressEach) {
  const std::vector<NetIface> all = {
      fakeIface("lo", "127.0.0.1"),       fakeIface("eth10", "10.0.10.1"),
      fakeIface("eth2", "10.0.2.1"),      fakeIface("eth2", "10.0.2.99"),
      fakeIface("docker0", "172.17.0.1"), fakeIface("ib0", "192.168.0.1"),
      fakeIface("eth3", "fd00::3"),       fakeIface("eth4", "fe80::4"),
  };
  auto names = [](const std::vector<NetIface>& rails) {
    std::string text;
    for (const NetIface& rail : rails) text += rail.name + "=" + rail.addr.toString() + " ";
    return text;
  };
  // No spec: neither lo nor docker; eth2 before eth10; the first address of eth2.
  EXPECT_EQ(names(selectRails(all, "", AF_INET, 8)),
            "eth2=10.0.2.1:0 eth10=10.0.10.1:0 ib0=192.168.0.1:0 ");
  EXPECT_EQ(names(selectRails(all, "eth", AF_INET, 8)), "eth2=10.0.2.1:0 eth10=10.0.10.1:0 ");
  EXPECT_EQ(names(selectRails(all, "eth", AF_INET, 1)), "eth2=10.0.2.1:0 ");
  // An explicit spec is taken as it stands (NCCL's rule): lo and docker only when it lets them.
  EXPECT_EQ(names(selectRails(all, "^eth,lo", AF_INET, 8)),
            "docker0=172.17.0.1:0 ib0=192.168.0.1:0 ");
  // IPv6: global addresses only (a link-local one names no network between hosts).
  EXPECT_EQ(names(selectRails(all, "eth", AF_INET6, 8)), "eth3=[fd00::3]:0 ");
  EXPECT_TRUE(selectRails(all, "=nosuch", AF_INET, 8).empty());
}

TEST(NetIfaceTest, TcpRailsParameterIsChecked) {
  TcpParams tcp;
  {
    ScopedEnv rails("TUTTI_TCP_RAILS", "2");
    ASSERT_TRUE(loadTcpParams(Params{}, &tcp).isOk());
    EXPECT_EQ(tcp.maxRails, 2);
  }
  for (const char* bad : {"0", "9", "two"}) {
    ScopedEnv rails("TUTTI_TCP_RAILS", bad);
    Status status = loadTcpParams(Params{}, &tcp);
    EXPECT_EQ(status.code(), tuttiInvalidArgument) << bad;
    EXPECT_NE(status.message().find("TUTTI_TCP_RAILS"), std::string::npos) << status.message();
  }
  ASSERT_TRUE(loadTcpParams(Params{}, &tcp).isOk());
  EXPECT_EQ(tcp.maxRails, 1);
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
