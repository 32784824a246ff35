#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "domain/expected.hpp"

namespace dspsync {

// Identifiers of the music industry, normalised at the edge. Every function is pure; errors carry the
// `field` name given by the caller and say what was expected, e.g.
// `isrc: expected 12 characters [A-Z]{2}[A-Z0-9]{3}[0-9]{2}[0-9]{5}, got "US-RC1-76-0783"`.

/// Normalises an ISRC: upper-case, strips hyphens, spaces and a leading "ISRC" prefix, then checks
/// `[A-Z]{2}[A-Z0-9]{3}[0-9]{2}[0-9]{5}`. Returns the 12-character form. Fails with `bad_isrc`.
expected<std::string> normalize_isrc(std::string_view raw, std::string_view field = "isrc");

/// True when the ISRC's two-letter prefix is an ISO 3166-1 alpha-2 code or a known non-country
/// prefix allocated by the ISRC agency (QM, QT, QZ, ZZ, ...). An unknown prefix is a warning only.
bool isrc_prefix_known(std::string_view isrc);

/// Normalises a GTIN (UPC-A 12 digits, EAN-13 13 digits, GTIN-14 with a leading 0, EAN-8 is not
/// accepted): strips spaces and hyphens, verifies the mod-10 check digit (weights 3,1 from the
/// right) and returns the 13-digit EAN-13 form (UPC-A left-padded with 0). Fails with `bad_gtin`.
expected<std::string> normalize_gtin(std::string_view raw, std::string_view field = "upc");

/// Normalises an ISWC given as `T-034.524.680-1`, `T0345246801` or with spaces; verifies the check
/// digit (sum = 1 + sum(i * d_i), i = 1..9; check = (10 - sum mod 10) mod 10). Returns the
/// canonical `T-DDD.DDD.DDD-C`. Fails with `bad_iswc`.
expected<std::string> normalize_iswc(std::string_view raw, std::string_view field = "iswc");

/// Options for territory normalisation.
struct territory_options {
  /// Pseudo-territories accepted as they are (after upper-casing), e.g. WW, ZZ, XK, EU.
  std::vector<std::string> pseudo = {"WW", "ZZ", "XK", "EU"};
};

/// Normalises a territory to ISO 3166-1 alpha-2: accepts alpha-2 (any case), alpha-3 (USA, GBR:
/// the full ISO list), `UK` for GB, `Worldwide` / `World` / `WW` for WW, and configured
/// pseudo-territories. Fails with `bad_territory`. The caller keeps the raw value.
expected<std::string> normalize_territory(std::string_view raw, const territory_options& opts = {},
                                          std::string_view field = "territory");

/// An ISO 4217 currency.
struct currency_info {
  /// Three upper-case letters, e.g. USD.
  std::string_view code;
  /// Minor units (decimals): JPY 0, USD 2, KWD 3, CLF 4.
  int minor_units;
};

/// Looks up an active ISO 4217 code (case-insensitive, surrounding spaces ignored). nullptr when
/// unknown.
const currency_info* find_currency(std::string_view code);

/// Normalises a currency code to its upper-case ISO 4217 form. Fails with `bad_currency`.
expected<std::string> normalize_currency(std::string_view raw, std::string_view field = "currency");

/// Normalises a reporting period. Accepts `YYYY-MM` (also `YYYYMM` and `YYYY/MM`), `YYYY`,
/// `YYYY-Qn`, `YYYY-Www` and `YYYY-MM-DD--YYYY-MM-DD`; returns the canonical form (`2026-10`,
/// `2026`, `2026-Q3`, `2026-W07`, `2026-10-01--2026-10-31`). Months 01-12, quarters 1-4, weeks
/// 01-53, real calendar dates with start <= end. Fails with `bad_period`.
expected<std::string> normalize_period(std::string_view raw, std::string_view field = "reporting_period");

}  // namespace dspsync
