#include "actors/poller.hpp"

#include <chrono>
#include <cstdlib>

#include "domain/backoff.hpp"
#include "protocol/log.hpp"
#include "protocol/pagination.hpp"

namespace dspsync {

namespace {

using self_ptr = poller_actor::stateful_pointer<poller_state>;

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void report(self_ptr self) {
  self->send(self->state.setup.supervisor, progress_atom::value, self->state.status);
}

void set_state(self_ptr self, std::string state, std::string reason = {}) {
  self->state.status.state = std::move(state);
  self->state.status.reason = std::move(reason);
  report(self);
}

/// Arms the fetch timer; a newer timer supersedes an older one.
void schedule_fetch(self_ptr self, std::chrono::milliseconds delay) {
  auto gen = ++self->state.timer_generation;
  if (delay.count() <= 0)
    self->send(self, fetch_atom::value, gen);
  else
    self->delayed_send(self, delay, fetch_atom::value, gen);
}

void maybe_finish_stop(self_ptr self) {
  auto& st = self->state;
  if (st.stopping && st.uncommitted == 0) {
    set_state(self, "stopped");
    self->quit();
  }
}

void fetch(self_ptr self);

/// A failed attempt at the current page: back off with full jitter, or park after the last attempt.
void retry_later(self_ptr self, const std::string& reason, std::optional<std::chrono::seconds> retry_after) {
  auto& st = self->state;
  const auto& b = st.setup.endpoint.backoff;
  ++st.status.retries;
  if (st.attempt >= b.max_attempts) {
    // Exhausted: park until the next schedule; the committed cursor is kept.
    st.attempt = 0;
    set_state(self, "parked",
              reason + " (gave up after " + std::to_string(b.max_attempts) + " attempts; next try in " +
                  std::to_string(st.setup.endpoint.schedule.interval.count()) + " s)");
    log_event(log_level::warn, "endpoint.parked", {{"endpoint", st.setup.endpoint.name}, {"reason", reason}});
    if (!st.setup.once) schedule_fetch(self, st.setup.endpoint.schedule.interval);
    st.parked = true;
    report(self);
    return;
  }
  std::chrono::milliseconds delay;
  std::string source;
  if (retry_after) {
    delay = *retry_after;
    source = "retry-after";
  } else {
    delay = full_jitter(st.attempt - 1, b.base, b.cap, splitmix64(st.rng));
    source = "jitter";
  }
  set_state(self, "backing_off",
            reason + " (attempt " + std::to_string(st.attempt) + ", retry in " +
                std::to_string(delay.count()) + " ms, " + source + ")");
  log_event(log_level::warn, "http.retry",
            {{"endpoint", st.setup.endpoint.name},
             {"reason", reason},
             {"attempt", std::to_string(st.attempt)},
             {"delay_ms", std::to_string(delay.count())},
             {"delay_source", source}});
  schedule_fetch(self, delay);
}

void on_committed(self_ptr self, const batch_ptr& batch, const batch_outcome& out) {
  auto& st = self->state;
  --st.uncommitted;
  log_event(log_level::debug, "page.committed",
            {{"endpoint", st.setup.endpoint.name},
             {"cursor_after", batch->cursor_after},
             {"uncommitted", std::to_string(st.uncommitted)}});
  if (!out.refused.empty()) {
    // Someone else moved the cursor (or this poller is stale): start over from what is committed.
    log_event(log_level::warn, "ledger.refused",
              {{"endpoint", st.setup.endpoint.name}, {"reason", out.refused}});
    self->quit(caf::make_error(caf::sec::runtime_error, out.refused));
    return;
  }
  if (out.page_quarantined) {
    st.status.totals.page_faults += 1;
    report(self);
    return maybe_finish_stop(self);
  }
  st.committed_cursor = batch->cursor_after;
  auto& t = st.status.totals;
  t.cursor = st.committed_cursor;
  t.caught_up = batch->caught_up;
  t.pages += 1;
  t.records_in += out.records_in;
  t.inserted += out.inserted;
  t.restatements += out.restatements;
  t.duplicates += out.duplicates;
  t.quarantined += out.quarantined;
  t.pending += out.pending;
  if (st.stopping) return maybe_finish_stop(self);
  if (st.end_reached && st.uncommitted == 0) {
    set_state(self, "caught_up");
    if (!st.setup.once) {
      // Poll again on schedule from the committed cursor.
      schedule_fetch(self, st.setup.endpoint.schedule.interval);
    }
    return;
  }
  report(self);
  fetch(self);
}

void on_validated(self_ptr self, batch_ptr batch) {
  auto& st = self->state;
  if (!batch->page_errors.empty()) {
    // A corrupt page: the ledger keeps it in quarantine, the cursor stays put, and the page is
    // fetched again a bounded number of times.
    ++st.corrupt_pages;
    auto reason = batch->page_errors.front().message;
    log_event(log_level::error, "page.quarantined",
              {{"endpoint", st.setup.endpoint.name},
               {"correlation_id", batch->correlation_id},
               {"reason", reason}});
    ++st.uncommitted;
    self->request(st.setup.ledger, caf::infinite, commit_atom::value, batch)
        .then([=](const batch_outcome& out) { on_committed(self, batch, out); },
              [=](const caf::error& err) { self->quit(err); });
    st.fetching = false;
    st.fetch_cursor = st.committed_cursor;
    if (st.stopping) return;
    if (st.corrupt_pages >= 3) {
      st.parked = true;
      set_state(self, "parked", "page at cursor \"" + batch->cursor_before + "\" is corrupt: " + reason);
      if (!st.setup.once) schedule_fetch(self, st.setup.endpoint.schedule.interval);
      return;
    }
    ++st.attempt;
    retry_later(self, "corrupt page: " + reason, std::nullopt);
    return;
  }
  st.corrupt_pages = 0;
  log_event(log_level::debug, "page.validated",
            {{"endpoint", st.setup.endpoint.name},
             {"correlation_id", batch->correlation_id},
             {"cursor_before", batch->cursor_before},
             {"cursor_after", batch->cursor_after},
             {"caught_up", batch->caught_up ? "true" : "false"}});
  st.fetching = false;
  st.fetch_cursor = batch->cursor_after;
  st.end_reached = batch->caught_up;
  ++st.uncommitted;
  self->request(st.setup.ledger, caf::infinite, commit_atom::value, batch)
      .then([=](const batch_outcome& out) { on_committed(self, batch, out); },
            [=](const caf::error& err) {
              log_event(log_level::error, "ledger.commit_failed",
                        {{"endpoint", self->state.setup.endpoint.name}, {"reason", caf::to_string(err)}});
              self->quit(err);
            });
  if (!st.end_reached && !st.stopping) fetch(self);
}

void on_response(self_ptr self, const response_ptr& res) {
  auto& st = self->state;
  if (!st.fetching) return;  // abandoned (stop or restart)
  const auto& ep = st.setup.endpoint;
  ++st.status.requests;
  auto cls = res->error ? exchange_class::transient : classify_status(res->status);
  std::string correlation = st.incarnation + "-" + std::to_string(st.exchange_no);
  if (cls != exchange_class::success) {
    st.fetching = false;
    ++st.attempt;
    std::string reason = res->error ? res->error->message : "HTTP " + std::to_string(res->status);
    log_event(log_level::warn, "http.failed",
              {{"endpoint", ep.name},
               {"correlation_id", correlation},
               {"target", st.pending_target},
               {"reason", reason}});
    if (st.stopping) return maybe_finish_stop(self);
    if (cls == exchange_class::credentials_rejected) {
      st.parked = true;
      set_state(self, "parked", "credentials rejected (HTTP " + std::to_string(res->status) + ")");
      return;
    }
    if (cls == exchange_class::permanent) {
      st.parked = true;
      set_state(self, "parked", "HTTP " + std::to_string(res->status) + " is not retried");
      return;
    }
    std::optional<std::chrono::seconds> retry_after;
    if (auto h = res->header("Retry-After"); !h.empty()) retry_after = parse_retry_after(h, now_ms() / 1000);
    retry_later(self, reason, retry_after);
    return;
  }
  st.attempt = 0;
  auto batch = std::make_shared<ingest_batch>();
  batch->source = ep.name;
  batch->request = "GET " + st.pending_target;
  batch->correlation_id = correlation;
  batch->body = std::move(res->body);
  batch->fetched_at_ms = st.fetch_started_ms;
  batch->cursor_before = st.fetch_cursor;
  const auto& pool = st.setup.validators;
  auto v = pool[st.next_validator++ % pool.size()];
  self->request(v, caf::infinite, validate_atom::value, batch)
      .then([=](batch_ptr mapped) { on_validated(self, std::move(mapped)); },
            [=](const caf::error& err) { self->quit(err); });
}

void fetch(self_ptr self) {
  auto& st = self->state;
  if (st.fetching || st.stopping || st.end_reached || st.parked) return;
  if (st.uncommitted >= st.setup.max_pages_in_flight) return;  // backpressure: wait for a commit
  st.fetching = true;
  st.pending_target = request_target(st.setup.endpoint, st.fetch_cursor);
  st.fetch_started_ms = now_ms();
  ++st.exchange_no;
  http_request req;
  req.target = st.pending_target;
  req.timeout = st.setup.endpoint.timeout;
  if (!st.auth_value.empty()) req.headers.emplace_back(st.setup.endpoint.auth.header, st.auth_value);
  if (st.status.state != "fetching") set_state(self, "fetching");
  auto hdl = caf::actor_cast<poller_actor>(self);
  st.setup.transport->fetch(std::move(req), [hdl](http_response r) {
    caf::anon_send(hdl, response_atom::value, std::make_shared<http_response>(std::move(r)));
  });
}

}  // namespace

poller_actor::behavior_type poller(poller_actor::stateful_pointer<poller_state> self, poller_setup setup) {
  auto& st = self->state;
  st.setup = std::move(setup);
  const auto& ep = st.setup.endpoint;
  st.rng = st.setup.seed ^ std::hash<std::string>{}(ep.name);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08llx",
                static_cast<unsigned long long>(splitmix64(st.rng) & 0xffffffffULL));
  st.incarnation = ep.name + "-" + buf;
  st.status.name = ep.name;
  st.status.dsp = ep.dsp;
  st.status.style = to_string(ep.pagination.style);
  st.status.restarts = st.setup.restarts;
  if (!ep.auth.token_env.empty()) {
    const char* token = std::getenv(ep.auth.token_env.c_str());
    if (token == nullptr || *token == '\0') {
      st.parked = true;
      set_state(self, "parked",
                "credentials missing: environment variable " + ep.auth.token_env + " is not set");
    } else {
      st.auth_value = ep.auth.scheme.empty() ? std::string(token) : ep.auth.scheme + " " + token;
    }
  }
  auto cp = st.setup.store->checkpoint(ep.name);
  if (!cp) {
    st.parked = true;
    set_state(self, "failed", cp.error().message);
  } else if (*cp) {
    st.status.totals = **cp;
    st.committed_cursor = (*cp)->cursor;
  } else {
    st.committed_cursor = initial_cursor(ep);
    st.status.totals.cursor = st.committed_cursor;
  }
  st.fetch_cursor = st.committed_cursor;
  if (!st.parked) {
    if (cp && *cp && (*cp)->caught_up) {
      // Caught up before the last stop: in run-to-completion mode there is nothing to do; otherwise
      // look for new data from the committed cursor.
      st.status.state = "caught_up";
      report(self);
      if (!st.setup.once) schedule_fetch(self, std::chrono::milliseconds{0});
    } else {
      schedule_fetch(self, std::chrono::milliseconds{0});
    }
  }
  return {
      [=](fetch_atom, uint64_t generation) {
        auto& s = self->state;
        if (generation != s.timer_generation) return;  // superseded timer
        if (s.end_reached || s.parked) {
          // A scheduled new round: start again from the committed cursor.
          if (s.uncommitted > 0) return;
          s.end_reached = false;
          s.parked = false;
          s.fetch_cursor = s.committed_cursor;
        }
        fetch(self);
      },
      [=](response_atom, response_ptr res) { on_response(self, res); },
      [=](stop_atom) {
        self->state.stopping = true;
        self->state.fetching = false;  // an exchange in flight is abandoned; its page is refetched later
        maybe_finish_stop(self);
      },
  };
}

}  // namespace dspsync
