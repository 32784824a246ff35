#pragma once

// Every actor interface of dspsync, on one screen. Message flow:
//
//   supervisor ──spawns, monitors, restarts──► poller (one per endpoint)
//   poller ──(response_atom from the network thread)──► itself
//   poller ──validate_atom(batch)──► validator ──► batch with records, keys and next cursor
//   poller ──commit_atom(batch)──► ledger ──► batch_outcome (after the LMDB commit)
//   poller ──progress_atom(status)──► supervisor; engine ──status/wait/stop──► supervisor
//   webhook receiver (service port worker) ──commit_atom(delivery)──► ledger ──► batch_outcome
//
// Pages, never single records, travel between actors. The poller moves its cursor only when the
// ledger has committed the page that the cursor follows.

#include <caf/all.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "domain/batch.hpp"
#include "domain/histogram.hpp"
#include "domain/triage.hpp"
#include "protocol/http_client.hpp"
#include "storage/ledger_store.hpp"

namespace dspsync {

/// A page on its way through the pipeline (shared, never copied).
using batch_ptr = std::shared_ptr<ingest_batch>;
/// An HTTP response handed from the network thread to its poller.
using response_ptr = std::shared_ptr<http_response>;

/// What an endpoint is doing, as the supervisor, the console and the demo show it.
struct endpoint_status {
  std::string name;
  std::string dsp;
  std::string style;
  /// starting | fetching | waiting | backing_off | degraded | circuit_open | caught_up | paused |
  /// parked | restarting | failed | stopped (docs/operations.md says what each means)
  std::string state = "starting";
  /// Why it is backing off, parked or failed.
  std::string reason;
  /// Committed totals and cursor, as of the last commit.
  source_checkpoint totals;
  uint64_t requests = 0;
  uint64_t retries = 0;
  uint64_t restarts = 0;
  /// Circuit breaker: closed | open | half_open.
  std::string circuit = "closed";
  /// Pages fetched but not yet committed.
  int in_flight = 0;
  bool paused = false;
  /// Requests per second the rate budget allows now (after the DSP's own rate-limit hints).
  double rate = 0;
  /// Counts of responses by HTTP status (0 = transport failure).
  std::map<int, uint64_t> responses;
  // --- operator console and metrics ---
  /// Duration of every HTTP exchange (seconds), and every backoff delay chosen (seconds).
  fixed_histogram latency = fixed_histogram::latency_seconds();
  fixed_histogram backoff = fixed_histogram::backoff_seconds();
  /// The last committed pages (records in, quarantined, duplicates): rejection spikes in `triage`.
  recent_pages recent;
};

using validate_atom = caf::atom_constant<caf::atom("validate")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
using response_atom = caf::atom_constant<caf::atom("response")>;
using progress_atom = caf::atom_constant<caf::atom("progress")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using wait_atom = caf::atom_constant<caf::atom("wait")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
using pause_atom = caf::atom_constant<caf::atom("pause")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using cursor_atom = caf::atom_constant<caf::atom("cursor")>;
using attempt_atom = caf::atom_constant<caf::atom("attempt")>;
// --- operator console ---
using release_atom = caf::atom_constant<caf::atom("release")>;
using audit_atom = caf::atom_constant<caf::atom("audit")>;
using ledger_atom = caf::atom_constant<caf::atom("ledger")>;
using trim_atom = caf::atom_constant<caf::atom("trim")>;

/// CAF's error category for dspsync's own codes (`ec`): an error that crosses actors keeps its code,
/// so that a receiver can tell a full ledger from any other failure.
constexpr caf::atom_value error_category = caf::atom("dspsync");

/// A dspsync failure as a CAF error: its code, category `dspsync`, and its message as the context.
inline caf::error to_caf_error(const failure& f) {
  return caf::error(static_cast<uint8_t>(f.code), error_category, caf::make_message(f.message));
}

/// The dspsync code a CAF error carries; `ec::none` for CAF's own errors.
inline ec code_of(const caf::error& e) {
  return e.category() == error_category ? static_cast<ec>(e.code()) : ec::none;
}

/// The message of a CAF error that carries one (its context is a single string), else CAF's text.
inline std::string message_of(const caf::error& e) {
  const auto& ctx = e.context();
  if (ctx.match_elements<std::string>()) return ctx.get_as<std::string>(0);
  return caf::to_string(e);
}

/// The only LMDB writer: folds queued batches into one write transaction (group commit) and
/// answers each with its outcome once the transaction is durable, or with the failure as a
/// `to_caf_error` (a full map is `ec::storage_full`).
/// `attempt_atom` appends to the retry ledger; `cursor_atom` (source, cursor, actor) is an
/// operator's cursor change, audited with the old and new values.
/// Operator console: `release_atom` (quarantine key in hex, the record as re-validated, actor)
/// moves a quarantined record into the ledger; `audit_atom` (kind, actor, subject, details)
/// appends an audit entry for an operator action.
using ledger_actor = caf::typed_actor<
    caf::replies_to<commit_atom, batch_ptr>::with<batch_outcome>,
    caf::reacts_to<attempt_atom, attempt_record>, caf::reacts_to<flush_atom>,
    caf::replies_to<cursor_atom, std::string, std::string, std::string>::with<bool>,
    caf::reacts_to<stop_atom>,
    caf::replies_to<release_atom, std::string, keyed_record, std::string>::with<std::string>,
    caf::replies_to<audit_atom, std::string, std::string, std::string, std::string>::with<bool>>;

/// Maps a fetched page's JSON to records, validates them and derives their keys (a pool).
using validator_actor = caf::typed_actor<caf::replies_to<validate_atom, batch_ptr>::with<batch_ptr>>;

/// Polls one endpoint: owns its cursor, its HTTP connection and its retry timer. `fetch_atom`
/// carries a timer generation so that a superseded timer does nothing.
using poller_actor =
    caf::typed_actor<caf::reacts_to<fetch_atom, uint64_t>, caf::reacts_to<response_atom, response_ptr>,
                     caf::reacts_to<pause_atom>, caf::reacts_to<resume_atom>, caf::reacts_to<stop_atom>>;

/// Spawns and watches the pollers, restarts them within a restart-intensity limit, and knows
/// the status of every endpoint. `wait_atom` answers once every endpoint has caught up or failed
/// (run-to-completion mode). Operator commands (console): pause, resume and restart an endpoint,
/// and set a paused endpoint's cursor; each answers with a line for the operator, or an error that
/// says why it was refused. `restart_atom` with one string is the supervisor's own delayed restart.
/// `ledger_atom` hands out the ledger (the console audits and releases through it).
using supervisor_actor =
    caf::typed_actor<caf::reacts_to<progress_atom, endpoint_status>,
                     caf::replies_to<status_atom>::with<std::vector<endpoint_status>>,
                     caf::replies_to<wait_atom>::with<bool>, caf::reacts_to<stop_atom>,
                     caf::reacts_to<restart_atom, std::string>,
                     caf::replies_to<pause_atom, std::string>::with<std::string>,
                     caf::replies_to<resume_atom, std::string>::with<std::string>,
                     caf::replies_to<restart_atom, std::string, std::string>::with<std::string>,
                     caf::replies_to<cursor_atom, std::string, std::string>::with<std::string>,
                     caf::replies_to<ledger_atom>::with<ledger_actor>, caf::reacts_to<trim_atom>>;

}  // namespace dspsync

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dspsync::batch_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dspsync::response_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dspsync::batch_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dspsync::endpoint_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dspsync::attempt_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<dspsync::endpoint_status>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dspsync::keyed_record)  // operator console

// --- lifecycle: reconciliation and settlement ---
//
//   command / demo ──reconcile_atom──► reconciler ──► reconcile_report (validated -> reconciled |
//                                                      pending_reconciliation, drift events)
//   command / demo ──settle_atom(period)──► settlement ──► settle_summary (reconciled -> settled)
//
//   run: reconcile_scheduler ──reconcile_atom (every settlement.reconcile_interval_s)──► reconciler
//
// Both write through ledger_store's lifecycle methods, one write transaction at a time. LMDB
// serialises them with the ledger's commits (one writer at a time; the audit chain's tail is read
// inside each write transaction), so `run` reconciles while pollers ingest.

namespace dspsync {

using reconcile_atom = caf::atom_constant<caf::atom("reconcile")>;
using settle_atom = caf::atom_constant<caf::atom("settle")>;

/// What one reconcile request did.
struct reconcile_report {
  reconcile_summary summary;
  /// New revenue-per-unit outliers stored as drift.
  uint64_t outliers = 0;
  /// Size of the catalog it decided against.
  uint64_t catalog_recordings = 0;
  uint64_t catalog_works = 0;
};

/// Reconciles records against the current catalog: decides every validated record, revisits the
/// pending ones when the catalog has changed, and flags drift (the rules: domain/reconcile.hpp).
using reconciler_actor = caf::typed_actor<caf::replies_to<reconcile_atom>::with<reconcile_report>>;

/// Settles a closed period: splits every reconciled record among its rights holders, converts into
/// payee currencies, and appends settled entries (the rules: domain/settlement.hpp).
using settlement_actor = caf::typed_actor<caf::replies_to<settle_atom, std::string>::with<settle_summary>>;

}  // namespace dspsync

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dspsync::reconcile_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dspsync::settle_summary)
