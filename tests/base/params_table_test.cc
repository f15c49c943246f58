// Every TUTTI_* variable is read through the parameter table: no getenv of one anywhere else in
// the sources, and every name the sources read is documented in the table.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "base/params.h"
#include "core/builtin_transports.h"
#include "device/device_params.h"

namespace tutti {
namespace {

namespace fs = std::filesystem;

std::string readFile(const fs::path& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST(ParamsTableTest, EveryTuttiVariableIsReadThroughTheTable) {
  const fs::path root = TUTTI_SOURCE_DIR;
  const std::regex getenvCall(R"(getenv\("TUTTI_)");
  const std::regex readCall(
      R"((paramEnv|envInt|envString|envBool|envBytes)\("(TUTTI_[A-Z0-9_]+)\"|paramInt\(\w+, "(TUTTI_[A-Z0-9_]+)\")");
  std::set<std::string> read;
  size_t files = 0;
  for (const char* folder : {"src", "transports", "perf"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root / folder)) {
      const std::string ext = entry.path().extension();
      if (ext != ".cc" && ext != ".h" && ext != ".inc") continue;
      ++files;
      const std::string text = readFile(entry.path());
      const std::string name = entry.path().filename();
      // The table itself and the logger (configured before anything else) may call getenv.
      if (name != "params.cc" && name != "log.cc") {
        EXPECT_FALSE(std::regex_search(text, getenvCall))
            << entry.path() << " reads a TUTTI_* variable with getenv: use paramEnv";
      }
      for (auto it = std::sregex_iterator(text.begin(), text.end(), readCall);
           it != std::sregex_iterator(); ++it) {
        read.insert((*it)[2].matched ? (*it)[2].str() : (*it)[3].str());
      }
    }
  }
  EXPECT_GT(files, 50u);
  EXPECT_GT(read.size(), 20u);
  EXPECT_TRUE(read.count("TUTTI_SHM_SLOTS") && read.count("TUTTI_NSOCKS_PERPEER"))
      << "the transports' own reads are seen";
  builtinTransports();                             // registers the transports' tables
  registerParamTable(device::deviceParamTable());  // as the first device runtime lookup does
  for (const std::string& name : read) {
    EXPECT_NE(findParam(name.c_str()), nullptr) << name << " is read but not in paramTable()";
  }
}

}  // namespace
}  // namespace tutti
