#pragma once

// What the benchmark programs share: their `--name value` options, serving a set of recordings
// from one replay server with an engine config that polls them, and mapping a recording's pages
// into ledger batches outside the timing.

#include <sys/time.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "protocol/page_mapper.hpp"
#include "protocol/recording.hpp"
#include "protocol/replay_server.hpp"

namespace dspsync::bench {

/// A field of a /proc status file (`/proc/self/status`, `/proc/PID/status`) in KiB: VmRSS
/// (resident), RssAnon (heap, stacks: what the process owns) or RssFile (file pages mapped and
/// touched: here LMDB's map, which the kernel can drop); -1 when the file or the field is missing.
inline long status_kib(const std::string& status_file, const char* field) {
  std::ifstream in(status_file);
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::stol(line.substr(key.size()));
  return -1;
}

/// A `timeval` (rusage's user and system times) in seconds.
inline double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

/// `--name value` options (and `--name` flags) read into the variables they were declared with.
class options {
 public:
  explicit options(std::string usage) : usage_(std::move(usage)) {}

  options& add(const std::string& name, std::size_t& v) {
    return on(name, [&v](const std::string& s) { v = std::stoull(s); });
  }
  options& add(const std::string& name, int& v) {
    return on(name, [&v](const std::string& s) { v = std::stoi(s); });
  }
  options& add(const std::string& name, double& v) {
    return on(name, [&v](const std::string& s) { v = std::stod(s); });
  }
  options& add(const std::string& name, std::string& v) {
    return on(name, [&v](const std::string& s) { v = s; });
  }
  /// A flag without a value: sets `v` to `value`.
  options& flag(const std::string& name, bool& v, bool value) {
    flags_[name] = [&v, value] { v = value; };
    return *this;
  }

  /// Reads the command line; on an unknown option or a value that is not a number, prints the
  /// usage and returns false.
  bool parse(int argc, char** argv) const {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (auto f = flags_.find(a); f != flags_.end()) {
        f->second();
        continue;
      }
      auto it = values_.find(a);
      if (it == values_.end() || i + 1 >= argc) return usage();
      try {
        it->second(argv[++i]);
      } catch (const std::exception&) {
        return usage();
      }
    }
    return true;
  }

 private:
  options& on(const std::string& name, std::function<void(const std::string&)> set) {
    values_[name] = std::move(set);
    return *this;
  }
  bool usage() const {
    std::cerr << "usage: " << usage_ << "\n";
    return false;
  }

  std::string usage_;
  std::map<std::string, std::function<void(const std::string&)>> values_;
  std::map<std::string, std::function<void()>> flags_;
};

/// A replay server on 127.0.0.1 serving `recs`, and an engine config (data in `data_dir`) whose
/// endpoints are the recordings' own, pointed at it. The recordings' endpoints are moved out.
struct served {
  std::unique_ptr<replay_server> server;
  engine_config config;
};
inline served serve(std::vector<recording>& recs, const std::string& data_dir, replay_options ro = {}) {
  std::vector<har_archive> hars;
  hars.reserve(recs.size());
  for (const auto& r : recs) hars.push_back(r.har);
  auto server = replay_server::start(std::move(hars), std::move(ro));
  if (!server) throw std::runtime_error(server.error().message);
  served out{std::move(*server), {}};
  out.config.data_dir = data_dir;
  for (auto& r : recs) {
    r.endpoint.base_url = out.server->origin();
    out.config.endpoints.push_back(std::move(r.endpoint));
  }
  return out;
}

/// Maps the recording's entries [from, to) into batches as the validators would, continuing from
/// `cursor` (updated to the last page's cursor after).
inline std::vector<ingest_batch> map_pages(const recording& rec, page_mapper& mapper, std::size_t from,
                                           std::size_t to, std::string& cursor) {
  std::vector<ingest_batch> out;
  for (std::size_t i = from; i < to && i < rec.har.entries.size(); ++i) {
    const auto& e = rec.har.entries[i];
    ingest_batch b;
    b.source = rec.endpoint.name;
    b.request = "GET " + e.url;
    b.body = e.response_body;
    b.cursor_before = cursor;
    mapper.map(b);
    cursor = b.cursor_after;
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace dspsync::bench
