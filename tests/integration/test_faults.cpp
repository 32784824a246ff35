// Resilience over a real network: the replay server answers under a fault plan mixing 429 storms
// (both Retry-After forms), 5xx, resets, delays, truncated and malformed bodies and repeated pages.
// The ledger must end identical to a fault-free run, and the server's request log must show no
// request before its Retry-After time and no window above the budget.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "actors/engine.hpp"
#include "protocol/fault_plan.hpp"
#include "protocol/log.hpp"
#include "protocol/recording.hpp"
#include "protocol/replay_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace dspsync::test {
namespace {

using namespace std::chrono_literals;

constexpr double budget_rps = 10;
constexpr int budget_burst = 2;

std::vector<recording> recordings() {
  std::vector<recording> out;
  int i = 0;
  for (auto style : {pagination_style::cursor, pagination_style::offset, pagination_style::updated_since}) {
    recording_options ro;
    ro.style = style;
    ro.records = 2400;
    ro.seed = 70 + static_cast<uint64_t>(i);
    ro.page_size = 200;
    ro.endpoint_name = std::string("f-") + to_string(style);
    ro.dsp = "dsp" + std::to_string(i++);
    ro.path = "/v1/" + ro.endpoint_name;
    out.push_back(generate_recording(ro));
  }
  return out;
}

std::string plan_json(const std::vector<recording>& recs) {
  std::ostringstream o;
  o << R"({"seed": 9, "faults": [)";
  bool first = true;
  for (const auto& r : recs) {
    const std::string p = "\"path_prefix\": \"" + r.endpoint.path + "\"";
    for (const char* f : {
             R"({"at": [2, 3, 4], "kind": "status", "status": 429, "headers": {"Retry-After": "1"}, %P})",
             R"({"at": [6], "kind": "status", "status": 429, "retry_after_date_s": 2, %P})",
             R"({"at": [8], "kind": "status", "status": 503, %P})",
             R"({"at": [9], "kind": "status", "status": 502, %P})",
             R"({"at": [11], "kind": "reset", %P})",
             R"({"at": [13], "kind": "delay", "delay_ms": 300, %P})",
             R"({"at": [15], "kind": "truncate", "keep_bytes": 500, %P})",
             R"({"at": [17], "kind": "malformed_json", %P})",
             R"({"at": [19], "kind": "repeat_previous", %P})",
         }) {
      std::string s = f;
      s.replace(s.find("%P"), 2, p);
      o << (first ? "" : ",") << s;
      first = false;
    }
  }
  o << "]}";
  return o.str();
}

engine_config config_for(const std::vector<recording>& recs, const std::string& origin,
                         const std::string& dir) {
  engine_config cfg;
  cfg.data_dir = dir;
  for (const auto& r : recs) {
    auto ep = r.endpoint;
    ep.base_url = origin;
    ep.rate.requests_per_second = budget_rps;
    ep.rate.burst = budget_burst;
    ep.backoff.base = 50ms;
    ep.backoff.cap = 400ms;
    ep.backoff.max_attempts = 10;
    ep.timeout = 5000ms;
    cfg.endpoints.push_back(ep);
  }
  return cfg;
}

std::vector<std::string> dump_records(const std::string& dir) {
  ledger_options lo;
  lo.dir = dir;
  lo.read_only = true;
  auto store = std::move(*ledger_store::open(lo));
  std::vector<std::string> out;
  EXPECT_TRUE(store->for_each_record([&](const stored_record& r) {
    std::string line = to_hex(r.key) + " v" + std::to_string(r.version) + " " + to_string(r.state) + " " +
                       r.record.isrc + " " + r.record.transaction_id + " " + r.record.revenue.to_string() +
                       " " + std::to_string(r.record.units);
    out.push_back(line);
  }));
  std::sort(out.begin(), out.end());
  return out;
}

void run(const engine_config& cfg) {
  engine_options eo;
  eo.once = true;
  auto eng = engine::start(cfg, eo);
  ASSERT_TRUE(eng) << eng.error().message;
  ASSERT_TRUE((*eng)->wait_done(180s));
  for (const auto& s : (*eng)->status()) EXPECT_EQ(s.state, "caught_up") << s.name << ": " << s.reason;
  (*eng)->stop();
}

TEST(faults, a_fault_plan_run_ends_identical_to_a_clean_run_and_the_client_kept_its_manners) {
  log_settings quiet;
  quiet.quiet = true;
  configure_log(quiet);
  temp_dir dir;
  auto recs = recordings();
  std::vector<har_archive> hars;
  for (const auto& r : recs) hars.push_back(r.har);

  auto clean_server = std::move(*replay_server::start(hars));
  run(config_for(recs, clean_server->origin(), dir.sub("clean")));
  clean_server->stop();

  auto plan = parse_fault_plan(plan_json(recs), "plan");
  ASSERT_TRUE(plan) << plan.error().message;
  replay_options ro;
  ro.faults = *plan;
  ro.threads = 3;
  auto faulty_server = std::move(*replay_server::start(hars, ro));
  run(config_for(recs, faulty_server->origin(), dir.sub("faulty")));
  auto log = faulty_server->request_log();
  faulty_server->stop();

  EXPECT_EQ(dump_records(dir.sub("faulty")), dump_records(dir.sub("clean")));

  // From the server's side: every fault kind happened, and the client waited as asked.
  std::map<std::string, int> kinds;
  for (const auto& e : log) kinds[e.fault]++;
  for (const char* k : {"status", "reset", "delay", "truncate", "malformed_json", "repeat_previous"})
    EXPECT_GE(kinds[k], 1) << k;
  for (const auto& r : recs) {
    SCOPED_TRACE(r.endpoint.name);
    std::vector<replay_request_log_entry> mine;
    for (const auto& e : log)
      if (e.target.rfind(r.endpoint.path, 0) == 0) mine.push_back(e);
    ASSERT_GE(mine.size(), 20u);
    int ordinal = 0;
    for (std::size_t i = 0; i + 1 < mine.size(); ++i) {
      ++ordinal;
      if (mine[i].status != 429) continue;
      auto gap = mine[i + 1].at - mine[i].at;
      // Ordinals 2-4 asked for 1 s; ordinal 6 for a date 2 s ahead (whole seconds: more than 1 s).
      if (ordinal == 6)
        EXPECT_GT(gap, 1s) << "request after the dated 429, after "
                           << std::chrono::duration_cast<std::chrono::milliseconds>(gap).count() << " ms";
      else
        EXPECT_GE(gap, 1s) << "request " << ordinal + 1 << " came before its Retry-After, after "
                           << std::chrono::duration_cast<std::chrono::milliseconds>(gap).count() << " ms";
    }
    // No window above rate * t + burst, with 100 ms (one token at 10/s) for the way from the
    // client's clock to the moment the server, busy writing other endpoints' pages, reads the
    // request: arrival times can bunch by that much, send times cannot.
    for (std::size_t i = 0; i < mine.size(); ++i)
      for (std::size_t j = i; j < mine.size(); ++j) {
        double t = std::chrono::duration<double>(mine[j].at - mine[i].at).count();
        EXPECT_LE(static_cast<double>(j - i + 1), budget_rps * (t + 0.1) + budget_burst)
            << "requests " << i << ".." << j;
      }
  }
}

TEST(faults, against_a_dsp_enforcing_the_same_budgets_no_request_is_refused) {
  // Three endpoints: one alone with a burst of 1 (the case most sensitive to latency), two sharing
  // one group budget; the server enforces the same budgets and answers 429 beyond them.
  std::vector<recording> recs;
  for (int i = 0; i < 3; ++i) {
    recording_options ro;
    ro.style = pagination_style::cursor;
    ro.records = 400;
    ro.page_size = 10;
    ro.seed = 90 + static_cast<uint64_t>(i);
    ro.endpoint_name = "q-" + std::to_string(i);
    ro.dsp = "qdsp";
    ro.path = i == 0 ? "/v1/q-0" : "/v1/group/q-" + std::to_string(i);
    recs.push_back(generate_recording(ro));
  }
  auto plan = parse_fault_plan(R"({"faults": [], "quotas": [
      {"path_prefix": "/v1/q-0", "requests_per_second": 40, "burst": 1},
      {"path_prefix": "/v1/group", "requests_per_second": 50, "burst": 4}]})",
                               "quotas");
  ASSERT_TRUE(plan) << plan.error().message;
  std::vector<har_archive> hars;
  for (const auto& r : recs) hars.push_back(r.har);
  replay_options opts;
  opts.faults = std::move(*plan);
  auto server = replay_server::start(hars, std::move(opts));
  ASSERT_TRUE(server) << server.error().message;
  temp_dir dir;
  engine_config cfg;
  cfg.data_dir = dir.path();
  for (auto r : recs) {
    r.endpoint.base_url = (*server)->origin();
    const bool grouped = r.endpoint.name != "q-0";
    r.endpoint.rate.requests_per_second = grouped ? 50 : 40;
    r.endpoint.rate.burst = grouped ? 4 : 1;
    if (grouped) r.endpoint.rate.group = "qdsp";
    cfg.endpoints.push_back(r.endpoint);
  }
  run(cfg);
  const auto log = (*server)->request_log();
  std::size_t refused = 0;
  for (const auto& e : log) refused += e.status == 429 ? 1 : 0;
  EXPECT_EQ(refused, 0u) << "of " << log.size() << " requests";
  EXPECT_GE(log.size(), 120u);  // every page of the three recordings (40 each) was asked for
  ledger_options lo;
  lo.dir = dir.path();
  lo.read_only = true;
  auto store = std::move(*ledger_store::open(lo));
  for (const auto& r : recs) {
    auto cp = store->checkpoint(r.endpoint.name);
    ASSERT_TRUE(cp && *cp) << r.endpoint.name;
    EXPECT_EQ((*cp)->records_in, r.expected.records_in) << r.endpoint.name;
  }
}

}  // namespace
}  // namespace dspsync::test
