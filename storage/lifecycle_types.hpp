#pragma once

// Types of the ledger's lifecycle interface (reconciliation, drift, settlement, reported totals):
// the section "lifecycle: reconciliation and settlement" of ledger_store.hpp, implemented in
// ledger_lifecycle.cpp.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "domain/catalog.hpp"
#include "domain/drift.hpp"
#include "domain/expected.hpp"
#include "domain/reconcile.hpp"
#include "domain/settlement.hpp"

namespace dspsync {

struct stored_record;

/// A reconciler's decision about one record version, as stored (`reconciliations`, by record
/// sequence). Drift seen while deciding is stored apart (`drift`).
struct stored_decision {
  uint64_t record_seq = 0;
  reconcile_decision decision;
  int64_t decided_at_ms = 0;
};

/// Decides one record version (the reconciler passes domain `reconcile` with its catalog).
using decide_fn = std::function<reconcile_decision(const stored_record&)>;

/// What one reconcile run did.
struct reconcile_summary {
  uint64_t catalog_version = 0;
  /// Record versions decided in this run (validated ones, and pending ones revisited).
  uint64_t decided = 0;
  uint64_t reconciled = 0;
  uint64_t pending = 0;
  /// Pending versions decided again because the catalog changed since their last decision...
  uint64_t revisited = 0;
  /// ...and how many of those are reconciled now.
  uint64_t released = 0;
  /// Reconciled through a fuzzy match (at or above the threshold, with the margin).
  uint64_t fuzzy_applied = 0;
  /// New drift events stored (duplicates of an event already stored are not stored again).
  uint64_t drift_events = 0;
  /// Versions pending after this run, by reason (only those decided in this run).
  std::map<std::string, uint64_t> pending_by_reason;
};

/// A state of a reporting period.
struct period_info {
  std::string period;
  /// Settled (and so closed): records arriving for it later become adjustments.
  bool settled = false;
  int64_t settled_at_ms = 0;
  uint64_t regular = 0;
  uint64_t adjustments = 0;
  uint64_t lines = 0;
  /// Records of the period that were still pending or not yet reconciled when it was settled.
  uint64_t left_pending = 0;
  uint64_t left_unreconciled = 0;
  /// Sum of the settled amounts (entries' gross), per record currency.
  std::map<std::string, money> gross_by_currency;
};

/// What the settlement rule gets for one record.
struct settle_input {
  const stored_record* record = nullptr;
  const reconcile_decision* decision = nullptr;
  const recording_entry* recording = nullptr;
  /// Null when the decision names no work (every publishing pool is 0).
  const work_entry* work = nullptr;
  entry_kind kind = entry_kind::regular;
  /// The period being settled.
  std::string period;
  /// The amount and units to settle: the whole record, or the change from what was settled before.
  money gross;
  int64_t units = 0;
};

/// Computes the lines of one entry (the settlement actor passes domain `split_revenue`). The ledger
/// refuses lines whose `net` do not sum exactly to `gross`.
using settle_fn = std::function<expected<std::vector<settled_line>>(const settle_input&)>;

/// What one settle run did.
struct settle_summary {
  std::string period;
  /// The period was settled before: nothing was changed.
  bool already_settled = false;
  period_info info;
};

/// A total that a DSP reported for its own data (a DDEX DSR summary record, a report footer), to be
/// compared with the ledger's aggregates.
struct reported_total {
  /// The source (endpoint or file source) that carried it.
  std::string source;
  std::string dsp;
  std::string period;
  std::string currency;
  uint64_t records = 0;
  int64_t units = 0;
  money revenue;
  /// Where in the source it came from, e.g. `SY02 line 3 of report.tsv`.
  std::string origin;
};

/// One stored drift event with its sequence.
struct stored_drift {
  uint64_t seq = 0;
  drift_event event;
};

}  // namespace dspsync
