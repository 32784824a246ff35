#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "domain/catalog.hpp"
#include "domain/drift.hpp"
#include "domain/matching.hpp"
#include "domain/record.hpp"
#include "domain/settlement.hpp"

namespace dspsync {

// The reconciliation decision: `validated -> reconciled` when the record's ISRC resolves to a
// recording (or a fuzzy proposal is strong enough), the recording to its work, and every right with
// a non-zero pool has shares summing to exactly 100% in the record's territory; otherwise the record
// waits in `pending_reconciliation` with the reason.

/// Why a record waits.
enum class pending_reason : uint8_t {
  none = 0,
  /// The ISRC is not in the catalog and no fuzzy candidate came close.
  unknown_isrc = 1,
  /// The ISRC is unknown; the best fuzzy candidate scores below the threshold (proposal kept).
  fuzzy_below_threshold = 2,
  /// The ISRC is unknown; two candidates are too close to tell apart (proposal kept).
  fuzzy_ambiguous = 3,
  /// The recording has no ISWC in the catalog.
  missing_iswc = 4,
  /// The recording's ISWC is not in the rights registry.
  unknown_work = 5,
  /// Master shares do not sum to 100%.
  master_shares_incomplete = 6,
  /// Mechanical shares do not sum to 100% in the record's territory.
  mechanical_shares_incomplete = 7,
  /// Performance shares do not sum to 100% in the record's territory.
  performance_shares_incomplete = 8,
};

/// `unknown_isrc`, `missing_iswc`, ...
const char* to_string(pending_reason reason);

/// The reason with that name, if any.
std::optional<pending_reason> pending_reason_from_name(std::string_view name);

/// A fuzzy proposal, kept whether or not it was applied.
struct match_proposal {
  std::string isrc;
  double score = 0;
  /// The runner-up, if there was one.
  std::string runner_up_isrc;
  double runner_up_score = 0;
};

/// What the reconciler decided for one record version.
struct reconcile_decision {
  /// `reconciled` or `pending_reconciliation`.
  record_state state = record_state::pending_reconciliation;
  pending_reason reason = pending_reason::none;
  /// What is wrong, naming identifiers, values and territory; empty when reconciled.
  std::string message;
  /// `isrc` (exact) or `fuzzy`; empty when no recording was found.
  std::string method;
  /// The recording and work whose shares apply, with their catalog versions.
  std::string recording_isrc;
  uint64_t recording_version = 0;
  std::string iswc;
  uint64_t work_version = 0;
  std::optional<match_proposal> proposal;
  /// The catalog version the decision was made against.
  uint64_t catalog_version = 0;
  /// Drift seen while deciding (title change, UPC mismatch, ISRC reissue).
  std::vector<drift_event> drift;
};

/// The current catalog, indexed for look-ups by ISRC, ISWC and fuzzy title/artist.
class catalog_index {
 public:
  catalog_index() = default;
  catalog_index(std::vector<recording_entry> recordings, std::vector<work_entry> works, uint64_t version);

  const recording_entry* recording(std::string_view isrc) const;
  const work_entry* work(std::string_view iswc) const;
  /// The best fuzzy candidates for a track, best first. Answers are cached per normalised track
  /// (a DSP reports the same track in many rows): not thread-safe, one index per reconciler.
  std::vector<std::pair<const recording_entry*, double>> candidates(const normalized_track& track,
                                                                    std::size_t n) const;
  const normalized_track& normalized(const recording_entry& r) const;
  uint64_t version() const { return version_; }
  std::size_t recordings() const { return recordings_.size(); }
  std::size_t works() const { return works_.size(); }

 private:
  std::vector<recording_entry> recordings_;
  std::vector<normalized_track> normalized_;
  std::vector<work_entry> works_;
  std::unordered_map<std::string, std::size_t> by_isrc_, by_iswc_;
  track_index fuzzy_;
  uint64_t version_ = 0;
  mutable std::unordered_map<std::string, std::vector<scored_candidate>> cache_;
};

/// What the decision depends on besides the catalog.
struct reconcile_options {
  fuzzy_options fuzzy;
  /// Rights with a zero pool need no complete shares.
  pool_split pools;
};

/// Decides one record.
reconcile_decision reconcile(const royalty_record& record, const catalog_index& catalog,
                             const reconcile_options& opts);

}  // namespace dspsync
