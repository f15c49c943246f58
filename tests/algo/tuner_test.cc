// Tuner plugins (src/algo/tuner.cc, src/nccl_tuner/): Tutti's ABI and NCCL's v5/v4 steer the
// choice; broken plugins are ignored; libnccl-tuner-tutti.so behaves as NCCL 2.28 expects. The
// plugins are shared libraries built from tests/algo/plugins/*.c (and examples/tuner/), in
// TUTTI_TEST_TUNER_DIR, named libtutti-tuner-<name>.so.
#include "algo/tuner.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "algo/cost_topology.h"
#include "algo/nccl_tuner_abi.h"
#include "algo/select.h"
#include "core/comm.h"
#include "topo/topology_file.h"
#include "tutti/tutti.h"

namespace tutti {
namespace {

constexpr int kRing = static_cast<int>(Algorithm::kRing);
constexpr int kRd = static_cast<int>(Algorithm::kRecursiveDoubling);
constexpr int kTree = static_cast<int>(Algorithm::kTree);

std::string pluginPath(const std::string& name) {
  return std::string(TUTTI_TEST_TUNER_DIR) + "/libtutti-tuner-" + name + ".so";
}

// Sets an environment variable for the scope, then restores the old value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// The test's own reference to a plugin library: keeps it loaded (so its counters outlive the
// Tuner's dlclose) and reads its exported test variables.
class Library {
 public:
  explicit Library(const std::string& path) : handle_(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
    EXPECT_NE(handle_, nullptr) << path << ": " << dlerror();
  }
  ~Library() {
    if (handle_ != nullptr) dlclose(handle_);
  }
  template <typename T>
  T* symbol(const char* name) {
    void* address = handle_ != nullptr ? dlsym(handle_, name) : nullptr;
    EXPECT_NE(address, nullptr) << name;
    return static_cast<T*>(address);
  }
  template <typename T>
  T value(const char* name) {
    T* address = symbol<T>(name);
    return address != nullptr ? *address : T{};
  }

 private:
  void* handle_;
};

TunerShape shapeOf(int nranks) {
  TunerShape shape;
  shape.nranks = nranks;
  shape.nhosts = 1;
  shape.minRanksPerHost = nranks;
  shape.maxRanksPerHost = nranks;
  shape.commId = 0x5eed;
  return shape;
}

const LinkCost kShm = defaultLinkCost("shm");

// (a) Tutti's ABI: a plugin that makes rd free for all-reduce changes the model's choice.
TEST(TunerTest, TuttiAbiPluginChangesTheChoice) {
  Library library(pluginPath("rd_zero"));
  const int initsBefore = library.value<int>("tuttiTestInits");
  const int destroysBefore = library.value<int>("tuttiTestDestroys");
  TunerShape shape = shapeOf(4);
  shape.nhosts = 2;
  shape.minRanksPerHost = 1;
  shape.maxRanksPerHost = 3;
  std::unique_ptr<Tuner> tuner = Tuner::load(pluginPath("rd_zero"), shape);
  ASSERT_NE(tuner, nullptr);
  EXPECT_EQ(tuner->abi(), Tuner::Abi::kTuttiV1);
  EXPECT_EQ(tuner->name(), "rd_zero");
  EXPECT_EQ(library.value<int>("tuttiTestInits"), initsBefore + 1);
  int* seenShape = library.symbol<int>("tuttiTestShape");
  ASSERT_NE(seenShape, nullptr);
  EXPECT_EQ(std::vector<int>(seenShape, seenShape + 4), (std::vector<int>{4, 2, 1, 3}));
  EXPECT_EQ(library.value<uint64_t>("tuttiTestCommId"), 0x5eedu);

  const size_t big = 64 << 20;
  Choice model = chooseAlgorithm(AlgoSpec(), Collective::kAllReduce, 4, big, kShm);
  ASSERT_EQ(model.algorithm, Algorithm::kRing);  // the model alone: ring for 64 MiB
  Choice tuned = chooseAlgorithm(AlgoSpec(), Collective::kAllReduce, 4, big, kShm, tuner.get());
  EXPECT_EQ(tuned.algorithm, Algorithm::kRecursiveDoubling);
  EXPECT_EQ(tuned.modelAlgorithm, Algorithm::kRing);
  EXPECT_TRUE(tuned.tuned);
  EXPECT_EQ(tuned.tunedUs[kRd], 0.0);
  EXPECT_EQ(tuned.tunedUs[kRing], model.predictedUs[kRing]);
  EXPECT_EQ(tuned.predictedUs[kRd], model.predictedUs[kRd]);  // the model's, kept for the log
  EXPECT_EQ(library.value<int>("tuttiTestNumAlgorithms"), kNumAlgorithms);

  // The plugin leaves all-gather alone: the model's choice stands.
  Choice gather = chooseAlgorithm(AlgoSpec(), Collective::kAllGather, 4, big, kShm, tuner.get());
  EXPECT_EQ(gather.algorithm,
            chooseAlgorithm(AlgoSpec(), Collective::kAllGather, 4, big, kShm).algorithm);
  EXPECT_EQ(gather.algorithm, gather.modelAlgorithm);
  EXPECT_TRUE(gather.tuned);
  EXPECT_EQ(library.value<int>("tuttiTestCollective"), tuttiTunerAllGather);

  // Collectives are numbered as NCCL's ncclFunc_t, NCCL 2.28's all-to-all, scatter and gather
  // included.
  const std::pair<Collective, tuttiTunerFunc_t> numbering[] = {
      {Collective::kBroadcast, tuttiTunerBroadcast},
      {Collective::kReduce, tuttiTunerReduce},
      {Collective::kAllToAll, tuttiTunerAlltoAll},
      {Collective::kGather, tuttiTunerGather},
      {Collective::kScatter, tuttiTunerScatter}};
  for (const auto& [collective, func] : numbering) {
    chooseAlgorithm(AlgoSpec(), collective, 4, big, kShm, tuner.get());
    EXPECT_EQ(library.value<int>("tuttiTestCollective"), func) << collectiveName(collective);
  }
  EXPECT_EQ(tuttiTunerBroadcast, 0);
  EXPECT_EQ(tuttiTunerReduce, 1);
  EXPECT_EQ(tuttiTunerAlltoAll, 8);
  EXPECT_EQ(tuttiTunerScatter, 9);
  EXPECT_EQ(tuttiTunerGather, 10);

  // TUTTI_ALGO wins: a pinned call never reaches the plugin; an excluded algorithm stays out.
  const int callsBefore = library.value<int>("tuttiTestCalls");
  AlgoSpec ringOnly;
  ASSERT_TRUE(AlgoSpec::parse("ring", &ringOnly).isOk());
  Choice pinned = chooseAlgorithm(ringOnly, Collective::kAllReduce, 4, big, kShm, tuner.get());
  EXPECT_EQ(pinned.algorithm, Algorithm::kRing);
  EXPECT_TRUE(pinned.pinned);
  EXPECT_FALSE(pinned.tuned);
  EXPECT_EQ(library.value<int>("tuttiTestCalls"), callsBefore);
  AlgoSpec noRd;
  ASSERT_TRUE(AlgoSpec::parse("^rd", &noRd).isOk());
  Choice excluded = chooseAlgorithm(noRd, Collective::kAllReduce, 4, big, kShm, tuner.get());
  EXPECT_EQ(excluded.algorithm, Algorithm::kRing);
  EXPECT_LT(excluded.tunedUs[kRd], 0);

  tuner.reset();
  EXPECT_EQ(library.value<int>("tuttiTestDestroys"), destroysBefore + 1);
}

TEST(TunerTest, NameIsTriedAsLibtuttiTunerNameSo) {
  // libtutti-tuner-rd_zero.so is found through the test binary's run path.
  std::unique_ptr<Tuner> tuner = Tuner::load("rd_zero", shapeOf(2));
  ASSERT_NE(tuner, nullptr);
  EXPECT_EQ(tuner->path(), "libtutti-tuner-rd_zero.so");
  EXPECT_EQ(tuner->name(), "rd_zero");
  EXPECT_EQ(Tuner::load("", shapeOf(2)), nullptr);
  EXPECT_EQ(Tuner::load("none", shapeOf(2)), nullptr);
  EXPECT_EQ(Tuner::load("NONE", shapeOf(2)), nullptr);
}

// (b) NCCL's v5 ABI, from a plugin written against the declarations as an outside user would:
// preferring RING over TREE turns the model's rd into ring. The same library's v4 symbol
// prefers TREE; v5 must be the one taken.
TEST(TunerTest, NcclV5PluginPreferringRingChangesTheChoice) {
  Library library(pluginPath("nccl_v5_ring"));
  std::unique_ptr<Tuner> tuner = Tuner::load(pluginPath("nccl_v5_ring"), shapeOf(4));
  ASSERT_NE(tuner, nullptr);
  EXPECT_EQ(tuner->abi(), Tuner::Abi::kNcclV5);
  EXPECT_EQ(tuner->name(), "v5_ring");
  size_t* init = library.symbol<size_t>("tuttiTestInit");
  ASSERT_NE(init, nullptr);
  EXPECT_EQ(init[0], 4u);
  EXPECT_EQ(init[1], 1u);
  auto nvl = library.value<ncclNvlDomainInfo_v5_t>("tuttiTestNvl");
  EXPECT_EQ(nvl.nNvlDomains, 1);  // a host stands for an NVLink domain
  EXPECT_EQ(nvl.minRanksPerNvlDomain, 4);
  EXPECT_EQ(nvl.maxRanksPerNvlDomain, 4);
  EXPECT_EQ(library.value<int>("tuttiTestHadConstants"), 1);

  Choice model = chooseAlgorithm(AlgoSpec(), Collective::kAllReduce, 4, 8, kShm);
  ASSERT_EQ(model.algorithm, Algorithm::kRecursiveDoubling);  // 8 bytes: rd by the model
  Choice tuned = chooseAlgorithm(AlgoSpec(), Collective::kAllReduce, 4, 8, kShm, tuner.get());
  EXPECT_EQ(tuned.algorithm, Algorithm::kRing);
  EXPECT_EQ(tuned.modelAlgorithm, Algorithm::kRecursiveDoubling);
  EXPECT_EQ(tuned.tunedUs[kRing], 0.0);
  EXPECT_EQ(tuned.tunedUs[kRd], model.predictedUs[kRd]);  // untouched: Tutti's double, not float

  // What the plugin saw: NCCL's layout, Tutti's predictions in the SIMPLE column of RING and
  // TREE (Tutti's tree), everything else ignored.
  EXPECT_EQ(library.value<int>("tuttiTestFunc"), ncclFuncAllReduce);
  EXPECT_EQ(library.value<size_t>("tuttiTestBytes"), 8u);
  int* dims = library.symbol<int>("tuttiTestDims");
  ASSERT_NE(dims, nullptr);
  EXPECT_EQ(dims[0], NCCL_NUM_ALGORITHMS);
  EXPECT_EQ(dims[1], NCCL_NUM_PROTOCOLS);
  using Table = float[NCCL_NUM_ALGORITHMS][NCCL_NUM_PROTOCOLS];
  Table* seen = library.symbol<Table>("tuttiTestTable");
  ASSERT_NE(seen, nullptr);
  for (int a = 0; a < NCCL_NUM_ALGORITHMS; ++a) {
    for (int p = 0; p < NCCL_NUM_PROTOCOLS; ++p) {
      float expected = NCCL_ALGO_PROTO_IGNORE;
      if (p == NCCL_PROTO_SIMPLE && a == NCCL_ALGO_RING) {
        expected = static_cast<float>(model.predictedUs[kRing]);
      }
      if (p == NCCL_PROTO_SIMPLE && a == NCCL_ALGO_TREE) {
        expected = static_cast<float>(model.predictedUs[kTree]);
      }
      EXPECT_EQ((*seen)[a][p], expected) << "algorithm " << a << " protocol " << p;
    }
  }

  // All-gather: rd is NCCL's PAT row there; TREE is ignored.
  chooseAlgorithm(AlgoSpec(), Collective::kAllGather, 4, 64, kShm, tuner.get());
  EXPECT_EQ(library.value<int>("tuttiTestFunc"), ncclFuncAllGather);
  EXPECT_GT((*seen)[NCCL_ALGO_PAT][NCCL_PROTO_SIMPLE], 0.0f);
  EXPECT_EQ((*seen)[NCCL_ALGO_TREE][NCCL_PROTO_SIMPLE], NCCL_ALGO_PROTO_IGNORE);

  // Broadcast: NCCL's function 0, the chain in RING's row. All-to-all, gather and scatter: NCCL
  // never prices them, so its plugins are not asked.
  chooseAlgorithm(AlgoSpec(), Collective::kBroadcast, 4, 64, kShm, tuner.get());
  EXPECT_EQ(library.value<int>("tuttiTestFunc"), ncclFuncBroadcast);
  EXPECT_GT((*seen)[NCCL_ALGO_RING][NCCL_PROTO_SIMPLE], 0.0f);
  chooseAlgorithm(AlgoSpec(), Collective::kReduce, 4, 64, kShm, tuner.get());
  EXPECT_EQ(library.value<int>("tuttiTestFunc"), ncclFuncReduce);
  *library.symbol<int>("tuttiTestFunc") = -1;
  for (Collective c : {Collective::kAllToAll, Collective::kGather, Collective::kScatter}) {
    EXPECT_FALSE(chooseAlgorithm(AlgoSpec(), c, 4, 64, kShm, tuner.get()).tuned);
  }
  EXPECT_EQ(library.value<int>("tuttiTestFunc"), -1);

  const int finalizedBefore = library.value<int>("tuttiTestFinalized");
  tuner.reset();
  EXPECT_EQ(library.value<int>("tuttiTestFinalized"), finalizedBefore + 1);
}

// (b) A library with only ncclTunerPlugin_v4 is found through the fallback.
TEST(TunerTest, NcclV4OnlyPluginIsFoundByFallback) {
  Library library(pluginPath("nccl_v4_tree"));
  const int destroysBefore = library.value<int>("tuttiTestDestroys");
  std::unique_ptr<Tuner> tuner = Tuner::load(pluginPath("nccl_v4_tree"), shapeOf(4));
  ASSERT_NE(tuner, nullptr);
  EXPECT_EQ(tuner->abi(), Tuner::Abi::kNcclV4);
  EXPECT_EQ(tuner->name(), "v4_tree");
  Choice tuned =
      chooseAlgorithm(AlgoSpec(), Collective::kAllReduce, 4, 64 << 20, kShm, tuner.get());
  EXPECT_EQ(tuned.modelAlgorithm, Algorithm::kRing);
  EXPECT_EQ(tuned.algorithm, Algorithm::kTree);  // TREE free = Tutti's tree
  // All-gather over 3 ranks: rd does not apply, so no row holds it; the plugin's TREE write
  // lands on an ignored entry and changes nothing.
  Choice gather =
      chooseAlgorithm(AlgoSpec(), Collective::kAllGather, 3, 64 << 20, kShm, tuner.get());
  EXPECT_EQ(gather.algorithm, Algorithm::kRing);
  tuner.reset();
  EXPECT_EQ(library.value<int>("tuttiTestDestroys"), destroysBefore + 1);
}

TEST(TunerTest, SymbolsWithNullFunctionsAreSkipped) {
  std::unique_ptr<Tuner> tuner = Tuner::load(pluginPath("null_functions"), shapeOf(4));
  ASSERT_NE(tuner, nullptr);
  EXPECT_EQ(tuner->abi(), Tuner::Abi::kNcclV4);
  EXPECT_EQ(tuner->name(), "null_functions_v4");
  Choice model = chooseAlgorithm(AlgoSpec(), Collective::kAllReduce, 4, 8, kShm);
  Choice tuned = chooseAlgorithm(AlgoSpec(), Collective::kAllReduce, 4, 8, kShm, tuner.get());
  EXPECT_EQ(tuned.algorithm, model.algorithm);
}

// (c) Plugins that cannot be used are ignored: nothing to open, no symbols, a failing init.
TEST(TunerTest, UnusableLibrariesAreIgnored) {
  EXPECT_EQ(Tuner::load("/nonexistent/libtutti-tuner-x.so", shapeOf(4)), nullptr);
  EXPECT_EQ(Tuner::load("no_such_tuner_anywhere", shapeOf(4)), nullptr);
  EXPECT_EQ(Tuner::load(pluginPath("no_symbols"), shapeOf(4)), nullptr);

  Library library(pluginPath("misbehaving"));
  const int initsBefore = library.value<int>("tuttiTestInits");
  const int destroysBefore = library.value<int>("tuttiTestDestroys");
  ScopedEnv mode("TUTTI_TEST_TUNER_MODE", "init_error");
  EXPECT_EQ(Tuner::load(pluginPath("misbehaving"), shapeOf(4)), nullptr);
  EXPECT_EQ(library.value<int>("tuttiTestInits"), initsBefore + 1);
  EXPECT_EQ(library.value<int>("tuttiTestDestroys"), destroysBefore);  // no context: no destroy
}

// (c) Runtime misbehaviour: the plugin's table is discarded or sanitized, never trusted.
TEST(TunerTest, MisbehavingGetCollInfoIsContained) {
  Library library(pluginPath("misbehaving"));
  auto loadWithMode = [&](const char* text) {
    ScopedEnv mode("TUTTI_TEST_TUNER_MODE", text);
    return Tuner::load(pluginPath("misbehaving"), shapeOf(4));
  };
  const Choice smallModel = chooseAlgorithm(AlgoSpec(), Collective::kAllReduce, 4, 8, kShm);
  ASSERT_EQ(smallModel.algorithm, Algorithm::kRecursiveDoubling);
  const Choice bigModel = chooseAlgorithm(AlgoSpec(), Collective::kAllReduce, 4, 64 << 20, kShm);
  ASSERT_EQ(bigModel.algorithm, Algorithm::kRing);

  {  // An error discards what the plugin wrote before returning it.
    std::unique_ptr<Tuner> tuner = loadWithMode("coll_error");
    ASSERT_NE(tuner, nullptr);
    const int callsBefore = library.value<int>("tuttiTestCalls");
    for (int repeat = 0; repeat < 2; ++repeat) {  // WARN once, then INFO: no difference here
      Choice c =
          chooseAlgorithm(AlgoSpec(), Collective::kAllReduce, 4, 64 << 20, kShm, tuner.get());
      EXPECT_EQ(c.algorithm, Algorithm::kRing);
      EXPECT_FALSE(c.tuned);
    }
    EXPECT_EQ(library.value<int>("tuttiTestCalls"), callsBefore + 2);
  }
  {  // NaN removes the candidate.
    std::unique_ptr<Tuner> tuner = loadWithMode("nan");
    ASSERT_NE(tuner, nullptr);
    Choice c = chooseAlgorithm(AlgoSpec(), Collective::kAllReduce, 4, 8, kShm, tuner.get());
    EXPECT_EQ(c.algorithm, Algorithm::kRing);
    EXPECT_TRUE(c.tuned);
    EXPECT_LT(c.tunedUs[kRd], 0);
  }
  {  // No candidate left: the model decides.
    std::unique_ptr<Tuner> tuner = loadWithMode("ignore_all");
    ASSERT_NE(tuner, nullptr);
    Choice c = chooseAlgorithm(AlgoSpec(), Collective::kAllReduce, 4, 8, kShm, tuner.get());
    EXPECT_EQ(c.algorithm, Algorithm::kRecursiveDoubling);
    EXPECT_FALSE(c.tuned);
  }
  {  // An ignored entry stays ignored: rd does not serve all-gather on 3 ranks.
    std::unique_ptr<Tuner> tuner = loadWithMode("revive");
    ASSERT_NE(tuner, nullptr);
    Choice c = chooseAlgorithm(AlgoSpec(), Collective::kAllGather, 3, 64, kShm, tuner.get());
    EXPECT_EQ(c.algorithm, Algorithm::kRing);
    EXPECT_LT(c.tunedUs[kRd], 0);
    Choice applies =
        chooseAlgorithm(AlgoSpec(), Collective::kAllReduce, 4, 64 << 20, kShm, tuner.get());
    EXPECT_EQ(applies.algorithm, Algorithm::kRecursiveDoubling);
  }
  {  // A failing destroy is logged, nothing more.
    const int destroysBefore = library.value<int>("tuttiTestDestroys");
    std::unique_ptr<Tuner> tuner = loadWithMode("destroy_error");
    ASSERT_NE(tuner, nullptr);
    tuner.reset();
    EXPECT_EQ(library.value<int>("tuttiTestDestroys"), destroysBefore + 1);
  }
}

// The rules plugin of examples/tuner/rules_tuner.c.
class RulesTunerTest : public ::testing::Test {
 protected:
  std::string writeRules(const std::string& text) {
    char dir[] = "/tmp/tutti_rules_XXXXXX";
    EXPECT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    std::string path = dir_ + "/rules.txt";
    std::ofstream(path) << text;
    return path;
  }
  void TearDown() override {
    if (!dir_.empty()) {
      unlink((dir_ + "/rules.txt").c_str());
      rmdir(dir_.c_str());
    }
  }
  std::string dir_;
};

TEST_F(RulesTunerTest, RulesForceAlgorithmsBySize) {
  ScopedEnv rules("TUTTI_TUNER_RULES", writeRules("# small all-reduces by ring, large by rd\n"
                                                  "allreduce 0 1K ring   # against the model\n"
                                                  "allreduce 1M - rd\n"
                                                  "allgather 0 - rd\n"
                                                  "* 0 - ring\n"));
  std::unique_ptr<Tuner> tuner = Tuner::load(pluginPath("rules"), shapeOf(4));
  ASSERT_NE(tuner, nullptr);
  EXPECT_EQ(tuner->name(), "rules");
  auto choose = [&](Collective collective, int nranks, size_t bytes) {
    return chooseAlgorithm(AlgoSpec(), collective, nranks, bytes, kShm, tuner.get());
  };
  EXPECT_EQ(chooseAlgorithm(AlgoSpec(), Collective::kAllReduce, 4, 8, kShm).algorithm,
            Algorithm::kRecursiveDoubling);
  EXPECT_EQ(choose(Collective::kAllReduce, 4, 8).algorithm, Algorithm::kRing);
  EXPECT_EQ(choose(Collective::kAllReduce, 4, 64 << 20).algorithm, Algorithm::kRecursiveDoubling);
  EXPECT_EQ(choose(Collective::kAllGather, 4, 64 << 20).algorithm, Algorithm::kRecursiveDoubling);
  // rd is no candidate for all-gather on 3 ranks: the next rule (ring for anything) applies.
  Choice gather3 = choose(Collective::kAllGather, 3, 64);
  EXPECT_EQ(gather3.algorithm, Algorithm::kRing);
  EXPECT_TRUE(gather3.tuned);
  EXPECT_EQ(choose(Collective::kReduceScatter, 4, 16).algorithm, Algorithm::kRing);
}

TEST_F(RulesTunerTest, BadOrMissingRulesMakeInitFail) {
  {
    ScopedEnv rules("TUTTI_TUNER_RULES", writeRules("allreduce 0 64K ring\nallreduce 64K\n"));
    EXPECT_EQ(Tuner::load(pluginPath("rules"), shapeOf(4)), nullptr);
  }
  {
    ScopedEnv rules("TUTTI_TUNER_RULES", dir_ + "/missing.txt");
    EXPECT_EQ(Tuner::load(pluginPath("rules"), shapeOf(4)), nullptr);
  }
  unsetenv("TUTTI_TUNER_RULES");
  EXPECT_EQ(Tuner::load(pluginPath("rules"), shapeOf(4)), nullptr);
}

// A communicator loads TUTTI_TUNER_PLUGIN at creation, consults it when planning and closes it
// when destroyed; a plugin that cannot be loaded does not stop creation.
class TunerCommTest : public RulesTunerTest {
 protected:
  tuttiComm_t makeComm() {
    tuttiUniqueId id;
    EXPECT_EQ(tuttiGetUniqueId(&id), tuttiSuccess) << tuttiGetLastError(nullptr);
    tuttiComm_t comm = nullptr;
    EXPECT_EQ(tuttiCommInitRank(&comm, 1, id, 0), tuttiSuccess) << tuttiGetLastError(nullptr);
    return comm;
  }
};

TEST_F(TunerCommTest, CommunicatorUsesAndClosesThePlugin) {
  const std::string path = pluginPath("rules");
  ScopedEnv plugin("TUTTI_TUNER_PLUGIN", path);
  ScopedEnv rules("TUTTI_TUNER_RULES", writeRules("allreduce 0 - rd\n"));
  tuttiComm_t comm = makeComm();
  ASSERT_NE(comm, nullptr);
  ASSERT_NE(liveComm(comm)->tuner, nullptr);
  EXPECT_EQ(liveComm(comm)->tuner->name(), "rules");
  std::vector<float> send(16, 3.0f);
  std::vector<float> recv(16, 0.0f);
  ASSERT_EQ(
      tuttiAllReduce(send.data(), recv.data(), send.size(), tuttiFloat32, tuttiSum, comm, nullptr),
      tuttiSuccess);
  EXPECT_EQ(recv, send);
  ASSERT_EQ(liveComm(comm)->planCache.size(), 1u);
  const Choice& choice = liveComm(comm)->planCache[0].choice;
  EXPECT_EQ(choice.modelAlgorithm, Algorithm::kRing);  // 1 rank: a tie, which ring keeps
  EXPECT_EQ(choice.algorithm, Algorithm::kRecursiveDoubling);
  EXPECT_TRUE(choice.tuned);
  EXPECT_EQ(liveComm(comm)->planCache[0].plan.algorithm, "rd");
  ASSERT_EQ(tuttiCommDestroy(comm), tuttiSuccess);
  // Destroyed with the communicator: nothing holds the library any more.
  void* stillLoaded = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  EXPECT_EQ(stillLoaded, nullptr);
  if (stillLoaded != nullptr) dlclose(stillLoaded);
}

TEST_F(TunerCommTest, UnloadablePluginDoesNotStopCreation) {
  ScopedEnv plugin("TUTTI_TUNER_PLUGIN", "/nonexistent/libtutti-tuner-x.so");
  tuttiComm_t comm = makeComm();
  ASSERT_NE(comm, nullptr);
  EXPECT_EQ(liveComm(comm)->tuner, nullptr);
  EXPECT_EQ(tuttiCommDestroy(comm), tuttiSuccess);
}

// (d) libnccl-tuner-tutti.so, used exactly as NCCL 2.28 uses a tuner plugin.
void ncclStyleLog(ncclDebugLogLevel, unsigned long, const char*, int, const char*, ...) {}

using NcclTable = float[NCCL_NUM_ALGORITHMS][NCCL_NUM_PROTOCOLS];

// A table as NCCL's core leaves it before calling the plugin: its own times (1000 us here),
// NCCL_ALGO_PROTO_IGNORE where a combination is unavailable.
void fillLikeNccl(NcclTable& table) {
  for (auto& row : table) {
    for (float& entry : row) entry = 1000.0f;
  }
  table[NCCL_ALGO_TREE][NCCL_PROTO_LL] = NCCL_ALGO_PROTO_IGNORE;
  table[NCCL_ALGO_RING][NCCL_PROTO_LL128] = NCCL_ALGO_PROTO_IGNORE;
  for (int a :
       {NCCL_ALGO_COLLNET_DIRECT, NCCL_ALGO_COLLNET_CHAIN, NCCL_ALGO_NVLS, NCCL_ALGO_NVLS_TREE}) {
    for (float& entry : table[a]) entry = NCCL_ALGO_PROTO_IGNORE;
  }
}

// True when the 8 bytes could not be a user-space pointer on x86-64 (not canonical) or are
// NULL: dereferencing them faults.
bool faultsAsPointer(uint64_t bits) {
  const uint64_t top = bits >> 47;
  return bits == 0 || (top != 0 && top != 0x1ffff);
}

class NcclTunerTuttiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    handle_ = dlopen(TUTTI_TEST_NCCL_TUNER, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle_, nullptr) << dlerror();
    v5_ = static_cast<const ncclTuner_v5_t*>(dlsym(handle_, "ncclTunerPlugin_v5"));
    v4_ = static_cast<const ncclTuner_v4_t*>(dlsym(handle_, "ncclTunerPlugin_v4"));
    ASSERT_NE(v5_, nullptr);
    ASSERT_NE(v4_, nullptr);
  }
  void TearDown() override {
    if (handle_ != nullptr) dlclose(handle_);
  }
  void* initV5(size_t nRanks, size_t nNodes) {
    void* context = nullptr;
    ncclNvlDomainInfo_v5_t nvl = {static_cast<int>(nNodes), 8, 8};
    ncclTunerConstants_v5_t constants{};
    EXPECT_EQ(v5_->init(&context, 0xabcdef, nRanks, nNodes, ncclStyleLog, &nvl, &constants),
              ncclSuccess);
    EXPECT_NE(context, nullptr);
    return context;
  }
  ncclResult_t call(const ncclTuner_v5_t* plugin, void* context, ncclFunc_t func, size_t bytes,
                    NcclTable& table) {
    int nChannels = 0;
    ncclResult_t rc = plugin->getCollInfo(context, func, bytes, 1, reinterpret_cast<float**>(table),
                                          NCCL_NUM_ALGORITHMS, NCCL_NUM_PROTOCOLS, 0, &nChannels);
    EXPECT_EQ(nChannels, 0);  // left to NCCL
    return rc;
  }
  void* handle_ = nullptr;
  const ncclTuner_v5_t* v5_ = nullptr;
  const ncclTuner_v4_t* v4_ = nullptr;
  ScopedEnv transport_{"TUTTI_NCCL_TUNER_TRANSPORT", "shm"};
};

TEST_F(NcclTunerTuttiTest, V5FillsRingAndTreeWithTuttisPredictions) {
  EXPECT_STREQ(v5_->name, "tutti");
  unsetenv("TUTTI_NCCL_TUNER_EXCLUSIVE");
  void* context = initV5(8, 1);
  for (size_t bytes : {size_t{1024}, size_t{64} << 20}) {
    alignas(8) NcclTable table;
    fillLikeNccl(table);
    // The table's memory read as row pointers would fault: a plugin indexing collCostTable[a][p]
    // cannot pass this test by luck.
    for (int slot = 0; slot < NCCL_NUM_ALGORITHMS; ++slot) {
      uint64_t bits;
      std::memcpy(&bits, reinterpret_cast<const char*>(table) + slot * sizeof(uint64_t),
                  sizeof(bits));
      EXPECT_TRUE(faultsAsPointer(bits)) << std::hex << bits;
    }
    ASSERT_EQ(call(v5_, context, ncclFuncAllReduce, bytes, table), ncclSuccess);
    const double ring = *predictUs(Algorithm::kRing, Collective::kAllReduce, 8, bytes, kShm);
    const double tree =
        *predictUs(Algorithm::kTree, Collective::kAllReduce, 8, bytes, kShm, HostShape{1, 8});
    EXPECT_EQ(table[NCCL_ALGO_RING][NCCL_PROTO_SIMPLE], static_cast<float>(ring));
    EXPECT_EQ(table[NCCL_ALGO_TREE][NCCL_PROTO_SIMPLE], static_cast<float>(tree));
    EXPECT_GT(table[NCCL_ALGO_RING][NCCL_PROTO_SIMPLE], 0.0f);
    EXPECT_GT(table[NCCL_ALGO_TREE][NCCL_PROTO_SIMPLE], 0.0f);
    EXPECT_TRUE(std::isfinite(table[NCCL_ALGO_RING][NCCL_PROTO_SIMPLE]));
    // NCCL's cheapest entry is Tutti's choice.
    // NCCL's cheaper row is Tutti's choice between the two algorithms NCCL has rows for.
    AlgoSpec ringOrTree;
    ASSERT_TRUE(AlgoSpec::parse("ring,tree", &ringOrTree).isOk());
    const Algorithm tuttiChoice =
        chooseAlgorithm(ringOrTree, Collective::kAllReduce, 8, bytes, kShm).algorithm;
    const bool treeCheaper =
        table[NCCL_ALGO_TREE][NCCL_PROTO_SIMPLE] < table[NCCL_ALGO_RING][NCCL_PROTO_SIMPLE];
    EXPECT_EQ(treeCheaper, tuttiChoice == Algorithm::kTree) << bytes;
    // Exclusive by default: every other entry is ignored now, and ignored ones stayed so.
    for (int a = 0; a < NCCL_NUM_ALGORITHMS; ++a) {
      for (int p = 0; p < NCCL_NUM_PROTOCOLS; ++p) {
        const bool ours = p == NCCL_PROTO_SIMPLE && (a == NCCL_ALGO_RING || a == NCCL_ALGO_TREE);
        if (!ours) EXPECT_EQ(table[a][p], NCCL_ALGO_PROTO_IGNORE) << a << "," << p;
      }
    }
  }
  EXPECT_EQ(v5_->finalize(context), ncclSuccess);
}

TEST_F(NcclTunerTuttiTest, V5NeverWritesIgnoredEntries) {
  void* context = initV5(8, 1);
  alignas(8) NcclTable table;
  fillLikeNccl(table);
  table[NCCL_ALGO_RING][NCCL_PROTO_SIMPLE] = NCCL_ALGO_PROTO_IGNORE;  // e.g. NCCL_ALGO=^ring
  ASSERT_EQ(call(v5_, context, ncclFuncAllReduce, 4096, table), ncclSuccess);
  EXPECT_EQ(table[NCCL_ALGO_RING][NCCL_PROTO_SIMPLE], NCCL_ALGO_PROTO_IGNORE);
  EXPECT_GT(table[NCCL_ALGO_TREE][NCCL_PROTO_SIMPLE], 0.0f);

  // All-gather: rd goes into PAT; TREE (no all-gather in NCCL) stays ignored.
  fillLikeNccl(table);
  for (float& entry : table[NCCL_ALGO_TREE]) entry = NCCL_ALGO_PROTO_IGNORE;
  ASSERT_EQ(call(v5_, context, ncclFuncAllGather, 4096, table), ncclSuccess);
  EXPECT_EQ(table[NCCL_ALGO_PAT][NCCL_PROTO_SIMPLE],
            static_cast<float>(
                *predictUs(Algorithm::kRecursiveDoubling, Collective::kAllGather, 8, 4096, kShm)));
  EXPECT_EQ(table[NCCL_ALGO_TREE][NCCL_PROTO_SIMPLE], NCCL_ALGO_PROTO_IGNORE);

  // Every SIMPLE entry ignored (NCCL_PROTO=LL): nothing Tutti can say, the table is left as is.
  fillLikeNccl(table);
  for (auto& row : table) row[NCCL_PROTO_SIMPLE] = NCCL_ALGO_PROTO_IGNORE;
  NcclTable before;
  std::memcpy(before, table, sizeof(table));
  ASSERT_EQ(call(v5_, context, ncclFuncAllReduce, 4096, table), ncclSuccess);
  EXPECT_EQ(std::memcmp(before, table, sizeof(table)), 0);

  // A collective Tutti does not model is left to NCCL.
  fillLikeNccl(table);
  std::memcpy(before, table, sizeof(table));
  ASSERT_EQ(call(v5_, context, ncclFuncBroadcast, 4096, table), ncclSuccess);
  EXPECT_EQ(std::memcmp(before, table, sizeof(table)), 0);
  EXPECT_EQ(v5_->finalize(context), ncclSuccess);
}

TEST_F(NcclTunerTuttiTest, NonExclusiveKeepsNcclsOtherEntries) {
  ScopedEnv exclusive("TUTTI_NCCL_TUNER_EXCLUSIVE", "0");
  void* context = initV5(8, 2);
  alignas(8) NcclTable table;
  fillLikeNccl(table);
  ASSERT_EQ(call(v5_, context, ncclFuncAllReduce, 4096, table), ncclSuccess);
  EXPECT_EQ(table[NCCL_ALGO_RING][NCCL_PROTO_LL], 1000.0f);
  EXPECT_EQ(table[NCCL_ALGO_TREE][NCCL_PROTO_LL], NCCL_ALGO_PROTO_IGNORE);
  EXPECT_NE(table[NCCL_ALGO_RING][NCCL_PROTO_SIMPLE], 1000.0f);
  EXPECT_EQ(v5_->finalize(context), ncclSuccess);
}

TEST_F(NcclTunerTuttiTest, V4SymbolWorksToo) {
  EXPECT_STREQ(v4_->name, "tutti");
  void* context = nullptr;
  ASSERT_EQ(v4_->init(8, 1, ncclStyleLog, &context), ncclSuccess);
  ASSERT_NE(context, nullptr);
  alignas(8) NcclTable table;
  fillLikeNccl(table);
  int nChannels = 0;
  ASSERT_EQ(
      v4_->getCollInfo(context, ncclFuncReduceScatter, 1 << 20, 1, reinterpret_cast<float**>(table),
                       NCCL_NUM_ALGORITHMS, NCCL_NUM_PROTOCOLS, 0, &nChannels),
      ncclSuccess);
  EXPECT_EQ(table[NCCL_ALGO_RING][NCCL_PROTO_SIMPLE],
            static_cast<float>(
                *predictUs(Algorithm::kRing, Collective::kReduceScatter, 8, 1 << 20, kShm)));
  EXPECT_GT(table[NCCL_ALGO_PAT][NCCL_PROTO_SIMPLE], 0.0f);
  EXPECT_EQ(v4_->destroy(context), ncclSuccess);
  // A shape that is no communicator is refused, not crashed on.
  context = nullptr;
  EXPECT_NE(v4_->init(0, 1, ncclStyleLog, &context), ncclSuccess);
  EXPECT_EQ(context, nullptr);
}

// Without TUTTI_NCCL_TUNER_TRANSPORT the plugin prices the machine NCCL runs on: here a DGX
// H100 (TUTTI_TOPO_FILE) over 2 nodes, 16 GPUs, so NVLink inside and 8 NDR NICs between.
TEST_F(NcclTunerTuttiTest, CostsComeFromTheTopologyOfGpuHosts) {
  unsetenv("TUTTI_NCCL_TUNER_TRANSPORT");
  const std::string file = std::string(TUTTI_PERF_TOPOLOGIES_DIR) + "/dgx-h100.topo";
  ScopedEnv topo("TUTTI_TOPO_FILE", file);
  topo::Topology host;
  ASSERT_TRUE(topo::loadTopologyFile(file, &host).isOk());
  const topo::Topology cluster = topo::replicateHosts(host, 2);
  std::vector<int> hostOfRank, gpuOfRank;
  ASSERT_TRUE(placeRanks(cluster, 16, &hostOfRank, &gpuOfRank).isOk());
  TopologyCost expected;
  ASSERT_TRUE(
      clusterCostFromTopology(cluster, hostOfRank, gpuOfRank, defaultCpuClusterCost(), &expected)
          .isOk());
  ASSERT_TRUE(expected.fromTopology);
  void* context = initV5(16, 2);
  for (size_t bytes : {size_t{4096}, size_t{1} << 30}) {
    alignas(8) NcclTable table;
    fillLikeNccl(table);
    ASSERT_EQ(call(v5_, context, ncclFuncAllReduce, bytes, table), ncclSuccess);
    const double ring = *predictUs(Algorithm::kRing, Collective::kAllReduce, 16, bytes,
                                   expected.cost, HostShape{2, 8});
    const double tree = *predictUs(Algorithm::kTree, Collective::kAllReduce, 16, bytes,
                                   expected.cost, HostShape{2, 8});
    EXPECT_EQ(table[NCCL_ALGO_RING][NCCL_PROTO_SIMPLE], static_cast<float>(ring)) << bytes;
    EXPECT_EQ(table[NCCL_ALGO_TREE][NCCL_PROTO_SIMPLE], static_cast<float>(tree)) << bytes;
  }
  // 1 GiB over NVLink (370.8 GB/s per GPU) and 8 x 400 Gb/s per host: far below what Tutti's
  // host transport costs would predict.
  alignas(8) NcclTable table;
  fillLikeNccl(table);
  ASSERT_EQ(call(v5_, context, ncclFuncAllReduce, size_t{1} << 30, table), ncclSuccess);
  EXPECT_LT(table[NCCL_ALGO_RING][NCCL_PROTO_SIMPLE],
            *predictUs(Algorithm::kRing, Collective::kAllReduce, 16, size_t{1} << 30,
                       defaultLinkCost("tcp"), HostShape{2, 8}) /
                10);
  EXPECT_EQ(v5_->finalize(context), ncclSuccess);
}

// Both directions together: Tutti's loader driving libnccl-tuner-tutti.so gets Tutti's own
// choice back (same link costs on both sides).
TEST_F(NcclTunerTuttiTest, TuttiLoaderRoundTripKeepsTheModelsChoice) {
  std::unique_ptr<Tuner> tuner = Tuner::load(TUTTI_TEST_NCCL_TUNER, shapeOf(8));
  ASSERT_NE(tuner, nullptr);
  EXPECT_EQ(tuner->abi(), Tuner::Abi::kNcclV5);
  for (Collective collective :
       {Collective::kAllReduce, Collective::kAllGather, Collective::kReduceScatter}) {
    for (size_t bytes = 8; bytes <= (size_t{256} << 20); bytes *= 4) {
      Choice model = chooseAlgorithm(AlgoSpec(), collective, 8, bytes, kShm);
      Choice tuned = chooseAlgorithm(AlgoSpec(), collective, 8, bytes, kShm, tuner.get());
      EXPECT_EQ(tuned.algorithm, model.algorithm) << collectiveName(collective) << " " << bytes;
      EXPECT_TRUE(tuned.tuned);
    }
  }
}

}  // namespace
}  // namespace tutti
