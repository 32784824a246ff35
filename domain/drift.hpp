#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/money.hpp"
#include "domain/record.hpp"

namespace dspsync {

/// What drifted.
enum class drift_kind : uint8_t {
  /// A record's title differs (after normalisation) from its recording's catalog title.
  title_change = 0,
  /// A record's UPC differs from its recording's catalog UPC.
  upc_mismatch = 1,
  /// A record's ISRC is unknown but its title and artists are exactly a catalog recording's: the
  /// DSP reports a reissue (or the catalog lists an older ISRC).
  isrc_reissue = 2,
  /// A newer catalog version names other rights holders (or other shares) than the previous one.
  rights_reassignment = 3,
  /// A record's revenue per unit is far from its (DSP, territory, period) group's median.
  revenue_outlier = 4,
};

/// `title_change`, `upc_mismatch`, ...
const char* to_string(drift_kind kind);

/// One drift event. Both values are kept; nothing is overwritten.
struct drift_event {
  drift_kind kind = drift_kind::title_change;
  /// ISRC, ISWC, or `dsp/territory/period` for an outlier.
  std::string subject;
  /// The value the reference holds: the catalog's title or UPC, the catalog's ISRC, the previous
  /// catalog version's holders, the group's median revenue per unit (and MAD).
  std::string reference_value;
  /// The value observed: the record's title, UPC or ISRC, the new version's holders, the record's
  /// revenue per unit.
  std::string observed_value;
  /// One sentence for operators.
  std::string detail;
  /// Context when a record raised it.
  std::string dsp, territory, period;
  std::optional<record_key> record;
  uint64_t catalog_version = 0;
  int64_t detected_at_ms = 0;
};

/// Median and median absolute deviation of a sample.
struct robust_stats {
  /// Both in the sample's units; an even sample takes the lower middle (exact integers, no halves).
  int64_t median = 0;
  int64_t mad = 0;
  std::size_t n = 0;
};

/// Median and MAD; empty input gives zeros.
robust_stats median_mad(std::vector<int64_t> values);

/// Revenue per unit in 10^-8 currency units, rounded half away from zero; nullopt for 0 units.
std::optional<int64_t> revenue_per_unit(money revenue, int64_t units);

/// When revenue per unit is an outlier.
struct outlier_options {
  /// Smallest group that is judged at all: a median of a handful of rows says little.
  std::size_t min_group = 8;
  /// Rows with fewer |units| are left out of the statistic and never flagged: on a few plays the
  /// rounding of the DSP's amount (1 JPY on 3 streams) dominates the rate.
  int64_t min_units = 100;
  /// The modified z-score (Iglewicz and Hoaglin) above which a row is an outlier.
  double threshold = 3.5;
};

/// A flagged sample.
struct outlier {
  std::size_t index = 0;
  double z = 0;
};

/// The samples whose modified z-score 0.6745 * |x - median| / MAD exceeds the threshold. When the
/// MAD is 0 (more than half the values equal), 1.253314 * mean absolute deviation stands in for it
/// (0.6745 * 1.253314 = 0.7979); when that is 0 too, nothing is flagged.
std::vector<outlier> find_outliers(const std::vector<int64_t>& values, const outlier_options& opts);

}  // namespace dspsync
