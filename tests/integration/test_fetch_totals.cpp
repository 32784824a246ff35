// `dspsync fetch-totals` against a replayed DSP totals endpoint: rows of the period stored exactly
// (per currency, summed), other periods ignored, the credentials sent; a bad row fails the endpoint
// with its pointer and field named and stores nothing of it; no `totals` object is a usage error.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>

#include "protocol/replay_server.hpp"
#include "storage/ledger_store.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace dspsync::test {
namespace {

har_entry totals_entry(const std::string& target, const std::string& body) {
  har_entry e;
  e.method = "GET";
  e.url = "https://dsp.example" + target;
  e.status = 200;
  e.response_headers = {{"Content-Type", "application/json"}};
  e.response_body = body;
  return e;
}

std::string endpoint_json(const std::string& name, const std::string& origin,
                          const std::string& totals_path) {
  return R"({"name": ")" + name + R"(", "dsp": "spotify", "base_url": ")" + origin +
         R"(", "path": "/v1/streams", "auth": {"token_env": "DSPSYNC_TEST_TOTALS_TOKEN"},
            "totals": {"path": ")" +
         totals_path + R"("}})";
}

std::map<std::string, reported_total> stored_totals(const std::string& data_dir) {
  ledger_options lo;
  lo.dir = data_dir;
  lo.read_only = true;
  lo.create = false;
  auto store = ledger_store::open(lo);
  EXPECT_TRUE(store) << store.error().message;
  std::map<std::string, reported_total> out;
  if (!store) return out;
  EXPECT_TRUE((*store)->for_each_reported_total(
      [&](const reported_total& t) { out[t.source + " " + t.period + " " + t.currency] = t; }));
  return out;
}

TEST(fetch_totals, stores_the_periods_dsp_totals_exactly_and_names_a_bad_field) {
  har_archive a;
  a.entries.push_back(totals_entry("/v1/totals?period=2026-10", R"({"totals": [
      {"period": "2026-10", "currency": "EUR", "revenue": 1234.56789012, "units": 1000, "records": 40},
      {"period": "2026-10", "currency": "eur", "revenue": 0.00000001, "units": 1, "records": 1},
      {"period": "2026-10", "currency": "USD", "revenue": -5.5, "units": 0, "records": 2},
      {"period": "2026-09", "currency": "USD", "revenue": 99, "units": 9, "records": 9}]})"));
  a.entries.push_back(totals_entry("/v1/bad-totals?period=2026-10", R"({"totals": [
      {"period": "2026-10", "currency": "EUR", "revenue": "n/a", "units": 1, "records": 1}]})"));
  auto server = replay_server::start({a});
  ASSERT_TRUE(server) << server.error().message;
  temp_dir dir;
  const std::string cfg = dir.sub("cfg.json");
  std::ofstream(cfg) << R"({"data_dir": ")" << dir.sub("data") << R"(", "endpoints": [)"
                     << endpoint_json("good", (*server)->origin(), "/v1/totals") << ",\n"
                     << endpoint_json("bad", (*server)->origin(), "/v1/bad-totals") << "]}";
  ::setenv("DSPSYNC_TEST_TOTALS_TOKEN", "t0ken-for-totals", 1);

  auto [code, out] =
      run_command({DSPSYNC_BINARY, "fetch-totals", "--config", cfg, "--period", "2026-10"}, dir.sub("out"));
  EXPECT_EQ(code, 1) << out;  // one endpoint failed
  EXPECT_NE(out.find("totals of bad: /totals/0/revenue"), std::string::npos) << out;
  EXPECT_EQ(out.find("t0ken-for-totals"), std::string::npos) << out;
  auto totals = stored_totals(dir.sub("data"));
  ASSERT_EQ(totals.size(), 2u) << out;  // good's EUR and USD of 2026-10; nothing of bad, nothing of 2026-09
  const auto& eur = totals.at("good 2026-10 EUR");
  EXPECT_EQ(eur.revenue.to_string(), money::parse("1234.56789013")->to_string());
  EXPECT_EQ(eur.records, 41u);
  EXPECT_EQ(eur.units, 1001);
  EXPECT_EQ(eur.dsp, "spotify");
  EXPECT_EQ(eur.origin, "GET /v1/totals?period=2026-10");
  EXPECT_EQ(totals.at("good 2026-10 USD").revenue.to_string(), money::parse("-5.5")->to_string());

  // Fetching again replaces, never doubles.
  auto [again, out2] = run_command(
      {DSPSYNC_BINARY, "fetch-totals", "--config", cfg, "--period", "2026-10", "--endpoint", "good"},
      dir.sub("out2"));
  EXPECT_EQ(again, 0) << out2;
  EXPECT_EQ(stored_totals(dir.sub("data")).at("good 2026-10 EUR").records, 41u);

  // An endpoint without `totals`, or no such endpoint: a usage error naming it.
  auto [none, out3] = run_command(
      {DSPSYNC_BINARY, "fetch-totals", "--config", cfg, "--period", "2026-10", "--endpoint", "nope"},
      dir.sub("out3"));
  EXPECT_EQ(none, 2) << out3;
  EXPECT_NE(out3.find("\"nope\""), std::string::npos) << out3;
}

TEST(fetch_totals, a_missing_token_is_refused_before_any_request) {
  har_archive a;
  a.entries.push_back(totals_entry("/v1/totals?period=2026-10", R"({"totals": []})"));
  auto server = replay_server::start({a});
  ASSERT_TRUE(server) << server.error().message;
  temp_dir dir;
  const std::string cfg = dir.sub("cfg.json");
  std::ofstream(cfg) << R"({"data_dir": ")" << dir.sub("data") << R"(", "endpoints": [)"
                     << endpoint_json("good", (*server)->origin(), "/v1/totals") << "]}";
  ::unsetenv("DSPSYNC_TEST_TOTALS_TOKEN");
  auto [code, out] =
      run_command({DSPSYNC_BINARY, "fetch-totals", "--config", cfg, "--period", "2026-10"}, dir.sub("out"));
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("DSPSYNC_TEST_TOTALS_TOKEN is not set"), std::string::npos) << out;
  EXPECT_EQ((*server)->requests_served(), 0u);
}

}  // namespace
}  // namespace dspsync::test
