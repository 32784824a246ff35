#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "domain/expected.hpp"
#include "domain/money.hpp"
#include "domain/settlement.hpp"

namespace dspsync {

// Statements of a settled period, written as CSV files into one output directory:
//
//   statement-<holder>-<hash>.csv  one per rights holder: every line paid to the holder, with
//       period,entry,original_period,dsp,territory,isrc,title,right_type,role,units,gross,currency,
//       share,net,payee_currency,fx_rate,payee_net
//   summary.csv        one row per holder: lines, payee currency, total, payable amount (the total
//                      rounded half to even to the currency's minor units) and the rounding.
//   totals.csv         per record currency: settled revenue (sum of the entries' gross) against the
//                      sum of every statement line; the difference must be 0.
//   reconciliation.csv per DSP and currency: the ledger's records of the period and where their
//                      money is (settled, pending, not reconciled, waiting for the next period),
//                      against the DSP's own totals where the source gave them, every discrepancy
//                      named.
//
// File names come from payee names, so they are sanitised: only [A-Za-z0-9._-] survive (others
// become `_`), no leading dot, at most 60 characters, then a hash of the full name so that two
// names that sanitise alike never share a file. A name can never lead outside the directory.

/// The file name of a holder's statement.
std::string statement_file_name(const std::string& holder);

/// The DSP's own figures for one (DSP, period, currency), when the source carried them.
struct reported_figures {
  uint64_t records = 0;
  money revenue;
  std::string origin;
};

/// Where the money of one DSP's records of the period (in one currency) is.
struct ledger_figures {
  std::string dsp;
  std::string currency;
  /// Latest versions of every record of the period (quarantined rows have no amount and are counted
  /// apart, per source).
  uint64_t records = 0;
  money revenue;
  /// Settled in this period (regular entries).
  uint64_t settled = 0;
  money settled_revenue;
  /// Restatements of the period's records settled in later periods (their change).
  money adjusted_later;
  uint64_t pending = 0;
  money pending_revenue;
  std::map<std::string, uint64_t> pending_reasons;
  uint64_t unreconciled = 0;
  money unreconciled_revenue;
  /// Reconciled but not settled (arrived or reconciled after the period was settled, or the period
  /// is not settled yet): settles in the next open period.
  uint64_t awaiting = 0;
  money awaiting_revenue;
  /// Adjustments for earlier periods settled into this one.
  uint64_t adjustments_in = 0;
  money adjustments_in_revenue;
  std::optional<reported_figures> reported;
};

/// What was written.
struct statements_written {
  struct holder_total {
    std::string holder;
    std::string file;
    uint64_t lines = 0;
    std::string payee_currency;
    money payee_total;
    money payable;
  };
  std::vector<holder_total> holders;
  /// Per record currency: sum of entries' gross, and of statement lines' net.
  std::map<std::string, money> settled_by_currency;
  std::map<std::string, money> statements_by_currency;
  /// Reconciliation rows with at least one discrepancy.
  uint64_t discrepancies = 0;
  std::vector<std::string> files;
};

/// Writes the statements of `period` into `out_dir` (created if missing). `entries` are the
/// period's settled entries, `figures` the reconciliation inputs, `quarantined` rows kept in
/// quarantine per source. Fails with `io_failure` naming the file.
expected<statements_written> write_statements(const std::string& out_dir, const std::string& period,
                                              const std::vector<settled_entry>& entries,
                                              const std::vector<ledger_figures>& figures,
                                              const std::map<std::string, uint64_t>& quarantined);

/// The discrepancies of one reconciliation row, each named in a sentence; empty when it agrees.
std::vector<std::string> discrepancies(const ledger_figures& f, const std::string& period);

}  // namespace dspsync
