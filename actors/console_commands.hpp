#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "actors/actors.hpp"
#include "config/config.hpp"
#include "protocol/console_protocol.hpp"

namespace dspsync {

struct state_counts_cache;
/// An empty cache of record counts by state.
std::shared_ptr<state_counts_cache> make_state_counts_cache();

/// What the console (and /metrics) reach of a running engine. Storage reads are LMDB read
/// transactions (they never wait for the writer); everything else asks an actor and waits at most
/// `ask_timeout`, so a command answers even while ingestion saturates the machine.
struct console_context {
  caf::actor_system* system = nullptr;
  supervisor_actor supervisor;
  /// The only writer: audit entries and releases from quarantine go through it.
  ledger_actor ledger;
  std::shared_ptr<const ledger_store> store;
  std::shared_ptr<const engine_config> config;
  std::chrono::milliseconds ask_timeout{1000};
  /// Record counts by state need a pass over every record: taken at most every `counts_ttl` and
  /// shared by `/metrics`, `metrics` and `triage`, so frequent scrapes of a big ledger stay cheap.
  std::shared_ptr<struct state_counts_cache> counts_cache = make_state_counts_cache();
  std::chrono::milliseconds counts_ttl{5000};
};

/// The answer to one command: the framed text (ending in `OK` or `ERR ...`), and whether the
/// session ends after it.
struct console_reply {
  std::string text;
  bool close = false;
};

/// Runs one command of an authenticated session; `actor` names the operator in audit entries
/// (`console@ADDRESS:PORT`). Blocks for at most a few asks: call it off the console's I/O thread.
console_reply run_console_command(const console_context& ctx, const console_command& cmd,
                                  const std::string& actor);

/// The engine's Prometheus exposition (what `/metrics` and the `metrics` command serve).
std::string collect_metrics(const console_context& ctx);

}  // namespace dspsync
