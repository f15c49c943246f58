#include "testing/json_file.h"

#include <fstream>

namespace tutti::test {

bool writeJsonFile(const std::string& path, const nlohmann::json& document) {
  std::ofstream file(path);
  // Replace, not throw, on bytes that are not UTF-8 (a path in a topology file): a tool that
  // measured for minutes should not lose its file to one character.
  file << document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  file.close();
  return static_cast<bool>(file);
}

}  // namespace tutti::test
