// Crash campaign for the back half of the pipeline: `catalog load` (which reconciles), `settle`,
// `statements` and `reconcile`, run as child processes over two periods of tens of thousands of
// records, are killed with SIGKILL at random moments (half of them in the middle of a commit or of a
// statement file being written) and restarted on the same data directory until each step
// completes. The ledger must end exactly as after an uninterrupted run of the same steps: the same
// records, versions and states, decisions, drift events, settled entries, periods and audit trail,
// byte-identical statements, no record settled twice and a verifying audit chain.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "domain/idempotency.hpp"
#include "protocol/catalog_file.hpp"
#include "protocol/statements.hpp"
#include "storage/ledger_store.hpp"
#include "tests/support/crash_kills.hpp"
#include "tests/support/file_watch.hpp"
#include "tests/support/process.hpp"
#include "tests/support/scale.hpp"
#include "tests/support/temp_dir.hpp"

namespace dspsync::test {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr uint64_t map_size_mib = 2048;

const std::vector<std::string> holders{"Label A",      "Label B",        "Label C",         "Nova Lane",
                                       "Yuna",         "Jane Writer",    "Echo Publishing", "Björn Ek",
                                       "Café SARL",    "Northern Songs", "Ana Compositora", "Sound Rights",
                                       "Blue Note Ed", "Kiri Music",     "Ode Records",     "Tape Op",
                                       "Hill & Vale",  "Mara Lyric"};
const std::vector<std::string> currencies{"USD", "EUR", "GBP", "JPY"};
const std::vector<std::string> payee_currencies{"USD", "EUR", "JPY"};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spill(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string padded(std::size_t n, std::size_t width) {
  std::string s = std::to_string(n);
  return std::string(width > s.size() ? width - s.size() : 0, '0') + s;
}

/// A valid ISWC for work number `n` (check digit per the ISWC rule).
std::string iswc_of(std::size_t n) {
  const std::string nine = padded(n, 9);
  int sum = 1;
  for (int i = 1; i <= 9; ++i) sum += i * (nine[static_cast<std::size_t>(i) - 1] - '0');
  return "T-" + nine.substr(0, 3) + "." + nine.substr(3, 3) + "." + nine.substr(6, 3) + "-" +
         std::to_string((10 - sum % 10) % 10);
}

/// Shares of one right among 1..3 distinct holders, summing to exactly 100%.
std::vector<rights_share> shares(std::mt19937_64& rng, right_type right, const std::string& role) {
  std::vector<std::string> names = holders;
  std::shuffle(names.begin(), names.end(), rng);
  const int n = 1 + static_cast<int>(rng() % 3);
  std::vector<int64_t> cuts{0, 200};
  for (int i = 1; i < n; ++i) cuts.push_back(1 + static_cast<int64_t>(rng() % 199));
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::vector<rights_share> out;
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i)
    out.push_back({names[i], role, right, "", (cuts[i + 1] - cuts[i]) * (share_whole / 200)});
  return out;
}

/// Two catalog versions and the records of two periods. Version 1 lacks the ISWC of every tenth
/// recording, so their records wait in pending_reconciliation until version 2: October's then
/// settle as adjustments in November. After October is settled come late October records and
/// restatements of settled ones (adjustments too).
struct dataset {
  catalog_data v1, v2;
  std::vector<royalty_record> first;
  std::vector<royalty_record> later;
};

dataset make_dataset(std::size_t tracks, std::size_t records) {
  std::mt19937_64 rng(77);
  dataset d;
  for (std::size_t t = 0; t < tracks; ++t) {
    recording_entry r;
    r.isrc = "USAAA26" + padded(t, 5);
    r.title = "Track " + std::to_string(t);
    r.artists = {"Artist " + std::to_string(t % 700)};
    r.iswc = iswc_of(t + 1);
    r.master = shares(rng, right_type::master, "label");
    work_entry w;
    w.iswc = r.iswc;
    w.title = r.title;
    for (auto [right, role] :
         {std::pair{right_type::mechanical, "publisher"}, std::pair{right_type::performance, "writer"}}) {
      auto lines = shares(rng, right, role);
      w.shares.insert(w.shares.end(), lines.begin(), lines.end());
    }
    d.v2.recordings.push_back(r);
    d.v2.works.push_back(w);
    if (t % 10 == 3) r.iswc.clear();
    d.v1.recordings.push_back(r);
    d.v1.works.push_back(w);
  }
  const std::vector<std::string> dsps{"spotify", "apple", "deezer"};
  const std::vector<std::string> territories{"US", "DE", "FR", "JP", "GB"};
  auto record = [&](const std::string& period, const std::string& txn) {
    const auto& rec = d.v2.recordings[rng() % tracks];
    royalty_record r;
    r.isrc = rec.isrc;
    r.title = rec.title;
    r.artists = rec.artists;
    r.dsp = dsps[rng() % dsps.size()];
    r.territory = territories[rng() % territories.size()];
    r.territory_raw = r.territory;
    r.reporting_period = period;
    r.transaction_id = txn;
    r.currency = currencies[rng() % currencies.size()];
    r.units = 1 + static_cast<int64_t>(rng() % 5000);
    // Mostly earnings, some refunds.
    r.revenue = money::from_units(static_cast<int64_t>(rng() % 2'000'000'000) -
                                  (rng() % 25 == 0 ? 2'500'000'000LL : 0));
    return r;
  };
  for (std::size_t i = 0; i < records; ++i) d.first.push_back(record("2026-10", "oct-" + std::to_string(i)));
  for (std::size_t i = 0; i < records / 3; ++i)
    d.first.push_back(record("2026-11", "nov-" + std::to_string(i)));
  for (std::size_t i = 0; i < records / 20; ++i)
    d.later.push_back(record("2026-10", "late-" + std::to_string(i)));
  for (std::size_t i = 0; i < records / 50; ++i) {
    auto r = d.first[(i * 7919) % records];
    r.revenue = money::from_units(r.revenue.units() + 1'000'000 * static_cast<int64_t>(1 + i % 9));
    r.units += 10;
    d.later.push_back(r);
  }
  return d;
}

/// Commits `recs` to the ledger in `dir` in pages of 2,000 (validated), as the ledger actor would.
void ingest(const std::string& dir, int& page, const std::vector<royalty_record>& recs) {
  ledger_options o;
  o.dir = dir;
  o.map_size_mib = map_size_mib;
  auto store = ledger_store::open(o);
  ASSERT_TRUE(store) << store.error().message;
  key_deriver keys(
      std::vector<std::string>{"isrc", "upc", "dsp", "reporting_period", "transaction_id", "currency"});
  for (std::size_t at = 0; at < recs.size(); at += 2000) {
    ingest_batch b;
    b.source = "feed";
    b.request = "GET /p" + std::to_string(page);
    b.body = "{}";
    b.cursor_before = page == 0 ? "" : std::to_string(page);
    b.cursor_after = std::to_string(++page);
    for (std::size_t i = at; i < recs.size() && i < at + 2000; ++i) {
      keyed_record kr;
      kr.key = keys.key(recs[i]);
      kr.position = i - at;
      kr.record = recs[i];
      b.records.push_back(kr);
    }
    b.records_in = b.records.size();
    auto out = (*store)->commit({&b});
    ASSERT_TRUE(out) << out.error().message;
    ASSERT_TRUE((*out)[0].refused.empty());
  }
}

std::string write_config(const temp_dir& dir, const std::string& data_dir, const std::string& name) {
  std::string payees;
  for (std::size_t i = 0; i < holders.size(); ++i)
    payees += (payees.empty() ? "" : ", ") + std::string("\"") + holders[i] + "\": \"" +
              payee_currencies[i % payee_currencies.size()] + "\"";
  const auto path = dir.sub(name);
  spill(path, "{\"data_dir\": \"" + data_dir + "\", \"map_size_mib\": " + std::to_string(map_size_mib) +
                  ", \"settlement\": {\"fx_table\": \"" + dir.sub("fx-{period}.csv") +
                  "\", \"pools\": {\"master\": 70, \"mechanical\": 15, \"performance\": 15}, "
                  "\"payee_currencies\": {" +
                  payees + "}, \"default_currency\": \"USD\"}}\n");
  return path;
}

/// One command of the campaign; `out_dir` is set for `statements` (it writes files, not the ledger).
struct step {
  std::string name;
  std::vector<std::string> args;
  std::string out_dir;
};

std::vector<step> steps_for(const temp_dir& dir, const std::string& config, const std::string& statements) {
  auto catalog = [&](const std::string& v) {
    return step{"catalog load " + v,
                {DSPSYNC_BINARY, "catalog", "load", "--config", config, dir.sub(v + "-recordings.csv"),
                 dir.sub(v + "-works.csv")},
                ""};
  };
  auto settle = [&](const std::string& p) {
    return step{"settle " + p, {DSPSYNC_BINARY, "settle", "--config", config, "--period", p}, ""};
  };
  auto state = [&](const std::string& p) {
    return step{
        "statements " + p,
        {DSPSYNC_BINARY, "statements", "--config", config, "--period", p, "--out", statements + "/" + p},
        statements + "/" + p};
  };
  return {catalog("v1"),    settle("2026-10"),
          state("2026-10"), step{"reconcile", {DSPSYNC_BINARY, "reconcile", "--config", config}, ""},
          catalog("v2"),    settle("2026-11"),
          state("2026-11")};
}

/// The step after which the late records and restatements arrive.
constexpr std::size_t later_records_after = 2;

/// Everything the lifecycle stored, as text, without the wall-clock times of the writes.
std::string lifecycle_text(const std::string& data_dir) {
  ledger_options lo;
  lo.dir = data_dir;
  lo.read_only = true;
  auto store = ledger_store::open(lo);
  EXPECT_TRUE(store) << store.error().message;
  if (!store) return {};
  const auto& s = **store;
  std::ostringstream o;
  EXPECT_TRUE(s.for_each_decision([&](const stored_decision& x) {
    const auto& d = x.decision;
    o << "decision " << x.record_seq << " " << to_string(d.state) << " " << to_string(d.reason) << " "
      << d.method << " " << d.recording_isrc << "@" << d.recording_version << " " << d.iswc << "@"
      << d.work_version << " catalog " << d.catalog_version << " " << d.message << "\n";
  }));
  EXPECT_TRUE(s.for_each_drift([&](const stored_drift& x) {
    const auto& e = x.event;
    o << "drift " << x.seq << " " << to_string(e.kind) << " " << e.subject << " " << e.reference_value
      << " -> " << e.observed_value << " " << e.detail << "\n";
  }));
  std::vector<std::string> periods;
  EXPECT_TRUE(s.for_each_period([&](const period_info& p) {
    periods.push_back(p.period);
    o << "period " << p.period << " settled " << p.settled << " regular " << p.regular << " adjustments "
      << p.adjustments << " lines " << p.lines << " left " << p.left_pending << "/" << p.left_unreconciled;
    for (const auto& [cur, m] : p.gross_by_currency) o << " " << cur << "=" << m.to_string();
    o << "\n";
  }));
  for (const auto& p : periods)
    EXPECT_TRUE(s.for_each_settlement(p, [&](const settled_entry& e) {
      o << "entry " << e.period << " " << e.original_period << " " << to_string(e.kind) << " "
        << to_hex(e.key) << " seq " << e.record_seq << " v" << e.version << " " << e.units << " "
        << e.gross.to_string() << " " << e.currency << " " << e.method << " " << e.recording_isrc << "@"
        << e.recording_version << " " << e.iswc << "@" << e.work_version << "\n";
      for (const auto& l : e.lines)
        o << "  " << l.holder << " " << to_string(l.right) << " " << l.pool_share << " " << l.holder_share
          << " " << l.net.to_string() << " " << l.payee_currency << " " << l.fx_rate << " "
          << l.payee_net.to_string() << "\n";
    }));
  EXPECT_TRUE(s.for_each_audit([&](const audit_entry& a) {
    o << "audit " << a.seq << " " << a.kind << " " << a.actor << " " << a.subject << " " << a.details << "\n";
  }));
  return o.str();
}

/// Invariant 3 on the final ledger: every record is settled, each key at most once as a regular
/// entry, each record version at most once, and what was settled on a key sums to its latest revenue.
void expect_settled_once(const std::string& data_dir) {
  ledger_options lo;
  lo.dir = data_dir;
  lo.read_only = true;
  auto store = ledger_store::open(lo);
  ASSERT_TRUE(store) << store.error().message;
  std::map<std::string, int64_t> settled_on;
  std::map<std::string, int> regular;
  std::set<std::pair<std::string, uint32_t>> versions;
  uint64_t entries = 0;
  for (const std::string p : {"2026-10", "2026-11"})
    ASSERT_TRUE((*store)->for_each_settlement(p, [&](const settled_entry& e) {
      ++entries;
      const auto key = to_hex(e.key);
      settled_on[key] += e.gross.units();
      if (e.kind == entry_kind::regular) {
        EXPECT_EQ(++regular[key], 1) << "settled twice: " << key;
      }
      EXPECT_TRUE(versions.insert({key, e.version}).second) << "version settled twice: " << key;
    }));
  uint64_t records = 0;
  ASSERT_TRUE((*store)->for_each_latest_record([&](const stored_record& r) {
    ++records;
    EXPECT_EQ(r.state, record_state::settled) << to_hex(r.key) << " " << r.record.transaction_id;
    EXPECT_EQ(settled_on[to_hex(r.key)], r.record.revenue.units()) << r.record.transaction_id;
  }));
  EXPECT_GT(records, 0u);
  EXPECT_GT(entries, records);  // the restatements' adjustments
}

std::string dump(const std::string& data_dir, const temp_dir& scratch) {
  auto [code, out] =
      run_command({DSPSYNC_BINARY, "dump", "--data-dir", data_dir}, scratch.sub("dump.out"), 300s);
  EXPECT_EQ(code, 0) << out.substr(0, 2000);
  return out;
}

/// The first line where two texts differ, for a readable failure.
std::string first_difference(const std::string& a, const std::string& b) {
  std::istringstream x(a), y(b);
  std::string l, r;
  for (int line = 1;; ++line) {
    const bool more_l = static_cast<bool>(std::getline(x, l)), more_r = static_cast<bool>(std::getline(y, r));
    if (!more_l && !more_r) return "no difference";
    if (!more_l || !more_r || l != r)
      return "line " + std::to_string(line) + ":\n  clean: " + (more_l ? l : "<end>") +
             "\n  crash: " + (more_r ? r : "<end>");
  }
}

/// Every file of a statements directory, by name.
std::map<std::string, std::string> files_in(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    out[e.path().filename().string()] = slurp(e.path().string());
  return out;
}

TEST(crash_settlement, sigkill_during_reconcile_settle_and_statements_then_restart_matches_a_clean_run) {
  temp_dir dir;
  const auto data = make_dataset(scaled(2000, 500), scaled(36000, 9000));
  spill(dir.sub("v1-recordings.csv"), recordings_csv(data.v1.recordings));
  spill(dir.sub("v1-works.csv"), works_csv(data.v1.works));
  spill(dir.sub("v2-recordings.csv"), recordings_csv(data.v2.recordings));
  spill(dir.sub("v2-works.csv"), works_csv(data.v2.works));
  for (const std::string period : {"2026-10", "2026-11"}) {
    std::string fx = "from,to,rate\n";
    int n = 0;
    for (const auto& from : currencies)
      for (const auto& to : payee_currencies)
        if (from != to)
          fx += from + "," + to + "," + std::to_string(1 + ++n % 7) + ".0" + period.substr(6) + "\n";
    spill(dir.sub("fx-" + period + ".csv"), fx);
  }

  // The uninterrupted reference run, timing each step to draw kill moments from.
  const auto clean_cfg = write_config(dir, dir.sub("clean"), "clean.json");
  const auto clean_steps = steps_for(dir, clean_cfg, dir.sub("clean-statements"));
  int clean_page = 0;
  ingest(dir.sub("clean"), clean_page, data.first);
  std::vector<std::chrono::milliseconds> took;
  for (std::size_t s = 0; s < clean_steps.size(); ++s) {
    const auto started = steady::now();
    auto [code, out] = run_command(clean_steps[s].args, dir.sub("clean-step.out"), 600s);
    took.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started));
    ASSERT_EQ(code, 0) << clean_steps[s].name << ": " << out;
    if (s == later_records_after) ingest(dir.sub("clean"), clean_page, data.later);
  }
  std::cout << "[ crash_settlement ] clean run:";
  for (std::size_t s = 0; s < clean_steps.size(); ++s)
    std::cout << (s == 0 ? " " : ", ") << clean_steps[s].name << " " << took[s].count() << " ms";
  std::cout << "\n";

  // The same steps, killed again and again. Kills are spread evenly over the steps; a step that
  // completes before its share is used passes the rest on. Each kill comes after a random delay,
  // and every other one waits from there for the next write to the ledger (a kill in the middle
  // of a commit) or, for `statements`, for the write of a random statement file.
  const int kills = crash_kills(50);
  const uint64_t seed = crash_seed(2026);
  std::mt19937_64 rng(seed);
  const auto crash_dir = dir.sub("crash");
  const auto crash_cfg = write_config(dir, crash_dir, "crash.json");
  const auto steps = steps_for(dir, crash_cfg, dir.sub("crash-statements"));
  int crash_page = 0;
  ingest(crash_dir, crash_page, data.first);
  int killed = 0, mid_write = 0, rounds = 0;
  std::vector<int> killed_in(steps.size() + 1, 0);
  // One attempt at step `s` (index steps.size(): a re-export of the last statements), killed at a
  // random moment unless it completes first. True when it completed.
  auto attempt = [&](std::size_t s) -> bool {
    const step& st = steps[std::min(s, steps.size() - 1)];
    const auto out_file = dir.sub("round-" + std::to_string(++rounds) + ".out");
    // Within the first 70% of the step's clean duration, which varies with the machine's load.
    const auto window = static_cast<uint64_t>(took[std::min(s, steps.size() - 1)].count()) * 7 / 10;
    const auto delay = std::chrono::milliseconds(static_cast<int64_t>(rng() % (window + 1)));
    const bool at_write = rng() % 2 == 0;
    // A kill at a write: for a ledger step, at the first write to the ledger after the delay (a
    // commit under way); for a statements step, at the write of a random one of its files, with no
    // delay (the files are written one after the other, so the file picks the moment).
    const bool statements = !st.out_dir.empty();
    std::unique_ptr<file_watch> writes;
    if (!statements) {
      writes = std::make_unique<file_watch>(crash_dir, "data.mdb");
    } else {
      std::filesystem::create_directories(st.out_dir);
      const std::size_t pick = rng() % (holders.size() + 1);
      writes = std::make_unique<file_watch>(st.out_dir, pick == holders.size()
                                                            ? std::string("summary.csv")
                                                            : statement_file_name(holders[pick]));
    }
    child_process p(st.args, out_file);
    EXPECT_TRUE(p.started());
    int status = at_write && statements ? -1 : p.wait(delay);
    if (status < 0 && at_write) {
      if (!statements) writes->wait(0ms);  // drop the writes before the delay ran out
      while (!p.exited() && !writes->wait(20ms)) {
      }
    }
    if (status < 0 && !p.exited()) {
      p.kill(SIGKILL);
      status = p.wait(60s);
    } else {
      status = p.wait(600s);
    }
    EXPECT_GE(status, 0) << st.name << " did not end";
    if (WIFSIGNALED(status)) {
      EXPECT_EQ(WTERMSIG(status), SIGKILL) << st.name << ": " << slurp(out_file);
      ++killed;
      ++killed_in[s];
      if (at_write) ++mid_write;
      return false;
    }
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << st.name << ": " << slurp(out_file);
    return true;
  };
  for (std::size_t s = 0; s < steps.size(); ++s) {
    const int share = static_cast<int>(static_cast<int64_t>(kills) * static_cast<int64_t>(s + 1) /
                                       static_cast<int64_t>(steps.size()));
    bool done = false;
    while (!done && killed < share && !::testing::Test::HasFailure()) done = attempt(s);
    ASSERT_FALSE(::testing::Test::HasFailure()) << "in " << steps[s].name;
    if (!done) {
      auto [code, out] = run_command(steps[s].args, dir.sub("final-step.out"), 600s);
      ASSERT_EQ(code, 0) << steps[s].name << ": " << out;
    }
    if (s == later_records_after) ingest(crash_dir, crash_page, data.later);
  }
  // Kills the last step did not use: re-exports of the statements, killed part-way through
  // rewriting them, and one to completion.
  while (killed < kills && !::testing::Test::HasFailure()) attempt(steps.size());
  ASSERT_FALSE(::testing::Test::HasFailure());
  if (killed_in[steps.size()] > 0) {
    auto [code, out] = run_command(steps.back().args, dir.sub("final-step.out"), 600s);
    ASSERT_EQ(code, 0) << out;
  }

  std::ostringstream per_step;
  for (std::size_t s = 0; s <= steps.size(); ++s)
    if (killed_in[s] > 0)
      per_step << (per_step.tellp() > 0 ? ", " : "") << (s < steps.size() ? steps[s].name : "re-export")
               << " " << killed_in[s];
  std::cout << "[ crash_settlement ] survived " << killed << " SIGKILLs (" << mid_write << " at a write; "
            << per_step.str() << "; seed " << seed << ", " << data.first.size() + data.later.size()
            << " records)\n";
  EXPECT_EQ(killed, kills);

  const auto reference = dump(dir.sub("clean"), dir);
  const auto crashed = dump(crash_dir, dir);
  ASSERT_FALSE(reference.empty());
  EXPECT_TRUE(crashed == reference) << "records differ from the clean run at "
                                    << first_difference(reference, crashed);
  const auto clean_lifecycle = lifecycle_text(dir.sub("clean"));
  const auto crash_lifecycle = lifecycle_text(crash_dir);
  EXPECT_TRUE(crash_lifecycle == clean_lifecycle)
      << "the lifecycle differs from the clean run at " << first_difference(clean_lifecycle, crash_lifecycle);
  expect_settled_once(crash_dir);
  for (const std::string p : {"2026-10", "2026-11"}) {
    const auto clean_files = files_in(dir.sub("clean-statements/" + p));
    const auto crash_files = files_in(dir.sub("crash-statements/" + p));
    EXPECT_GT(clean_files.size(), 3u);
    ASSERT_EQ(crash_files.size(), clean_files.size()) << p;
    for (const auto& [name, text] : clean_files) {
      auto it = crash_files.find(name);
      ASSERT_NE(it, crash_files.end()) << p << "/" << name;
      EXPECT_TRUE(it->second == text)
          << p << "/" << name << " differs at " << first_difference(text, it->second);
    }
  }
  auto [audit_code, audit_out] =
      run_command({DSPSYNC_BINARY, "audit", "verify", "--data-dir", crash_dir}, dir.sub("audit.out"));
  EXPECT_EQ(audit_code, 0) << audit_out;
}

}  // namespace
}  // namespace dspsync::test
