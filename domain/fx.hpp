#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "domain/expected.hpp"
#include "domain/money.hpp"

namespace dspsync {

// Currency conversion for settlement. A period has one FX table (a file); amounts are converted
// into each payee's currency with this rule, applied to every statement line:
//
//   payee_amount = amount * rate, rounded to 8 decimals (the money scale) half to even.
//
// Rates are exact decimals with at most 8 decimals (`1 FROM = rate TO`), never binary floats.
// Because each line is rounded once and a statement total is the sum of its lines, a statement
// always adds up; the payable amount is that total rounded half to even to the payee currency's
// minor units (see `round_half_even`), and the difference is shown, never dropped silently.

/// The exchange rates of one period.
class fx_table {
 public:
  /// Adds `1 from = rate to` (rate in 10^-8 units, > 0). Fails with `bad_value` on a second,
  /// different rate for the same pair.
  status add(std::string_view from, std::string_view to, int64_t rate);

  /// The rate from one currency to another in 10^-8 units: 10^8 for the same currency, the listed
  /// rate otherwise. An inverse is never derived (it would need rounding): a missing pair fails
  /// with `bad_value`, naming the pair and `source`.
  expected<int64_t> rate(std::string_view from, std::string_view to) const;

  /// Parses a table: CSV with a header `from,to,rate` (any column order; `#` starts a comment
  /// line), ISO 4217 codes, rates as decimal text. Every error is reported with its line.
  static expected<fx_table> parse_csv(std::string_view text, std::string_view source);

  std::size_t size() const { return rates_.size(); }
  const std::string& source() const { return source_; }

 private:
  std::map<std::pair<std::string, std::string>, int64_t> rates_;
  std::string source_;
};

/// `amount * rate` (rate in 10^-8 units), rounded half to even at 10^-8. Fails with
/// `amount_overflow` when the result does not fit.
expected<money> convert(money amount, int64_t rate);

/// Rounds to `decimals` places (0..8), half to even: 0.125 -> 0.12, 0.135 -> 0.14, -0.125 -> -0.12.
money round_half_even(money amount, int decimals);

}  // namespace dspsync
