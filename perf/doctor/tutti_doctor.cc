// tutti-doctor: reads the flight recorder files of every rank (TUTTI_FLIGHT_RECORDER_FILE) and
// says in one line which rank or link held up which call, then where each rank stood.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "core/flight_diagnosis.h"
#include "core/flight_json.h"

int main(int argc, char** argv) {
  CLI::App app{"tutti-doctor: which rank or link stalled, from every rank's flight recorder"};
  std::vector<std::string> files;
  int nranks = 0;
  app.add_option("files", files, "the JSON files the ranks wrote (TUTTI_FLIGHT_RECORDER_FILE)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--ranks", nranks,
                 "the communicator's size, when some ranks wrote no file (default: the files')")
      ->check(CLI::Range(1, 1 << 24));
  app.footer(
      "Prints one line naming the first call that did not complete on every rank and the rank "
      "that never started it or the link that carried least of its bytes, then a table: per "
      "rank its last completed call, its state in that call, and its bytes per peer. Exit "
      "status 0 when no call stalled, 1 when one did, 2 on unreadable files. docs/reliability.md "
      "describes the files.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? 0 : 2;
  }
  std::vector<tutti::RecorderSnapshot> snapshots;
  for (const std::string& path : files) {
    tutti::RecorderSnapshot snapshot;
    tutti::Status status = tutti::readRecorderFile(path, &snapshot);
    if (!status.isOk()) {
      std::fprintf(stderr, "tutti-doctor: %s\n", status.message().c_str());
      return 2;
    }
    nranks = std::max(nranks, snapshot.nranks);
    snapshots.push_back(std::move(snapshot));
  }
  const tutti::Diagnosis diagnosis = tutti::diagnose(snapshots, nranks);
  std::printf("%s\n\n%s", diagnosis.line.c_str(), diagnosis.table.c_str());
  return diagnosis.stalled ? 1 : 0;
}
