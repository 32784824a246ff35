// End-to-end benchmark: a generated recording in the cursor style of ../shared/peers/README.md,
// served from the replay server on 127.0.0.1; `dspsync run --once` (durable LMDB) and the Python
// recipe ingest it in the same run; each runs as a child process so its CPU time and peak RSS are
// its own. Prints records/s, CPU-seconds per million records and peak RSS for each, then the ratio.
//
//   bench_e2e [--records N] [--page-size N] [--prefill N] [--no-python] [--keep DIR]
//
// --prefill N first ingests N other records into the same ledger, to show throughput does not
// collapse as the index grows.

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.hpp"
#include "protocol/recording.hpp"
#include "protocol/replay_server.hpp"
#include "storage/ledger_store.hpp"

extern char** environ;

namespace {

using namespace dspsync;

struct child_result {
  int status = -1;
  double wall_s = 0;
  double cpu_s = 0;
  double peak_rss_mib = 0;
  std::string output;
};

child_result run_child(const std::vector<std::string>& args, const std::string& out_file) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  child_result r;
  auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) {
    std::perror(argv[0]);
    return r;
  }
  posix_spawn_file_actions_destroy(&fa);
  rusage ru{};
  wait4(pid, &r.status, 0, &ru);
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
            static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  r.peak_rss_mib = static_cast<double>(ru.ru_maxrss) / 1024.0;
  std::ifstream in(out_file);
  std::stringstream ss;
  ss << in.rdbuf();
  r.output = ss.str();
  return r;
}

std::string config_json(endpoint_config ep, const std::string& origin, const std::string& data_dir) {
  ep.base_url = origin;
  // The replay server is local: the budget must not be what is measured.
  std::string json = endpoint_config_json(ep);
  auto brace = json.rfind('}');
  json.insert(brace, ",\n  \"rate\": {\"requests_per_second\": 100000, \"burst\": 1000}\n");
  return "{\"data_dir\": \"" + data_dir + "\", \"endpoints\": [" + json + "]}";
}

uint64_t records_in(const std::string& data_dir, const std::string& source) {
  ledger_options lo;
  lo.dir = data_dir;
  lo.read_only = true;
  auto store = ledger_store::open(lo);
  if (!store) return 0;
  auto cp = (*store)->checkpoint(source);
  return cp && *cp ? (*cp)->records_in : 0;
}

void print_row(const char* who, uint64_t records, const child_result& r) {
  std::printf("%-16s %10llu records %8.2f s %10.0f records/s %8.2f CPU-s per 1M %8.0f MiB peak RSS\n", who,
              static_cast<unsigned long long>(records), r.wall_s, static_cast<double>(records) / r.wall_s,
              r.cpu_s / (static_cast<double>(records) / 1e6), r.peak_rss_mib);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t records = 1'000'000, prefill = 0;
  int page_size = 1000;
  bool python = true;
  std::string keep;
  bench::options opts("bench_e2e [--records N] [--page-size N] [--prefill N] [--no-python] [--keep DIR]");
  opts.add("--records", records)
      .add("--page-size", page_size)
      .add("--prefill", prefill)
      .flag("--no-python", python, false)
      .add("--keep", keep);
  if (!opts.parse(argc, argv)) return 2;
  char tmpl[] = "/tmp/dspsync-bench-XXXXXX";
  std::string dir = keep.empty() ? ::mkdtemp(tmpl) : keep;
  std::filesystem::create_directories(dir);
  std::string data_dir = dir + "/ledger";

  std::printf("machine: %u cores, %s\n", std::thread::hardware_concurrency(), "Linux");
  std::vector<har_archive> hars;
  recording_options ro;
  ro.style = pagination_style::cursor;
  ro.records = records;
  ro.page_size = page_size;
  ro.seed = 2026;
  ro.endpoint_name = "bench";
  ro.dsp = "benchdsp";
  auto t0 = std::chrono::steady_clock::now();
  auto rec = generate_recording(ro);
  std::optional<recording> pre;
  if (prefill > 0) {
    recording_options po = ro;
    po.records = prefill;
    po.seed = 7;
    po.endpoint_name = "prefill";
    po.dsp = "prefilldsp";
    po.path = "/v1/prefill";
    pre = generate_recording(po);
    hars.push_back(pre->har);
  }
  hars.push_back(rec.har);
  std::printf(
      "workload: %zu records in %zu pages of %d (cursor style), %zu duplicates, %zu restatements, %zu "
      "malformed; generated in %.1f s\n",
      rec.expected.records_in, rec.expected.pages, page_size, rec.expected.duplicates,
      rec.expected.restatements, rec.expected.malformed,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  replay_options rop;
  rop.threads = 1;
  auto server = replay_server::start(std::move(hars), rop);
  if (!server) {
    std::cerr << server.error().message << "\n";
    return 1;
  }
  const auto origin = (*server)->origin();

  if (pre) {
    std::ofstream(dir + "/prefill.json") << config_json(pre->endpoint, origin, data_dir);
    auto r = run_child({DSPSYNC_BINARY, "run", "--config", dir + "/prefill.json", "--once", "--log-file",
                        dir + "/prefill.log"},
                       dir + "/prefill.out");
    print_row("prefill", records_in(data_dir, "prefill"), r);
  }
  std::ofstream(dir + "/bench.json") << config_json(rec.endpoint, origin, data_dir);
  auto ours = run_child(
      {DSPSYNC_BINARY, "run", "--config", dir + "/bench.json", "--once", "--log-file", dir + "/bench.log"},
      dir + "/bench.out");
  auto ours_records = records_in(data_dir, "bench");
  if (!WIFEXITED(ours.status) || WEXITSTATUS(ours.status) != 0 || ours_records != rec.expected.records_in) {
    std::cerr << "dspsync run failed (" << ours_records << " of " << rec.expected.records_in << " records):\n"
              << ours.output;
    return 1;
  }
  std::printf("\n");
  print_row("dspsync", ours_records, ours);
  if (python) {
    std::string recipe = std::string(DSPSYNC_SOURCE_DIR) + "/../shared/peers/python_recipe.py";
    auto theirs = run_child({"/usr/bin/python3", recipe, "--url", origin + rec.endpoint.path, "--db",
                             dir + "/peer.db", "--limit", std::to_string(page_size)},
                            dir + "/peer.out");
    if (!WIFEXITED(theirs.status) || WEXITSTATUS(theirs.status) != 0) {
      std::cerr << "python recipe failed (apt-get install python3-httpx python3-pydantic):\n"
                << theirs.output;
      return 1;
    }
    // The recipe's own line: python-recipe records=N quarantined=Q seconds=S records_per_s=R
    std::size_t n = 0;
    if (auto p = theirs.output.find("records="); p != std::string::npos)
      n = std::stoull(theirs.output.substr(p + 8));
    print_row("python-recipe", n, theirs);
    double ratio =
        (static_cast<double>(ours_records) / ours.wall_s) / (static_cast<double>(n) / theirs.wall_s);
    std::printf("\nratio (records/s, dspsync / python recipe): %.1fx\n", ratio);
  }
  (*server)->stop();
  if (keep.empty()) std::filesystem::remove_all(dir);
  return 0;
}
