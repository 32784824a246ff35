#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "actors/actors.hpp"
#include "actors/console.hpp"
#include "actors/reconciler.hpp"
#include "actors/supervisor.hpp"
#include "config/config.hpp"
#include "protocol/service_server.hpp"

namespace dspsync {

/// How an engine runs.
/// Worker threads for the actor system: `requested` (engine_options) if set, else `configured`
/// (`pipeline.workers`) if set, else one per core and at least 2 (`cores` 0 = unknown).
std::size_t worker_count(std::size_t requested, int configured, unsigned cores);

struct engine_options {
  /// Run to completion: every endpoint stops once it has caught up (demo, `run --once`, tests).
  bool once = false;
  uint64_t seed = 1;
  /// Replaces the Beast HTTP clients (tests).
  transport_factory make_transport;
  /// Worker threads of the actor system; 0 = `pipeline.workers` from the configuration.
  std::size_t workers = 0;
  // --- operator console and metrics ---
  /// Start the console and the HTTP port even where their configured port is 0 (which otherwise
  /// means "off"), each on an ephemeral port: see `console_port()` and `http_port()` (tests).
  bool ephemeral_ports = false;
};

/// A running dspsync engine: the actor system, the network thread, the ledger and the supervisor
/// with its pollers. Start it, watch it, stop it.
class engine {
 public:
  /// Opens the ledger in `cfg.data_dir` and starts every endpoint. Fails with a message when the
  /// data directory cannot be used.
  static expected<std::unique_ptr<engine>> start(engine_config cfg, engine_options opts = {});
  ~engine();

  /// The current status of every endpoint (empty after stop).
  std::vector<endpoint_status> status();

  /// In run-to-completion mode: waits until every endpoint has caught up, parked or failed.
  /// False on timeout.
  bool wait_done(std::chrono::milliseconds timeout);

  /// Stops polling, lets committed work finish and in-flight fetches go, and waits for every actor.
  void stop();

  /// Reconciles what has landed against the current catalog now and waits for the answer (`run
  /// --once` before it exits, tests). Fails without a loaded catalog.
  expected<reconcile_report> reconcile_now();

  const engine_config& config() const { return *config_; }
  std::shared_ptr<ledger_store> store() const { return store_; }

  // --- operator console and metrics ---
  /// The console's bound port and `ADDRESS:PORT`; 0 and empty when it is off.
  uint16_t console_port() const;
  std::string console_address() const;
  /// The service HTTP port and the URL of its /metrics; 0 and empty when it is off.
  uint16_t http_port() const;
  std::string metrics_url() const;

 private:
  engine() = default;
  std::shared_ptr<const engine_config> config_;
  std::shared_ptr<ledger_store> store_;
  std::unique_ptr<network> network_;
  std::unique_ptr<caf::actor_system_config> system_config_;
  std::unique_ptr<caf::actor_system> system_;
  supervisor_actor supervisor_;
  // Live reconciliation (settlement.reconcile_interval_s): the reconciler and what drives it.
  reconciler_actor reconciler_;
  caf::actor reconcile_scheduler_;
  bool stopped_ = false;
  // --- operator console and metrics --- (stopped before the actor system they ask)
  std::unique_ptr<console_server> console_;
  std::unique_ptr<service_server> service_;
};

}  // namespace dspsync
