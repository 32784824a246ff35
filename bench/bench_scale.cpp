// Scale benchmark (issue #7, "Scale"): what one process costs per configured endpoint, and how long
// the engine takes from start to its first request on a large ledger. Prints its figures.
//
//   bench_scale [--endpoints N] [--ledger-records N] [--budget-endpoints N] [--budget-seconds S]
//               [--keep DIR]
//
// 1. Idle endpoints: N endpoints (default 10,000), each with a one-page recording on one replay
//    server on 127.0.0.1 and an hourly schedule, in one in-process engine. After every endpoint has
//    polled once and committed (they are then idle until the next hour) and the engine has been idle
//    for `idle_memory_release` (when it gives the burst's freed memory back), the resident set's
//    growth over the process before the engine started, divided by N; also the allocator's bytes in
//    use per endpoint (the objects themselves). Baseline in the same run: the same engine with 1
//    endpoint.
// 2. Start-up on a large ledger: a ledger of N records (default 5,000,000; mapped and committed
//    in-process from a generated recording, durable, 64 pages per transaction), then the time from
//    engine::start() to the first request the replay server receives, against the same figure on
//    an empty ledger measured in the same run.
// 3. Rate budgets: N endpoints (default 50) with rate budgets, 10 of them sharing one group budget,
//    against a replay server that enforces the same budgets and answers 429 beyond them, for S
//    seconds (default 60): the share of each budget used and the number of 429s.

#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "actors/engine.hpp"
#include "actors/supervisor.hpp"
#include "bench/bench_support.hpp"
#include "protocol/fault_plan.hpp"
#include "protocol/log.hpp"
#include "protocol/page_mapper.hpp"
#include "protocol/pagination.hpp"
#include "protocol/recording.hpp"
#include "protocol/replay_server.hpp"
#include "storage/ledger_store.hpp"

namespace {

using namespace dspsync;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

struct rss {
  long total, anon, file;
};
rss rss_now() {
  const std::string self = "/proc/self/status";
  return {bench::status_kib(self, "VmRSS"), bench::status_kib(self, "RssAnon"),
          bench::status_kib(self, "RssFile")};
}

/// Bytes the allocator has handed out and not had back, over all its arenas (mallinfo2): what the
/// objects themselves take, without the allocator's free space and the pages it keeps.
std::size_t heap_in_use() {
  const struct mallinfo2 m = ::mallinfo2();
  return m.uordblks + m.hblkhd;
}

/// A one-page recording copied for `n` endpoints (paths /v1/idle-0 ... /v1/idle-(n-1)).
std::vector<recording> idle_recordings(std::size_t n) {
  recording_options ro;
  ro.style = pagination_style::cursor;
  ro.records = 5;
  ro.page_size = 10;
  ro.malformed_rate = 0;
  ro.endpoint_name = "idle";
  ro.dsp = "idledsp";
  ro.path = "/v1/idle";
  const auto base = generate_recording(ro);
  std::vector<recording> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    recording r = base;
    const std::string path = "/v1/idle-" + std::to_string(i);
    r.endpoint.name = "idle-" + std::to_string(i);
    r.endpoint.path = path;
    r.endpoint.schedule.interval = std::chrono::hours(1);
    for (auto& e : r.har.entries) {
      const auto at = e.url.find("/v1/idle");
      e.url = e.url.substr(0, at) + path + e.url.substr(at + 8);
    }
    out.push_back(std::move(r));
  }
  return out;
}

/// Starts an engine on `n` idle endpoints; returns the RSS growth per endpoint in KiB.
double idle_cost(std::size_t n, const std::string& dir) {
  auto recs = idle_recordings(n);
  const std::size_t requests = recs.front().har.entries.size() * n;
  auto [server, cfg] = bench::serve(recs, dir);
  recs.clear();
  recs.shrink_to_fit();
  const rss before = rss_now();
  const std::size_t heap_before = heap_in_use();
  const auto t0 = steady::now();
  auto eng = engine::start(cfg);
  if (!eng) throw std::runtime_error(eng.error().message);
  if (!server->wait_for_requests(requests, 600s)) throw std::runtime_error("the endpoints did not all poll");
  // Wait (with a deadline) until every endpoint's page is committed: then all are idle.
  const auto deadline = steady::now() + 600s;
  std::size_t done = 0;
  while (steady::now() < deadline) {
    done = 0;
    for (const auto& ep : cfg.endpoints) {
      auto cp = (*eng)->store()->checkpoint(ep.name);
      if (cp && *cp && (*cp)->caught_up) ++done;
    }
    if (done == n) {
      // Committed; the pollers then say caught_up (and, with the next poll an hour away, drop
      // their connections).
      std::size_t idle = 0;
      for (const auto& s : (*eng)->status()) idle += s.state == "caught_up" ? 1 : 0;
      if (idle == n) break;
    }
    std::this_thread::sleep_for(50ms);
  }
  const double took = seconds_since(t0);
  // Idle from here: the engine gives the burst's freed memory back after `idle_memory_release`;
  // measured once that has passed (a measurement condition, not synchronisation).
  std::this_thread::sleep_for(idle_memory_release + 2s);
  const rss after = rss_now();
  const std::size_t heap_after = heap_in_use();
  (*eng)->stop();
  const double per = static_cast<double>(n);
  std::printf(
      "  %6zu endpoints: all polled and committed in %.2f s (%zu caught up); growth per endpoint: RSS %.2f "
      "KiB "
      "= anonymous %.2f + LMDB file pages %.2f; heap in use %.2f KiB\n",
      n, took, done, (after.total - before.total) / per, (after.anon - before.anon) / per,
      (after.file - before.file) / per,
      (static_cast<double>(heap_after) - static_cast<double>(heap_before)) / 1024.0 / per);
  return static_cast<double>(after.total - before.total) / per;
}

/// Fills a durable ledger with `n` records through the page mapper and the store.
uint64_t fill_ledger(const std::string& dir, std::size_t n) {
  const auto t0 = steady::now();
  recording_options ro;
  ro.style = pagination_style::cursor;
  ro.records = n;
  ro.page_size = 1000;
  ro.seed = 5;
  ro.endpoint_name = "bulk";
  ro.dsp = "bulkdsp";
  ro.path = "/v1/bulk";
  const auto rec = generate_recording(ro);
  ledger_options lo;
  lo.dir = dir;
  auto store = ledger_store::open(lo);
  if (!store) throw std::runtime_error(store.error().message);
  page_mapper mapper(rec.endpoint, territory_options{});
  std::string cursor = initial_cursor(rec.endpoint);
  uint64_t stored = 0;
  for (std::size_t at = 0; at < rec.har.entries.size(); at += 64) {
    const auto batches = bench::map_pages(rec, mapper, at, at + 64, cursor);
    std::vector<const ingest_batch*> ptrs;
    for (const auto& b : batches) ptrs.push_back(&b);
    auto out = (*store)->commit(ptrs);
    if (!out) throw std::runtime_error(out.error().message);
    for (const auto& o : *out) stored += o.records_in;
  }
  std::printf("  ledger of %lu records written in %.1f s\n", static_cast<unsigned long>(stored),
              seconds_since(t0));
  return stored;
}

/// Seconds from engine::start() to the first request the DSP receives.
double startup_to_first_poll(const std::string& dir) {
  recording_options ro;
  ro.style = pagination_style::cursor;
  ro.records = 100;
  ro.page_size = 100;
  ro.endpoint_name = "probe";
  ro.dsp = "probedsp";
  ro.path = "/v1/probe";
  auto rec = generate_recording(ro);
  auto server = replay_server::start({rec.har});
  if (!server) throw std::runtime_error(server.error().message);
  engine_config cfg;
  cfg.data_dir = dir;
  rec.endpoint.base_url = (*server)->origin();
  cfg.endpoints.push_back(rec.endpoint);
  const auto t0 = steady::now();
  auto eng = engine::start(cfg);
  if (!eng) throw std::runtime_error(eng.error().message);
  if (!(*server)->wait_for_requests(1, 60s)) throw std::runtime_error("no first request within 60 s");
  const double took = seconds_since(t0);
  (*eng)->stop();
  return took;
}

/// One endpoint of the budget run, or a group of them, and the quota its requests go against.
struct budgeted {
  std::string prefix;  // the server's quota covers this path prefix
  double rate = 0;
  int burst = 1;
  std::size_t endpoints = 0;
};

/// `n` endpoints with rate budgets against a replay server that enforces the same budgets, for
/// `seconds`: the share of each budget used (requests served / (rate * seconds + burst)) and the
/// 429s. Endpoints 0..n-11 have budgets of their own (2..10 requests/s, bursts 1..4); the last 10
/// (when n >= 20) share one group budget of 20 requests/s, burst 5, as one DSP's quota. Each has
/// more pages than its budget allows in the time, so it is never idle for want of work.
void budget_run(std::size_t n, double seconds, const std::string& dir) {
  const std::size_t grouped = n >= 20 ? 10 : 0;
  std::vector<budgeted> quotas;
  std::vector<recording> recs;
  for (std::size_t i = 0; i < n; ++i) {
    const bool in_group = i >= n - grouped;
    const double rate = in_group ? 20.0 : 2.0 + static_cast<double>(i % 9);
    const int burst = in_group ? 5 : 1 + static_cast<int>(i % 4);
    const std::string name = "bud-" + std::to_string(i);
    const std::string path = in_group ? "/v1/grp/" + name : "/v1/" + name;
    if (!in_group)
      quotas.push_back({path, rate, burst, 1});
    else if (i == n - grouped)
      quotas.push_back({"/v1/grp", rate, burst, grouped});
    recording_options ro;
    ro.style = pagination_style::cursor;
    ro.page_size = 10;
    ro.records = static_cast<std::size_t>((rate * seconds + burst) * 1.5 + 10) * ro.page_size;
    ro.seed = 100 + i;
    ro.endpoint_name = name;
    ro.dsp = "budgetdsp";
    ro.path = path;
    recording r = generate_recording(ro);
    r.endpoint.rate.requests_per_second = rate;
    r.endpoint.rate.burst = burst;
    if (in_group) r.endpoint.rate.group = "shared-dsp";
    recs.push_back(std::move(r));
  }
  fault_plan plan;
  for (const auto& q : quotas) plan.quotas.push_back({q.prefix, q.rate, static_cast<double>(q.burst)});
  replay_options ro;
  ro.faults = std::move(plan);
  auto [server, cfg] = bench::serve(recs, dir, std::move(ro));
  const auto t0 = std::chrono::system_clock::now();
  auto eng = engine::start(cfg);
  if (!eng) throw std::runtime_error(eng.error().message);
  // A measurement window, not synchronisation: the engine runs for `seconds` and is stopped.
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const auto t_end = t0 + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                              std::chrono::duration<double>(seconds));
  (*eng)->stop();
  const auto log = server->request_log();
  std::vector<std::size_t> served(quotas.size(), 0);
  std::size_t throttled = 0, other = 0;
  for (const auto& e : log) {
    if (e.status == 429) ++throttled;
    if (e.status != 200) {
      if (e.status != 429) ++other;
      continue;
    }
    if (e.at >= t_end) continue;
    for (std::size_t q = 0; q < quotas.size(); ++q)
      if (under_path_prefix(e.target, quotas[q].prefix)) ++served[q];
  }
  double worst = 1e9, sum_used = 0, sum_budget = 0;
  std::string worst_name;
  for (std::size_t q = 0; q < quotas.size(); ++q) {
    const double budget = quotas[q].rate * seconds + quotas[q].burst;
    const double share = static_cast<double>(served[q]) / budget;
    sum_used += static_cast<double>(served[q]);
    sum_budget += budget;
    if (share < worst) {
      worst = share;
      worst_name = quotas[q].prefix;
    }
  }
  std::printf("  %zu endpoints (%zu with budgets of their own, %zu sharing one group budget) for %.0f s\n", n,
              n - grouped, grouped, seconds);
  std::printf("  requests served within budget: %.0f of %.0f allowed = %.2f%% overall; lowest %.2f%% (%s)\n",
              sum_used, sum_budget, 100.0 * sum_used / sum_budget, 100.0 * worst, worst_name.c_str());
  for (std::size_t q = 0; q < quotas.size(); ++q)
    if (quotas[q].endpoints > 1)
      std::printf("  group %s (%zu endpoints, %.0f/s, burst %d): %zu of %.0f = %.2f%%\n",
                  quotas[q].prefix.c_str(), quotas[q].endpoints, quotas[q].rate, quotas[q].burst, served[q],
                  quotas[q].rate * seconds + quotas[q].burst,
                  100.0 * static_cast<double>(served[q]) / (quotas[q].rate * seconds + quotas[q].burst));
  std::printf("  429s answered: %zu; other non-200 answers: %zu (of %zu requests)\n", throttled, other,
              log.size());
  std::printf("  target: >= 99%% of every budget, zero 429s\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t endpoints = 10'000, ledger_records = 5'000'000, budget_endpoints = 50;
  double budget_seconds = 60;
  std::string keep;
  bench::options opts(
      "bench_scale [--endpoints N] [--ledger-records N] [--budget-endpoints N] [--budget-seconds S] [--keep "
      "DIR]");
  opts.add("--endpoints", endpoints)
      .add("--ledger-records", ledger_records)
      .add("--budget-endpoints", budget_endpoints)
      .add("--budget-seconds", budget_seconds)
      .add("--keep", keep);
  if (!opts.parse(argc, argv)) return 2;
  log_settings quiet;
  quiet.quiet = true;
  configure_log(quiet);
  char tmpl[] = "/tmp/dspsync-scale-XXXXXX";
  const std::string dir = keep.empty() ? ::mkdtemp(tmpl) : keep;
  std::filesystem::create_directories(dir);
  std::printf("machine: %u cores; durable LMDB; in-process engine\n", std::thread::hardware_concurrency());
  try {
    if (endpoints > 0) {
      std::printf("idle endpoints (hourly schedule, one page each):\n");
      // The first engine's growth is the fixed cost (CAF's threads, the network thread, the console
      // and HTTP servers): the baseline that the per-endpoint figure of the second is read against.
      idle_cost(1, dir + "/idle-1");
      idle_cost(endpoints, dir + "/idle-n");
      std::printf("  target: <= 16 KiB per endpoint\n");
    }
    if (budget_endpoints > 0) {
      std::printf("rate budgets against a server that enforces them (429 beyond):\n");
      budget_run(budget_endpoints, budget_seconds, dir + "/budgets");
    }
    if (ledger_records > 0) {
      std::printf("start-up to first poll:\n");
      const double empty = startup_to_first_poll(dir + "/empty");
      std::printf("  empty ledger: %.3f s\n", empty);
      const uint64_t stored = fill_ledger(dir + "/big", ledger_records);
      const double big = startup_to_first_poll(dir + "/big");
      std::printf("  ledger of %lu records: %.3f s (target < 1 s); %.2fx the empty ledger's\n",
                  static_cast<unsigned long>(stored), big, big / empty);
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_scale: " << e.what() << "\n";
    return 1;
  }
  if (keep.empty()) std::filesystem::remove_all(dir);
  return 0;
}
