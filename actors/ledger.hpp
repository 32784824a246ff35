#pragma once

#include <memory>
#include <vector>

#include "actors/actors.hpp"

namespace dspsync {

/// State of the ledger actor: the store and the batches waiting for the next group commit.
struct ledger_state {
  static inline const char* name = "ledger";
  std::shared_ptr<ledger_store> store;
  int max_batches_per_commit = 64;
  struct waiting {
    batch_ptr batch;
    caf::typed_response_promise<batch_outcome> promise;
  };
  std::vector<waiting> queue;
  /// Retry-ledger entries waiting for the next flush.
  std::vector<attempt_record> attempts;
  /// A flush message is already in the mailbox: everything queued before it rides along.
  bool flush_scheduled = false;
  bool stopping = false;
  /// The ledger is full (a write failed with `ec::storage_full`) and the alert was raised; a page
  /// commit that succeeds clears it, so each time the map fills up raises one alert, not one per
  /// failed write.
  bool full = false;
};

/// The ledger behaviour. Commit requests queue up; a `flush` sent to itself commits everything that
/// arrived before it in one LMDB write transaction, so batches that wait while a commit is
/// syncing to disk share the next one.
ledger_actor::behavior_type ledger(ledger_actor::stateful_pointer<ledger_state> self,
                                   std::shared_ptr<ledger_store> store, int max_batches_per_commit);

}  // namespace dspsync
