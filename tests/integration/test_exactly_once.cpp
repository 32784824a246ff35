// Exactly-once across crashes: `dspsync run` as a child process against an in-process replay DSP,
// killed with SIGKILL at points of its progress and restarted on the same data directory, must end
// with a records database identical to an uninterrupted run.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <random>

#include "protocol/fault_plan.hpp"
#include "protocol/recording.hpp"
#include "protocol/replay_server.hpp"
#include "storage/ledger_store.hpp"
#include "tests/support/crash_kills.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace dspsync::test {
namespace {

using namespace std::chrono_literals;

struct fixture_dsp {
  std::vector<recording> recordings;
  std::unique_ptr<replay_server> server;
};

/// Transient faults only (503s, connection resets, 429s with `Retry-After: 0`), drawn per request:
/// they cost retries but leave nothing durable, so a killed run and an uninterrupted one, which
/// meet them at other moments, must still end with the same ledger.
fault_plan transient_faults() {
  auto plan = parse_fault_plan(R"({"seed": 2026, "faults": [
      {"probability": 0.03, "kind": "status", "status": 503},
      {"probability": 0.02, "kind": "reset"},
      {"probability": 0.02, "kind": "status", "status": 429, "headers": {"Retry-After": "0"}}]})",
                               "crash campaign faults");
  EXPECT_TRUE(plan) << plan.error().message;
  return plan ? *plan : fault_plan{};
}

fixture_dsp start_dsp(std::size_t records_per_endpoint, bool faults = false) {
  fixture_dsp f;
  std::vector<har_archive> hars;
  int i = 0;
  for (auto style : {pagination_style::cursor, pagination_style::offset, pagination_style::next_url,
                     pagination_style::updated_since}) {
    recording_options ro;
    ro.style = style;
    ro.records = records_per_endpoint;
    ro.seed = 100 + static_cast<uint64_t>(i);
    ro.page_size = 200;
    ro.endpoint_name = std::string("ep-") + to_string(style);
    ro.dsp = "dsp" + std::to_string(i++);
    ro.path = "/v1/" + ro.endpoint_name;
    f.recordings.push_back(generate_recording(ro));
    f.recordings.back().endpoint.backoff.base = std::chrono::milliseconds(20);  // retries stay quick
    f.recordings.back().endpoint.backoff.cap = std::chrono::milliseconds(200);
    hars.push_back(f.recordings.back().har);
  }
  replay_options ropts;
  if (faults) ropts.faults = transient_faults();
  f.server = std::move(*replay_server::start(std::move(hars), ropts));
  return f;
}

std::string write_config(const fixture_dsp& dsp, const std::string& data_dir, const std::string& path) {
  std::string json = "{\n\"data_dir\": \"" + data_dir +
                     "\",\n\"pipeline\": {\"max_pages_per_commit\": 8},\n\"endpoints\": [\n";
  for (std::size_t i = 0; i < dsp.recordings.size(); ++i) {
    auto ep = dsp.recordings[i].endpoint;
    ep.base_url = dsp.server->origin();
    json += endpoint_config_json(ep);
    json += i + 1 < dsp.recordings.size() ? ",\n" : "\n";
  }
  json += "]}\n";
  std::ofstream(path) << json;
  return path;
}

std::string dump(const std::string& data_dir, const temp_dir& scratch) {
  auto [code, out] = run_command({DSPSYNC_BINARY, "dump", "--data-dir", data_dir}, scratch.sub("dump.out"));
  EXPECT_EQ(code, 0) << out;
  return out;
}

std::vector<std::pair<std::string, source_checkpoint>> checkpoints(const std::string& data_dir) {
  ledger_options lo;
  lo.dir = data_dir;
  lo.read_only = true;
  auto store = ledger_store::open(lo);
  EXPECT_TRUE(store) << store.error().message;
  return *(*store)->checkpoints();
}

void expect_same_totals(const std::vector<std::pair<std::string, source_checkpoint>>& a,
                        const std::vector<std::pair<std::string, source_checkpoint>>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE(a[i].first);
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_EQ(a[i].second.cursor, b[i].second.cursor);
    EXPECT_EQ(a[i].second.pages, b[i].second.pages);
    EXPECT_EQ(a[i].second.records_in, b[i].second.records_in);
    EXPECT_EQ(a[i].second.inserted, b[i].second.inserted);
    EXPECT_EQ(a[i].second.restatements, b[i].second.restatements);
    EXPECT_EQ(a[i].second.duplicates, b[i].second.duplicates);
    EXPECT_EQ(a[i].second.quarantined, b[i].second.quarantined);
  }
}

// The API crash campaign (`make crash-test`): DSPSYNC_CRASH_KILLS kills (50 by default), each after
// a random number of further requests, so mid-fetch, mid-validation or mid-commit.
TEST(exactly_once, sigkill_at_random_points_then_restart_matches_an_uninterrupted_run) {
  temp_dir dir;
  auto dsp = start_dsp(4000, true);

  // The uninterrupted reference run.
  auto clean_cfg = write_config(dsp, dir.sub("clean"), dir.sub("clean.json"));
  auto [clean_code, clean_out] = run_command(
      {DSPSYNC_BINARY, "run", "--config", clean_cfg, "--once", "--log-file", dir.sub("clean.log")},
      dir.sub("clean.out"));
  ASSERT_EQ(clean_code, 0) << clean_out;
  auto reference = dump(dir.sub("clean"), dir);
  ASSERT_FALSE(reference.empty());

  // The same DSP from the start, killed again and again.
  dsp = start_dsp(4000, true);
  auto crash_cfg = write_config(dsp, dir.sub("crash"), dir.sub("crash.json"));
  const int kills = crash_kills(50);
  const uint64_t seed = crash_seed(2026);
  std::mt19937 rng(static_cast<std::mt19937::result_type>(seed));
  int killed = 0;
  bool finished = false;
  for (int round = 0; round < kills && !finished; ++round) {
    child_process p(
        {DSPSYNC_BINARY, "run", "--config", crash_cfg, "--once", "--log-file", dir.sub("crash.log")},
        dir.sub("crash.out"));
    ASSERT_TRUE(p.started());
    // Kill after a random number of further requests: mid-fetch, mid-validation or mid-commit.
    auto target = dsp.server->requests_served() + 1 + rng() % 12;
    while (!dsp.server->wait_for_requests(target, 20ms))
      if (p.exited()) break;
    if (p.exited()) {
      int status = p.wait(0ms);
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
      finished = true;
      break;
    }
    p.kill(SIGKILL);
    int status = p.wait(30s);
    ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
    ++killed;
  }
  if (!finished) {
    auto [code, out] = run_command(
        {DSPSYNC_BINARY, "run", "--config", crash_cfg, "--once", "--log-file", dir.sub("crash.log")},
        dir.sub("final.out"));
    ASSERT_EQ(code, 0) << out;
  }
  std::size_t faulted = 0;
  for (const auto& r : dsp.server->request_log()) faulted += r.fault.empty() ? 0 : 1;
  EXPECT_GT(faulted, 0u) << "the fault plan injected nothing: the campaign would not test retries";
  std::cout << "[ exactly_once ] survived " << killed << " SIGKILLs (seed " << seed << "), " << faulted
            << " faulted requests\n";
  EXPECT_GE(killed, std::min(kills, 3));
  auto crashed = dump(dir.sub("crash"), dir);
  EXPECT_EQ(crashed.size(), reference.size());
  EXPECT_TRUE(crashed == reference) << "the records database differs from the uninterrupted run";
  expect_same_totals(checkpoints(dir.sub("clean")), checkpoints(dir.sub("crash")));
  auto [audit_code, audit_out] =
      run_command({DSPSYNC_BINARY, "audit", "verify", "--data-dir", dir.sub("crash")}, dir.sub("audit.out"));
  EXPECT_EQ(audit_code, 0) << audit_out;
}

// A cron job learns that a run to completion did not complete: an endpoint the DSP refuses (here a
// path the recording does not have: 404, not retried, the endpoint parks) makes `run --once` exit 3
// after the summary, while the other endpoints' records are committed as usual.
TEST(run_once, an_endpoint_that_parks_makes_the_run_exit_3_and_the_others_still_land) {
  temp_dir dir;
  auto dsp = start_dsp(400);
  auto good = dsp.recordings[0].endpoint;
  good.base_url = dsp.server->origin();
  auto missing = good;
  missing.name = "ep-missing";
  missing.path = "/v1/not-recorded";
  const std::string cfg = dir.sub("cfg.json");
  std::ofstream(cfg) << "{\"data_dir\": \"" << dir.sub("data") << "\", \"endpoints\": [\n"
                     << endpoint_config_json(good) << ",\n"
                     << endpoint_config_json(missing) << "]}\n";
  auto [code, out] = run_command(
      {DSPSYNC_BINARY, "run", "--config", cfg, "--once", "--log-file", dir.sub("log")}, dir.sub("out"));
  EXPECT_EQ(code, 3) << out;
  EXPECT_NE(out.find("endpoint ep-missing did not complete: parked"), std::string::npos) << out;
  EXPECT_EQ(out.find("endpoint " + good.name + " did not complete"), std::string::npos) << out;
  bool landed = false;
  for (const auto& [name, cp] : checkpoints(dir.sub("data")))
    if (name == good.name) landed = cp.records_in == dsp.recordings[0].expected.records_in;
  EXPECT_TRUE(landed) << out;
}

}  // namespace
}  // namespace dspsync::test
