// The transport registry: TUTTI_TRANSPORT's preference lists and the per-pair choice.
#include "transports/registry.h"

#include <gtest/gtest.h>

#include "core/builtin_transports.h"

namespace tutti {
namespace {

std::vector<std::string> namesOf(const std::vector<const TransportEntry*>& order) {
  std::vector<std::string> names;
  for (const TransportEntry* entry : order) names.push_back(entry->name);
  return names;
}

TEST(TransportRegistryTest, PreferenceListsAreParsedAndChecked) {
  const TransportRegistry& registry = builtinTransports();
  std::vector<const TransportEntry*> order;
  ASSERT_TRUE(registry.preference("", &order).isOk());
  EXPECT_EQ(namesOf(order), (std::vector<std::string>{"shm", "tcp"}));
  ASSERT_TRUE(registry.preference("tcp", &order).isOk());
  EXPECT_EQ(namesOf(order), (std::vector<std::string>{"tcp"}));
  ASSERT_TRUE(registry.preference("tcp,shm", &order).isOk());
  EXPECT_EQ(namesOf(order), (std::vector<std::string>{"tcp", "shm"}));
  for (const char* bad : {"carrier-pigeon", "tcp,tcp", "shm,,tcp", ","}) {
    Status status = registry.preference(bad, &order);
    EXPECT_EQ(status.code(), tuttiInvalidArgument) << bad;
    EXPECT_NE(status.message().find("TUTTI_TRANSPORT"), std::string::npos) << status.message();
  }
}

// A transport outside the default order is used only where TUTTI_TRANSPORT names it.
TEST(TransportRegistryTest, AnOptInTransportIsOnlyWhereNamed) {
  auto none = [](const Params&, const RankDescriptor&, const RankDescriptor&) { return true; };
  auto noParams = []() -> const std::vector<ParamInfo>& {
    static const std::vector<ParamInfo> table;
    return table;
  };
  auto ok = [](const Params&) { return Status::ok(); };
  auto make = [](const Params&, std::unique_ptr<Transport>*) { return Status::ok(); };
  const TransportRegistry registry({{"a", noParams, ok, none, make},
                                    {"b", noParams, ok, none, make, /*byDefault=*/false},
                                    {"c", noParams, ok, none, make}});
  std::vector<const TransportEntry*> order;
  ASSERT_TRUE(registry.preference("", &order).isOk());
  EXPECT_EQ(namesOf(order), (std::vector<std::string>{"a", "c"}));
  ASSERT_TRUE(registry.preference("b,a", &order).isOk());
  EXPECT_EQ(namesOf(order), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(registry.names(), "a, b, c");
#if TUTTI_HAVE_UCX
  ASSERT_TRUE(builtinTransports().preference("ucx", &order).isOk());
  EXPECT_EQ(namesOf(order), (std::vector<std::string>{"ucx"}));
#endif
}

TEST(TransportRegistryTest, EachPairTakesTheFirstTransportThatCanConnectIt) {
  const TransportRegistry& registry = builtinTransports();
  // Ranks 0, 1 on host A; rank 2 on host B.
  std::vector<RankDescriptor> ranks = {{1, 1, 10, 0}, {1, 1, 11, 0}, {2, 2, 12, 0}};
  Params params;
  std::vector<const TransportEntry*> order;
  ASSERT_TRUE(registry.preference("", &order).isOk());
  EXPECT_EQ(TransportRegistry::choosePerPeer(order, params, ranks, 0, {1, 2}),
            (std::vector<int>{0, 1}));  // shm to the host peer, tcp to the other host
  // Symmetric: both ends of every pair choose alike.
  for (int a = 0; a < 3; ++a) {
    for (int b = 0; b < 3; ++b) {
      if (a == b) continue;
      EXPECT_EQ(TransportRegistry::choosePerPeer(order, params, ranks, a, {b}),
                TransportRegistry::choosePerPeer(order, params, ranks, b, {a}));
    }
  }
  params.settings["TUTTI_SHM_DISABLE"] = "1";
  EXPECT_EQ(TransportRegistry::choosePerPeer(order, params, ranks, 0, {1, 2}),
            (std::vector<int>{1, 1}));
  params.settings.erase("TUTTI_SHM_DISABLE");
  ASSERT_TRUE(registry.preference("shm", &order).isOk());
  EXPECT_EQ(TransportRegistry::choosePerPeer(order, params, ranks, 0, {1, 2}),
            (std::vector<int>{0, -1}));  // no listed transport reaches host B
}

}  // namespace
}  // namespace tutti
