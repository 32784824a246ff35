#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "domain/expected.hpp"

namespace dspsync {

/// An exact, signed amount of money: an integer count of 10^-8 units of its currency. Parsed from
/// the decimal text a DSP sent, never through a binary float. Negative amounts are legitimate
/// (voids, refunds, corrections). Range: about +/- 92 billion units.
class money {
 public:
  /// Decimal places held. An amount with more (non-zero) decimals is an error, never rounded.
  static constexpr int scale = 8;
  /// 10^scale.
  static constexpr int64_t one = 100'000'000;

  constexpr money() = default;

  /// An amount from its count of 10^-8 units.
  static constexpr money from_units(int64_t units) {
    money m;
    m.units_ = units;
    return m;
  }

  /// Parses decimal text such as `12.3456`, `-0.5`, `+3`, `.5`, `1.25e-3`, `1E2`. Fails with
  /// `bad_number` on anything else (empty, `1.2.3`, `1,5`, `NaN`, spaces), with `amount_precision`
  /// when more than 8 non-zero decimals are needed, with `amount_overflow` when out of range.
  /// `field` names the input in the error message.
  static expected<money> parse(std::string_view text, std::string_view field = "amount");

  /// The count of 10^-8 units.
  constexpr int64_t units() const { return units_; }

  /// Canonical text: `-12.5`, `0`, `3.00000001` (no exponent, no trailing zeros, no trailing dot).
  std::string to_string() const;

  /// Text with exactly `decimals` places (0..8); fails with `amount_precision` if that would drop
  /// non-zero digits.
  expected<std::string> to_string(int decimals) const;

  /// Checked addition; fails with `amount_overflow`.
  expected<money> checked_add(money other) const;

  constexpr bool operator==(money o) const { return units_ == o.units_; }
  constexpr bool operator!=(money o) const { return units_ != o.units_; }
  constexpr bool operator<(money o) const { return units_ < o.units_; }

 private:
  int64_t units_ = 0;
};

}  // namespace dspsync
