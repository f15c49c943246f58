// The cost file: its text format, lookups, the default path and atomic updates.
#include "algo/cost_file.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace tutti {
namespace {

CostEntry entry(const std::string& transport, int ranks, int cpus, double alpha,
                const std::string& comment = "") {
  CostEntry e;
  e.key = CostKey{transport, ranks, cpus};
  e.cost = LinkCost{alpha, 0.125, 0.15};
  e.comment = comment;
  return e;
}

void expectSameCost(const LinkCost& a, const LinkCost& b) {
  EXPECT_EQ(a.alphaUs, b.alphaUs);
  EXPECT_EQ(a.betaNsPerByte, b.betaNsPerByte);
  EXPECT_EQ(a.gammaNsPerByte, b.gammaNsPerByte);
  EXPECT_EQ(a.rendezvousBytes, b.rendezvousBytes);
  EXPECT_EQ(a.rendezvousAlphaUs, b.rendezvousAlphaUs);
}

std::string readText(const std::string& path) {
  std::ifstream file(path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// A fresh directory per test, removed after it.
class CostFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/tutti_cost_file_XXXXXX";
    ASSERT_NE(mkdtemp(&pattern[0]), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    [[maybe_unused]] int status = std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  std::string dir_;
};

TEST_F(CostFileTest, RoundTripKeepsEveryFieldAndComment) {
  CostEntry cma = entry("shm/cma", 2, 2, 5.1, "2025-01-02 tutti-perf --calibrate -np 2; rms 3%");
  cma.cost.rendezvousBytes = 65536;
  cma.cost.rendezvousAlphaUs = 15.25;
  cma.cost.betaNsPerByte = 0.1 + 0.2;  // not short in decimal: must still round-trip exactly
  const CostEntry tcp = entry("tcp", 8, 64, 14.0);
  std::vector<CostEntry> parsed;
  Status status = parseCosts(serializeCosts({cma, tcp}), &parsed);
  ASSERT_TRUE(status.isOk()) << status.message();
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_TRUE(parsed[0].key == cma.key);
  EXPECT_TRUE(parsed[1].key == tcp.key);
  expectSameCost(parsed[0].cost, cma.cost);
  expectSameCost(parsed[1].cost, tcp.cost);
  EXPECT_EQ(parsed[0].comment, cma.comment);
  EXPECT_EQ(parsed[1].comment, "");
  EXPECT_EQ(parsed[1].cost.rendezvousBytes, SIZE_MAX);  // absent: no rendezvous level
}

TEST_F(CostFileTest, ReadsTheDocumentedFormat) {
  const std::string text =
      "# measured on the build VM\n"
      "tutti-costs 1\n"
      "\n"
      "cost gamma_ns_per_byte=0.15 transport=shm/cma cpus=2 ranks=2 alpha_us=5.1   "
      "beta_ns_per_byte=0.12 rendezvous_alpha_us=15.2 rendezvous_bytes=65536  # by hand\n";
  std::vector<CostEntry> parsed;
  Status status = parseCosts(text, &parsed);
  ASSERT_TRUE(status.isOk()) << status.message();
  ASSERT_EQ(parsed.size(), 1u);
  expectSameCost(parsed[0].cost, LinkCost{5.1, 0.12, 0.15, 65536, 15.2});
  EXPECT_EQ(parsed[0].comment, "by hand");
}

TEST_F(CostFileTest, EveryParseErrorNamesLineAndField) {
  const std::string header = "tutti-costs 1\n";
  const std::string key = "cost transport=shm ranks=2 cpus=2 ";
  const std::string costs = "alpha_us=5 beta_ns_per_byte=0.2 gamma_ns_per_byte=0.15";
  struct Case {
    std::string text;
    std::string message;  // a part of the error message
  };
  const Case cases[] = {
      {"", "no header line 'tutti-costs 1'"},
      {"# only a comment\n", "no header line"},
      {key + costs + "\n", "line 1: want the header 'tutti-costs 1'"},
      {"tutti-costs one\n", "line 1: want the header"},
      {"tutti-costs 2\n", "line 1: version 2 is newer than this Tutti reads (1)"},
      {header + "costs transport=shm\n", "line 2: unknown record 'costs'"},
      {header + key + costs + " speed=3\n", "line 2: unknown field 'speed'"},
      {header + key + costs + " alpha_us\n", "line 2: 'alpha_us' is not field=value"},
      {header + key + costs + " alpha_us=4\n", "line 2: field 'alpha_us' given twice"},
      {header + "cost ranks=2 cpus=2 " + costs + "\n", "line 2: missing key field 'transport'"},
      {header + "cost transport=shm cpus=2 " + costs + "\n", "line 2: missing key field 'ranks'"},
      {header + "cost transport=shm ranks=2 " + costs + "\n", "line 2: missing key field 'cpus'"},
      {header + key + "beta_ns_per_byte=0.2 gamma_ns_per_byte=0.1\n",
       "line 2: missing field 'alpha_us'"},
      {header + key + "alpha_us=5 gamma_ns_per_byte=0.1\n",
       "line 2: missing field 'beta_ns_per_byte'"},
      {header + key + "alpha_us=5 beta_ns_per_byte=0.2\n",
       "line 2: missing field 'gamma_ns_per_byte'"},
      {header + "cost transport= ranks=2 cpus=2 " + costs + "\n",
       "line 2: transport='': the transport is empty"},
      {header + "cost transport=shm ranks=two cpus=2 " + costs + "\n",
       "line 2: ranks='two': want an integer >= 1"},
      {header + "cost transport=shm ranks=2 cpus=0 " + costs + "\n",
       "line 2: cpus='0': want an integer >= 1"},
      {header + key + "alpha_us=5us beta_ns_per_byte=0.2 gamma_ns_per_byte=0.1\n",
       "line 2: alpha_us='5us': want a finite number >= 0"},
      {header + key + "alpha_us=5 beta_ns_per_byte=-0.2 gamma_ns_per_byte=0.1\n",
       "line 2: beta_ns_per_byte='-0.2': want a finite number >= 0"},
      {header + key + "alpha_us=5 beta_ns_per_byte=0.2 gamma_ns_per_byte=inf\n",
       "line 2: gamma_ns_per_byte='inf': want a finite number >= 0"},
      {header + key + costs + " rendezvous_bytes=64K rendezvous_alpha_us=1\n",
       "line 2: rendezvous_bytes='64K': want an integer >= 1"},
      {header + key + costs + " rendezvous_bytes=65536 rendezvous_alpha_us=nan\n",
       "line 2: rendezvous_alpha_us='nan'"},
      {header + key + costs + " rendezvous_bytes=65536\n",
       "line 2: rendezvous_bytes and rendezvous_alpha_us come together"},
      {header + key + costs + "\n\n" + key + costs + "\n",
       "line 4: entry transport=shm ranks=2 cpus=2 repeats line 2"},
  };
  for (const Case& c : cases) {
    std::vector<CostEntry> parsed = {entry("untouched", 1, 1, 1)};
    Status status = parseCosts(c.text, &parsed);
    EXPECT_EQ(status.code(), tuttiInvalidArgument) << c.text;
    EXPECT_NE(status.message().find(c.message), std::string::npos)
        << "text:\n"
        << c.text << "message: " << status.message() << "\nwanted: " << c.message;
    ASSERT_EQ(parsed.size(), 1u) << "an error leaves the output alone";
    EXPECT_EQ(parsed[0].key.transport, "untouched");
  }
}

TEST_F(CostFileTest, FindCostWantsTheExactKey) {
  const std::vector<CostEntry> entries = {entry("shm/cma", 2, 2, 1), entry("shm/cma", 4, 2, 2),
                                          entry("shm", 2, 2, 3), entry("shm/cma", 2, 8, 4)};
  ASSERT_TRUE(findCost(entries, CostKey{"shm/cma", 4, 2}).has_value());
  EXPECT_EQ(findCost(entries, CostKey{"shm/cma", 4, 2})->alphaUs, 2);
  EXPECT_EQ(findCost(entries, CostKey{"shm", 2, 2})->alphaUs, 3);
  EXPECT_EQ(findCost(entries, CostKey{"shm/cma", 2, 8})->alphaUs, 4);
  EXPECT_FALSE(findCost(entries, CostKey{"shm/cma", 3, 2}).has_value());
  EXPECT_FALSE(findCost(entries, CostKey{"tcp", 2, 2}).has_value());
  EXPECT_FALSE(findCost({}, CostKey{"shm", 2, 2}).has_value());
}

TEST_F(CostFileTest, MissingFileIsNoEntries) {
  std::vector<CostEntry> loaded = {entry("stale", 1, 1, 1)};
  Status status = loadCostFile(dir_ + "/no/such/costs", &loaded);
  ASSERT_TRUE(status.isOk()) << status.message();
  EXPECT_TRUE(loaded.empty());
}

TEST_F(CostFileTest, LoadNamesTheFileOfAMalformedOne) {
  const std::string path = dir_ + "/costs";
  std::ofstream(path) << "tutti-costs 1\ncost transport=tcp\n";
  std::vector<CostEntry> loaded;
  Status status = loadCostFile(path, &loaded);
  EXPECT_EQ(status.code(), tuttiInvalidArgument);
  EXPECT_NE(status.message().find("cost file " + path + ": line 2: missing key field 'ranks'"),
            std::string::npos)
      << status.message();
  // A directory is not a file: an error, not "no entries".
  EXPECT_FALSE(loadCostFile(dir_, &loaded).isOk());
}

TEST_F(CostFileTest, StoreCreatesDirectoriesReplacesSameKeyAppendsOthers) {
  const std::string path = dir_ + "/config/tutti/costs";
  ASSERT_TRUE(storeCostEntry(path, entry("shm/cma", 2, 2, 5.0, "first")).isOk());
  ASSERT_TRUE(storeCostEntry(path, entry("tcp", 2, 2, 14.0)).isOk());
  Status status = storeCostEntry(path, entry("shm/cma", 2, 2, 6.5, "second"));
  ASSERT_TRUE(status.isOk()) << status.message();
  std::vector<CostEntry> loaded;
  status = loadCostFile(path, &loaded);
  ASSERT_TRUE(status.isOk()) << status.message();
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_EQ(loaded[0].key.transport, "shm/cma");  // replaced in its place
  EXPECT_EQ(loaded[0].cost.alphaUs, 6.5);
  EXPECT_EQ(loaded[0].comment, "second");
  EXPECT_EQ(loaded[1].key.transport, "tcp");
  EXPECT_EQ(loaded[1].cost.alphaUs, 14.0);
  // Nothing left beside it: the temporary file was renamed over the old one.
  std::vector<std::string> names;
  DIR* folder = opendir((dir_ + "/config/tutti").c_str());
  ASSERT_NE(folder, nullptr);
  while (const dirent* item = readdir(folder)) {
    if (item->d_name[0] != '.') names.emplace_back(item->d_name);
  }
  closedir(folder);
  EXPECT_EQ(names, std::vector<std::string>{"costs"});
}

TEST_F(CostFileTest, StoreRefusesWhatTheFormatCannotHoldAndKeepsAMalformedFile) {
  const std::string path = dir_ + "/costs";
  EXPECT_EQ(storeCostEntry(path, entry("shm cma", 2, 2, 5)).code(), tuttiInvalidArgument);
  EXPECT_EQ(storeCostEntry(path, entry("shm", 0, 2, 5)).code(), tuttiInvalidArgument);
  Status negative = storeCostEntry(path, entry("shm", 2, 2, -1));
  EXPECT_EQ(negative.code(), tuttiInvalidArgument);
  EXPECT_NE(negative.message().find("alpha_us"), std::string::npos) << negative.message();
  EXPECT_NE(access(path.c_str(), F_OK), 0) << "refused entries write nothing";

  const std::string bad = "tutti-costs 9\nhand-edited\n";
  std::ofstream(path) << bad;
  Status status = storeCostEntry(path, entry("shm", 2, 2, 5));
  EXPECT_EQ(status.code(), tuttiInvalidArgument);
  EXPECT_NE(status.message().find("not rewriting it"), std::string::npos) << status.message();
  EXPECT_EQ(readText(path), bad);
}

TEST_F(CostFileTest, StoredCommentStaysOnItsLine) {
  const std::string path = dir_ + "/costs";
  ASSERT_TRUE(storeCostEntry(path, entry("shm", 2, 2, 5, "two\nlines # and a hash")).isOk());
  std::vector<CostEntry> loaded;
  ASSERT_TRUE(loadCostFile(path, &loaded).isOk());
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].comment, "two lines # and a hash");
}

// defaultCostFilePath reads three variables; each test sets them and restores them after.
class CostFilePathTest : public ::testing::Test {
 protected:
  static constexpr const char* kNames[] = {"TUTTI_COST_FILE", "XDG_CONFIG_HOME", "HOME"};
  void SetUp() override {
    for (const char* name : kNames) {
      const char* value = std::getenv(name);
      saved_.emplace_back(value != nullptr, value != nullptr ? value : "");
      unsetenv(name);
    }
  }
  void TearDown() override {
    for (size_t i = 0; i < saved_.size(); ++i) {
      if (saved_[i].first) {
        setenv(kNames[i], saved_[i].second.c_str(), 1);
      } else {
        unsetenv(kNames[i]);
      }
    }
  }
  std::vector<std::pair<bool, std::string>> saved_;
};

TEST_F(CostFilePathTest, EnvironmentPrecedence) {
  EXPECT_EQ(defaultCostFilePath(), "");
  setenv("HOME", "/home/u", 1);
  EXPECT_EQ(defaultCostFilePath(), "/home/u/.config/tutti/costs");
  setenv("XDG_CONFIG_HOME", "relative/config", 1);  // the XDG spec: ignore relative paths
  EXPECT_EQ(defaultCostFilePath(), "/home/u/.config/tutti/costs");
  setenv("XDG_CONFIG_HOME", "", 1);
  EXPECT_EQ(defaultCostFilePath(), "/home/u/.config/tutti/costs");
  setenv("XDG_CONFIG_HOME", "/xdg", 1);
  EXPECT_EQ(defaultCostFilePath(), "/xdg/tutti/costs");
  setenv("TUTTI_COST_FILE", "/etc/tutti-costs", 1);
  EXPECT_EQ(defaultCostFilePath(), "/etc/tutti-costs");
  setenv("TUTTI_COST_FILE", "", 1);  // set and empty: no cost file
  EXPECT_EQ(defaultCostFilePath(), "");
  unsetenv("TUTTI_COST_FILE");
  unsetenv("XDG_CONFIG_HOME");
  setenv("HOME", "", 1);
  EXPECT_EQ(defaultCostFilePath(), "");
}

}  // namespace
}  // namespace tutti
