#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "actors/actors.hpp"
#include "actors/budget.hpp"
#include "config/config.hpp"

namespace dspsync {

/// Makes the HTTP transport of one endpoint (a Beast client in production, a simulated DSP in tests).
using transport_factory = std::function<expected<std::shared_ptr<http_transport>>(const endpoint_config&)>;

/// Everything the supervisor is started with.
struct supervisor_setup {
  std::shared_ptr<const engine_config> config;
  std::shared_ptr<ledger_store> store;
  transport_factory make_transport;
  /// Run to completion: stop polling an endpoint once it has caught up.
  bool once = false;
  uint64_t seed = 1;
  /// Run the ledger on a thread of its own (its commits block on fsync). Deterministic tests on
  /// CAF's test coordinator turn this off.
  bool detach_ledger = true;
  /// Restart intensity (Erlang/OTP): at most `max_restarts` within `restart_window`, else failed.
  int max_restarts = 5;
  std::chrono::seconds restart_window{60};
  /// Delay before a restart, doubled per recent restart, capped.
  std::chrono::milliseconds restart_delay{500};
  std::chrono::milliseconds restart_delay_cap{30'000};
};

/// State of the supervisor.
struct supervisor_state {
  static inline const char* name = "supervisor";
  supervisor_setup setup;
  ledger_actor ledger;
  std::vector<validator_actor> validators;
  /// Running pollers by endpoint name, and the endpoint of each monitored actor.
  std::map<std::string, poller_actor> pollers;
  std::map<caf::actor_addr, std::string> endpoint_of;
  std::map<std::string, endpoint_status> status;
  /// Recent restarts by endpoint, on the actor clock.
  std::map<std::string, std::deque<caf::actor_clock::time_point>> restart_times;
  std::map<std::string, uint64_t> restarts;
  std::vector<caf::typed_response_promise<bool>> waiting;
  /// Rate budgets by group ("group:NAME") or endpoint ("endpoint:NAME"); shared by restarts, so a
  /// crash-looping poller cannot reset its own budget.
  std::map<std::string, std::shared_ptr<shared_budget>> budgets;
  /// Each endpoint's backoff / Retry-After deadline (see `poller_setup::not_before_ns`); kept across
  /// restarts like the budgets.
  std::map<std::string, std::shared_ptr<std::atomic<int64_t>>> not_before;
  /// Endpoints an operator paused (they stay paused across restarts).
  std::set<std::string> paused;
  /// Endpoints an operator restarted: their next down message is not a failure.
  std::set<std::string> operator_restarts;
  bool stopping = false;
  /// A `trim_atom` is on its way (see `idle_memory_release`).
  bool trim_scheduled = false;
};

/// After an endpoint goes idle (caught up, parked, failed), the supervisor gives the allocator's free
/// memory back to the system this much later, once for all that went idle meanwhile: a burst of
/// polls (10,000 endpoints starting at once, a backfill) leaves freed pages in every thread's
/// arena, which an engine of idle endpoints would otherwise keep resident.
inline constexpr std::chrono::seconds idle_memory_release{10};

/// The supervisor behaviour.
supervisor_actor::behavior_type supervisor(supervisor_actor::stateful_pointer<supervisor_state> self,
                                           supervisor_setup setup);

}  // namespace dspsync
