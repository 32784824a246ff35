#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/expected.hpp"
#include "domain/money.hpp"

namespace dspsync {

// The catalog and rights registry: recordings (ISRC) with their master shares, works (ISWC) with
// their publishing shares (mechanical and performance, optionally per territory). Pure types and
// rules; loading from files is in protocol/catalog_file, storage in storage/catalog_store.

/// A kind of right a royalty pays: the sound recording (master) or the composition, whose
/// publishing splits into mechanical and performance rights.
enum class right_type : uint8_t { master = 0, mechanical = 1, performance = 2 };

/// `master`, `mechanical` or `performance`.
const char* to_string(right_type right);

/// The right with that name (case-insensitive), if any.
std::optional<right_type> right_from_name(std::string_view name);

/// Shares are exact: a percentage with 8 decimals, as an integer. 100% is `share_whole`.
inline constexpr int64_t share_whole = 100 * money::one;

/// Parses a percentage such as `50`, `33.33333333`, `12.5%`. Fails with `bad_value` unless
/// 0 < share <= 100, and with the money parser's errors on bad text or more than 8 decimals.
expected<int64_t> parse_share(std::string_view text, std::string_view field = "share");

/// `97.5%`, `100%`, `33.33333333%`.
std::string format_share(int64_t share);

/// One holder's share of one right, in every territory (empty `territory`) or in one.
struct rights_share {
  /// The rights holder (payee) as named in the registry.
  std::string holder;
  /// label, artist, producer, writer, composer, publisher, ... (free text, shown on statements).
  std::string role;
  right_type right = right_type::master;
  /// ISO 3166-1 alpha-2 (or a pseudo-territory); empty for the default lines.
  std::string territory;
  int64_t share = 0;

  bool operator==(const rights_share& o) const;
  bool operator!=(const rights_share& o) const { return !(*this == o); }
};

/// A sound recording in the catalog.
struct recording_entry {
  std::string isrc;
  std::string title;
  std::vector<std::string> artists;
  /// EAN-13 form of the release's UPC/EAN; may be empty.
  std::string upc;
  /// `YYYY-MM-DD`; may be empty.
  std::string release_date;
  /// Canonical ISWC of the underlying work; empty when the registry does not know it.
  std::string iswc;
  /// Master shares (right == master).
  std::vector<rights_share> master;
  /// The catalog version that introduced this version of the entry (0 before it is stored).
  uint64_t catalog_version = 0;

  /// Same content, whatever the catalog version.
  bool same_content(const recording_entry& o) const;
};

/// A musical work (composition) in the rights registry.
struct work_entry {
  std::string iswc;
  std::string title;
  /// Mechanical and performance shares; a line with a territory replaces the default lines of its
  /// right in that territory.
  std::vector<rights_share> shares;
  uint64_t catalog_version = 0;

  bool same_content(const work_entry& o) const;
};

/// What one load of catalog files holds.
struct catalog_data {
  std::vector<recording_entry> recordings;
  std::vector<work_entry> works;
};

/// The lines of `right` that apply in `territory`: the lines for that territory when there are
/// any, else the default lines (empty territory).
std::vector<const rights_share*> effective_shares(const std::vector<rights_share>& all, right_type right,
                                                  std::string_view territory);

/// Sum of the shares of some lines.
int64_t sum_shares(const std::vector<const rights_share*>& lines);

/// Shares in canonical text, sorted: `Label A (label) master=80%|Nova Lane (artist) master=20%`,
/// territory lines as `... performance@DE=47.5%`. Equal holdings give equal text.
std::string describe_shares(const std::vector<rights_share>& shares);

/// What changed from `before` to `after`, one line per field, e.g. `title: "A" -> "B"`.
std::vector<std::string> describe_changes(const recording_entry& before, const recording_entry& after);
std::vector<std::string> describe_changes(const work_entry& before, const work_entry& after);

/// Normalises an entry's identifiers in place (ISRC, UPC, ISWC, territories, release date) and
/// checks its shares (holder named, right allowed for the entry). Returns every problem found, each
/// prefixed with `where` (e.g. `recordings.csv:12`); empty when the entry is valid. Shares that do
/// not sum to 100% are NOT an error here: that is a legitimate state of the registry, and records
/// wait in pending_reconciliation until it is fixed.
std::vector<std::string> normalize_entry(recording_entry& entry, const std::string& where);
std::vector<std::string> normalize_entry(work_entry& entry, const std::string& where);

}  // namespace dspsync
