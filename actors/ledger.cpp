#include "actors/ledger.hpp"

#include "protocol/console_protocol.hpp"
#include "protocol/log.hpp"

namespace dspsync {

namespace {

/// A full map stops every write until an operator grows it: the first write that fails for it
/// raises the `ledger.full` alert, which names the fix.
void alert_if_full(ledger_actor::stateful_pointer<ledger_state> self, const failure& f) {
  if (f.code != ec::storage_full || self->state.full) return;
  self->state.full = true;
  log_event(log_level::alert, "ledger.full",
            {{"data_dir", self->state.store->dir()},
             {"reason", f.message},
             {"action",
              "ingestion stops: grow map_size_mib in the config and restart; nothing of the failed "
              "commits was stored, polling resumes from the committed cursors"}});
}

/// Logs a failed write as `event` (and alerts when the map is full).
void write_failed(ledger_actor::stateful_pointer<ledger_state> self, const char* event, const failure& f) {
  log_event(log_level::error, event, {{"reason", f.message}});
  alert_if_full(self, f);
}

/// Pages were committed: the ledger is not full (any more). Only a page commit counts, not a small
/// write that squeezed into the last free pages, so a map on the brink raises one alert, not many.
void pages_committed(ledger_actor::stateful_pointer<ledger_state> self) { self->state.full = false; }

void flush(ledger_actor::stateful_pointer<ledger_state> self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (!st.attempts.empty()) {
    auto written = st.store->append_attempts(st.attempts);
    if (!written) write_failed(self, "ledger.retry_ledger_failed", written.error());
    st.attempts.clear();
  }
  if (st.queue.empty()) return;
  std::size_t n = std::min<std::size_t>(st.queue.size(), static_cast<std::size_t>(st.max_batches_per_commit));
  std::vector<ledger_state::waiting> group(
      std::make_move_iterator(st.queue.begin()),
      std::make_move_iterator(st.queue.begin() + static_cast<std::ptrdiff_t>(n)));
  st.queue.erase(st.queue.begin(), st.queue.begin() + static_cast<std::ptrdiff_t>(n));
  if (!st.queue.empty()) {
    st.flush_scheduled = true;
    self->send(self, flush_atom::value);
  }
  std::vector<const ingest_batch*> batches;
  batches.reserve(group.size());
  for (const auto& w : group) batches.push_back(w.batch.get());
  expected<std::vector<batch_outcome>> outcomes = failure{ec::storage_failure, "not committed"};
  try {
    outcomes = st.store->commit(batches);
  } catch (const std::exception& e) {
    outcomes = failure{ec::storage_failure, std::string("ledger commit threw: ") + e.what()};
  }
  if (!outcomes) {
    write_failed(self, "ledger.commit_failed", outcomes.error());
    for (auto& w : group) w.promise.deliver(to_caf_error(outcomes.error()));
    return;
  }
  pages_committed(self);
  for (std::size_t i = 0; i < group.size(); ++i) group[i].promise.deliver((*outcomes)[i]);
}

}  // namespace

ledger_actor::behavior_type ledger(ledger_actor::stateful_pointer<ledger_state> self,
                                   std::shared_ptr<ledger_store> store, int max_batches_per_commit) {
  self->state.store = std::move(store);
  self->state.max_batches_per_commit = std::max(1, max_batches_per_commit);
  return {
      [=](commit_atom, batch_ptr batch) -> caf::result<batch_outcome> {
        auto& st = self->state;
        auto promise = self->make_response_promise<batch_outcome>();
        st.queue.push_back({std::move(batch), promise});
        if (!st.flush_scheduled) {
          st.flush_scheduled = true;
          self->send(self, flush_atom::value);
        }
        return promise;
      },
      [=](flush_atom) { flush(self); },
      [=](attempt_atom, attempt_record& a) {
        auto& st = self->state;
        st.attempts.push_back(std::move(a));
        if (!st.flush_scheduled) {
          st.flush_scheduled = true;
          self->send(self, flush_atom::value);
        }
      },
      [=](cursor_atom, const std::string& source, const std::string& cursor,
          const std::string& actor) -> caf::result<bool> {
        auto done = self->state.store->set_cursor(source, cursor, actor);
        if (!done) {
          alert_if_full(self, done.error());
          return caf::make_error(caf::sec::runtime_error, done.error().message);
        }
        return true;
      },
      // --- operator console ---
      [=](release_atom, const std::string& key_hex, const keyed_record& rec,
          const std::string& actor) -> caf::result<std::string> {
        auto key = parse_record_key(key_hex);
        if (!key) return caf::make_error(caf::sec::invalid_argument, "not a quarantine key: " + key_hex);
        auto done = self->state.store->release_quarantined(*key, rec, actor);
        if (!done) {
          alert_if_full(self, done.error());
          return caf::make_error(caf::sec::runtime_error, done.error().message);
        }
        log_event(log_level::info, "quarantine.released", {{"key", key_hex}, {"by", actor}});
        return std::move(*done);
      },
      [=](audit_atom, const std::string& kind, const std::string& actor, const std::string& subject,
          const std::string& details) -> caf::result<bool> {
        auto done = self->state.store->audit(kind, actor, subject, details);
        if (!done) {
          alert_if_full(self, done.error());
          return caf::make_error(caf::sec::runtime_error, done.error().message);
        }
        return true;
      },
      [=](stop_atom) {
        // Commit what is queued, then leave: acknowledged work is never abandoned.
        while (!self->state.queue.empty() || !self->state.attempts.empty()) flush(self);
        self->quit();
      },
  };
}

}  // namespace dspsync
