#include "actors/poller.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>

#include "domain/backoff.hpp"
#include "domain/idempotency.hpp"
#include "protocol/log.hpp"
#include "protocol/pagination.hpp"

namespace dspsync {

namespace {

using namespace std::chrono;
using self_ptr = poller_actor::stateful_pointer<poller_state>;

int64_t wall_ms() { return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count(); }

/// The actor clock: steady in production, virtual on the test coordinator. Budgets, breakers and
/// retry timers all run on it, so tests check them to the nanosecond without waiting.
int64_t now_ns(self_ptr self) {
  return duration_cast<nanoseconds>(self->clock().now().time_since_epoch()).count();
}

/// Calendar time in seconds, advanced by the actor clock from the poller's start: wall-clock time
/// in production, and consistent with virtual time on the test coordinator, so a reporting lag of
/// days is tested in microseconds.
int64_t calendar_s(self_ptr self) {
  auto& st = self->state;
  return (st.wall_at_start_ms + (now_ns(self) - st.clock_at_start_ns) / 1'000'000) / 1000;
}

void report(self_ptr self) {
  auto& st = self->state;
  st.status.in_flight = st.uncommitted;
  st.status.paused = st.setup.paused;
  st.status.circuit = to_string(st.breaker.state(now_ns(self)));
  st.status.rate = st.setup.budget ? st.setup.budget->effective_rate(now_ns(self)) : 0;
  self->send(st.setup.supervisor, progress_atom::value, st.status);
}

void set_state(self_ptr self, std::string state, std::string reason = {}) {
  self->state.status.state = std::move(state);
  self->state.status.reason = std::move(reason);
  report(self);
}

/// Moves the endpoint's "no request before" to `until_ns`, never back: a shorter wait decided
/// later (a jitter after a Retry-After, say) must not cut a longer one short.
void hold_until(std::atomic<int64_t>& not_before_ns, int64_t until_ns) {
  auto cur = not_before_ns.load();
  while (cur < until_ns && !not_before_ns.compare_exchange_weak(cur, until_ns)) {
    // cur now holds the value another writer stored: try again unless it is already later
  }
}

/// The wait a failed response's Retry-After asks for, capped at the endpoint's ceiling; nullopt for a
/// success, a response without one, or a status that is not retried.
std::optional<nanoseconds> dsp_asked_wait(const http_response& res, const backoff_config& b) {
  if (res.error || classify_status(res.status) != exchange_class::transient) return std::nullopt;
  auto h = res.header("Retry-After");
  if (h.empty()) return std::nullopt;
  auto wait = parse_retry_after(h, wall_ms() / 1000);
  if (!wait) return std::nullopt;
  return duration_cast<nanoseconds>(std::min<seconds>(*wait, b.retry_after_ceiling));
}

/// Arms the fetch timer; a newer timer supersedes an older one.
void schedule_fetch(self_ptr self, nanoseconds delay) {
  auto gen = ++self->state.timer_generation;
  if (delay >= idle_connection_close && !self->state.fetching) {
    // The next request is far off: a DSP closes keep-alive connections idle that long (a minute
    // or two is usual), and the first request on a connection it closed would fail. Close it now
    // and reconnect then; until then the endpoint holds no socket, TLS session or buffers.
    self->state.setup.transport->close();
  }
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

/// Parks the endpoint; it tries again on its next schedule (unless running to completion).
void park(self_ptr self, const std::string& reason) {
  auto& st = self->state;
  st.parked = true;
  st.attempt = 0;
  log_event(log_level::warn, "endpoint.parked", {{"endpoint", st.setup.endpoint->name}, {"reason", reason}});
  set_state(self, "parked", reason);
  if (!st.setup.once) schedule_fetch(self, st.setup.endpoint->schedule.interval);
}

void record_attempt(self_ptr self, attempt_record a) {
  a.at_ms = wall_ms();
  a.endpoint = self->state.setup.endpoint->name;
  self->send(self->state.setup.ledger, attempt_atom::value, std::move(a));
}

void fetch(self_ptr self);

/// Decides the wait after a failed attempt: the DSP's Retry-After when it gave one (even above the
/// backoff cap, up to the ceiling), otherwise full jitter; parks after the last attempt.
void retry_later(self_ptr self, attempt_record a, const std::string& reason,
                 std::optional<seconds> retry_after) {
  auto& st = self->state;
  const auto& b = st.setup.endpoint->backoff;
  ++st.status.retries;
  if (st.attempt >= b.max_attempts) {
    a.delay_source = "none";
    record_attempt(self, std::move(a));
    park(self,
         reason + " (gave up after " + std::to_string(b.max_attempts) + " attempts; the cursor is kept)");
    return;
  }
  nanoseconds delay;
  if (retry_after) {
    delay = *retry_after;
    a.delay_source = "retry-after";
    if (*retry_after > b.retry_after_ceiling) {
      delay = b.retry_after_ceiling;
      log_event(log_level::error, "endpoint.degraded",
                {{"endpoint", st.setup.endpoint->name},
                 {"retry_after_s", std::to_string(retry_after->count())},
                 {"ceiling_s", std::to_string(b.retry_after_ceiling.count())}});
      a.delay_ms = duration_cast<milliseconds>(delay).count();
      st.status.backoff.observe(duration<double>(delay).count());  // console/metrics histogram
      record_attempt(self, std::move(a));
      hold_until(*self->state.setup.not_before_ns, now_ns(self) + duration_cast<nanoseconds>(delay).count());
      set_state(self, "degraded",
                "the DSP asks to wait " + std::to_string(retry_after->count()) + " s, above the ceiling of " +
                    std::to_string(b.retry_after_ceiling.count()) + " s; trying again after the ceiling");
      schedule_fetch(self, delay);
      return;
    }
  } else {
    delay = full_jitter(st.attempt - 1, b.base, b.cap, splitmix64(st.rng));
    a.delay_source = "jitter";
  }
  a.delay_ms = duration_cast<milliseconds>(delay).count();
  st.status.backoff.observe(duration<double>(delay).count());  // console/metrics histogram
  log_event(log_level::warn, "http.retry",
            {{"endpoint", st.setup.endpoint->name},
             {"correlation_id", a.correlation_id},
             {"reason", reason},
             {"attempt", std::to_string(st.attempt)},
             {"delay_ms", std::to_string(a.delay_ms)},
             {"delay_source", a.delay_source}});
  auto source = a.delay_source;
  record_attempt(self, std::move(a));
  hold_until(*st.setup.not_before_ns, now_ns(self) + duration_cast<nanoseconds>(delay).count());
  set_state(self, "backing_off",
            reason + " (attempt " + std::to_string(st.attempt) + ", next in " +
                std::to_string(duration_cast<milliseconds>(delay).count()) + " ms, " + source + ")");
  schedule_fetch(self, delay);
}

void on_committed(self_ptr self, const batch_ptr& batch, const batch_outcome& out) {
  auto& st = self->state;
  --st.uncommitted;
  log_event(log_level::debug, "page.committed",
            {{"endpoint", st.setup.endpoint->name},
             {"cursor_after", batch->cursor_after},
             {"in_flight", std::to_string(st.uncommitted)}});
  if (!out.refused.empty()) {
    // A page handed over before the ledger said it was full follows the page that failed, so the
    // fence refuses it, as it must; the endpoint has already stopped for the full ledger.
    if (st.ledger_full) {
      report(self);  // one page fewer in flight
      return maybe_finish_stop(self);
    }
    // Someone else moved the cursor (or this poller is stale): start over from what is committed.
    log_event(log_level::warn, "ledger.refused",
              {{"endpoint", st.setup.endpoint->name}, {"reason", out.refused}});
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
  t.updated_at_ms = wall_ms();
  st.status.recent.add({out.records_in, out.quarantined, out.duplicates});  // console triage
  if (st.stopping || st.ledger_full) return maybe_finish_stop(self);
  if (st.end_reached && st.uncommitted == 0 && !st.fetching) {
    set_state(self, "caught_up");
    // Poll again on schedule from the committed cursor.
    if (!st.setup.once) schedule_fetch(self, st.setup.endpoint->schedule.interval);
    return;
  }
  report(self);
  fetch(self);
}

void stop_for_full_ledger(self_ptr self, const std::string& reason);

void commit(self_ptr self, const batch_ptr& batch) {
  auto& st = self->state;
  self->request(st.setup.ledger, caf::infinite, commit_atom::value, batch)
      .then([=](const batch_outcome& out) { on_committed(self, batch, out); },
            [=](const caf::error& err) {
              auto reason = message_of(err);
              log_event(log_level::error, "ledger.commit_failed",
                        {{"endpoint", self->state.setup.endpoint->name}, {"reason", reason}});
              if (code_of(err) == ec::storage_full) return stop_for_full_ledger(self, reason);
              // Anything else may pass: the supervisor restarts the poller from the committed cursor.
              self->quit(caf::make_error(caf::sec::runtime_error, reason));
            });
}

/// Drops every page fetched after the one at `cursor` (their cursors were derived from a page that
/// will not be committed) and fetches again from there.
void reset_pipeline(self_ptr self, const std::string& cursor) {
  auto& st = self->state;
  ++st.generation;
  st.uncommitted -= static_cast<int>(st.ready.size());
  st.ready.clear();
  st.next_commit_seq = st.next_seq;
  st.fetch_cursor = cursor;
  st.end_reached = false;
  st.blocked = false;
  if (st.fetching) st.discard_response = true;  // its cursor came from the dropped pages
}

/// The ledger is full: nothing this endpoint fetches can be stored until an operator grows the map
/// and restarts the engine, so it stops fetching and says why (`failed`), instead of dying and being
/// restarted only to fetch pages again that fail again. The cursor stays at the last commit; pages
/// still in flight fail the same way (or are dropped when their validation comes back).
void stop_for_full_ledger(self_ptr self, const std::string& reason) {
  auto& st = self->state;
  --st.uncommitted;
  if (!st.ledger_full) {
    st.ledger_full = true;
    st.parked = true;
    ++st.timer_generation;  // no armed timer fetches again
    reset_pipeline(self, st.committed_cursor);
    auto why = "the ledger is full, ingestion stopped: " + reason;
    log_event(log_level::error, "endpoint.failed", {{"endpoint", st.setup.endpoint->name}, {"reason", why}});
    set_state(self, "failed", why);
  }
  maybe_finish_stop(self);
}

/// A page that failed as a whole (corrupt, or the previous page served again): keep the cursor,
/// drop what was fetched after it, back off, and give up after `page_retries`.
void page_failed(self_ptr self, const batch_ptr& batch, const std::string& reason, const char* classification,
                 bool quarantine) {
  auto& st = self->state;
  ++st.corrupt_pages;
  ++st.attempt;
  if (quarantine) {
    log_event(log_level::error, "page.quarantined",
              {{"endpoint", st.setup.endpoint->name},
               {"correlation_id", batch->correlation_id},
               {"reason", reason}});
    commit(self, batch);  // the ledger keeps the page in quarantine; the cursor does not move
  } else {
    --st.uncommitted;
  }
  reset_pipeline(self, batch->cursor_before);
  if (st.stopping) return maybe_finish_stop(self);
  attempt_record a;
  a.request = batch->request;
  a.status = 200;
  a.error = reason;
  a.classification = classification;
  a.attempt = st.attempt;
  a.body_sha256 = batch->body_sha256;
  a.correlation_id = batch->correlation_id;
  if (st.corrupt_pages > st.setup.endpoint->backoff.page_retries) {
    record_attempt(self, std::move(a));
    park(self, "page at cursor \"" + batch->cursor_before + "\" failed: " + reason);
    return;
  }
  retry_later(self, std::move(a), reason, std::nullopt);
}

/// Hands validated pages to the ledger strictly in the order they were fetched.
void drain(self_ptr self) {
  auto& st = self->state;
  bool unblocked = false;
  for (auto it = st.ready.find(st.next_commit_seq); it != st.ready.end();
       it = st.ready.find(st.next_commit_seq)) {
    auto batch = it->second;
    st.ready.erase(it);
    ++st.next_commit_seq;
    if (!batch->page_errors.empty())
      return page_failed(self, batch, "corrupt page: " + batch->page_errors.front().message, "corrupt_page",
                         true);
    if (batch->body_sha256 == st.last_body_sha256 && batch->cursor_before != st.last_cursor_before &&
        batch->records_in > 0)
      return page_failed(self, batch,
                         "the DSP served the previous page again at cursor \"" + batch->cursor_before + "\"",
                         "transient", false);
    if (!batch->peeked) {
      // The scan could not read this page ahead; validation did, so fetching can go on.
      st.blocked = false;
      st.fetch_cursor = batch->cursor_after;
      st.end_reached = batch->caught_up;
      unblocked = true;
    } else if (batch->peeked_cursor != batch->cursor_after) {
      // The scan and the parser disagree: trust neither, start over from what is committed.
      self->quit(caf::make_error(caf::sec::runtime_error, "next cursor mismatch between scan (\"" +
                                                              batch->peeked_cursor + "\") and parse (\"" +
                                                              batch->cursor_after + "\")"));
      return;
    }
    st.last_body_sha256 = batch->body_sha256;
    st.last_cursor_before = batch->cursor_before;
    st.corrupt_pages = 0;
    log_event(log_level::debug, "page.ordered",
              {{"endpoint", st.setup.endpoint->name},
               {"correlation_id", batch->correlation_id},
               {"cursor_before", batch->cursor_before},
               {"cursor_after", batch->cursor_after},
               {"records", std::to_string(batch->records_in)}});
    commit(self, batch);
  }
  if (unblocked && !st.end_reached && !st.stopping) fetch(self);
}

void on_validated(self_ptr self, uint64_t generation, uint64_t seq, batch_ptr batch) {
  auto& st = self->state;
  if (generation != st.generation) {
    // Fetched after a page that failed: dropped, it will be fetched again.
    --st.uncommitted;
    return maybe_finish_stop(self);
  }
  st.ready.emplace(seq, std::move(batch));
  drain(self);
}

void on_response(self_ptr self, const response_ptr& res) {
  auto& st = self->state;
  if (!st.fetching) return;
  st.fetching = false;
  if (st.setup.budget) st.setup.budget->answered(now_ns(self));  // the DSP has charged it by now
  if (st.discard_response || st.setup.paused || st.stopping) {
    // Abandoned (pause, stop, or its cursor came from a page that was dropped).
    st.discard_response = false;
    if (st.stopping) return maybe_finish_stop(self);
    return fetch(self);
  }
  const auto& ep = *st.setup.endpoint;
  auto now = now_ns(self);
  log_event(log_level::debug, "http.response",
            {{"endpoint", ep.name},
             {"target", st.pending_target},
             {"status", std::to_string(res->status)},
             {"elapsed_ms", std::to_string(res->elapsed.count())}});
  ++st.status.requests;
  ++st.status.responses[res->error ? 0 : res->status];
  st.status.latency.observe(duration<double>(res->elapsed).count());  // console/metrics histogram
  if (!res->error && st.setup.budget)
    st.setup.budget->adapt(parse_rate_limit_headers(res->headers, wall_ms() / 1000), now);
  auto cls = res->error ? exchange_class::transient : classify_status(res->status);
  std::string correlation = st.incarnation + "-" + std::to_string(st.exchange_no);
  ++st.attempt;
  attempt_record a;
  a.request = "GET " + st.pending_target;
  a.status = res->error ? 0 : res->status;
  a.error = res->error ? res->error->message : std::string();
  a.attempt = st.attempt;
  a.correlation_id = correlation;
  if (cls != exchange_class::success) {
    if (!res->body.empty()) a.body_sha256 = to_hex(sha256::digest(res->body));
    st.breaker.on_failure(now);
    std::string reason = res->error ? res->error->message : "HTTP " + std::to_string(res->status);
    log_event(log_level::warn, "http.failed",
              {{"endpoint", ep.name},
               {"correlation_id", correlation},
               {"target", st.pending_target},
               {"reason", reason}});
    if (cls == exchange_class::credentials_rejected || cls == exchange_class::permanent) {
      a.classification = cls == exchange_class::permanent ? "permanent" : "credentials_rejected";
      a.delay_source = "none";
      record_attempt(self, std::move(a));
      park(self, cls == exchange_class::permanent
                     ? "HTTP " + std::to_string(res->status) + " is not retried"
                     : "credentials rejected (HTTP " + std::to_string(res->status) + ")");
      return;
    }
    a.classification = "transient";
    std::optional<seconds> retry_after;
    if (auto h = res->header("Retry-After"); !h.empty()) retry_after = parse_retry_after(h, wall_ms() / 1000);
    retry_later(self, std::move(a), reason, retry_after);
    return;
  }
  st.breaker.on_success(now);
  if (st.attempt > 1) {
    // The success that ends a retried request closes its entries in the retry ledger.
    a.classification = "success";
    a.delay_source = "none";
    a.body_sha256 = to_hex(sha256::digest(res->body));
    record_attempt(self, std::move(a));
  }
  st.attempt = 0;
  auto batch = std::make_shared<ingest_batch>();
  batch->source = ep.name;
  batch->request = "GET " + st.pending_target;
  batch->correlation_id = correlation;
  batch->body = std::move(res->body);
  batch->fetched_at_ms = st.fetch_started_ms;
  batch->cursor_before = st.fetch_cursor;
  batch->after_uncommitted = st.fetch_cursor != st.committed_cursor;
  ++st.uncommitted;
  // Read ahead: a structural scan finds the next cursor, so the next request goes out while the
  // validators map this page (pages still commit strictly in order, see `drain`).
  std::size_t count = 0;
  auto step = peek_next_page(ep, st.fetch_cursor, batch->body, count, &batch->record_spans);
  if (step) {
    batch->peeked = true;
    batch->peeked_cursor = step->next_cursor;
    st.fetch_cursor = step->next_cursor;
    st.end_reached = step->done;
  } else {
    st.blocked = true;  // wait for the validator's verdict on this page
  }
  auto seq = st.next_seq++;
  auto generation = st.generation;
  const auto& pool = st.setup.validators;
  auto v = pool[st.next_validator++ % pool.size()];
  self->request(v, caf::infinite, validate_atom::value, batch)
      .then([=](batch_ptr mapped) { on_validated(self, generation, seq, std::move(mapped)); },
            [=](const caf::error& err) { self->quit(err); });
  if (!st.end_reached) fetch(self);
}

/// For `updated_since`: the wait before the window at the fetch cursor may be asked for (never a
/// window newer than now - lag), or an error when the cursor is older than the API keeps data.
std::optional<seconds> window_wait(self_ptr self, std::string& problem) {
  const auto& ep = *self->state.setup.endpoint;
  if (ep.pagination.style != pagination_style::updated_since) return std::nullopt;
  auto since = parse_rfc3339(self->state.fetch_cursor);
  if (!since) return std::nullopt;
  auto now_s = calendar_s(self);
  if (ep.schedule.retention.count() > 0 && *since < now_s - ep.schedule.retention.count()) {
    problem = "cursor " + self->state.fetch_cursor + " is older than the API's retention of " +
              std::to_string(ep.schedule.retention.count()) +
              " s: data between it and the retention limit may be gone; set the cursor deliberately "
              "(pause, cursor NAME set VALUE, resume) after checking";
    return std::nullopt;
  }
  if (!ep.schedule.until_param.empty()) return std::nullopt;  // the window is bounded by the request
  auto newest = now_s - ep.schedule.lag.count();
  if (*since > newest) return seconds(*since - newest);
  return std::nullopt;
}

void fetch(self_ptr self) {
  auto& st = self->state;
  if (st.fetching || st.blocked || st.stopping || st.end_reached || st.parked || st.setup.paused) return;
  if (st.uncommitted >= st.setup.max_pages_in_flight) return;  // backpressure: wait for a commit
  const auto& ep = *st.setup.endpoint;
  if (auto early = st.setup.not_before_ns->load() - now_ns(self); early > 0) {
    schedule_fetch(self, nanoseconds(early));  // still backing off (or waiting for Retry-After)
    return;
  }
  std::string problem;
  if (auto wait = window_wait(self, problem)) {
    set_state(self, "waiting",
              "the next window starts less than " + std::to_string(ep.schedule.lag.count()) +
                  " s ago (reporting lag)");
    schedule_fetch(self, *wait);
    return;
  }
  if (!problem.empty()) {
    st.parked = true;
    log_event(log_level::error, "cursor.out_of_retention", {{"endpoint", ep.name}, {"reason", problem}});
    set_state(self, "parked", problem);
    return;
  }
  auto now = now_ns(self);
  if (!st.breaker.allow(now)) {
    auto reopen = st.breaker.reopens_at_ns() - now;
    set_state(self, "circuit_open",
              "circuit breaker open after " + std::to_string(ep.breaker.threshold) +
                  " consecutive failures; probing again in " +
                  std::to_string(std::max<int64_t>(reopen, 0) / 1'000'000) + " ms");
    schedule_fetch(self, nanoseconds(std::max<int64_t>(reopen, 1)));
    return;
  }
  if (st.setup.budget) {
    if (auto wait = st.setup.budget->acquire(now); wait > 0) {
      schedule_fetch(self, nanoseconds(wait));  // the rate budget decides when, not the DSP's 429
      return;
    }
  }
  st.fetching = true;
  st.pending_target = request_target(ep, st.fetch_cursor);
  if (ep.pagination.style == pagination_style::updated_since && !ep.schedule.until_param.empty()) {
    st.pending_target += st.pending_target.find('?') == std::string::npos ? '?' : '&';
    st.pending_target +=
        ep.schedule.until_param + "=" + format_rfc3339(calendar_s(self) - ep.schedule.lag.count());
  }
  st.fetch_started_ms = wall_ms();
  ++st.exchange_no;
  http_request req;
  req.target = st.pending_target;
  req.timeout = ep.timeout;
  if (!st.auth_value.empty()) req.headers.emplace_back(ep.auth.header, st.auth_value);
  if (st.status.state != "fetching") set_state(self, "fetching");
  auto hdl = caf::actor_cast<poller_actor>(self);
  // The DSP's Retry-After binds the endpoint as soon as it arrives, whoever reads the response: by
  // then this poller may have dropped the exchange (a page before it failed) or died and been
  // restarted (a commit failed), and its successor must wait all the same.
  auto not_before = st.setup.not_before_ns;
  const caf::actor_clock* clock = &self->clock();
  st.setup.transport->fetch(std::move(req), [hdl, not_before, clock, backoff = ep.backoff](http_response r) {
    if (auto wait = dsp_asked_wait(r, backoff))
      hold_until(*not_before,
                 duration_cast<nanoseconds>(clock->now().time_since_epoch()).count() + wait->count());
    caf::anon_send(hdl, response_atom::value, std::make_shared<http_response>(std::move(r)));
  });
}

/// Reads the endpoint's token from its environment variable; false when one is configured but not
/// set (the endpoint must not poll without it).
bool read_token(self_ptr self) {
  auto& st = self->state;
  const auto& ep = *st.setup.endpoint;
  st.auth_value.clear();
  if (ep.auth.token_env.empty()) return true;
  const char* token = std::getenv(ep.auth.token_env.c_str());
  if (token == nullptr || *token == '\0') return false;
  st.auth_value = ep.auth.scheme.empty() ? std::string(token) : ep.auth.scheme + " " + token;
  return true;
}

/// Loads the committed cursor (an operator may have changed it while the endpoint was paused).
bool load_checkpoint(self_ptr self) {
  auto& st = self->state;
  const auto& ep = *st.setup.endpoint;
  auto cp = st.setup.store->checkpoint(ep.name);
  if (!cp) {
    st.parked = true;
    set_state(self, "failed", cp.error().message);
    return false;
  }
  if (*cp) {
    st.status.totals = **cp;
    st.committed_cursor = (*cp)->cursor;
  } else {
    st.committed_cursor = initial_cursor(ep);
    st.status.totals.cursor = st.committed_cursor;
  }
  st.fetch_cursor = st.committed_cursor;
  return true;
}

}  // namespace

poller_actor::behavior_type poller(poller_actor::stateful_pointer<poller_state> self, poller_setup setup) {
  auto& st = self->state;
  st.setup = std::move(setup);
  if (!st.setup.not_before_ns) st.setup.not_before_ns = std::make_shared<std::atomic<int64_t>>(0);
  st.wall_at_start_ms = wall_ms();
  st.clock_at_start_ns = now_ns(self);
  const auto& ep = *st.setup.endpoint;
  st.breaker = circuit_breaker(ep.breaker.threshold, duration_cast<nanoseconds>(ep.breaker.cooldown).count());
  st.rng = st.setup.seed ^ std::hash<std::string>{}(ep.name);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08llx",
                static_cast<unsigned long long>(splitmix64(st.rng) & 0xffffffffULL));
  st.incarnation = ep.name + "-" + buf;
  st.status.name = ep.name;
  st.status.dsp = ep.dsp;
  st.status.style = to_string(ep.pagination.style);
  st.status.restarts = st.setup.restarts;
  if (!read_token(self)) {
    st.parked = true;
    log_event(log_level::error, "endpoint.parked",
              {{"endpoint", ep.name},
               {"reason", "credentials missing: environment variable " + ep.auth.token_env}});
    set_state(self, "parked",
              "credentials missing: environment variable " + ep.auth.token_env + " is not set");
  }
  if (!st.parked && load_checkpoint(self)) {
    bool was_caught_up = st.status.totals.caught_up && st.status.totals.pages > 0;
    if (st.setup.paused) {
      set_state(self, "paused");
    } else if (was_caught_up) {
      // Caught up before the last stop: in run-to-completion mode there is nothing to do; otherwise
      // look for new data from the committed cursor.
      set_state(self, "caught_up");
      if (!st.setup.once) schedule_fetch(self, nanoseconds{0});
    } else {
      schedule_fetch(self, nanoseconds{0});
    }
  }
  return {
      [=](fetch_atom, uint64_t generation) {
        auto& s = self->state;
        if (generation != s.timer_generation) return;  // superseded timer
        if (s.setup.paused) return;
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
      [=](pause_atom) {
        auto& s = self->state;
        s.setup.paused = true;
        if (s.fetching) s.discard_response = true;  // an exchange in flight is abandoned
        ++s.timer_generation;
        set_state(self, "paused");
      },
      [=](resume_atom) {
        auto& s = self->state;
        if (!s.setup.paused) return;
        s.setup.paused = false;
        if (!read_token(self)) {
          s.parked = true;
          set_state(self, "parked",
                    "credentials missing: environment variable " + s.setup.endpoint->auth.token_env +
                        " is not set");
          return;
        }
        s.parked = false;
        s.ledger_full = false;  // an operator's resume tries the ledger again
        s.end_reached = false;
        s.attempt = 0;
        s.corrupt_pages = 0;
        if (s.uncommitted == 0 && !load_checkpoint(self)) return;
        set_state(self, "starting");
        schedule_fetch(self, nanoseconds{0});
      },
      [=](stop_atom) {
        self->state.stopping = true;  // an exchange in flight is abandoned; its page is refetched later
        maybe_finish_stop(self);
      },
  };
}

}  // namespace dspsync
