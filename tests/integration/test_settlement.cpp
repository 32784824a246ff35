// Settlement end to end: over many seeds, random catalogs, shares, currencies and amounts settle so
// that every statement adds up exactly to the settled revenue per currency; and the real binary's
// `catalog load`, `reconcile`, `settle` (twice) and `statements` on a ledger, with payee names that
// try to escape the output directory.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "actors/reconciler.hpp"
#include "actors/settlement.hpp"
#include "domain/idempotency.hpp"
#include "protocol/catalog_file.hpp"
#include "protocol/log.hpp"
#include "protocol/statements.hpp"
#include "storage/catalog_store.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace dspsync::test {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spill(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::unique_ptr<ledger_store> open_store(const std::string& dir) {
  ledger_options o;
  o.dir = dir;
  o.map_size_mib = 256;
  auto s = ledger_store::open(o);
  EXPECT_TRUE(s) << s.error().message;
  return s ? std::move(*s) : nullptr;
}

/// Commits records as one page of `source` (validated).
void ingest(ledger_store& store, const std::string& source, int& page,
            const std::vector<royalty_record>& recs) {
  key_deriver keys(
      std::vector<std::string>{"isrc", "upc", "dsp", "reporting_period", "transaction_id", "currency"});
  ingest_batch b;
  b.source = source;
  b.request = "GET /p" + std::to_string(page);
  b.body = "{}";
  b.cursor_before = page == 0 ? "" : std::to_string(page);
  b.cursor_after = std::to_string(++page);
  b.records_in = recs.size();
  for (std::size_t i = 0; i < recs.size(); ++i) {
    keyed_record kr;
    kr.key = keys.key(recs[i]);
    kr.position = i;
    kr.record = recs[i];
    b.records.push_back(kr);
  }
  auto out = store.commit({&b});
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_TRUE((*out)[0].refused.empty());
}

/// Random shares of one right summing to exactly 100%, among `n` holders from `names`.
std::vector<rights_share> random_shares(std::mt19937_64& rng, right_type right, int n,
                                        const std::vector<std::string>& names,
                                        const std::string& territory = "") {
  std::vector<int64_t> cuts{0, share_whole};
  for (int i = 1; i < n; ++i) cuts.push_back(1 + static_cast<int64_t>(rng() % (share_whole - 1)));
  std::sort(cuts.begin(), cuts.end());
  std::vector<rights_share> out;
  for (int i = 0; i < n; ++i) {
    const int64_t s = cuts[static_cast<std::size_t>(i) + 1] - cuts[static_cast<std::size_t>(i)];
    if (s > 0) out.push_back({names[rng() % names.size()], "role", right, territory, s});
  }
  return out;
}

/// Sums a money column of a CSV file per currency column.
std::map<std::string, int64_t> column_sums(const std::string& path, const std::string& amount,
                                           const std::string& currency) {
  std::vector<std::size_t> lines;
  auto rows = split_csv(slurp(path), path, lines);
  EXPECT_TRUE(rows);
  std::map<std::string, int64_t> out;
  if (!rows || rows->empty()) return out;
  const auto& header = (*rows)[0];
  const auto a = std::find(header.begin(), header.end(), amount) - header.begin();
  const auto c = std::find(header.begin(), header.end(), currency) - header.begin();
  for (std::size_t r = 1; r < rows->size(); ++r) {
    auto m = money::parse((*rows)[r][static_cast<std::size_t>(a)]);
    EXPECT_TRUE(m) << path << " row " << r;
    if (m) out[(*rows)[r][static_cast<std::size_t>(c)]] += m->units();
  }
  return out;
}

// Property: whatever the shares, pools, currencies, FX rates and amounts (both signs), the
// statements of a settled period add up exactly to its settled revenue in every record currency,
// summed from the files themselves; each record's lines sum to its revenue; and a holder's payee
// total is the sum of its lines' converted amounts.
TEST(settlement_property, statement_totals_equal_settled_revenue_exactly_per_currency) {
  log_settings quiet;
  quiet.quiet = true;
  configure_log(quiet);
  const std::vector<std::string> holders{"Label A",         "Label B",  "Nova Lane", "Jane Writer",
                                         "Echo Publishing", "Björn Ek", "Café SARL", "../../escape",
                                         "/etc/passwd",     "..",       "a/b\\c"};
  const std::vector<std::string> currencies{"USD", "EUR", "JPY", "GBP", "KWD"};
  const std::vector<std::string> territories{"US", "DE", "FR", "JP", "GB"};
  for (uint64_t seed = 1; seed <= 25; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    temp_dir dir;
    auto store = open_store(dir.sub("ledger"));
    ASSERT_TRUE(store);
    catalog_data catalog;
    const int tracks = 3 + static_cast<int>(rng() % 10);
    for (int t = 0; t < tracks; ++t) {
      recording_entry r;
      r.isrc = "USAAA26" + std::string(5 - std::to_string(t).size(), '0') + std::to_string(t);
      r.title = "Track " + std::to_string(t);
      r.artists = {"Artist " + std::to_string(t)};
      const std::string nine = std::string(9 - std::to_string(t).size(), '0') + std::to_string(t);
      int sum = 1;
      for (int i = 1; i <= 9; ++i) sum += i * (nine[static_cast<std::size_t>(i) - 1] - '0');
      r.iswc = "T-" + nine.substr(0, 3) + "." + nine.substr(3, 3) + "." + nine.substr(6, 3) + "-" +
               std::to_string((10 - sum % 10) % 10);
      r.master = random_shares(rng, right_type::master, 1 + static_cast<int>(rng() % 4), holders);
      work_entry w;
      w.iswc = r.iswc;
      for (auto right : {right_type::mechanical, right_type::performance}) {
        auto lines = random_shares(rng, right, 1 + static_cast<int>(rng() % 5), holders);
        w.shares.insert(w.shares.end(), lines.begin(), lines.end());
        if (rng() % 3 == 0) {
          auto de = random_shares(rng, right, 1 + static_cast<int>(rng() % 3), holders, "DE");
          w.shares.insert(w.shares.end(), de.begin(), de.end());
        }
      }
      catalog.recordings.push_back(r);
      catalog.works.push_back(w);
    }
    auto loaded = catalog_store(*store).load(catalog, "property");
    ASSERT_TRUE(loaded) << loaded.error().message;
    std::vector<royalty_record> recs;
    std::map<std::string, int64_t> revenue_by_currency;
    const int n = 50 + static_cast<int>(rng() % 200);
    for (int i = 0; i < n; ++i) {
      const auto& rec = catalog.recordings[rng() % catalog.recordings.size()];
      royalty_record r;
      r.isrc = rec.isrc;
      r.title = rec.title;
      r.artists = rec.artists;
      r.dsp = rng() % 2 ? "spotify" : "apple";
      r.territory = territories[rng() % territories.size()];
      r.territory_raw = r.territory;
      r.reporting_period = "2026-10";
      r.transaction_id = "tx-" + std::to_string(i);
      r.currency = currencies[rng() % currencies.size()];
      r.units = static_cast<int64_t>(rng() % 100'000);
      r.revenue = money::from_units(static_cast<int64_t>(rng() % 1'000'000'000'000ULL) - 100'000'000'000LL);
      revenue_by_currency[r.currency] += r.revenue.units();
      recs.push_back(r);
    }
    int page = 0;
    ingest(*store, "prop", page, recs);

    settlement_config sc;
    sc.pools.master = static_cast<int64_t>(rng() % (share_whole + 1));
    sc.pools.mechanical =
        static_cast<int64_t>(rng() % static_cast<uint64_t>(share_whole - sc.pools.master + 1));
    sc.pools.performance = share_whole - sc.pools.master - sc.pools.mechanical;
    sc.default_currency = "USD";
    sc.payee_currencies["Label B"] = "EUR";
    sc.payee_currencies["Björn Ek"] = "JPY";
    sc.fx_table = dir.sub("fx-{period}.csv");
    std::string fx = "from,to,rate\n";
    for (const auto& from : currencies)
      for (const std::string to : {"USD", "EUR", "JPY"})
        if (from != to)
          fx += from + "," + to + "," +
                money::from_units(1 + static_cast<int64_t>(rng() % 20'000'000'000)).to_string() + "\n";
    spill(dir.sub("fx-2026-10.csv"), fx);

    std::shared_ptr<ledger_store> shared(std::move(store));
    auto reconciled = reconcile_once(shared, sc);
    ASSERT_TRUE(reconciled) << reconciled.error().message;
    ASSERT_EQ(reconciled->summary.reconciled, static_cast<uint64_t>(n)) << "every record has complete shares";
    auto settled = settle_once(shared, sc, "2026-10");
    ASSERT_TRUE(settled) << settled.error().message;
    ASSERT_EQ(settled->info.regular, static_cast<uint64_t>(n));

    std::vector<settled_entry> entries;
    ASSERT_TRUE(
        shared->for_each_settlement("2026-10", [&](const settled_entry& e) { entries.push_back(e); }));
    for (const auto& e : entries) {
      int64_t sum = 0;
      for (const auto& l : e.lines) sum += l.net.units();
      ASSERT_EQ(sum, e.gross.units()) << "record " << e.isrc << " " << e.currency;
    }
    auto written = write_statements(dir.sub("out"), "2026-10", entries, {}, {});
    ASSERT_TRUE(written) << written.error().message;
    // Every file stays in the output directory, whatever the payee's name.
    const auto out_dir = std::filesystem::canonical(dir.sub("out"));
    std::map<std::string, int64_t> from_files;
    for (const auto& h : written->holders) {
      const auto path = std::filesystem::canonical(out_dir / h.file);
      EXPECT_EQ(path.parent_path(), out_dir) << h.holder;
      for (const auto& [cur, units] : column_sums(path.string(), "net", "currency")) from_files[cur] += units;
      int64_t payee = 0;
      for (const auto& [cur, units] : column_sums(path.string(), "payee_net", "payee_currency"))
        payee += units;
      EXPECT_EQ(payee, h.payee_total.units()) << h.holder;
    }
    std::set<std::string> listed;
    for (const auto& entry : std::filesystem::directory_iterator(out_dir))
      listed.insert(entry.path().filename());
    EXPECT_EQ(listed.size(), written->holders.size() + 3);  // + summary, totals, reconciliation
    EXPECT_EQ(from_files, revenue_by_currency);
    for (const auto& [cur, units] : revenue_by_currency) {
      EXPECT_EQ(written->settled_by_currency[cur].units(), units) << cur;
      EXPECT_EQ(written->statements_by_currency[cur].units(), units) << cur;
      EXPECT_EQ(settled->info.gross_by_currency[cur].units(), units) << cur;
    }
    const auto totals = column_sums(dir.sub("out/totals.csv"), "difference", "currency");
    for (const auto& [cur, diff] : totals) EXPECT_EQ(diff, 0) << cur;
  }
}

TEST(statements, file_names_are_sanitised) {
  for (const std::string name :
       {"../../etc/passwd", "/etc/passwd", "..", ".hidden", "a/b", "", "Café Musique SARL"}) {
    const auto file = statement_file_name(name);
    EXPECT_EQ(file.find('/'), std::string::npos) << name;
    EXPECT_EQ(file.rfind("statement-", 0), 0u) << name;
    EXPECT_EQ(file.find(".."), std::string::npos) << name;
  }
  EXPECT_NE(statement_file_name("a/b"), statement_file_name("a_b"));  // the hash tells them apart
  EXPECT_EQ(statement_file_name("Café Musique SARL").substr(0, 27), "statement-Caf_Musique_SARL-");
}

class settlement_cli : public ::testing::Test {
 protected:
  void SetUp() override {
    log_settings quiet;
    quiet.quiet = true;
    configure_log(quiet);
    config_ = dir_.sub("config.json");
    spill(config_, R"({
  "data_dir": ")" + dir_.sub("data") +
                       R"(",
  "map_size_mib": 64,
  "settlement": {
    "fx_table": ")" + dir_.sub("fx-{period}.csv") +
                       R"(",
    "pools": {"master": 80, "mechanical": "12.5", "performance": "7.5"},
    "payee_currencies": {"../../../tmp/evil": "EUR", "Label A": "EUR"},
    "default_currency": "USD"
  }
})");
    spill(dir_.sub("fx-2026-10.csv"), "from,to,rate\nUSD,EUR,0.92\nEUR,USD,1.087\n");
    spill(dir_.sub("fx-2026-11.csv"), "from,to,rate\nUSD,EUR,0.93\nEUR,USD,1.075\n");
    spill(dir_.sub("recordings.csv"),
          "isrc,title,artists,upc,release_date,iswc,master_shares\n"
          "USRC17607839,Midnight Echoes,Nova Lane,0036000291452,2020-01-15,T-034.524.680-1,"
          "\"Label A (label)=80|../../../tmp/evil (artist)=20\"\n"
          "GBAYE0601498,Paper Roads,Yuna,,,,Label A (label)=100\n");
    spill(dir_.sub("works.csv"),
          "iswc,title,holder,role,right,share,territory\n"
          "T-034.524.680-1,Midnight Echoes,Jane Writer,writer,mechanical,50,\n"
          "T-034.524.680-1,Midnight Echoes,Echo Publishing,publisher,mechanical,50,\n"
          "T-034.524.680-1,Midnight Echoes,Jane Writer,writer,performance,50,\n"
          "T-034.524.680-1,Midnight Echoes,Echo Publishing,publisher,performance,50,\n");
  }

  void add_records(const std::vector<royalty_record>& recs) {
    auto store = open_store(dir_.sub("data"));
    ASSERT_TRUE(store);
    ingest(*store, "cli", page_, recs);
  }

  royalty_record record(const std::string& isrc, const std::string& txn, const std::string& period,
                        int64_t units, const std::string& currency = "USD") {
    royalty_record r;
    r.isrc = isrc;
    r.title = isrc == "USRC17607839" ? "Midnight Echoes" : "Paper Roads";
    r.artists = {isrc == "USRC17607839" ? "Nova Lane" : "Yuna"};
    r.dsp = "spotify";
    r.territory = "DE";
    r.territory_raw = "DE";
    r.reporting_period = period;
    r.transaction_id = txn;
    r.currency = currency;
    r.units = 100;
    r.revenue = money::from_units(units);
    return r;
  }

  std::pair<int, std::string> run(std::vector<std::string> args) {
    args.insert(args.begin(), DSPSYNC_BINARY);
    return run_command(args, dir_.sub("output.txt"));
  }

  temp_dir dir_;
  std::string config_;
  int page_ = 0;
};

TEST_F(settlement_cli, loads_reconciles_settles_once_and_writes_contained_statements) {
  add_records({record("USRC17607839", "t1", "2026-10", 123'456'789),
               record("USRC17607839", "t2", "2026-10", 5, "EUR"),
               record("GBAYE0601498", "t3", "2026-10", 1'000)});
  auto [code, out] = run({"reconcile", "--config", config_});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("unknown_isrc"), std::string::npos) << out;  // no catalog yet

  std::tie(code, out) =
      run({"catalog", "load", "--config", config_, dir_.sub("recordings.csv"), dir_.sub("works.csv")});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("catalog version 1"), std::string::npos) << out;
  EXPECT_NE(out.find("revisited 3 pending, released 2"), std::string::npos) << out;
  EXPECT_NE(out.find("missing_iswc"), std::string::npos) << out;  // Paper Roads has no ISWC
  std::tie(code, out) =
      run({"catalog", "load", "--config", config_, dir_.sub("recordings.csv"), dir_.sub("works.csv")});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("catalog unchanged (version 1)"), std::string::npos) << out;

  std::tie(code, out) =
      run({"statements", "--config", config_, "--period", "2026-10", "--out", dir_.sub("st")});
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("is not settled"), std::string::npos) << out;

  std::tie(code, out) = run({"settle", "--config", config_, "--period", "2026-10"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("settled 2026-10: 2 records, 0 adjustments"), std::string::npos) << out;
  EXPECT_NE(out.find("1 pending"), std::string::npos) << out;
  std::tie(code, out) = run({"settle", "--config", config_, "--period", "2026-10"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("was settled before: nothing changed"), std::string::npos) << out;

  std::tie(code, out) =
      run({"statements", "--config", config_, "--period", "2026-10", "--out", dir_.sub("st")});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("USD: statements 1.23456789 = settled revenue 1.23456789  (exact)"), std::string::npos)
      << out;
  // The hostile payee name became a file inside --out, nothing escaped.
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/../tmp/evil"));
  std::set<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir_.sub("st"))) files.insert(e.path().filename());
  EXPECT_EQ(files.count("summary.csv"), 1u);
  EXPECT_EQ(files.count("totals.csv"), 1u);
  EXPECT_EQ(files.count("reconciliation.csv"), 1u);
  EXPECT_EQ(files.count(statement_file_name("../../../tmp/evil")), 1u);
  EXPECT_EQ(files.size(), 7u);  // label, evil, writer, publisher + 3; no temporary left behind
  // Statements hold what each payee earns: written whole (temporary, fsync, rename) and private.
  struct stat mode {};
  ASSERT_EQ(::stat(dir_.sub("st/" + statement_file_name("Label A")).c_str(), &mode), 0);
  EXPECT_EQ(mode.st_mode & 0777, 0600u);
  const auto label = slurp(dir_.sub("st/" + statement_file_name("Label A")));
  EXPECT_NE(label.find("2026-10,regular,2026-10,spotify,DE,USRC17607839,Midnight Echoes,master,label,100,"
                       "1.23456789,USD,64%,0.79012345,EUR,0.92,0.72691357"),
            std::string::npos)
      << label;
  const auto report = slurp(dir_.sub("st/reconciliation.csv"));
  EXPECT_NE(report.find("wait in pending_reconciliation: missing_iswc x1"), std::string::npos) << report;

  // A late record for the settled period, and November's own: an adjustment in 2026-11.
  add_records({record("USRC17607839", "late", "2026-10", 700), record("USRC17607839", "n1", "2026-11", 300)});
  std::tie(code, out) = run({"reconcile", "--config", config_});
  ASSERT_EQ(code, 0) << out;
  std::tie(code, out) = run({"settle", "--config", config_, "--period", "2026-11"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("settled 2026-11: 1 records, 1 adjustments"), std::string::npos) << out;
  std::tie(code, out) =
      run({"statements", "--config", config_, "--period", "2026-11", "--out", dir_.sub("nov")});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(
      slurp(dir_.sub("nov/" + statement_file_name("Label A"))).find("2026-11,adjustment,2026-10,spotify"),
      std::string::npos);
  // October's statements are unchanged by November.
  const auto again = slurp(dir_.sub("st/" + statement_file_name("Label A")));
  std::tie(code, out) =
      run({"statements", "--config", config_, "--period", "2026-10", "--out", dir_.sub("st2")});
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(slurp(dir_.sub("st2/" + statement_file_name("Label A"))), again);
}

TEST_F(settlement_cli, refuses_bad_arguments_and_bad_catalogs_with_a_reason) {
  auto [code, out] = run({"settle", "--config", config_, "--period", "2026-Q4"});
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("--period: expected a month YYYY-MM"), std::string::npos) << out;
  spill(dir_.sub("bad.csv"), "isrc,title,master_shares\nUS-XYZ,Song,Label=abc\nUSRC17607839,,Label=50\n");
  std::tie(code, out) = run({"catalog", "load", "--config", config_, dir_.sub("bad.csv")});
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("bad.csv:2: isrc: expected 12 characters"), std::string::npos) << out;
  EXPECT_NE(out.find("bad.csv:2: master_shares: expected a decimal number"), std::string::npos) << out;
  EXPECT_NE(out.find("bad.csv:3: title: required field is missing"), std::string::npos) << out;
  spill(config_, R"({"data_dir": ")" + dir_.sub("data") +
                     R"(", "settlement": {"pools": {"master": 80}, "fuzzy_threshold": 2}})");
  std::tie(code, out) = run({"reconcile", "--config", config_});
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("settlement.pools: expected shares summing to exactly 100, got 80"), std::string::npos)
      << out;
  EXPECT_NE(out.find("settlement.fuzzy_threshold: expected a number above 0 and at most 1, got 2"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace dspsync::test
