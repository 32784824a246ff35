#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/actors.hpp"
#include "actors/budget.hpp"
#include "config/config.hpp"
#include "domain/breaker.hpp"

namespace dspsync {

/// A poller closes its HTTP connection when its next request is at least this far off.
inline constexpr std::chrono::seconds idle_connection_close{30};

/// Everything a poller is started with.
struct poller_setup {
  /// The endpoint, shared with the engine's config (not a copy: 10,000 endpoints are 10,000 configs).
  std::shared_ptr<const endpoint_config> endpoint;
  std::shared_ptr<http_transport> transport;
  /// Read-only use: the committed checkpoint to start from.
  std::shared_ptr<const ledger_store> store;
  ledger_actor ledger;
  std::vector<validator_actor> validators;
  supervisor_actor supervisor;
  /// The endpoint's rate budget: its own, or its group's (shared with other endpoints).
  std::shared_ptr<shared_budget> budget;
  /// No request before this (actor clock, ns): a backoff or Retry-After wait that other events,
  /// such as a commit acknowledgement, must not cut short. The supervisor keeps it across
  /// restarts, so a poller that dies while the DSP asked it to wait (a page that failed to commit,
  /// say) does not come back and ask at once. Made by the poller when not given.
  std::shared_ptr<std::atomic<int64_t>> not_before_ns;
  /// Pages fetched but not yet committed (backpressure bound).
  int max_pages_in_flight = 4;
  /// Stop at the end of the data instead of polling again after `schedule.interval`.
  bool once = false;
  /// Start paused (an operator paused it before a restart).
  bool paused = false;
  /// Seed for backoff jitter (reproducible runs).
  uint64_t seed = 1;
  /// Restarts so far (shown in status, part of correlation ids).
  uint64_t restarts = 0;
};

/// State of one poller.
struct poller_state {
  static inline const char* name = "poller";
  explicit poller_state() : breaker(5, 30'000'000'000) {}
  poller_state(const poller_state&) = delete;
  poller_state& operator=(const poller_state&) = delete;
  /// A request still in flight when the poller ends gives its budget token back as charged.
  ~poller_state() {
    if (fetching && setup.budget) setup.budget->abandoned();
  }
  poller_setup setup;
  circuit_breaker breaker;
  /// The authentication header value; never logged, never in status.
  std::string auth_value;
  /// The committed cursor, and the cursor of the next page to fetch (ahead by the pages in flight).
  std::string committed_cursor;
  std::string fetch_cursor;
  /// An HTTP exchange is in flight (the transport takes one at a time).
  bool fetching = false;
  /// Ignore the response of the exchange in flight (paused, or its cursor was dropped).
  bool discard_response = false;
  /// A page could not be scanned ahead: no further fetch until its validation decides.
  bool blocked = false;
  /// Pipeline: pages are numbered as they arrive, validated in parallel, and committed in order;
  /// a reset (a page failed) bumps the generation so stragglers are dropped.
  uint64_t generation = 0;
  uint64_t next_seq = 0;
  uint64_t next_commit_seq = 0;
  std::map<uint64_t, batch_ptr> ready;
  bool end_reached = false;
  bool stopping = false;
  bool parked = false;
  /// A commit failed because the ledger is full: the endpoint stopped fetching (state `failed`).
  bool ledger_full = false;
  /// Pages fetched and not yet committed (validating, waiting for order, or at the ledger).
  int uncommitted = 0;
  /// Attempts at the current page so far (transport, status or corrupt body); 0 before the first.
  int attempt = 0;
  int corrupt_pages = 0;
  uint64_t timer_generation = 0;
  std::size_t next_validator = 0;
  uint64_t rng = 0;
  uint64_t exchange_no = 0;
  std::string incarnation;
  std::string pending_target;
  int64_t fetch_started_ms = 0;
  /// Wall clock and actor clock when the poller started (see calendar_s in poller.cpp).
  int64_t wall_at_start_ms = 0;
  int64_t clock_at_start_ns = 0;
  /// The previous page's body hash and cursor: a DSP that serves the previous page again for the
  /// next cursor would make offset pagination skip a page, so that is retried, not ingested.
  std::string last_body_sha256;
  std::string last_cursor_before;
  endpoint_status status;
};

/// The poller behaviour: wait for the rate budget and the circuit breaker, fetch, hand the page to
/// a validator, hand the batch to the ledger, advance the cursor when the ledger acknowledges,
/// repeat. Failures back off (full jitter, or the DSP's Retry-After) and are written to the retry
/// ledger; the rules live in domain/backoff, domain/rate_budget and domain/breaker.
poller_actor::behavior_type poller(poller_actor::stateful_pointer<poller_state> self, poller_setup setup);

}  // namespace dspsync
