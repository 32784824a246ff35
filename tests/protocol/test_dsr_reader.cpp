// DDEX DSR flat files: structure and FOOT checks, multi-file reports, escapes, and the exact
// largest-remainder allocation of summary revenue to usage rows.

#include "protocol/dsr_reader.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "tests/support/temp_dir.hpp"

namespace dspsync {
namespace {

using test::temp_dir;
using cells = std::vector<std::string>;

/// A DSR file from its records; the FOOT is appended with the true counts unless `foot` is given.
std::string dsr_text(const std::vector<cells>& records, const std::string& foot = "") {
  std::string out;
  uint64_t summaries = 0, blocks = 0;
  std::string block;
  for (const auto& r : records) {
    if (r.empty()) {  // an empty record (a blank line)
      out += "\n";
      continue;
    }
    for (std::size_t i = 0; i < r.size(); ++i) out += (i ? "\t" : "") + r[i];
    out += "\n";
    if (r[0].rfind("SY", 0) == 0) ++summaries;
    if ((r[0].rfind("RE", 0) == 0 || r[0].rfind("AS", 0) == 0 || r[0].rfind("SU", 0) == 0) && r[1] != block) {
      ++blocks;
      block = r[1];
    }
  }
  if (!foot.empty()) return out + foot + "\n";
  const auto lines = records.size() + 1;
  return out + "FOOT\t" + std::to_string(lines) + "\t" + std::to_string(lines) + "\t" +
         std::to_string(summaries) + "\t" + std::to_string(blocks) + "\t" + std::to_string(blocks) + "\n";
}

cells head(const std::string& message, int file, int files, const std::string& from = "2026-01-01",
           const std::string& to = "2026-01-31") {
  return {"HEAD",
          "dsrf/3.0",
          "BasicAudioProfile",
          "1.2",
          message,
          "2026-02-05T10:15:00Z",
          std::to_string(file),
          std::to_string(files),
          from,
          to,
          "PADPIDA2026010101A",
          "StreamCo"};
}
cells summary(const std::string& id, const std::string& territory, const std::string& currency,
              const std::string& revenue) {
  return {"SY02.02", id,  "",       "",     "SubscriptionModel", "OnDemandStream", territory, "Premium",
          "0",       "0", currency, revenue};
}
cells release(const std::string& block, const std::string& icpn) {
  return {"RE01", block, "R1", "REL-" + block, "", "CAT", icpn, "Artist", "", "Album"};
}
cells resource(const std::string& block, const std::string& ref, const std::string& isrc,
               const std::string& title, const std::string& artists, const std::string& iswc = "") {
  return {"AS02.02", block, ref, "RES-" + ref, isrc, title, "", artists, "", "PT3M", "SoundRecording", iswc};
}
cells stream(const std::string& block, const std::string& sid, const std::string& tx, const std::string& ref,
             const std::string& streams) {
  return {"SU02", block, sid, tx, "", ref, "true", streams};
}

std::string write(const temp_dir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir.sub(name), std::ios::binary) << text;
  return dir.sub(name);
}

struct capture_sink : batch_sink {
  std::vector<ingest_batch> batches;
  status deliver(ingest_batch&& b) override {
    batches.push_back(std::move(b));
    return ok;
  }
  std::vector<keyed_record> records() const {
    std::vector<keyed_record> out;
    for (const auto& b : batches) out.insert(out.end(), b.records.begin(), b.records.end());
    return out;
  }
  std::vector<quarantined_item> quarantined() const {
    std::vector<quarantined_item> out;
    for (const auto& b : batches) out.insert(out.end(), b.quarantined.begin(), b.quarantined.end());
    return out;
  }
};

source_config dsr_source() {
  source_config s;
  s.name = "spotify-dsr";
  s.dsp = "spotify";
  s.format = source_format::dsr;
  s.key_fields = default_key_fields();
  return s;
}

std::vector<file_identity> ids(const std::vector<std::string>& paths) {
  std::vector<file_identity> out;
  for (const auto& p : paths) out.push_back(*identify_file(p));
  return out;
}

TEST(dsr_escapes, backslash_escapes_and_multi_value_cells) {
  EXPECT_EQ(dsr_unescape("a\\tb\\nc\\\\d\\|e"), "a\tb\nc\\d|e");
  EXPECT_EQ(dsr_values("Night Owls|Lumen"), (std::vector<std::string>{"Night Owls", "Lumen"}));
  EXPECT_EQ(dsr_values("AC\\|DC|B\\\\|"), (std::vector<std::string>{"AC|DC", "B\\"}));
  EXPECT_TRUE(dsr_values("").empty());
}

TEST(allocation, parts_sum_to_the_whole_and_each_is_floor_or_ceiling_of_its_share) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    allocation_plan plan;
    std::vector<int64_t> weights(1 + rng() % 40);
    for (auto& w : weights) {
      w = static_cast<int64_t>(rng() % (round % 3 == 0 ? 5 : 100000));
      plan.add_weight(w);
    }
    int64_t total = static_cast<int64_t>(rng() % 1'000'000'000'000ULL) * (round % 4 == 0 ? -1 : 1);
    __int128 sum_w = std::accumulate(weights.begin(), weights.end(), __int128(0));
    if (sum_w == 0) {
      EXPECT_FALSE(plan.plan(money::from_units(total == 0 ? 1 : total)));
      continue;
    }
    ASSERT_TRUE(plan.plan(money::from_units(total)));
    int64_t sum = 0;
    for (auto w : weights) {
      const int64_t part = plan.take(w).units();
      sum += part;
      const __int128 exact_num = static_cast<__int128>(total < 0 ? -total : total) * w;
      const int64_t floor_part = static_cast<int64_t>(exact_num / sum_w);
      const int64_t magnitude = part < 0 ? -part : part;
      EXPECT_TRUE(magnitude == floor_part || magnitude == floor_part + 1) << "round " << round;
    }
    EXPECT_EQ(sum, total) << "round " << round;
  }
}

TEST(allocation, leftover_goes_to_the_largest_remainders) {
  allocation_plan plan;
  for (int64_t w : {1, 1, 1}) plan.add_weight(w);
  ASSERT_TRUE(plan.plan(money::from_units(100)));  // 33.33.. each: one unit left over
  EXPECT_EQ(plan.take(1).units(), 34);             // equal remainders: file order
  EXPECT_EQ(plan.take(1).units(), 33);
  EXPECT_EQ(plan.take(1).units(), 33);
}

TEST(dsr_reader, well_formed_file_maps_usage_rows_and_allocates_summary_revenue_exactly) {
  temp_dir dir;
  const auto path =
      write(dir, "DSR_1of1.tsv",
            dsr_text({head("MSG-1", 1, 1),
                      {"#SY02", "a comment"},
                      summary("1", "US", "USD", "100.00000001"),
                      summary("2", "GBR", "GBP", "-20.5"),
                      release("B1", "195829041140"),
                      resource("B1", "A1", "QZDA42600001|QZDA42600009", "Paper \\| Moon", "Night Owls|Lumen",
                               "T0345246801"),
                      {"AS01.01", "B1", "A2", "RES-A2", "QZDA42600002", "Glass\\tHarbour", "", "Night Owls"},
                      {"MW01.01", "B1", "W1", "T1234567894", "Glass Harbour"},
                      stream("B1", "1", "TX-1", "A1", "1000"),
                      stream("B1", "1", "TX-2", "A2", "2000"),
                      stream("B1", "2", "TX-3", "A1", "500"),
                      {},
                      release("B2", "195829041157"),
                      resource("B2", "A1", "QZDA42600003", "Static", "Lumen"),
                      stream("B2", "1", "TX-4", "A1", "1600"),
                      stream("B2", "2", "TX-5", "A1", "300")}));
  dsr_reader reader(dsr_source(), {});
  auto reports = reader.scan(ids({path}));
  ASSERT_TRUE(reports) << reports.error().message;
  ASSERT_EQ(reports->size(), 1u);
  auto& r = reports->front();
  EXPECT_TRUE(r.problems.empty()) << r.problems.front();
  EXPECT_EQ(r.period, "2026-01");
  capture_sink sink;
  ASSERT_TRUE(reader.emit(r, {0}, sink));
  auto recs = sink.records();
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_TRUE(sink.quarantined().empty());
  EXPECT_TRUE(sink.batches.back().caught_up);
  money usd, gbp;
  for (const auto& k : recs) {
    money& total = k.record.currency == "USD" ? usd : gbp;
    total = *total.checked_add(k.record.revenue);
  }
  EXPECT_EQ(usd.to_string(), "100.00000001");  // parts sum to the summary amount, to the last 10^-8
  EXPECT_EQ(gbp.to_string(), "-20.5");
  const auto& first = recs[0].record;
  EXPECT_EQ(first.isrc, "QZDA42600001");
  EXPECT_EQ(first.upc, "0195829041140");
  EXPECT_EQ(first.iswc, "T-034.524.680-1");
  EXPECT_EQ(first.territory, "US");
  EXPECT_EQ(first.reporting_period, "2026-01");
  EXPECT_EQ(first.transaction_id, "TX-1");
  EXPECT_EQ(first.title, "Paper | Moon");
  EXPECT_EQ(first.artists, (std::vector<std::string>{"Night Owls", "Lumen"}));
  EXPECT_EQ(first.dsp, "spotify");
  EXPECT_EQ(first.revenue.to_string(), "21.73913044");
  EXPECT_EQ(recs[1].record.title, "Glass\tHarbour");
  EXPECT_EQ(recs[1].record.iswc, "T-123.456.789-4");  // from the MW01 after the AS01
  EXPECT_EQ(recs[1].record.revenue.to_string(), "43.47826087");
  EXPECT_EQ(recs[2].record.territory, "GB");
  EXPECT_EQ(recs[2].record.revenue.to_string(), "-12.8125");
  EXPECT_EQ(recs[3].record.upc, "0195829041157");
  EXPECT_EQ(recs[3].record.revenue.to_string(), "34.7826087");
  EXPECT_EQ(recs[3].position, 15u);  // lineage: the SU line in the file
}

TEST(dsr_reader, two_file_report_joins_by_message_id_in_file_order) {
  temp_dir dir;
  const std::vector<cells> one{head("MSG-2", 1, 2, "2026-02", "2026-02"),
                               summary("S1", "DE", "EUR", "7.00000002"), release("B1", "840729012348"),
                               resource("B1", "A1", "USRC12600101", "North", "L"),
                               stream("B1", "S1", "TX-1", "A1", "300")};
  const std::vector<cells> two{head("MSG-2", 2, 2, "2026-02", "2026-02"), release("B2", "840729012348"),
                               resource("B2", "A2", "USRC12600102", "Hello", "L"),
                               stream("B2", "S1", "TX-2", "A2", "400")};
  const auto p1 = write(dir, "r_1of2.tsv", dsr_text(one, "FOOT\t6\t\t1\t1\t"));
  const auto p2 = write(dir, "r_2of2.tsv", dsr_text(two, "FOOT\t5\t11\t0\t1\t2"));
  dsr_reader reader(dsr_source(), {});
  auto reports = reader.scan(ids({p2, p1}));  // given out of order
  ASSERT_TRUE(reports);
  ASSERT_EQ(reports->size(), 1u);
  auto& r = reports->front();
  EXPECT_TRUE(r.problems.empty()) << r.problems.front();
  ASSERT_EQ(r.files.size(), 2u);
  EXPECT_EQ(r.files[0].id.path, p1);
  capture_sink sink;
  ASSERT_TRUE(reader.emit(r, {0, 0}, sink));
  auto recs = sink.records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].record.revenue.to_string(), "3.00000001");  // the summary in file 1 pays rows of file 2
  EXPECT_EQ(recs[1].record.revenue.to_string(), "4.00000001");
  EXPECT_EQ(recs[1].record.reporting_period, "2026-02");
  // Each file has its own checkpoint.
  ASSERT_EQ(sink.batches.size(), 2u);
  EXPECT_NE(sink.batches[0].source, sink.batches[1].source);

  // Resuming with file 1 done and file 2 from its start hands out the same parts.
  capture_sink resumed;
  ASSERT_TRUE(reader.emit(r, {std::nullopt, 0}, resumed));
  ASSERT_EQ(resumed.records().size(), 1u);
  EXPECT_EQ(resumed.records()[0].record.revenue.to_string(), "4.00000001");
}

TEST(dsr_reader, missing_file_of_a_multi_file_report_is_a_report_problem) {
  temp_dir dir;
  const auto p1 =
      write(dir, "r_1of2.tsv",
            dsr_text({head("MSG-3", 1, 2), summary("S1", "DE", "EUR", "1"), release("B1", "840729012348"),
                      resource("B1", "A1", "USRC12600101", "N", "L"), stream("B1", "S1", "T", "A1", "3")}));
  dsr_reader reader(dsr_source(), {});
  auto reports = reader.scan(ids({p1}));
  ASSERT_TRUE(reports);
  ASSERT_FALSE(reports->front().problems.empty());
  EXPECT_NE(reports->front().problems.front().find("file 2of2 is missing"), std::string::npos)
      << reports->front().problems.front();
}

TEST(dsr_reader, foot_count_mismatch_is_reported_naming_file_and_counts) {
  temp_dir dir;
  const auto path =
      write(dir, "bad_foot.tsv",
            dsr_text({head("MSG-4", 1, 1), summary("1", "US", "USD", "5"), release("B1", "195829041140"),
                      resource("B1", "A1", "QZDA42600001", "T", "A"), stream("B1", "1", "T1", "A1", "5")},
                     "FOOT\t9\t9\t1\t2\t2"));
  dsr_reader reader(dsr_source(), {});
  auto reports = reader.scan(ids({path}));
  ASSERT_TRUE(reports);
  const auto& problems = reports->front().problems;
  ASSERT_GE(problems.size(), 2u);
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  EXPECT_NE(all.find(path + ": FOOT NumberOfLinesInFile says 9, the file has 6 lines"), std::string::npos)
      << all;
  EXPECT_NE(all.find(path + ": FOOT NumberOfBlocksInFile says 2, the file has 1 blocks"), std::string::npos)
      << all;
  auto batch = reader.problem_batch(reports->front(), "");
  EXPECT_FALSE(batch.page_errors.empty());
  EXPECT_TRUE(batch.records.empty());
  EXPECT_EQ(batch.cursor_before, batch.cursor_after);

  const auto truncated = write(dir, "no_foot.tsv", "HEAD\tv\tp\t1\tMSG-5\tt\t1\t1\t2026-01\t2026-01\n");
  auto r2 = reader.scan(ids({truncated}));
  ASSERT_TRUE(r2);
  ASSERT_FALSE(r2->front().problems.empty());
  EXPECT_NE(r2->front().problems.front().find("no FOOT record"), std::string::npos);
}

TEST(dsr_reader, bad_usage_rows_are_quarantined_alone_with_their_allocated_share) {
  temp_dir dir;
  const auto path =
      write(dir, "rows.tsv",
            dsr_text({head("MSG-6", 1, 1), summary("1", "US", "USD", "10"), release("B1", "195829041140"),
                      resource("B1", "A1", "BADISRC", "T", "A"),
                      resource("B1", "A2", "QZDA42600002", "T", "A"), stream("B1", "1", "T1", "A1", "1"),
                      stream("B1", "1", "T2", "A2", "1"), stream("B1", "1", "T3", "A9", "1"),
                      stream("B1", "9", "T4", "A2", "1"), stream("B1", "1", "T5", "A2", "x")}));
  dsr_reader reader(dsr_source(), {});
  auto reports = reader.scan(ids({path}));
  ASSERT_TRUE(reports);
  ASSERT_TRUE(reports->front().problems.empty()) << reports->front().problems.front();
  capture_sink sink;
  ASSERT_TRUE(reader.emit(reports->front(), {0}, sink));
  auto recs = sink.records();
  auto bad = sink.quarantined();
  ASSERT_EQ(recs.size(), 1u);
  ASSERT_EQ(bad.size(), 4u);
  EXPECT_EQ(sink.batches.front().records_in, 5u);
  EXPECT_EQ(recs[0].record.revenue.to_string(), "3.33333333");
  EXPECT_EQ(bad[0].errors.front().code, ec::bad_isrc);
  EXPECT_NE(bad[0].errors.front().message.find("allocated net revenue 3.33333334 USD"), std::string::npos)
      << bad[0].errors.front().message;
  EXPECT_NE(bad[1].errors.front().message.find("\"A9\" is not an AS record"), std::string::npos);
  EXPECT_NE(bad[2].errors.front().message.find("summary record \"9\""), std::string::npos);
  EXPECT_EQ(bad[3].errors.front().code, ec::bad_number);
  EXPECT_EQ(bad[3].raw, "SU02\tB1\t1\tT5\t\tA2\ttrue\tx");
}

TEST(dsr_reader, download_rows_count_usages_minus_returns) {
  temp_dir dir;
  const auto path = write(dir, "su01.tsv",
                          dsr_text({head("MSG-8", 1, 1),
                                    summary("1", "US", "USD", "9.99"),
                                    release("B1", "195829041140"),
                                    resource("B1", "A1", "QZDA42600001", "T", "A"),
                                    {"SU01", "B1", "1", "D1", "", "A1", "true", "false", "5", "1", "0.99"},
                                    {"SU01", "B1", "1", "D2", "", "A1", "true", "false", "6", "0", "0.99"}}));
  dsr_reader reader(dsr_source(), {});
  auto reports = reader.scan(ids({path}));
  ASSERT_TRUE(reports);
  ASSERT_TRUE(reports->front().problems.empty()) << reports->front().problems.front();
  capture_sink sink;
  ASSERT_TRUE(reader.emit(reports->front(), {0}, sink));
  auto recs = sink.records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].record.units, 4);
  EXPECT_EQ(recs[1].record.units, 6);
  EXPECT_EQ(recs[0].record.revenue.to_string(), "3.996");  // 9.99 * 4 / 10
  EXPECT_EQ(recs[1].record.revenue.to_string(), "5.994");
}

TEST(dsr_reader, lenient_mode_unwraps_quoted_cells) {
  temp_dir dir;
  const std::vector<cells> recs{head("MSG-7", 1, 1), summary("1", "US", "USD", "\"2.50\""),
                                release("B1", "195829041140"),
                                resource("B1", "A1", "QZDA42600001", "\"Say \"\"Hi\"\"\"", "A"),
                                stream("B1", "1", "T1", "A1", "\"4\"")};
  const auto path = write(dir, "quoted.tsv", dsr_text(recs));
  {
    dsr_reader strict(dsr_source(), {});
    auto reports = strict.scan(ids({path}));
    ASSERT_TRUE(reports);
    capture_sink sink;
    ASSERT_TRUE(strict.emit(reports->front(), {0}, sink));
    EXPECT_TRUE(sink.records().empty());  // the quoted NetRevenue is not a number: rows quarantined
    EXPECT_EQ(sink.quarantined().size(), 1u);
  }
  auto src = dsr_source();
  src.lenient_quotes = true;
  dsr_reader lenient(src, {});
  auto reports = lenient.scan(ids({path}));
  ASSERT_TRUE(reports);
  ASSERT_TRUE(reports->front().problems.empty());
  capture_sink sink;
  ASSERT_TRUE(lenient.emit(reports->front(), {0}, sink));
  ASSERT_EQ(sink.records().size(), 1u);
  EXPECT_EQ(sink.records()[0].record.title, "Say \"Hi\"");
  EXPECT_EQ(sink.records()[0].record.revenue.to_string(), "2.5");
  EXPECT_EQ(sink.records()[0].record.units, 4);
}

TEST(dsr_reader, head_periods_map_to_canonical_periods) {
  temp_dir dir;
  const std::vector<std::pair<std::pair<std::string, std::string>, std::string>> cases{
      {{"2026-04-01", "2026-06-30"}, "2026-Q2"},
      {{"2026", "2026"}, "2026"},
      {{"2026-02-01", "2026-02-28"}, "2026-02"},
      {{"2026-02-03", "2026-02-09"}, "2026-02-03--2026-02-09"}};
  for (const auto& [range, want] : cases) {
    const auto path = write(dir, "p.tsv", dsr_text({head("MSG-P", 1, 1, range.first, range.second)}));
    dsr_reader reader(dsr_source(), {});
    auto reports = reader.scan(ids({path}));
    ASSERT_TRUE(reports);
    EXPECT_EQ(reports->front().period, want) << range.first << ".." << range.second;
  }
}

}  // namespace
}  // namespace dspsync
