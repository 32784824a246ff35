#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "actors/actors.hpp"
#include "actors/supervisor.hpp"
#include "config/config.hpp"

namespace dspsync {

/// How an engine runs.
struct engine_options {
  /// Run to completion: every endpoint stops once it has caught up (demo, `run --once`, tests).
  bool once = false;
  uint64_t seed = 1;
  /// Replaces the Beast HTTP clients (tests).
  transport_factory make_transport;
  /// Worker threads of the actor system; 0 = one per core.
  std::size_t workers = 0;
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

  const engine_config& config() const { return *config_; }
  std::shared_ptr<ledger_store> store() const { return store_; }

 private:
  engine() = default;
  std::shared_ptr<const engine_config> config_;
  std::shared_ptr<ledger_store> store_;
  std::unique_ptr<network> network_;
  std::unique_ptr<caf::actor_system_config> system_config_;
  std::unique_ptr<caf::actor_system> system_;
  supervisor_actor supervisor_;
  bool stopped_ = false;
};

}  // namespace dspsync
