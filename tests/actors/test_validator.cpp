// The validators' mapper cache: a mapper per recently active endpoint, none for idle ones.

#include <gtest/gtest.h>

#include "actors/validator.hpp"

namespace dspsync {
namespace {

std::shared_ptr<const engine_config> three_endpoints() {
  auto cfg = std::make_shared<engine_config>();
  for (const char* name : {"a", "b", "c"}) {
    endpoint_config ep;
    ep.name = name;
    ep.dsp = "spotify";
    ep.base_url = "https://api.dsp.example";
    ep.path = std::string("/v1/") + name;
    ep.fields = default_field_aliases();
    ep.key_fields = default_key_fields();
    cfg->endpoints.push_back(ep);
  }
  return cfg;
}

ingest_batch page(const std::string& source) {
  ingest_batch b;
  b.source = source;
  b.request = "GET /v1/" + source;
  b.body = R"({"data": [{"isrc": "USRC17607839", "upc": "036000291452", "territory": "US",
      "period": "2026-10", "streams": 3, "revenue": "1.50", "currency": "USD", "id": "t-1"}],
      "next_cursor": null})";
  return b;
}

TEST(mapper_cache, keeps_the_most_recent_endpoints_and_maps_the_same_after_eviction) {
  mapper_cache cache(three_endpoints(), 2);
  EXPECT_EQ(cache.size(), 0u);  // nothing made before a page arrives
  auto* a = cache.get("a");
  ASSERT_NE(a, nullptr);
  auto first = page("a");
  a->map(first);
  ASSERT_EQ(first.records.size(), 1u);
  ASSERT_NE(cache.get("b"), nullptr);
  EXPECT_EQ(cache.get("a"), a);  // still cached, and now the most recent
  ASSERT_NE(cache.get("c"), nullptr);
  EXPECT_EQ(cache.size(), 2u);  // "b", the least recent, made room
  EXPECT_EQ(cache.get("unknown"), nullptr);
  EXPECT_EQ(cache.size(), 2u);
  ASSERT_NE(cache.get("b"), nullptr);  // made again on its next page...
  auto* again = cache.get("a");        // ...and "a" after it, evicted meanwhile
  ASSERT_NE(again, nullptr);
  auto second = page("a");
  again->map(second);
  ASSERT_EQ(second.records.size(), 1u);
  EXPECT_EQ(second.records[0].key, first.records[0].key);  // the same key either way
  EXPECT_EQ(cache.size(), 2u);
}

}  // namespace
}  // namespace dspsync
