// End-to-end benchmark: a generated recording in the cursor style of ../shared/peers/README.md,
// served from the replay server on 127.0.0.1; `dspsync run --once` (durable LMDB) and the Python
// recipe ingest it in the same run; each runs as a child process so its CPU time and peak RSS are
// its own. Prints records/s, CPU-seconds per million records and peak RSS for each, then the ratio.
//
//   bench_e2e [--records N] [--page-size N] [--prefill N] [--no-python] [--keep DIR]
//   bench_e2e --flat [--small N] [--large N] [--rounds R] [--records N] [--keep DIR]
//
// --prefill N first ingests N other records into the same ledger, to show throughput does not
// collapse as the index grows.
//
// --flat measures that target on its own: it prefills two ledgers once (--small, default 100,000
// records, and --large, default 5,000,000), then runs the same recording R times (default 3) on a
// copy of each, alternating which goes first, and prints every run, the median records/s of each
// size and their ratio. All copies are made and flushed to disk before the first run and kept to
// the end (R x ~3 GB under the temporary directory for the defaults), and the prefill recordings
// are let go first, so every run starts from the same state of the machine's memory; on a machine
// whose speed drifts, medians of alternated runs compare the sizes and not the hour.

#include <fcntl.h>
#include <malloc.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

// Writes and reads whole buffers over a pipe; false when the other side is gone.
bool write_all(int fd, const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}
bool read_all(int fd, void* data, std::size_t size) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::read(fd, p, size);
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}
bool write_string(int fd, const std::string& s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  return write_all(fd, &n, sizeof n) && write_all(fd, s.data(), s.size());
}
bool read_string(int fd, std::string& s) {
  uint32_t n = 0;
  if (!read_all(fd, &n, sizeof n)) return false;
  s.resize(n);
  return read_all(fd, s.data(), n);
}

/// What the spawner sends back for one child (plain data: it crosses a pipe as bytes).
struct child_measure {
  int status = -1;
  double wall_s = 0, cpu_s = 0, sys_s = 0, peak_rss_mib = 0, peak_anon_mib = 0;
};

struct child_result : child_measure {
  std::string output;
};

/// Runs `args` with stdout and stderr to `out_file`; waits for it and measures it.
child_measure spawn_and_wait(const std::vector<std::string>& args, const std::string& out_file) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  child_measure m;
  auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    std::fprintf(stderr, "%s: %s\n", argv[0], std::strerror(rc));
    return m;
  }
  // The peak anonymous RSS (heap, stacks: not the ledger's file pages, which the kernel can drop)
  // is sampled from /proc every 10 ms while the child runs; the kernel keeps no high-water mark
  // of it.
  rusage ru{};
  long anon_kib = 0;
  const std::string status_file = "/proc/" + std::to_string(pid) + "/status";
  while (wait4(pid, &m.status, WNOHANG, &ru) == 0) {
    anon_kib = std::max(anon_kib, bench::status_kib(status_file, "RssAnon"));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  m.peak_anon_mib = static_cast<double>(anon_kib) / 1024.0;
  m.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // The system part apart too: on a virtual machine whose host backs guest memory lazily, the
  // kernel's copy of written pages into fresh page-cache pages varies from run to run by up to a
  // second per million records (docs/performance.md, "The machine").
  m.sys_s = bench::seconds(ru.ru_stime);
  m.cpu_s = bench::seconds(ru.ru_utime) + m.sys_s;
  m.peak_rss_mib = static_cast<double>(ru.ru_maxrss) / 1024.0;
  return m;
}

/// Starts the measured children from a small process forked before the benchmark generates its
/// recording. A child's peak RSS (`ru_maxrss`) is at least the RSS of the process it was
/// exec'd from (Linux keeps the replaced image's high-water mark), so children spawned by this
/// process, which holds the recording and the replay server (~680 MiB for 1M records), would all
/// report this process's size instead of their own.
class spawner {
 public:
  /// Forks the spawner; call before the process grows (and before it starts threads).
  spawner() {
    int to[2], from[2];
    if (::pipe(to) != 0 || ::pipe(from) != 0) {
      std::perror("pipe");
      std::exit(1);
    }
    pid_ = ::fork();
    if (pid_ < 0) {
      std::perror("fork");
      std::exit(1);
    }
    if (pid_ == 0) {
      ::close(to[1]);
      ::close(from[0]);
      serve(to[0], from[1]);
      ::_exit(0);
    }
    ::close(to[0]);
    ::close(from[1]);
    to_ = to[1];
    from_ = from[0];
  }
  ~spawner() {
    ::close(to_);  // the spawner reads end of file and exits
    ::close(from_);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  spawner(const spawner&) = delete;
  spawner& operator=(const spawner&) = delete;

  child_measure run(const std::vector<std::string>& args, const std::string& out_file) {
    child_measure m;
    const uint32_t n = static_cast<uint32_t>(args.size());
    bool ok = write_all(to_, &n, sizeof n);
    for (const auto& a : args) ok = ok && write_string(to_, a);
    ok = ok && write_string(to_, out_file) && read_all(from_, &m, sizeof m);
    if (!ok) std::fprintf(stderr, "bench_e2e: the spawner process is gone\n");
    return m;
  }

 private:
  static void serve(int in, int out) {
    for (;;) {
      uint32_t n = 0;
      if (!read_all(in, &n, sizeof n)) return;
      std::vector<std::string> args(n);
      std::string out_file;
      for (auto& a : args)
        if (!read_string(in, a)) return;
      if (!read_string(in, out_file)) return;
      const child_measure m = spawn_and_wait(args, out_file);
      if (!write_all(out, &m, sizeof m)) return;
    }
  }
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
};

child_result run_child(spawner& s, const std::vector<std::string>& args, const std::string& out_file) {
  child_result r;
  static_cast<child_measure&>(r) = s.run(args, out_file);
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
  std::printf(
      "%-16s %10llu records %8.2f s %10.0f records/s %8.2f CPU-s per 1M (%.2f system) "
      "%6.0f MiB peak RSS (%.0f MiB anon)\n",
      who, static_cast<unsigned long long>(records), r.wall_s, static_cast<double>(records) / r.wall_s,
      r.cpu_s / (static_cast<double>(records) / 1e6), r.sys_s / (static_cast<double>(records) / 1e6),
      r.peak_rss_mib, r.peak_anon_mib);
}

/// Runs `dspsync run --config <dir>/<name>.json --once`, its log and output beside the config.
child_result run_engine(spawner& s, const std::string& dir, const std::string& name) {
  const std::string stem = dir + "/" + name;
  return run_child(s,
                   {DSPSYNC_BINARY, "run", "--config", stem + ".json", "--once", "--log-file", stem + ".log"},
                   stem + ".out");
}

/// Whether the run `r` exited 0 having ingested all `expected` records (`n` counted); says why not.
bool ingested_all(const child_result& r, uint64_t n, uint64_t expected) {
  if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0 && n == expected) return true;
  std::cerr << "dspsync run failed (" << n << " of " << expected << " records):\n" << r.output;
  return false;
}

/// Copies the ledger directory `from` to `to` (replacing it) and flushes the copy to disk.
void copy_ledger(const std::string& from, const std::string& to) {
  std::filesystem::remove_all(to);
  std::filesystem::copy(from, to, std::filesystem::copy_options::recursive);
  for (const auto& f : std::filesystem::directory_iterator(to)) {
    const int fd = ::open(f.path().c_str(), O_RDONLY);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n == 0 ? 0 : n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t records = 1'000'000, prefill = 0, small = 100'000, large = 5'000'000;
  int page_size = 1000, rounds = 3;
  bool python = true, flat = false;
  std::string keep;
  bench::options opts(
      "bench_e2e [--records N] [--page-size N] [--prefill N] [--no-python] [--keep DIR]\n"
      "       bench_e2e --flat [--small N] [--large N] [--rounds R] [--records N] [--keep DIR]");
  opts.add("--records", records)
      .add("--page-size", page_size)
      .add("--prefill", prefill)
      .flag("--no-python", python, false)
      .add("--keep", keep)
      .flag("--flat", flat, true)
      .add("--small", small)
      .add("--large", large)
      .add("--rounds", rounds);
  if (!opts.parse(argc, argv)) return 2;
  spawner children;  // before the recording and the replay server make this process large
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
  std::optional<recording> pre, pre_large;
  if (flat) {
    prefill = small;
    python = false;
  }
  // Other records for the ledger before the measured run: endpoint "prefill", served at `path`.
  auto prefill_recording = [&](std::size_t n, uint64_t seed, const char* path) {
    recording_options po = ro;
    po.records = n;
    po.seed = seed;
    po.endpoint_name = "prefill";
    po.dsp = "prefilldsp";
    po.path = path;
    auto r = generate_recording(po);
    hars.push_back(r.har);
    return r;
  };
  if (prefill > 0) pre = prefill_recording(prefill, 7, "/v1/prefill");
  if (flat) pre_large = prefill_recording(large, 8, "/v1/prefill-large");
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
  // Stops serving and removes the working directory (unless --keep), with the exit code `rc`.
  const auto finish = [&](int rc) {
    (*server)->stop();
    if (keep.empty()) std::filesystem::remove_all(dir);
    return rc;
  };

  if (flat) {
    // Prefill each size once, then measure on copies, alternating.
    struct size_case {
      const char* name;
      const recording* prefill;
      std::string seed_dir;
      std::vector<double> rates;
    };
    std::vector<size_case> sizes = {{"small", &*pre, dir + "/small", {}},
                                    {"large", &*pre_large, dir + "/large", {}}};
    for (auto& c : sizes) {
      std::filesystem::create_directories(c.seed_dir);
      std::ofstream(c.seed_dir + "/prefill.json")
          << config_json(c.prefill->endpoint, origin, c.seed_dir + "/ledger");
      auto r = run_engine(children, c.seed_dir, "prefill");
      const std::string label = std::string("prefill ") + c.name;
      print_row(label.c_str(), records_in(c.seed_dir + "/ledger", "prefill"), r);
    }
    // The measured runs need only the measured recording. The prefill ones (~3.5 GB of this
    // process for the defaults) are let go, so that the harness holds no more memory beside the
    // engine than a DSP on another machine would: the run on the large ledger, which maps a
    // gigabyte of it, pays for memory held elsewhere on this machine and the one on the small
    // ledger hardly does (docs/performance.md, "The flat target's method").
    (*server)->stop();
    server = replay_server::start({rec.har}, rop);
    if (!server) {
      std::cerr << server.error().message << "\n";
      return 1;
    }
    for (auto& c : sizes) c.prefill = nullptr;
    pre.reset();
    pre_large.reset();
    ::malloc_trim(0);
    const auto measured_origin = (*server)->origin();
    // Every copy is made, and flushed to disk, before the first measured run, and all are kept to
    // the end. A copy made right before its run (and the deletion of the one before) decides how
    // much of the memory that run allocates the machine has just freed and how much it must fault
    // in afresh, which on this VM costs several times more per page: unequally for the two sizes,
    // since the large copy takes 2.3 GB of the freed memory and the small one 44 MB. Made up front,
    // every run starts from the same state, and no run pays for writing back a copy.
    struct planned_run {
      size_case* size;
      std::string dir;
    };
    std::vector<planned_run> plan;
    // Room for every copy and what each run adds (about 600 bytes per record): checked first, so
    // a full disk is a clear message and not a copy failing half way.
    const auto bytes_in = [](const std::string& d) {
      uintmax_t n = 0;
      for (const auto& f : std::filesystem::directory_iterator(d))
        if (f.is_regular_file()) n += f.file_size();
      return n;
    };
    const uintmax_t needed = static_cast<uintmax_t>(rounds) *
                             (bytes_in(sizes[0].seed_dir + "/ledger") +
                              bytes_in(sizes[1].seed_dir + "/ledger") + 2 * 640 * uintmax_t{records});
    const uintmax_t available = std::filesystem::space(dir).available;
    if (available < needed) {
      std::fprintf(stderr,
                   "bench_e2e --flat: %s has %.1f GiB free; %d rounds need about %.1f GiB (fewer --rounds, "
                   "or --keep DIR elsewhere)\n",
                   dir.c_str(), static_cast<double>(available) / (1 << 30), rounds,
                   static_cast<double>(needed) / (1 << 30));
      return finish(1);
    }
    const auto copy_start = std::chrono::steady_clock::now();
    for (int round = 0; round < rounds; ++round) {
      for (int i = 0; i < 2; ++i) {
        auto& c = sizes[static_cast<std::size_t>(round % 2 == 0 ? i : 1 - i)];
        const std::string run_dir = dir + "/run" + std::to_string(plan.size() + 1);
        std::filesystem::create_directories(run_dir);
        copy_ledger(c.seed_dir + "/ledger", run_dir + "/ledger");
        std::ofstream(run_dir + "/bench.json")
            << config_json(rec.endpoint, measured_origin, run_dir + "/ledger");
        plan.push_back({&c, run_dir});
      }
    }
    uintmax_t copied_bytes = 0;
    for (const auto& p : plan) copied_bytes += bytes_in(p.dir + "/ledger");
    std::printf("\n%zu copies of the ledgers, %.1f GiB, made and flushed in %.1f s before the first run\n\n",
                plan.size(), static_cast<double>(copied_bytes) / (1024.0 * 1024.0 * 1024.0),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - copy_start).count());
    for (const auto& p : plan) {
      const std::string ledger = p.dir + "/ledger";
      const uint64_t before = records_in(ledger, "prefill");
      auto r = run_engine(children, p.dir, "bench");
      const uint64_t n = records_in(ledger, "bench");
      if (!ingested_all(r, n, rec.expected.records_in)) {
        std::cerr << "(its ledger, config and log are kept in " << p.dir << ")\n";
        return 1;
      }
      char label[64];
      std::snprintf(label, sizeof label, "on %llu", static_cast<unsigned long long>(before));
      print_row(label, n, r);
      p.size->rates.push_back(static_cast<double>(n) / r.wall_s);
    }
    const double s = median(sizes[0].rates), l = median(sizes[1].rates);
    std::printf(
        "\nmedian records/s: %.0f on the small ledger, %.0f on the large one: %.2f of it (target: >= 0.80)\n",
        s, l, l / s);
    return finish(0);
  }

  if (pre) {
    std::ofstream(dir + "/prefill.json") << config_json(pre->endpoint, origin, data_dir);
    auto r = run_engine(children, dir, "prefill");
    print_row("prefill", records_in(data_dir, "prefill"), r);
  }
  std::ofstream(dir + "/bench.json") << config_json(rec.endpoint, origin, data_dir);
  auto ours = run_engine(children, dir, "bench");
  auto ours_records = records_in(data_dir, "bench");
  if (!ingested_all(ours, ours_records, rec.expected.records_in)) return 1;
  std::printf("\n");
  print_row("dspsync", ours_records, ours);
  if (python) {
    std::string recipe = std::string(DSPSYNC_SOURCE_DIR) + "/../shared/peers/python_recipe.py";
    auto theirs = run_child(children,
                            {"/usr/bin/python3", recipe, "--url", origin + rec.endpoint.path, "--db",
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
  return finish(0);
}
