// --compare-published: Tutti's ring all_reduce prediction beside published NCCL figures.
#pragma once

#include <string>

namespace tutti::sim {

// Prints the comparison; the exit status (1 when a job cannot be built or its plans disagree
// with the model). shippedDir and sharedDir: where the machine files are.
int comparePublished(const std::string& shippedDir, const std::string& sharedDir);

}  // namespace tutti::sim
