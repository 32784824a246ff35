#pragma once

// An engine started in-process against the replay DSP, with its console and HTTP port on
// ephemeral ports: what the console, metrics and secrets tests talk to.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/engine.hpp"
#include "protocol/fault_plan.hpp"
#include "protocol/log.hpp"
#include "protocol/recording.hpp"
#include "protocol/replay_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace dspsync::test {

/// Recordings served by a replay server, and a config that polls them.
struct replay_harness {
  std::vector<recording> recordings;
  std::unique_ptr<replay_server> server;
  engine_config cfg;
};

/// What to generate.
struct harness_options {
  std::size_t records = 600;
  int page_size = 100;
  double malformed_rate = 0.01;
  std::vector<pagination_style> styles = {pagination_style::cursor, pagination_style::offset};
  std::optional<fault_plan> faults;
};

inline replay_harness make_replay_harness(const std::string& data_dir, const harness_options& o = {}) {
  replay_harness h;
  std::vector<har_archive> hars;
  int i = 0;
  for (auto style : o.styles) {
    recording_options ro;
    ro.style = style;
    ro.records = o.records;
    ro.seed = 90 + static_cast<uint64_t>(i);
    ro.page_size = o.page_size;
    ro.malformed_rate = o.malformed_rate;
    ro.endpoint_name = std::string("c-") + to_string(style);
    ro.dsp = "dsp" + std::to_string(i++);
    ro.path = "/v1/" + ro.endpoint_name;
    h.recordings.push_back(generate_recording(ro));
    hars.push_back(h.recordings.back().har);
  }
  replay_options ropts;
  ropts.faults = o.faults;
  h.server = std::move(*replay_server::start(std::move(hars), ropts));
  h.cfg.data_dir = data_dir;
  for (const auto& r : h.recordings) {
    h.cfg.endpoints.push_back(r.endpoint);
    h.cfg.endpoints.back().base_url = h.server->origin();
  }
  return h;
}

/// Starts an engine (run to completion) with the console and HTTP port on ephemeral ports.
inline std::unique_ptr<engine> start_console_engine(const engine_config& cfg, bool once = true) {
  engine_options eo;
  eo.once = once;
  eo.ephemeral_ports = true;
  auto eng = engine::start(cfg, eo);
  EXPECT_TRUE(eng) << eng.error().message;
  if (!eng) return nullptr;
  return std::move(*eng);
}

/// Logs off, or to `path` when given.
inline void quiet_logs(const std::string& path = {}) {
  log_settings s;
  if (path.empty())
    s.quiet = true;
  else {
    s.path = path;
    s.min_level = log_level::debug;
  }
  configure_log(s);
}

}  // namespace dspsync::test
