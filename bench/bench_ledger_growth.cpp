// Ledger growth benchmark (issue #7, "no collapse as the index grows"): durable commit throughput
// of the ledger alone, measured in windows as the ledger grows. Prints one line per window.
//
//   bench_ledger_growth [--records N] [--window N] [--pages-per-commit N] [--keep DIR]
//
// A cursor-style recording of N records (default 5,000,000; pages of 1000) is generated and mapped
// window by window outside the timing; each window's pages are then committed into one durable
// ledger, `--pages-per-commit` pages per write transaction (default 16: what the ledger actor's group
// commit reaches under full load). For every window it prints the ledger's size before the window,
// the window's records/s (wall) and the ratio against the first window, which is the baseline of
// the same run.

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "bench/bench_support.hpp"
#include "protocol/page_mapper.hpp"
#include "protocol/pagination.hpp"
#include "protocol/recording.hpp"
#include "storage/ledger_store.hpp"

namespace {

using namespace dspsync;
using steady = std::chrono::steady_clock;

/// Bytes this process has passed to write(2) and its kin so far (`wchar` of /proc/self/io): LMDB
/// writes every dirty page of a transaction at commit, so this is what each commit rewrote.
uint64_t bytes_written() {
  std::FILE* f = std::fopen("/proc/self/io", "r");
  if (!f) return 0;
  char line[128];
  unsigned long long v = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "wchar: %llu", &v) == 1) break;
  std::fclose(f);
  return v;
}

/// This thread's user and system CPU seconds so far.
std::pair<double, double> thread_cpu() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return {bench::seconds(ru.ru_utime), bench::seconds(ru.ru_stime)};
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t records = 5'000'000, window = 250'000, per_commit = 16, index_new = 0, index_mid = 0;
  std::string keep;
  bench::options opts(
      "bench_ledger_growth [--records N] [--window N] [--pages-per-commit N] [--index-new N] [--index-mid N] "
      "[--keep DIR]");
  opts.add("--records", records)
      .add("--window", window)
      .add("--pages-per-commit", per_commit)
      .add("--index-new", index_new)
      .add("--index-mid", index_mid)
      .add("--keep", keep);
  if (!opts.parse(argc, argv)) return 2;
  if (window == 0 || per_commit == 0) {
    std::cerr << "bench_ledger_growth: --window and --pages-per-commit must be at least 1\n";
    return 2;
  }
  const auto dir =
      keep.empty() ? (std::filesystem::temp_directory_path() / "dspsync-bench-growth").string() : keep;
  std::filesystem::remove_all(dir);

  recording_options ro;
  ro.style = pagination_style::cursor;
  ro.records = records;
  ro.page_size = 1000;
  ro.seed = 11;
  ro.endpoint_name = "growth";
  ro.dsp = "growthdsp";
  ro.path = "/v1/growth";
  const auto rec = generate_recording(ro);

  ledger_options lo;
  lo.dir = dir;
  auto store = ledger_store::open(lo);
  if (!store) {
    std::cerr << "bench_ledger_growth: " << store.error().message << "\n";
    return 1;
  }
  // The key index's level sizes, to try others than the defaults (0 keeps a default).
  if (index_new != 0 || index_mid != 0)
    (*store)->set_index_limits(index_new != 0 ? index_new : ledger_store::default_index_new_limit,
                               index_mid != 0 ? index_mid : ledger_store::default_index_mid_limit);
  page_mapper mapper(rec.endpoint, territory_options{});
  std::string cursor = initial_cursor(rec.endpoint);

  std::printf("ledger growth: %zu records, windows of %zu, %zu pages of 1000 per durable transaction\n",
              records, window, per_commit);
  std::printf("%12s %12s %10s %10s %16s %9s %9s %18s\n", "ledger size", "records/s", "s/window", "vs first",
              "bytes written/rec", "user s", "sys s", "slowest commit ms");
  std::size_t next_entry = 0, stored = 0;
  double first_rate = 0;
  while (next_entry < rec.har.entries.size()) {
    // Map one window outside the timing.
    const std::size_t pages_per_window = (window + 999) / 1000;
    const auto pages = bench::map_pages(rec, mapper, next_entry, next_entry + pages_per_window, cursor);
    next_entry += pages_per_window;
    const std::size_t size_before = stored;
    const uint64_t written_before = bytes_written();
    const auto cpu0 = thread_cpu();
    const auto t0 = steady::now();
    double slowest = 0;
    for (std::size_t i = 0; i < pages.size(); i += per_commit) {
      const auto c0 = steady::now();
      std::vector<const ingest_batch*> group;
      for (std::size_t j = i; j < std::min(pages.size(), i + per_commit); ++j) group.push_back(&pages[j]);
      auto out = (*store)->commit(group);
      if (!out) {
        std::cerr << "bench_ledger_growth: " << out.error().message << "\n";
        return 1;
      }
      for (const auto& o : *out) stored += o.records_in;
      slowest = std::max(slowest, std::chrono::duration<double, std::milli>(steady::now() - c0).count());
    }
    const double took = std::chrono::duration<double>(steady::now() - t0).count();
    const auto cpu1 = thread_cpu();
    const double rate = static_cast<double>(stored - size_before) / took;
    if (first_rate == 0) first_rate = rate;
    const double per_record =
        static_cast<double>(bytes_written() - written_before) / static_cast<double>(stored - size_before);
    std::printf("%12zu %12.0f %10.2f %9.2fx %16.0f %9.2f %9.2f %18.1f\n", size_before, rate, took,
                rate / first_rate, per_record, cpu1.first - cpu0.first, cpu1.second - cpu0.second, slowest);
    std::fflush(stdout);
  }
  store->reset();
  if (keep.empty()) std::filesystem::remove_all(dir);
  return 0;
}
