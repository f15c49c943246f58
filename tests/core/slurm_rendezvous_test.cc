// The address the tasks of an srun step derive for rank 0 (core/slurm_rendezvous.h).
#include "core/slurm_rendezvous.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace tutti {
namespace {

TEST(SlurmFirstHost, NodeLists) {
  EXPECT_EQ(slurmFirstHost("vm"), "vm");
  EXPECT_EQ(slurmFirstHost("a,b"), "a");
  EXPECT_EQ(slurmFirstHost("node[07-09,12],gpu3"), "node07");
  EXPECT_EQ(slurmFirstHost("node[3,1]"), "node3");
  EXPECT_EQ(slurmFirstHost("rack[2-3]-n[010-011]"), "rack2-n010");
  EXPECT_EQ(slurmFirstHost("node-7.cluster"), "node-7.cluster");
  EXPECT_EQ(slurmFirstHost(""), "");
  EXPECT_EQ(slurmFirstHost("node[07-09"), "");
  EXPECT_EQ(slurmFirstHost("node[]"), "");
  EXPECT_EQ(slurmFirstHost("node[a-b]"), "");
  EXPECT_EQ(slurmFirstHost("node]1"), "");
}

TEST(SlurmRendezvousPort, RangeAndSteps) {
  for (unsigned long job : {0ul, 1ul, 312ul, 4294967295ul, 18446744073709551615ul}) {
    for (unsigned long step : {0ul, 1ul, 63ul, 4294967294ul}) {
      const int port = slurmRendezvousPort(job, step);
      EXPECT_GE(port, 12000);
      EXPECT_LT(port, 32000);
    }
  }
  EXPECT_NE(slurmRendezvousPort(5, 0), slurmRendezvousPort(5, 1));
  EXPECT_NE(slurmRendezvousPort(5, 0), slurmRendezvousPort(6, 0));
}

class SlurmCommId : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name :
         {"SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_JOB_ID", "SLURM_STEP_ID"}) {
      unsetenv(name);
    }
  }
  void TearDown() override { SetUp(); }
};

TEST_F(SlurmCommId, FromTheStep) {
  setenv("SLURM_STEP_NODELIST", "n[4-5]", 1);
  setenv("SLURM_JOB_NODELIST", "other", 1);
  setenv("SLURM_JOB_ID", "17", 1);
  setenv("SLURM_STEP_ID", "2", 1);
  std::string why;
  EXPECT_EQ(slurmCommId(&why), "n4:" + std::to_string(slurmRendezvousPort(17, 2)));
  unsetenv("SLURM_STEP_NODELIST");
  EXPECT_EQ(slurmCommId(&why), "other:" + std::to_string(slurmRendezvousPort(17, 2)));
}

TEST_F(SlurmCommId, SaysWhatIsMissing) {
  std::string why;
  EXPECT_EQ(slurmCommId(&why), "");
  EXPECT_EQ(why, "SLURM_STEP_NODELIST is not set");
  setenv("SLURM_STEP_NODELIST", "n[4-", 1);
  EXPECT_EQ(slurmCommId(&why), "");
  EXPECT_EQ(why, "SLURM_STEP_NODELIST='n[4-' is not a Slurm node list");
  setenv("SLURM_STEP_NODELIST", "n4", 1);
  EXPECT_EQ(slurmCommId(&why), "");
  EXPECT_EQ(why, "SLURM_JOB_ID is not set");
  setenv("SLURM_JOB_ID", "17", 1);
  setenv("SLURM_STEP_ID", "batch", 1);
  EXPECT_EQ(slurmCommId(&why), "");
  EXPECT_EQ(why, "SLURM_STEP_ID='batch' is not a number");
}

}  // namespace
}  // namespace tutti
