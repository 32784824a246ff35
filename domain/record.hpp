#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/money.hpp"

namespace dspsync {

/// Where a record is in its lifecycle. `ingested -> validated -> reconciled -> settled`, with the
/// side states `pending_reconciliation` (a fixable data fault) and `quarantined` (corrupt).
enum class record_state : uint8_t {
  ingested = 0,
  validated = 1,
  pending_reconciliation = 2,
  reconciled = 3,
  settled = 4,
  quarantined = 5,
};

/// `ingested`, `validated`, ...
const char* to_string(record_state state);

/// The SHA-256 idempotency key of a record.
using record_key = std::array<uint8_t, 32>;

/// Lower-case hex of a key.
std::string to_hex(const record_key& key);
/// The value of one hex digit (either case), or -1 when `c` is not one.
int hex_digit(char c);
/// The key written as exactly 64 hex digits (either case), as `to_hex` writes it; nullopt otherwise.
std::optional<record_key> key_from_hex(std::string_view hex);

/// One usage line as reported by a DSP: normalised identifiers, exact money.
struct royalty_record {
  /// 12-character ISRC.
  std::string isrc;
  /// 13-digit EAN-13 form of the UPC/EAN; raw text when it failed its check (see `faults`).
  std::string upc;
  /// Canonical ISWC, often empty.
  std::string iswc;
  /// The DSP that reported it (from the endpoint or source).
  std::string dsp;
  /// ISO 3166-1 alpha-2 or a pseudo-territory; `territory_raw` keeps what the DSP sent.
  std::string territory;
  std::string territory_raw;
  /// Canonical reporting period, e.g. 2026-10.
  std::string reporting_period;
  /// The DSP's own line identifier.
  std::string transaction_id;
  /// ISO 4217 code.
  std::string currency;
  std::string title;
  std::vector<std::string> artists;
  /// Streams, downloads or plays; may be negative on a correction.
  int64_t units = 0;
  /// Net revenue; negative on voids, refunds and corrections.
  money revenue;

  bool operator==(const royalty_record& o) const;
  bool operator!=(const royalty_record& o) const { return !(*this == o); }
};

}  // namespace dspsync
