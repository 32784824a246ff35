#pragma once

#include <memory>

#include "actors/actors.hpp"
#include "config/settlement.hpp"
#include "domain/reconcile.hpp"

namespace dspsync {

/// State of the reconciler: the ledger, the rules' settings and the catalog index it last built
/// (rebuilt only when the catalog version changes).
struct reconciler_state {
  static inline const char* name = "reconciler";
  std::shared_ptr<ledger_store> store;
  settlement_config config;
  std::shared_ptr<const catalog_index> index;
};

/// The reconciler behaviour: routes a request to `ledger_store::reconcile` with domain `reconcile`
/// as the decision, then to the outlier scan.
reconciler_actor::behavior_type reconciler(reconciler_actor::stateful_pointer<reconciler_state> self,
                                           std::shared_ptr<ledger_store> store, settlement_config config);

/// Drives a reconciler from `run`: every `every`, when a catalog is loaded, asks `target` to
/// reconcile what landed since, waiting for each answer before the next interval starts (so runs
/// never queue up behind a slow one). Without a catalog it waits and says so once in the log:
/// deciding against an empty catalog would park every record as "unknown ISRC".
caf::behavior reconcile_scheduler(caf::event_based_actor* self, reconciler_actor target,
                                  std::shared_ptr<ledger_store> store, caf::timespan every);

/// The message of an error an actor answered with (`make_error(sec, text)` keeps it in the context).
std::string error_text(const caf::error& e);

/// Spawns a reconciler in a small actor system of its own, asks it once and waits (commands and
/// the demo, when no engine is running).
expected<reconcile_report> reconcile_once(std::shared_ptr<ledger_store> store,
                                          const settlement_config& config);

}  // namespace dspsync
