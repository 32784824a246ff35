// `dspsync run`: the engine as a service.

#include <cstdlib>
#include <iostream>
#include <vector>

#include "app/cli.hpp"
#include "protocol/log.hpp"

namespace dspsync::cli {

int cmd_run(int argc, char** argv) {
  auto a = parse("run", argc, argv, 2, {"config", "log-file"}, {"once"});
  if (!a) {
    std::cerr << a.error().message << "\n";
    return 2;
  }
  auto path = a->get("config");
  if (!path) {
    std::cerr << "dspsync run: --config FILE is required\n";
    return 2;
  }
  auto cfg = load_config(*path);
  if (!cfg) {
    std::cerr << "dspsync run: " << cfg.error().message << "\n";
    return 2;
  }
  {
    log_settings ls;
    if (auto f = a->get("log-file")) ls.path = *f;
    // DSPSYNC_LOG_LEVEL=debug|info|warn|error (default info): debug logs every page's path.
    if (const char* level = std::getenv("DSPSYNC_LOG_LEVEL")) {
      std::string l = level;
      ls.min_level = l == "debug"   ? log_level::debug
                     : l == "warn"  ? log_level::warn
                     : l == "error" ? log_level::error
                                    : log_level::info;
    }
    configure_log(ls);
  }
  // Block the stop signals before any thread starts, so only the wait below receives them.
  block_stop_signals();
  engine_options eo;
  eo.once = a->has("once");
  auto eng = engine::start(std::move(*cfg), eo);
  if (!eng) {
    std::cerr << "dspsync run: " << eng.error().message << "\n";
    return 1;
  }
  log_event(log_level::info, "engine.started",
            {{"config", *path},
             {"data_dir", (*eng)->config().data_dir},
             {"mode", eo.once ? "once" : "service"},
             {"console", (*eng)->console_address()},
             {"metrics", (*eng)->metrics_url()}});
  // Where an operator reaches the engine (the console is line based: nc or telnet will do).
  if (auto console = (*eng)->console_address(); !console.empty())
    std::cout << "console: " << console << " (one command per line, try: help)\n";
  if (auto metrics = (*eng)->metrics_url(); !metrics.empty()) std::cout << "metrics: " << metrics << "\n";
  std::cout.flush();
  bool signalled = false;
  if (eo.once) {
    while (!(*eng)->wait_done(std::chrono::milliseconds(200)))
      if (wait_for_signal(std::chrono::milliseconds(0))) {
        signalled = true;
        break;
      }
  } else {
    while (!wait_for_signal(std::chrono::seconds(1))) {
    }
    signalled = true;
  }
  // Run to completion: what landed is reconciled before exiting, so `settle` can follow directly.
  if (eo.once && !signalled && (*eng)->config().settlement.reconcile_interval_s > 0) {
    auto r = (*eng)->reconcile_now();
    if (r)
      std::cout << "reconciled: " << r->summary.reconciled << " of " << r->summary.decided
                << " decided, pending " << r->summary.pending << " (catalog version "
                << r->summary.catalog_version << ")\n";
    else
      std::cout << "not reconciled: " << r.error().message << "\n";
  }
  // Run to completion for a cron job: an endpoint that parked or failed did not complete, and the
  // exit code says so (3) after the summary of what did land.
  std::vector<endpoint_status> incomplete;
  if (eo.once && !signalled)
    for (auto& st : (*eng)->status())
      if (st.state != "caught_up") incomplete.push_back(std::move(st));
  log_event(log_level::info, "engine.stopping", {{"reason", signalled ? "signal" : "all endpoints done"}});
  (*eng)->stop();
  auto rows = (*eng)->store()->checkpoints();
  if (!rows) {
    std::cerr << "dspsync run: " << rows.error().message << "\n";
    return 1;
  }
  bool ok = print_summary(std::cout, *rows);
  log_event(log_level::info, "engine.stopped", {});
  if (!ok) return 1;
  if (!incomplete.empty()) {
    for (const auto& st : incomplete)
      std::cout << "endpoint " << st.name << " did not complete: " << st.state
                << (st.reason.empty() ? "" : " (" + st.reason + ")") << "\n";
    return 3;
  }
  return 0;
}

}  // namespace dspsync::cli
