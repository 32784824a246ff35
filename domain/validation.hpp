#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/expected.hpp"
#include "domain/identifiers.hpp"
#include "domain/record.hpp"

namespace dspsync {

/// The canonical fields a source maps onto a record, in a fixed order.
enum class field : uint8_t {
  isrc,
  upc,
  iswc,
  territory,
  reporting_period,
  units,
  revenue,
  currency,
  transaction_id,
  title,
  artists,
};

/// Number of canonical fields.
inline constexpr std::size_t field_count = 11;

/// Canonical name of a field, e.g. `reporting_period`.
std::string_view field_name(field f);

/// The field with that canonical name, if any.
std::optional<field> field_from_name(std::string_view name);

/// The raw text of each canonical field as it arrived; views into the source's bytes. Absent fields
/// are nullopt. A multi-valued `artists` cell arrives as separate views.
struct raw_fields {
  std::array<std::optional<std::string_view>, field_count> values;
  std::vector<std::string_view> artists;

  std::optional<std::string_view>& operator[](field f) { return values[static_cast<std::size_t>(f)]; }
  const std::optional<std::string_view>& operator[](field f) const {
    return values[static_cast<std::size_t>(f)];
  }
  void clear() {
    values.fill(std::nullopt);
    artists.clear();
  }
};

/// What validation decided about one record.
enum class verdict : uint8_t {
  /// Every gate passed: the record is `validated`.
  valid,
  /// A fixable data fault (bad UPC check digit, unknown territory, missing units, bad ISWC): the
  /// record is kept, in `pending_reconciliation`, with its reasons.
  pending,
  /// Corrupt (missing key field, bad ISRC, bad currency, broken number, bad period): quarantine.
  corrupt,
};

/// The outcome of validating one record. Reused between records to avoid allocations.
struct validation_result {
  verdict outcome = verdict::valid;
  royalty_record record;
  /// Why the record is pending or corrupt; every fault found, not only the first.
  std::vector<failure> faults;
  /// Things worth knowing that change nothing (an ISRC prefix that is not a known country).
  std::vector<std::string> warnings;
};

/// What validation needs besides the record.
struct validation_context {
  /// The DSP that reported the record.
  std::string_view dsp;
  territory_options territories;
};

/// Validates and normalises one record's raw fields into `out`. Every field of `out.record` is
/// assigned unless the outcome is `corrupt`, so a caller may move the record out between calls.
void validate(const raw_fields& in, const validation_context& ctx, validation_result& out);

/// The same with the record written to `rec` (every field of it, unless the outcome is `corrupt`)
/// instead of `out.record`: a caller building a batch validates straight into its place there.
void validate(const raw_fields& in, const validation_context& ctx, validation_result& out,
              royalty_record& rec);

}  // namespace dspsync
