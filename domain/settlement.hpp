#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/catalog.hpp"
#include "domain/expected.hpp"
#include "domain/fx.hpp"
#include "domain/money.hpp"
#include "domain/record.hpp"

namespace dspsync {

// Settlement rules: how a record's revenue becomes amounts per rights holder and right type.
//
// 1. The revenue is split into right pools (master, mechanical, performance) by the configured pool
//    shares, with the largest-remainder rule (domain/splits.hpp).
// 2. Each pool is split among the holders of that right in the record's territory (territory lines
//    replace the default lines) by their shares, again with the largest-remainder rule.
// 3. Each line is converted into its payee's currency (domain/fx.hpp: half-even at 10^-8).
// So the `net` amounts of a record's lines always sum exactly to its revenue, in its currency.

/// How revenue divides between the rights before the holders' shares. Each in share units
/// (100% = share_whole); they must sum to 100%.
struct pool_split {
  int64_t master = 80 * money::one;
  int64_t mechanical = 10 * money::one;
  int64_t performance = 10 * money::one;

  int64_t of(right_type right) const;
};

/// A settled entry is a record's first settlement (regular) or a change after its period was
/// settled: a late record or a restatement (adjustment, in the next open period).
enum class entry_kind : uint8_t { regular = 0, adjustment = 1 };

/// `regular` or `adjustment`.
const char* to_string(entry_kind kind);

/// One holder's amount of one right of one record.
struct settled_line {
  std::string holder;
  std::string role;
  right_type right = right_type::master;
  /// The right's part of the revenue.
  int64_t pool_share = 0;
  /// The holder's part of the right in the record's territory.
  int64_t holder_share = 0;
  /// In the record's currency.
  money net;
  std::string payee_currency;
  /// 1 record currency = fx_rate payee currency, in 10^-8 units.
  int64_t fx_rate = money::one;
  money payee_net;
};

/// One record's settlement: what was paid on it and to whom. Stored append-only, never rewritten.
struct settled_entry {
  /// The period this entry is settled in (statements of that period show it).
  std::string period;
  /// The record's own reporting period (differs for adjustments).
  std::string original_period;
  entry_kind kind = entry_kind::regular;
  record_key key{};
  uint64_t record_seq = 0;
  uint32_t version = 1;
  std::string dsp, territory, isrc, title, currency;
  /// Units and amount settled by this entry: the whole record, or for a restatement the change
  /// from what was settled before.
  int64_t units = 0;
  money gross;
  /// How the recording was found (`isrc` or `fuzzy`) and the catalog versions whose shares apply.
  std::string method;
  std::string recording_isrc;
  uint64_t recording_version = 0;
  std::string iswc;
  uint64_t work_version = 0;
  std::vector<settled_line> lines;
  int64_t settled_at_ms = 0;
};

/// Which currency each payee is paid in.
struct payee_currencies {
  std::map<std::string, std::string> by_holder;
  /// For holders not listed; empty = the record's own currency (no conversion).
  std::string fallback;

  std::string of(const std::string& holder, const std::string& record_currency) const;
};

/// Splits `gross` (steps 1-3 above). Fails with `bad_value` when the shares of a pool with a
/// non-zero pool share do not sum to exactly 100% in `territory`, when a work is needed and
/// missing, or when an FX rate is missing.
expected<std::vector<settled_line>> split_revenue(money gross, const std::string& currency,
                                                  const std::string& territory,
                                                  const recording_entry& recording, const work_entry* work,
                                                  const pool_split& pools, const payee_currencies& payees,
                                                  const fx_table& fx);

/// The combined share of a line (pool share x holder share) as exact decimal percent text:
/// `40%`, `3.3333333333%`.
std::string combined_share(const settled_line& line);

/// The next month of a `YYYY-MM` period; nullopt for any other form.
std::optional<std::string> next_month(std::string_view period);

/// True for a canonical `YYYY-MM`.
bool is_month(std::string_view period);

}  // namespace dspsync
