// Unit tests of tutti-perf --algo's list and verdicts.
#include "perf/bench/perf_algo.h"

#include <gtest/gtest.h>

namespace tutti::perf {
namespace {

TEST(AlgoListTest, NamesNormalizedUnknownAndRepeatsRefused) {
  std::vector<std::string> names;
  std::string error;
  ASSERT_TRUE(parseAlgoList("ring,recursive_doubling,tree,auto", &names, &error)) << error;
  EXPECT_EQ(names, (std::vector<std::string>{"ring", "rd", "tree", "auto"}));
  EXPECT_EQ(algoSpecText("auto"), "");
  EXPECT_EQ(algoSpecText("tree"), "tree");

  EXPECT_FALSE(parseAlgoList("ring,bogus", &names, &error));
  EXPECT_EQ(error, "'ring,bogus': unknown algorithm 'bogus' (have: ring, rd, tree, auto)");
  EXPECT_FALSE(parseAlgoList("ring,,tree", &names, &error));
  EXPECT_FALSE(parseAlgoList("rd,recursive_doubling", &names, &error));
  EXPECT_EQ(error, "'rd,recursive_doubling': rd is listed twice");
  EXPECT_EQ(names, (std::vector<std::string>{"ring", "rd", "tree", "auto"})) << "left alone";
}

Measurement timed(double us) {
  Measurement m;
  m.timeUs = us;
  return m;
}

AlgoRow row(std::vector<std::optional<Measurement>> measured, Algorithm model,
            bool pinned = false) {
  AlgoRow r;
  r.measured = std::move(measured);
  r.model = model;
  r.pinned = pinned;
  return r;
}

const std::vector<std::string> kNames = {"ring", "tree", "auto"};

TEST(AlgoVerdictTest, WinnerIsTheFastestButAuto) {
  // auto is fastest here but is not a candidate for winner.
  AlgoRow r = row({timed(10), timed(20), timed(5)}, Algorithm::kRing);
  judgeRow(kNames, true, &r);
  EXPECT_EQ(r.winner, 0);
  EXPECT_EQ(r.verdict, Verdict::kMatch);
  EXPECT_EQ(*r.modelUs, 10);
}

TEST(AlgoVerdictTest, NearWithinFivePercentElseMiss) {
  AlgoRow near = row({timed(10), timed(10.4), timed(10)}, Algorithm::kTree);
  judgeRow(kNames, true, &near);
  EXPECT_EQ(near.winner, 0);
  EXPECT_EQ(near.verdict, Verdict::kNear);
  AlgoRow miss = row({timed(10), timed(10.6), timed(10)}, Algorithm::kTree);
  judgeRow(kNames, true, &miss);
  EXPECT_EQ(miss.verdict, Verdict::kMiss);
  EXPECT_EQ(*miss.modelUs, 10.6) << "the model's own column, not auto's";
}

TEST(AlgoVerdictTest, UnlistedChoiceUsesAutoOnlyWhenAutoRanIt) {
  const std::vector<std::string> names = {"ring", "tree", "auto"};
  AlgoRow viaAuto = row({timed(10), timed(20), timed(10.2)}, Algorithm::kRecursiveDoubling);
  judgeRow(names, true, &viaAuto);
  EXPECT_EQ(viaAuto.verdict, Verdict::kNear);
  EXPECT_FALSE(viaAuto.modelListed);
  EXPECT_EQ(summarize({viaAuto}).unlisted, 1);
  AlgoRow notAuto = row({timed(10), timed(20), timed(10.2)}, Algorithm::kRecursiveDoubling);
  judgeRow(names, false, &notAuto);  // TUTTI_ALGO was set: auto ran something else
  EXPECT_EQ(notAuto.verdict, Verdict::kUnmeasured);
  AlgoRow noAuto = row({timed(10), timed(20)}, Algorithm::kRecursiveDoubling);
  judgeRow({"ring", "tree"}, true, &noAuto);
  EXPECT_EQ(noAuto.verdict, Verdict::kUnmeasured);
}

TEST(AlgoVerdictTest, NotApplicablePinnedAndAutoOnlyHaveNoVerdict) {
  AlgoRow treeNa = row({timed(10), std::nullopt, timed(9)}, Algorithm::kRing);
  judgeRow(kNames, true, &treeNa);
  EXPECT_EQ(treeNa.winner, 0);
  EXPECT_EQ(treeNa.verdict, Verdict::kMatch);
  AlgoRow pinned = row({timed(10), timed(5), timed(10)}, Algorithm::kRing, true);
  judgeRow(kNames, true, &pinned);
  EXPECT_EQ(pinned.winner, 1);
  EXPECT_EQ(pinned.verdict, Verdict::kNone);
  AlgoRow autoOnly = row({timed(10)}, Algorithm::kRing);
  judgeRow({"auto"}, true, &autoOnly);
  EXPECT_EQ(autoOnly.winner, -1);
  EXPECT_EQ(autoOnly.verdict, Verdict::kNone);

  std::vector<AlgoRow> rows = {treeNa, pinned, autoOnly};
  AlgoRow miss = row({timed(10), timed(20), timed(10)}, Algorithm::kTree);
  judgeRow(kNames, true, &miss);
  rows.push_back(miss);
  AlgoRow near = row({timed(10), timed(10.1), timed(10)}, Algorithm::kTree);
  judgeRow(kNames, true, &near);
  rows.push_back(near);
  const AlgoSummary summary = summarize(rows);
  EXPECT_EQ(summary.compared, 3);
  EXPECT_EQ(summary.matched, 1);
  EXPECT_EQ(summary.near, 2);
  EXPECT_EQ(summary.pinned, 1);
  EXPECT_EQ(summary.unmeasured, 0);
  EXPECT_EQ(summary.unlisted, 0);
}

}  // namespace
}  // namespace tutti::perf
