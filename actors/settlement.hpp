#pragma once

#include <memory>
#include <string>

#include "actors/actors.hpp"
#include "config/settlement.hpp"

namespace dspsync {

/// State of the settlement actor.
struct settlement_state {
  static inline const char* name = "settlement";
  std::shared_ptr<ledger_store> store;
  settlement_config config;
};

/// The settlement behaviour: reads the period's FX table, then routes the request to
/// `ledger_store::settle` with domain `split_revenue` as the rule for every entry.
settlement_actor::behavior_type settlement(settlement_actor::stateful_pointer<settlement_state> self,
                                           std::shared_ptr<ledger_store> store, settlement_config config);

/// Reads the FX table of a period (`config.fx_path(period)`). A missing file gives an empty table
/// whose errors name the file, so a period paid entirely in record currencies needs none.
expected<fx_table> load_fx_table(const settlement_config& config, const std::string& period);

/// Spawns a settlement actor in a small actor system of its own, asks it once and waits.
expected<settle_summary> settle_once(std::shared_ptr<ledger_store> store, const settlement_config& config,
                                     const std::string& period);

}  // namespace dspsync
