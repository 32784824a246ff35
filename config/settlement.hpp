#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/fwd.hpp>

#include "domain/drift.hpp"
#include "domain/reconcile.hpp"
#include "domain/settlement.hpp"

namespace dspsync {

/// Reconciliation and settlement: the config's `settlement` object. Every field has a default.
///
///   "settlement": {
///     "fuzzy_threshold": 0.92,        lowest fuzzy score that may allocate money (0..1]
///     "fuzzy_margin": 0.05,           lead over the runner-up a fuzzy match needs [0..1)
///     "pools": {"master": 80, "mechanical": 10, "performance": 10},
///                                     percent of revenue per right; sum exactly 100; write a
///                                     fractional share as a string ("12.5") so it stays exact
///     "fx_table": "fx/{period}.csv",  the FX table of a period ({period} = YYYY-MM), relative to
///                                     the working directory like data_dir
///     "payee_currencies": {"Holder name": "EUR"},
///     "default_currency": "",         payees not listed: "" = paid in the record's currency
///     "outliers": {"min_group": 8, "min_units": 100, "threshold": 3.5},
///     "reconcile_interval_s": 30      `run` reconciles what landed this often once a catalog
///                                     is loaded (and once more before `run --once` exits); 0 = off
///   }
struct settlement_config {
  double fuzzy_threshold = 0.92;
  double fuzzy_margin = 0.05;
  pool_split pools;
  std::string fx_table = "fx/{period}.csv";
  std::map<std::string, std::string> payee_currencies;
  std::string default_currency;
  outlier_options outliers;
  int reconcile_interval_s = 30;

  /// The FX table file of a period.
  std::string fx_path(const std::string& period) const;
  /// What the reconciler needs.
  reconcile_options reconcile() const;
  /// Who is paid in which currency.
  dspsync::payee_currencies payees() const;
};

/// Reads the `settlement` object at `path` into `out`; every problem is appended to `issues` as
/// (field path, what is wrong), e.g. ("settlement.pools", "expected shares summing to exactly 100,
/// got 95").
void read_settlement_config(const boost::json::value& v, const std::string& path, settlement_config& out,
                            std::vector<std::pair<std::string, std::string>>& issues);

}  // namespace dspsync
