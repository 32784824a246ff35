// `dspsync ingest-csv` / `ingest-dsr` as child processes: the shipped presets with their samples,
// DSR reports (well-formed and with a FOOT mismatch), one record reported by API and by file stored
// once, gzip input, and SIGKILL in the middle of a file followed by a resume that ends identical to
// an uninterrupted ingest.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "protocol/page_mapper.hpp"
#include "protocol/row_mapper.hpp"
#include "storage/ledger_store.hpp"
#include "tests/support/crash_kills.hpp"
#include "tests/support/file_watch.hpp"
#include "tests/support/process.hpp"
#include "tests/support/scale.hpp"
#include "tests/support/temp_dir.hpp"

namespace dspsync::test {
namespace {

using namespace std::chrono_literals;

const std::string examples = std::string(DSPSYNC_SOURCE_DIR) + "/examples";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A config with `data_dir` and the given source objects (JSON text).
std::string write_config(const temp_dir& dir, const std::string& data_dir,
                         const std::vector<std::string>& sources, const std::string& name = "cfg.json") {
  std::string json = "{\"data_dir\": \"" + data_dir + "\", \"sources\": [";
  for (std::size_t i = 0; i < sources.size(); ++i) json += (i ? ",\n" : "\n") + sources[i];
  json += "]}\n";
  std::ofstream(dir.sub(name)) << json;
  return dir.sub(name);
}

std::vector<boost::json::object> dump(const std::string& data_dir, const temp_dir& scratch) {
  auto [code, out] = run_command({DSPSYNC_BINARY, "dump", "--data-dir", data_dir}, scratch.sub("dump.out"));
  EXPECT_EQ(code, 0) << out;
  std::vector<boost::json::object> rows;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(boost::json::parse(line).as_object());
  return rows;
}

std::string dump_text(const std::string& data_dir, const temp_dir& scratch) {
  auto [code, out] = run_command({DSPSYNC_BINARY, "dump", "--data-dir", data_dir}, scratch.sub("dump.out"));
  EXPECT_EQ(code, 0) << out;
  return out;
}

expected<std::unique_ptr<ledger_store>> open_read_only(const std::string& data_dir) {
  ledger_options lo;
  lo.dir = data_dir;
  lo.read_only = true;
  lo.create = false;
  return ledger_store::open(lo);
}

std::vector<std::pair<std::string, source_checkpoint>> checkpoints(const std::string& data_dir) {
  auto store = open_read_only(data_dir);
  EXPECT_TRUE(store) << store.error().message;
  if (!store) return {};
  return *(*store)->checkpoints();
}

std::string text(const boost::json::value& v) { return std::string(v.as_string()); }

TEST(file_ingest, each_preset_ingests_its_sample_void_rows_included) {
  const std::vector<std::tuple<std::string, std::string, std::size_t>> presets{
      {"distrokid", "distrokid_2026-01.tsv", 7},
      {"tunecore", "tunecore_2026-01.csv", 5},
      {"cdbaby", "cdbaby_2026-01.tsv", 5},
      {"symphonic", "symphonic_2026-01.csv", 7}};
  for (const auto& [name, sample, rows] : presets) {
    SCOPED_TRACE(name);
    temp_dir dir;
    const auto cfg = write_config(dir, dir.sub("data"), {slurp(examples + "/presets/" + name + ".json")});
    auto [code, out] = run_command(
        {DSPSYNC_BINARY, "ingest-csv", "--config", cfg, "--source", name, examples + "/reports/" + sample},
        dir.sub("out"));
    ASSERT_EQ(code, 0) << out;
    EXPECT_NE(out.find("(holds)"), std::string::npos) << out;
    auto records = dump(dir.sub("data"), dir);
    ASSERT_EQ(records.size(), rows) << out;
    int negative = 0;
    for (const auto& r : records) {
      EXPECT_EQ(text(r.at("state")), "validated") << boost::json::serialize(r);
      EXPECT_EQ(text(r.at("dsp")), name);
      if (text(r.at("revenue")).front() == '-') ++negative;
    }
    if (name == "symphonic") {
      EXPECT_EQ(negative, 2);  // the Void rows: legitimate corrections, stored as valid records
      for (const auto& r : records) EXPECT_EQ(text(r.at("territory_raw")).size(), 3u);  // alpha-3 kept raw
    }
    // The same file again is skipped: its checkpoint is caught up.
    auto [again, out2] = run_command(
        {DSPSYNC_BINARY, "ingest-csv", "--config", cfg, "--source", name, examples + "/reports/" + sample},
        dir.sub("out2"));
    EXPECT_EQ(again, 0) << out2;
    EXPECT_NE(out2.find("ingested completely before; skipped"), std::string::npos) << out2;
    EXPECT_EQ(dump(dir.sub("data"), dir).size(), rows);
  }
}

std::vector<std::string> dsr_samples() {
  const std::string r = examples + "/reports/DSR_PADPIDA2026010101A_PADPIDA2026020202B_Premium_";
  return {r + "2026-01_US_1of1_20260205T101500.tsv", r + "2026-02_DE_2of2_20260305T090000.tsv",
          r + "2026-02_DE_1of2_20260305T090000.tsv"};
}

TEST(file_ingest, dsr_reports_ingest_with_summary_revenue_allocated_exactly) {
  temp_dir dir;
  const auto cfg = write_config(dir, dir.sub("data"), {slurp(examples + "/presets/ddex-dsr.json")});
  std::vector<std::string> args{DSPSYNC_BINARY, "ingest-dsr", "--config", cfg, "--source", "spotify-dsr"};
  for (const auto& f : dsr_samples()) args.push_back(f);
  auto [code, out] = run_command(args, dir.sub("out"));
  ASSERT_EQ(code, 0) << out;
  auto records = dump(dir.sub("data"), dir);
  ASSERT_EQ(records.size(), 7u) << out;
  std::map<std::string, int64_t> totals;  // currency -> 10^-8 units
  for (const auto& r : records) {
    auto m = money::parse(text(r.at("revenue")));
    ASSERT_TRUE(m);
    totals[text(r.at("currency"))] += m->units();
  }
  EXPECT_EQ(totals["USD"], 10'000'000'001);  // SY02 NetRevenue 100.00000001
  EXPECT_EQ(totals["GBP"], 2'050'000'000);   // 20.5
  EXPECT_EQ(totals["EUR"], 700'000'002);     // 7.00000002 over the two files of MSG-2026-02-0007
  // The summary records are also kept as the DSP's own totals, for the statements' reconciliation
  // report: per (source, period, currency), equal to what the usage rows were allocated.
  auto store = open_read_only(dir.sub("data"));
  ASSERT_TRUE(store) << store.error().message;
  std::map<std::string, int64_t> reported;
  uint64_t reported_records = 0;
  ASSERT_TRUE((*store)->for_each_reported_total([&](const reported_total& t) {
    EXPECT_EQ(t.source, "spotify-dsr");
    EXPECT_FALSE(t.origin.empty());
    reported[t.currency] += t.revenue.units();
    reported_records += t.records;
  }));
  EXPECT_EQ(reported, totals);
  EXPECT_EQ(reported_records, records.size());
}

TEST(file_ingest, dsr_foot_mismatch_fails_and_commits_nothing_of_the_report) {
  temp_dir dir;
  std::string bad = slurp(dsr_samples()[0]);
  const auto foot = bad.find("FOOT\t16\t16");
  ASSERT_NE(foot, std::string::npos);
  bad.replace(foot, 10, "FOOT\t15\t15");
  const auto path = dir.sub("DSR_bad_1of1.tsv");
  std::ofstream(path, std::ios::binary) << bad;
  const auto cfg = write_config(dir, dir.sub("data"), {slurp(examples + "/presets/ddex-dsr.json")});
  auto [code, out] = run_command(
      {DSPSYNC_BINARY, "ingest-dsr", "--config", cfg, "--source", "spotify-dsr", path}, dir.sub("out"));
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find(path + ": FOOT NumberOfLinesInFile says 15, the file has 16 lines"), std::string::npos)
      << out;
  EXPECT_NE(out.find("NOT COMMITTED"), std::string::npos) << out;
  EXPECT_TRUE(dump(dir.sub("data"), dir).empty());
  auto store = open_read_only(dir.sub("data"));
  ASSERT_TRUE(store) << store.error().message;
  int pages = 0;
  ASSERT_TRUE((*store)->for_each_quarantined([&](const stored_quarantine& q) {
    if (q.kind == "page") {
      ++pages;
      EXPECT_NE(q.raw.find("NumberOfLinesInFile says 15"), std::string::npos) << q.raw;
    }
  }));
  EXPECT_EQ(pages, 1);
}

TEST(file_ingest, one_record_reported_by_api_and_by_file_is_stored_once) {
  temp_dir dir;
  const auto data = dir.sub("data");
  {
    ledger_options lo;
    lo.dir = data;
    auto store = ledger_store::open(lo);
    ASSERT_TRUE(store) << store.error().message;
    endpoint_config ep;
    ep.name = "spotify_streams";
    ep.dsp = "spotify";
    ep.base_url = "https://api.dsp.example";
    ep.path = "/v1/streams";
    ep.pagination.style = pagination_style::cursor;
    ep.pagination.records_pointer = "/data";
    ep.pagination.next_pointer = "/next_cursor";
    ep.fields = default_field_aliases();
    ep.key_fields = default_key_fields();
    page_mapper mapper(ep, territory_options{});
    ingest_batch b;
    b.source = ep.name;
    b.request = "GET /v1/streams?limit=1000";
    b.body = R"({"data": [{"isrc": "USRC17607839", "upc": "036000291452", "territory": "US",
        "period": "2026-10", "streams": 1200, "revenue": "10.276825", "currency": "USD", "id": "t-1",
        "title": "Song", "artists": ["A"]}], "next_cursor": null})";
    mapper.map(b);
    ASSERT_TRUE(b.page_errors.empty());
    ASSERT_EQ(b.records.size(), 1u);
    auto out = (*store)->commit({&b});
    ASSERT_TRUE(out) << out.error().message;
    ASSERT_EQ(out->front().inserted, 1u);
  }
  const auto csv = dir.sub("spotify_2026-10.csv");
  std::ofstream(csv) << "isrc,upc,territory,period,streams,revenue,currency,id,title,artists\n"
                        "US-RC1-76-07839,036000291452,US,2026-10,1200,10.276825,USD,t-1,Song,A\n";
  const auto cfg =
      write_config(dir, data, {R"({"name": "spotify-files", "dsp": "spotify", "format": "csv"})"});
  auto [code, out] = run_command(
      {DSPSYNC_BINARY, "ingest-csv", "--config", cfg, "--source", "spotify-files", csv}, dir.sub("out"));
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(dump(data, dir).size(), 1u);
  bool seen = false;
  for (const auto& [name, cp] : checkpoints(data)) {
    if (name.rfind("spotify-files/", 0) != 0) continue;
    seen = true;
    EXPECT_EQ(cp.records_in, 1u);
    EXPECT_EQ(cp.duplicates, 1u) << "the file's copy must be a duplicate of the API record";
    EXPECT_EQ(cp.inserted, 0u);
  }
  EXPECT_TRUE(seen);
}

TEST(file_ingest, gzip_report_stores_what_the_plain_one_stores) {
  temp_dir dir;
  for (const char* gz : {"", "--gzip"}) {
    std::vector<std::string> args{DSPSYNC_BINARY, "gen-csv",
                                  "--rows",       "30000",
                                  "--seed",       "5",
                                  "--bad-every",  "500",
                                  "--out",        dir.sub(*gz ? "r.csv.gz" : "r.csv")};
    if (*gz) args.push_back(gz);
    auto [code, out] = run_command(args, dir.sub("gen.out"));
    ASSERT_EQ(code, 0) << out;
  }
  const auto src = R"({"name": "gen", "dsp": "spotify", "format": "csv"})";
  for (const char* name : {"r.csv", "r.csv.gz"}) {
    const std::string data = dir.sub(std::string("data-") + name);
    const auto cfg = write_config(dir, data, {src}, std::string(name) + ".json");
    auto [code, out] = run_command(
        {DSPSYNC_BINARY, "ingest-csv", "--config", cfg, "--source", "gen", dir.sub(name)}, dir.sub("o"));
    ASSERT_EQ(code, 0) << out;
    EXPECT_NE(out.find("30000 = 29940 + 0 + 0 + 60"), std::string::npos) << out;
  }
  const auto plain = dump_text(dir.sub("data-r.csv"), dir);
  EXPECT_FALSE(plain.empty());
  EXPECT_TRUE(plain == dump_text(dir.sub("data-r.csv.gz"), dir));
}

TEST(file_ingest, a_bad_row_is_quarantined_with_file_line_and_raw_and_the_rest_is_stored) {
  temp_dir dir;
  const auto csv = dir.sub("rows.csv");
  const std::string bad = "USRC17607840,036000291452,US,2026-10,5,\"1,5\",USD,t-2,Song,A";
  std::ofstream(csv) << "isrc,upc,territory,period,streams,revenue,currency,id,title,artists\n"
                        "USRC17607839,036000291452,US,2026-10,1200,10.276825,USD,t-1,Song,A\n"
                     << bad << "\n"
                     << "USRC17607841,036000291452,GB,2026-10,7,0.07,GBP,t-3,Song,A\n";
  const auto cfg = write_config(dir, dir.sub("data"), {R"({"name": "files", "dsp": "spotify"})"});
  auto [code, out] =
      run_command({DSPSYNC_BINARY, "ingest-csv", "--config", cfg, "--source", "files", csv}, dir.sub("out"));
  ASSERT_EQ(code, 0) << out;  // a bad row is not a failed ingest: the identity holds
  EXPECT_NE(out.find("3 = 2 + 0 + 0 + 1"), std::string::npos) << out;
  EXPECT_NE(out.find("quarantined: files/"), std::string::npos) << out;
  EXPECT_EQ(dump(dir.sub("data"), dir).size(), 2u);
  auto store = open_read_only(dir.sub("data"));
  ASSERT_TRUE(store) << store.error().message;
  int items = 0;
  ASSERT_TRUE((*store)->for_each_quarantined([&](const stored_quarantine& q) {
    ++items;
    EXPECT_EQ(q.kind, "record");
    EXPECT_NE(q.request.find(csv), std::string::npos) << q.request;  // the file
    EXPECT_EQ(q.position, 3u);                                       // its line
    EXPECT_EQ(q.raw, bad);                                           // the raw line
    ASSERT_FALSE(q.errors.empty());
    EXPECT_EQ(q.errors.front().code, ec::bad_number);  // and why
  }));
  EXPECT_EQ(items, 1);
}

/// The committed byte offset of the file source in `data_dir`, or -1 (nothing committed yet), or
/// -2 when the file is finished.
int64_t committed_offset(const std::string& data_dir) {
  auto store = open_read_only(data_dir);
  if (!store) return -1;
  auto all = (*store)->checkpoints();
  if (!all) return -1;
  for (const auto& [name, cp] : *all) {
    if (name.rfind("gen/", 0) != 0) continue;
    if (cp.caught_up) return -2;
    const auto colon = cp.cursor.find(':');
    return colon == std::string::npos ? -1 : std::stoll(cp.cursor.substr(colon + 1));
  }
  return -1;
}

// The CSV crash campaign (`make crash-test`): DSPSYNC_CRASH_KILLS rounds (50 by default), each
// killed at a random byte offset of the file once its commits pass it, alternately right after a
// commit (mid-parse of the next batch) and at the next write to the ledger (mid-commit).
TEST(file_ingest, a_full_ledger_stops_the_file_at_its_last_commit_and_a_rerun_completes_it) {
  // Commits run on their own thread while the reader goes on: when one fails (here the map is
  // full), nothing read after it may be committed, the failure is reported, and a rerun with a
  // larger map resumes where the last commit ended and ends identical to an uninterrupted ingest.
  temp_dir dir;
  const auto file = dir.sub("a.csv");
  auto [gen, gen_out] = run_command(
      {DSPSYNC_BINARY, "gen-csv", "--rows", "60000", "--seed", "4", "--out", file}, dir.sub("gen.out"));
  ASSERT_EQ(gen, 0) << gen_out;
  const std::string src = R"({"name": "gen", "dsp": "spotify", "format": "csv", "batch_rows": 1000})";
  auto config = [&](const std::string& data, int map_mib, const std::string& name) {
    const auto path = dir.sub(name);
    std::ofstream(path) << "{\"data_dir\": \"" << dir.sub(data) << "\", \"map_size_mib\": " << map_mib
                        << ", \"sources\": [" << src << "]}\n";
    return path;
  };
  const auto small = config("full", 4, "small.json");
  auto [code, out] = run_command({DSPSYNC_BINARY, "ingest-csv", "--config", small, "--source", "gen", file},
                                 dir.sub("small.out"));
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("MDB_MAP_FULL"), std::string::npos) << out;
  EXPECT_NE(out.find("map_size_mib"), std::string::npos) << out;
  auto cps = checkpoints(dir.sub("full"));
  ASSERT_EQ(cps.size(), 1u);
  const auto& cp = cps[0].second;
  EXPECT_GT(cp.records_in, 0u);
  EXPECT_LT(cp.records_in, 60000u);
  EXPECT_EQ(cp.records_in % 1000, 0u);  // whole batches, committed in order
  EXPECT_EQ(cp.pages, cp.records_in / 1000);
  EXPECT_FALSE(cp.caught_up);

  const auto large = config("full", 256, "large.json");
  auto [again, again_out] = run_command(
      {DSPSYNC_BINARY, "ingest-csv", "--config", large, "--source", "gen", file}, dir.sub("large.out"));
  ASSERT_EQ(again, 0) << again_out;
  EXPECT_NE(again_out.find("resuming at byte"), std::string::npos) << again_out;
  const auto clean = config("clean", 256, "clean.json");
  auto [clean_code, clean_out] = run_command(
      {DSPSYNC_BINARY, "ingest-csv", "--config", clean, "--source", "gen", file}, dir.sub("clean.out"));
  ASSERT_EQ(clean_code, 0) << clean_out;
  EXPECT_TRUE(dump_text(dir.sub("full"), dir) == dump_text(dir.sub("clean"), dir));
  cps = checkpoints(dir.sub("full"));
  ASSERT_EQ(cps.size(), 1u);
  EXPECT_EQ(cps[0].second.records_in, 60000u);
  EXPECT_TRUE(cps[0].second.caught_up);
}

TEST(file_ingest, sigkill_mid_file_then_resume_equals_an_uninterrupted_ingest) {
  temp_dir dir;
  const uint64_t rows = scaled(200000, 20000);
  const int kills = crash_kills(50);
  const uint64_t seed = crash_seed(9);
  // Five commits per kill: every round dies after a commit of its own, even when a slow (sanitized)
  // test sees the child's commits a few at a time.
  const uint64_t batch_rows =
      std::clamp<uint64_t>(rows / (5 * static_cast<uint64_t>(std::max(kills, 1))), 10, 1000);
  const auto file = dir.sub("big.csv");
  auto [gen, gen_out] = run_command({DSPSYNC_BINARY, "gen-csv", "--rows", std::to_string(rows), "--seed", "9",
                                     "--bad-every", "997", "--out", file},
                                    dir.sub("gen.out"));
  ASSERT_EQ(gen, 0) << gen_out;
  const auto src = R"({"name": "gen", "dsp": "spotify", "format": "csv", "batch_rows": )" +
                   std::to_string(batch_rows) + "}";
  const auto clean_cfg = write_config(dir, dir.sub("clean"), {src}, "clean.json");
  const auto crash_cfg = write_config(dir, dir.sub("crash"), {src}, "crash.json");
  auto [clean_code, clean_out] = run_command(
      {DSPSYNC_BINARY, "ingest-csv", "--config", clean_cfg, "--source", "gen", file}, dir.sub("clean.out"));
  ASSERT_EQ(clean_code, 0) << clean_out;

  // The ledger's directory exists before the first round so that its commits can be watched.
  std::filesystem::create_directories(dir.sub("crash"));
  file_watch commits(dir.sub("crash"), "data.mdb");
  ASSERT_TRUE(commits.ok());
  // Kill points: random offsets over the first 80% of the file, in order.
  std::mt19937_64 rng(seed);
  const auto size = static_cast<int64_t>(std::filesystem::file_size(file));
  std::vector<int64_t> targets;
  for (int i = 0; i < kills; ++i)
    targets.push_back(static_cast<int64_t>(rng() % static_cast<uint64_t>(size * 8 / 10)));
  std::sort(targets.begin(), targets.end());
  int killed = 0, mid_commit = 0;
  int64_t last = 0;
  for (int round = 0; round < kills; ++round) {
    child_process p({DSPSYNC_BINARY, "ingest-csv", "--config", crash_cfg, "--source", "gen", file},
                    dir.sub("crash.out"));
    ASSERT_TRUE(p.started());
    // Wait until the child has committed past this round's target and past where the previous
    // round died: re-checked on every write to the ledger file (and at least every 100 ms, to
    // notice the child exiting).
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    bool progressed = false;
    while (std::chrono::steady_clock::now() < deadline && !p.exited()) {
      const int64_t at = committed_offset(dir.sub("crash"));
      if (at > std::max(last, targets[static_cast<std::size_t>(round)])) {
        progressed = true;
        last = at;
        break;
      }
      commits.wait(100ms);
    }
    if (!progressed) break;  // finished (or stalled) before it could be killed
    const bool at_commit = round % 2 == 1;
    if (at_commit) {
      commits.wait(0ms);  // the writes seen so far
      while (!p.exited() && !commits.wait(20ms)) {
      }
    }
    p.kill(SIGKILL);
    const int status = p.wait(30s);
    if (WIFEXITED(status)) break;  // it finished between the poll and the kill
    ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
    ++killed;
    if (at_commit) ++mid_commit;
  }
  EXPECT_EQ(killed, kills) << "the ingest finished before every kill landed";
  ASSERT_GE(killed, std::min(kills, 1));
  auto [final_code, final_out] = run_command(
      {DSPSYNC_BINARY, "ingest-csv", "--config", crash_cfg, "--source", "gen", file}, dir.sub("final.out"));
  ASSERT_EQ(final_code, 0) << final_out;
  if (kills > 0) {
    EXPECT_NE(final_out.find("resuming at byte"), std::string::npos) << final_out;
  }
  std::cout << "[ file_ingest ] survived " << killed << " SIGKILLs (" << mid_commit << " mid-commit; " << rows
            << " rows in batches of " << batch_rows << ", seed " << seed << "; last kill after byte " << last
            << ")\n";

  const auto reference = dump_text(dir.sub("clean"), dir);
  const auto crashed = dump_text(dir.sub("crash"), dir);
  EXPECT_FALSE(reference.empty());
  EXPECT_EQ(crashed.size(), reference.size());
  EXPECT_TRUE(crashed == reference) << "the records database differs from the uninterrupted ingest";
  auto a = checkpoints(dir.sub("clean"));
  auto b = checkpoints(dir.sub("crash"));
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].first, b[0].first);
  EXPECT_EQ(a[0].second.cursor, b[0].second.cursor);
  EXPECT_TRUE(b[0].second.caught_up);
  EXPECT_EQ(a[0].second.records_in, b[0].second.records_in);
  EXPECT_EQ(a[0].second.inserted, b[0].second.inserted);
  EXPECT_EQ(a[0].second.duplicates, b[0].second.duplicates);
  EXPECT_EQ(a[0].second.quarantined, b[0].second.quarantined);
  EXPECT_EQ(a[0].second.records_in, rows);
  auto [audit_code, audit_out] =
      run_command({DSPSYNC_BINARY, "audit", "verify", "--data-dir", dir.sub("crash")}, dir.sub("audit.out"));
  EXPECT_EQ(audit_code, 0) << audit_out;
}

}  // namespace
}  // namespace dspsync::test
