#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "domain/catalog.hpp"
#include "domain/drift.hpp"
#include "domain/expected.hpp"
#include "storage/ledger_store.hpp"

namespace dspsync {

/// One load of the catalog, as stored in `catalog_versions`.
struct catalog_version_info {
  uint64_t version = 0;
  int64_t loaded_at_ms = 0;
  /// What was loaded (file names).
  std::string source;
  uint64_t recordings_added = 0, recordings_changed = 0, recordings_unchanged = 0;
  uint64_t works_added = 0, works_changed = 0, works_unchanged = 0;
};

/// What a load changed.
struct catalog_load_report {
  /// The new catalog version, or the current one when nothing changed.
  catalog_version_info info;
  /// False when every entry was already stored as it is: no new version was made.
  bool changed = false;
  /// One line per added or changed entry, e.g. `changed recording USRC17607839: title: "A" -> "B"`.
  std::vector<std::string> changes;
  /// Rights-holder reassignments between the previous and the new version (stored as drift).
  std::vector<drift_event> reassignments;
};

/// The catalog and rights registry, versioned, in the ledger's LMDB environment (databases
/// `catalog_recordings` and `catalog_works`, keyed by identifier then catalog version, and
/// `catalog_versions`). A load that changes anything makes a new catalog version; the versions an
/// entry had before stay stored, so the history is intact and settled entries can name the exact
/// shares they were split by. Entries absent from a load are kept as they are: a load adds and
/// changes, it never deletes.
class catalog_store {
 public:
  explicit catalog_store(ledger_store& ledger) : ledger_(ledger) {}

  /// Stores a load in one write transaction with one audit entry: new and changed entries get the
  /// new version, rights-holder reassignments are stored as drift events. Fails with `bad_value`,
  /// naming them, when the load lists an ISRC or ISWC twice; nothing is stored then.
  expected<catalog_load_report> load(const catalog_data& data, std::string_view source);

  /// The current catalog version (0 before the first load).
  expected<uint64_t> version() const;

  /// The latest version of every recording and work.
  expected<catalog_data> current() const;

  /// Every stored version of a recording / work, oldest first.
  expected<std::vector<recording_entry>> recording_history(std::string_view isrc) const;
  expected<std::vector<work_entry>> work_history(std::string_view iswc) const;

  /// Every catalog version, oldest first.
  expected<std::vector<catalog_version_info>> versions() const;

 private:
  ledger_store& ledger_;
};

}  // namespace dspsync
