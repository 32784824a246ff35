// `dspsync demo`: the whole job on an embedded default, end to end, on the real stack.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "app/cli.hpp"
#include "protocol/log.hpp"
#include "protocol/recording.hpp"
#include "protocol/replay_server.hpp"

namespace dspsync::cli {

namespace {

struct demo_endpoint {
  const char* name;
  const char* dsp;
  pagination_style style;
  std::size_t records;
  int page_size;
  const char* units_field;
};

// Four endpoints, one per pagination style; Apple reports `play_count` instead of `streams`
// (schema drift resolved by the default aliases).
constexpr demo_endpoint demo_endpoints[] = {
    {"spotify-streams", "spotify", pagination_style::cursor, 40'000, 1000, "streams"},
    {"apple-sales", "apple", pagination_style::offset, 25'000, 500, "play_count"},
    {"youtube-usage", "youtube", pagination_style::next_url, 20'000, 1000, "streams"},
    {"deezer-updates", "deezer", pagination_style::updated_since, 20'000, 1000, "streams"},
};

std::string with_commas(uint64_t v) {
  auto s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

}  // namespace

int cmd_demo(int argc, char** argv) {
  auto a = parse("demo", argc, argv, 2, {"data-dir", "scale", "seed"}, {});
  if (!a) {
    std::cerr << a.error().message << "\n";
    return 2;
  }
  uint64_t scale = 1;
  if (auto s = a->get("scale")) {
    auto v = to_uint(*s, "--scale");
    if (!v || *v == 0) {
      std::cerr << "dspsync demo: --scale: expected a whole number >= 1, got \"" << *s << "\"\n";
      return 2;
    }
    scale = *v;
  }
  uint64_t seed = 7;
  if (auto s = a->get("seed")) {
    auto v = to_uint(*s, "--seed");
    if (!v) {
      std::cerr << "dspsync demo: " << v.error().message << "\n";
      return 2;
    }
    seed = *v;
  }
  // A fresh data directory unless the user names one (then a second run shows every record as a
  // duplicate: exactly-once across runs).
  std::string data_dir;
  bool temporary = false;
  if (auto d = a->get("data-dir")) {
    data_dir = *d;
  } else {
    char tmpl[] = "/tmp/dspsync-demo-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      std::perror("dspsync demo: cannot create a temporary data directory");
      return 1;
    }
    data_dir = tmpl;
    temporary = true;
  }
  std::error_code fs_ec;
  std::filesystem::create_directories(data_dir, fs_ec);
  log_settings ls;
  ls.path = data_dir + "/dspsync.log";
  if (std::getenv("DSPSYNC_DEBUG") != nullptr) ls.min_level = log_level::debug;
  configure_log(ls);

  std::cout << "dspsync demo: generating recordings for " << std::size(demo_endpoints) << " endpoints..."
            << std::endl;
  std::vector<har_archive> hars;
  std::vector<recording_counts> expected_counts;
  engine_config cfg;
  cfg.data_dir = data_dir;
  // The demo walks the back half step by step (load, reconcile, fix the catalog, reconcile, settle)
  // and prints each step's figures: no background reconciliation in between.
  cfg.settlement.reconcile_interval_s = 0;
  uint64_t expected_in = 0;
  std::vector<recording_options> recorded;  // the catalog is built for these (demo_settlement)
  for (const auto& d : demo_endpoints) {
    recording_options ro;
    ro.style = d.style;
    ro.records = d.records * scale;
    ro.seed = seed + static_cast<uint64_t>(d.style);
    ro.page_size = d.page_size;
    ro.endpoint_name = d.name;
    ro.dsp = d.dsp;
    ro.origin = std::string("https://api.") + d.dsp + ".example";
    ro.units_field = d.units_field;
    // One replay server stands in for every DSP and matches on path and query only, so each
    // endpoint gets a path of its own.
    ro.path = std::string("/v1/") + d.name;
    recorded.push_back(ro);
    auto rec = generate_recording(ro);
    expected_in += rec.expected.records_in;
    expected_counts.push_back(rec.expected);
    hars.push_back(std::move(rec.har));
    // The replay DSP is local: a generous budget, so the demo shows the pipeline, not the throttle.
    rec.endpoint.rate.requests_per_second = 2000;
    rec.endpoint.rate.burst = 100;
    cfg.endpoints.push_back(std::move(rec.endpoint));
  }
  auto server = replay_server::start(std::move(hars));
  if (!server) {
    std::cerr << "dspsync demo: cannot start the replay DSP: " << server.error().message << "\n";
    return 1;
  }
  for (auto& ep : cfg.endpoints) ep.base_url = (*server)->origin();
  std::cout << "dspsync demo: replay DSP on " << (*server)->origin() << ", data in " << data_dir << "\n"
            << "dspsync demo: ingesting " << with_commas(expected_in)
            << " records (durable LMDB, exactly once)..." << std::endl;

  auto started = std::chrono::steady_clock::now();
  engine_options eo;
  eo.once = true;
  eo.seed = seed;
  auto eng = engine::start(cfg, eo);
  if (!eng) {
    std::cerr << "dspsync demo: " << eng.error().message << "\n";
    return 1;
  }
  bool tty = ::isatty(STDOUT_FILENO) != 0;
  auto last_line = started;
  while (!(*eng)->wait_done(std::chrono::milliseconds(tty ? 200 : 1000))) {
    uint64_t in = 0;
    std::string states;
    for (const auto& s : (*eng)->status()) {
      in += s.totals.records_in;
      states += " " + s.name + ":" + s.state;
    }
    auto now = std::chrono::steady_clock::now();
    double secs = std::chrono::duration<double>(now - started).count();
    char line[256];
    std::snprintf(line, sizeof line, "[%3.0f%%] %s / %s records  %8.0f records/s ",
                  expected_in ? 100.0 * static_cast<double>(in) / static_cast<double>(expected_in) : 100.0,
                  with_commas(in).c_str(), with_commas(expected_in).c_str(),
                  secs > 0 ? static_cast<double>(in) / secs : 0.0);
    if (tty) {
      std::cout << "\r" << line << std::flush;
    } else if (now - last_line >= std::chrono::seconds(1)) {
      std::cout << line << states << "\n" << std::flush;
      last_line = now;
    }
  }
  auto statuses = (*eng)->status();
  (*eng)->stop();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (tty) std::cout << "\r" << std::string(70, ' ') << "\r";
  (*server)->stop();

  auto rows = (*eng)->store()->checkpoints();
  if (!rows) {
    std::cerr << "dspsync demo: " << rows.error().message << "\n";
    return 1;
  }
  std::cout << "\n";
  bool ok = print_summary(std::cout, *rows);
  uint64_t total_in = 0;
  for (const auto& [name, c] : *rows) total_in += c.records_in;
  for (const auto& s : statuses)
    if (s.state != "caught_up") {
      std::cout << "endpoint " << s.name << " ended " << s.state << ": " << s.reason << "\n";
      ok = false;
    }
  // Against what the generator planted: every duplicate, restatement and malformed record found.
  if (!a->has("data-dir") || temporary) {
    for (std::size_t i = 0; i < cfg.endpoints.size(); ++i) {
      const auto& want = expected_counts[i];
      for (const auto& [name, got] : *rows) {
        if (name != cfg.endpoints[i].name) continue;
        bool match = got.records_in == want.records_in && got.inserted == want.unique &&
                     got.restatements == want.restatements && got.duplicates == want.duplicates &&
                     got.quarantined == want.malformed;
        if (!match) {
          std::cout << "endpoint " << name << " differs from the recording's planted counts (in "
                    << want.records_in << ", new " << want.unique << ", restated " << want.restatements
                    << ", duplicates " << want.duplicates << ", quarantined " << want.malformed << ")\n";
          ok = false;
        }
      }
    }
  }
  char figures[200];
  std::snprintf(figures, sizeof figures,
                "\n%s records in %.2f s: %.0f records/s end to end (durable), peak RSS %.0f MiB\n",
                with_commas(total_in).c_str(), secs, secs > 0 ? static_cast<double>(total_in) / secs : 0.0,
                peak_rss_mib());
  std::cout << figures;
  // The back half: reconcile against the bundled catalog, settle the period, print the statements.
  if (!demo_settlement(std::cout, (*eng)->store(), recorded, data_dir)) ok = false;
  if (temporary) {
    eng->reset();
    std::filesystem::remove_all(data_dir, fs_ec);
  } else {
    std::cout << "data kept in " << data_dir << " (log: " << ls.path << ")\n";
  }
  std::cout << (ok ? "demo: OK\n" : "demo: FAILED\n");
  return ok ? 0 : 1;
}

}  // namespace dspsync::cli
