#pragma once

#include <cstdint>
#include <string>

namespace dspsync {

/// The one error enum of dspsync. Every failure that reaches a user carries one of these codes and a
/// message that names the input, the field and what was expected.
enum class ec : uint8_t {
  /// No error.
  none = 0,
  /// A required field is absent from a record or a config object.
  missing_field,
  /// An ISRC does not match `[A-Z]{2}[A-Z0-9]{3}[0-9]{2}[0-9]{5}` after normalisation.
  bad_isrc,
  /// A UPC-A / EAN-13 / GTIN has the wrong length, a non-digit or a wrong check digit.
  bad_gtin,
  /// An ISWC has the wrong shape or a wrong check digit.
  bad_iswc,
  /// A territory code is neither ISO 3166-1 (alpha-2 or alpha-3) nor a configured pseudo-territory.
  bad_territory,
  /// A currency code is not in ISO 4217.
  bad_currency,
  /// A reporting period is not `YYYY-MM`, `YYYY`, `YYYY-Qn`, `YYYY-Www` or `start--end`.
  bad_period,
  /// A number's text is not a decimal number.
  bad_number,
  /// An amount has more decimals than the money type holds; never rounded silently.
  amount_precision,
  /// An amount or a sum does not fit the money type.
  amount_overflow,
  /// A field has the wrong JSON type or an invalid value.
  bad_value,
  /// A document is not valid JSON (or is truncated).
  bad_json,
  /// A page's records array is missing or is not an array.
  missing_records,
  /// A configuration file is invalid.
  bad_config,
  /// An HTTP exchange failed (connect, TLS, timeout, reset, malformed response).
  transport_failure,
  /// A storage operation failed (LMDB error, I/O error, map full).
  storage_failure,
  /// A file could not be read or written.
  io_failure,
  /// A HAR recording is not valid HAR 1.2.
  bad_har,
  /// A command-line argument is invalid.
  bad_argument,
  /// A webhook delivery is not authentic: its signature or timestamp header is missing or malformed,
  /// or the signature does not match its body.
  bad_signature,
  /// The ledger's LMDB map is full (`MDB_MAP_FULL`): nothing more is stored until `map_size_mib`
  /// grows and the engine restarts.
  storage_full,
};

/// The last code (quarantine entries store codes by name and are decoded by walking all of them).
inline constexpr ec last_ec = ec::storage_full;

/// The short, stable name of an error code, e.g. `bad_isrc`.
const char* to_string(ec code);

}  // namespace dspsync
