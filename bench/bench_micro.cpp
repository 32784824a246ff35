// Micro benchmarks of the hot path, each next to the figure it should approach (issue: performance):
//   page mapping + validation   ~800k records/s per core (fetch+parse+validate+SHA-256 ~ 1.2 us)
//   key derivation              reused EVP context, ~3x one-shot EVP_Digest
//   ledger commit by batch size durable LMDB; group commit amortises the fsync
//   read-ahead scan             the poller's structural scan of a page (next cursor, record count),
//                               next to a full DOM parse of the same page (what it avoids)
//   CSV rows                    read + map + validate + key of a CSV file (ingest-csv without the
//                               ledger), next to the 500k rows/s durable ingestion target

#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <boost/json/parse.hpp>

#include "config/config.hpp"
#include "domain/idempotency.hpp"
#include "protocol/csv_reader.hpp"
#include "protocol/page_mapper.hpp"
#include "protocol/pagination.hpp"
#include "protocol/recording.hpp"
#include "protocol/row_mapper.hpp"
#include "storage/ledger_store.hpp"

namespace {

using namespace dspsync;

const recording& sample() {
  static const recording rec = [] {
    recording_options ro;
    ro.records = 20'000;
    ro.page_size = 1000;
    return generate_recording(ro);
  }();
  return rec;
}

void page_mapping_and_validation(benchmark::State& state) {
  const auto& rec = sample();
  page_mapper mapper(rec.endpoint, {});
  std::size_t records = 0, page = 0;
  for (auto _ : state) {
    ingest_batch b;
    b.source = rec.endpoint.name;
    b.body = rec.har.entries[page++ % rec.har.entries.size()].response_body;
    mapper.map(b);
    records += b.records_in;
    benchmark::DoNotOptimize(b.records.data());
  }
  state.counters["records/s"] = benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
  state.SetLabel("target ~800k records/s per core");
}
BENCHMARK(page_mapping_and_validation)->Unit(benchmark::kMillisecond);

void read_ahead_scan(benchmark::State& state) {
  const auto& rec = sample();
  std::size_t records = 0, bytes = 0, page = 0;
  for (auto _ : state) {
    const auto& e = rec.har.entries[page++ % rec.har.entries.size()];
    std::size_t count = 0;
    auto step = peek_next_page(rec.endpoint, "", e.response_body, count);
    if (!step) state.SkipWithError(step.error().message.c_str());
    benchmark::DoNotOptimize(step);
    records += count;
    bytes += e.response_body.size();
  }
  state.counters["records/s"] = benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetLabel("peek_next_page: next cursor and record count of a 1000-record page");
}
BENCHMARK(read_ahead_scan)->Unit(benchmark::kMicrosecond);

void read_ahead_full_parse(benchmark::State& state) {
  const auto& rec = sample();
  std::size_t bytes = 0, page = 0;
  for (auto _ : state) {
    const auto& e = rec.har.entries[page++ % rec.har.entries.size()];
    benchmark::DoNotOptimize(boost::json::parse(e.response_body));
    bytes += e.response_body.size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetLabel("baseline: boost::json::parse of the same page");
}
BENCHMARK(read_ahead_full_parse)->Unit(benchmark::kMicrosecond);

/// Counts what a CSV read delivers (no ledger).
struct counting_sink : batch_sink {
  uint64_t rows = 0, quarantined = 0;
  status deliver(ingest_batch&& batch) override {
    rows += batch.records.size() + batch.quarantined.size();
    quarantined += batch.quarantined.size();
    return ok;
  }
};

void csv_rows(benchmark::State& state) {
  // 200,000 rows in the default columns (the shape `dspsync gen-csv` writes), every row valid.
  const auto path = std::filesystem::temp_directory_path() / "dspsync-bench-rows.csv";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "isrc,upc,territory,period,units,revenue,currency,transaction_id,title,artist\n";
    const char* territories[] = {"GB", "US", "DE", "FR", "AU", "JP"};
    char line[256];
    for (int i = 0; i < 200'000; ++i) {
      std::snprintf(line, sizeof line,
                    "QZAAA26%05d,600000000002,%s,2026-01,%d,0.%08d,USD,t%d,Song %d Part 2,Artist %d\n",
                    i % 100'000, territories[i % 6], 1 + i % 5000, 1 + (i * 7919) % 99'999'999, i, i, i % 97);
      out << line;
    }
  }
  auto cfg = parse_config(R"({"sources": [{"name": "bench", "dsp": "bench", "format": "csv"}]})");
  auto id = identify_file(path.string());
  if (!cfg || !id) {
    state.SkipWithError("set-up failed");
    return;
  }
  uint64_t rows = 0;
  for (auto _ : state) {
    counting_sink sink;
    auto st = read_csv_file(cfg->sources.front(), territory_options{}, *id, 0, sink);
    if (!st) state.SkipWithError(st.error().message.c_str());
    if (sink.rows != 200'000 || sink.quarantined != 0) state.SkipWithError("not every row was read as valid");
    rows += sink.rows;
  }
  std::filesystem::remove(path);
  state.counters["rows/s"] = benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsRate);
  state.SetLabel("read, map, validate, key; target: 500k rows/s durable (ingest-csv)");
}
BENCHMARK(csv_rows)->Unit(benchmark::kMillisecond);

royalty_record a_record() {
  royalty_record r;
  r.isrc = "USRC17607839";
  r.upc = "0012345678905";
  r.dsp = "spotify";
  r.reporting_period = "2026-10";
  r.transaction_id = "tx-123456";
  r.currency = "USD";
  return r;
}

void key_derivation_reused_context(benchmark::State& state) {
  key_deriver keys(default_key_fields());
  auto r = a_record();
  for (auto _ : state) benchmark::DoNotOptimize(keys.key(r));
  state.counters["keys/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(key_derivation_reused_context);

void key_derivation_one_shot(benchmark::State& state) {
  auto r = a_record();
  for (auto _ : state) {
    std::string text = "isrc=" + r.isrc + "\x1fupc=" + r.upc + "\x1f" + "dsp=" + r.dsp +
                       "\x1freporting_period=" + r.reporting_period +
                       "\x1ftransaction_id=" + r.transaction_id + "\x1f" + "currency=" + r.currency + "\x1f";
    benchmark::DoNotOptimize(sha256::digest(text));
  }
  state.counters["keys/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.SetLabel("baseline: a fresh context per key");
}
BENCHMARK(key_derivation_one_shot);

void ledger_commit_by_batch(benchmark::State& state) {
  const auto& rec = sample();
  page_mapper mapper(rec.endpoint, {});
  std::vector<ingest_batch> pages;
  std::string cursor;
  for (const auto& e : rec.har.entries) {
    ingest_batch b;
    b.source = "bench";
    b.body = e.response_body;
    b.cursor_before = cursor;
    mapper.map(b);
    cursor = b.cursor_after;
    pages.push_back(std::move(b));
  }
  const auto per_commit = static_cast<std::size_t>(state.range(0));
  std::size_t records = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto dir = std::filesystem::temp_directory_path() / "dspsync-bench-ledger";
    std::filesystem::remove_all(dir);
    ledger_options lo;
    lo.dir = dir.string();
    auto store = std::move(*ledger_store::open(lo));
    state.ResumeTiming();
    for (std::size_t i = 0; i < pages.size(); i += per_commit) {
      std::vector<const ingest_batch*> group;
      for (std::size_t j = i; j < std::min(pages.size(), i + per_commit); ++j) group.push_back(&pages[j]);
      auto out = store->commit(group);
      if (!out) state.SkipWithError(out.error().message.c_str());
    }
    for (const auto& p : pages) records += p.records_in;
    state.PauseTiming();
    store.reset();
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  state.counters["records/s"] = benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
  state.SetLabel("pages of 1000 records per fsync'd transaction");
}
BENCHMARK(ledger_commit_by_batch)
    ->Arg(1)
    ->Arg(4)
    ->Arg(16)
    ->Arg(64)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
