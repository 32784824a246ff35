// An endpoint's `totals` object: defaults, every field read, and errors that name the field.

#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"

namespace dspsync {
namespace {

std::string config(const std::string& totals) {
  return R"({"endpoints": [{"name": "spotify", "base_url": "https://api.spotify.example", "totals": )" +
         totals + "}]}";
}

TEST(totals_config, off_by_default_then_defaults_and_every_field) {
  auto none = parse_config(R"({"endpoints": [{"name": "a", "base_url": "https://a.example"}]})", "t.json");
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_FALSE(none->endpoints[0].totals.enabled);

  auto cfg = parse_config(config(R"({"path": "/v1/totals"})"), "t.json");
  ASSERT_TRUE(cfg) << cfg.error().message;
  const auto& t = cfg->endpoints[0].totals;
  EXPECT_TRUE(t.enabled);
  EXPECT_EQ(t.path, "/v1/totals");
  EXPECT_EQ(t.query, (std::map<std::string, std::string>{{"period", "{period}"}}));
  EXPECT_EQ(t.rows_pointer, "/totals");
  EXPECT_EQ(t.revenue_field, "revenue");

  auto full = parse_config(config(R"({"path": "/r", "query": {"month": "{period}", "scope": "label"},
      "rows_pointer": "", "period_field": "p", "currency_field": "c", "revenue_field": "net",
      "units_field": "streams", "records_field": "rows"})"),
                           "t.json");
  ASSERT_TRUE(full) << full.error().message;
  const auto& f = full->endpoints[0].totals;
  EXPECT_EQ(f.query.size(), 2u);
  EXPECT_EQ(f.query.at("month"), "{period}");
  EXPECT_EQ(f.rows_pointer, "");
  EXPECT_EQ(f.period_field, "p");
  EXPECT_EQ(f.currency_field, "c");
  EXPECT_EQ(f.revenue_field, "net");
  EXPECT_EQ(f.units_field, "streams");
  EXPECT_EQ(f.records_field, "rows");
}

TEST(totals_config, errors_name_the_field) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {R"({})", "endpoints[0].totals.path: required field is missing"},
      {R"({"path": "v1/totals"})", "endpoints[0].totals.path: expected a path starting with \"/\""},
      {R"({"path": "/t", "rows_pointer": "totals"})",
       "endpoints[0].totals.rows_pointer: expected \"\" or a JSON pointer"},
      {R"({"path": "/t", "revenue_field": ""})",
       "endpoints[0].totals.revenue_field: expected the name of a member"},
      {R"({"path": "/t", "revenue": "x"})", "endpoints[0].totals.revenue"},
      {R"("yes")", "endpoints[0].totals"},
  };
  for (const auto& [totals, want] : cases) {
    SCOPED_TRACE(totals);
    auto cfg = parse_config(config(totals), "t.json");
    ASSERT_FALSE(cfg);
    EXPECT_NE(cfg.error().message.find(want), std::string::npos) << cfg.error().message;
  }
}

}  // namespace
}  // namespace dspsync
