#include "actors/console_commands.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "actors/metrics.hpp"
#include "domain/timefmt.hpp"
#include "domain/triage.hpp"
#include "protocol/json_text.hpp"
#include "protocol/pagination.hpp"
#include "protocol/quarantine_release.hpp"

namespace dspsync {

/// The last record counts by state and when they were taken.
struct state_counts_cache {
  std::mutex mutex;
  int64_t taken_ms = 0;
  std::map<record_state, uint64_t> counts;
};

std::shared_ptr<state_counts_cache> make_state_counts_cache() {
  return std::make_shared<state_counts_cache>();
}

namespace {

using namespace std::chrono;

/// How many items a listing shows before it says how many more there are.
constexpr std::size_t list_limit = 50;
/// Raw bytes shown by `quarantine show` (a quarantined page can be megabytes).
constexpr std::size_t raw_shown = 64 * 1024;

int64_t wall_ms() { return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count(); }

console_reply answer_ok(const std::string& body) { return {frame_ok(body), false}; }
console_reply answer_err(const std::string& reason, const std::string& body = {}) {
  return {frame_err(reason, body), false};
}

/// What a refused or failed ask means, for an operator.
std::string error_text(const caf::error& e, const console_context& ctx) {
  if (e == caf::sec::request_timeout)
    return "no answer within " + std::to_string(ctx.ask_timeout.count()) +
           " ms (the engine is busy); try again";
  if (e == caf::sec::request_receiver_down) return "the engine is stopping";
  const auto& context = e.context();
  if (context.match_elements<std::string>()) return context.get_as<std::string>(0);
  return caf::to_string(e);
}

/// Asks an actor and waits at most `ask_timeout` for its answer.
template <class Result, class Handle, class... Ts>
expected<Result> ask(const console_context& ctx, const Handle& h, const Ts&... xs) {
  if (!h || ctx.system == nullptr) return failure{ec::bad_argument, "the engine is not running"};
  caf::scoped_actor self{*ctx.system};
  std::optional<expected<Result>> out;
  self->request(h, ctx.ask_timeout, xs...)
      .receive([&](Result& r) { out.emplace(std::move(r)); },
               [&](caf::error& e) {
                 out.emplace(failure{ec::bad_argument, error_text(e, ctx)});
               });
  if (!out) return failure{ec::bad_argument, "no answer"};
  return std::move(*out);
}

expected<std::vector<endpoint_status>> live_status(const console_context& ctx) {
  return ask<std::vector<endpoint_status>>(ctx, ctx.supervisor, status_atom::value);
}

/// Latest record versions by state, at most `counts_ttl` old (one pass at a time).
expected<std::map<record_state, uint64_t>> state_counts(const console_context& ctx) {
  if (!ctx.counts_cache) return ctx.store->latest_state_counts();
  auto& c = *ctx.counts_cache;
  std::lock_guard<std::mutex> guard(c.mutex);
  const int64_t now = wall_ms();
  if (c.taken_ms != 0 && now - c.taken_ms < ctx.counts_ttl.count()) return c.counts;
  auto fresh = ctx.store->latest_state_counts();
  if (!fresh) return fresh;
  c.counts = *fresh;
  c.taken_ms = now;
  return fresh;
}

const endpoint_config* find_endpoint(const console_context& ctx, const std::string& name) {
  for (const auto& ep : ctx.config->endpoints)
    if (ep.name == name) return &ep;
  return nullptr;
}

std::string no_endpoint(const std::string& name) {
  return "no endpoint named '" + name + "' (see endpoints)";
}

std::string when(int64_t ms, int64_t now_ms) {
  if (ms <= 0) return "never";
  return format_rfc3339(ms / 1000) + " (" + std::to_string(std::max<int64_t>(0, (now_ms - ms) / 1000)) +
         " s ago)";
}

std::string fixed(double v, int decimals = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

/// Rows with columns padded to their widest cell.
std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], r[i].size());
    }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(widths[i] - r[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

/// A URL with any user information (`user:password@`) masked: never show a credential.
std::string without_userinfo(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  auto start = scheme + 3;
  auto end = url.find_first_of("/?#", start);
  auto at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at == std::string::npos || at < start) return url;
  return url.substr(0, start) + "***@" + url.substr(at + 1);
}

/// Audits an operator action through the ledger (the only writer). An answer that does not come in
/// time is not a loss: the message is in the ledger's mailbox and is written after the commits
/// ahead of it.
std::string audit(const console_context& ctx, const std::string& kind, const std::string& actor,
                  const std::string& subject, const std::string& details) {
  auto done = ask<bool>(ctx, ctx.ledger, audit_atom::value, kind, actor, subject, details);
  if (done) return "audited: " + kind + " " + subject + " (" + details + ")\n";
  return "audit entry queued behind the ledger's commits (" + done.error().message + ")\n";
}

const endpoint_status* find_status(const std::vector<endpoint_status>& all, const std::string& name) {
  for (const auto& s : all)
    if (s.name == name) return &s;
  return nullptr;
}

// --- Commands -------------------------------------------------------------------------------

console_reply cmd_status(const console_context& ctx) {
  auto live = live_status(ctx);
  if (!live) return answer_err(live.error().message);
  std::map<std::string, int> by_state;
  for (const auto& s : *live) ++by_state[s.state];
  std::string states;
  for (const auto& [state, n] : by_state)
    states += (states.empty() ? "" : ", ") + state + " " + std::to_string(n);
  std::string body = "engine: " + std::to_string(live->size()) + " endpoints (" + states + ")\n";
  if (auto st = ctx.store->stats())
    body += "ledger: " + std::to_string(st->pages) + " pages, " + std::to_string(st->record_versions) +
            " record versions, " + std::to_string(st->quarantined) + " in quarantine, " +
            std::to_string(st->audit_entries) + " audit entries (" + ctx.store->dir() + ")\n";
  std::vector<std::vector<std::string>> rows{{"ENDPOINT", "STATE", "IN", "NEW", "RESTATED", "DUPLICATES",
                                              "QUARANTINED", "PENDING", "REQUESTS", "RETRIES", "CIRCUIT",
                                              "IN_FLIGHT"}};
  for (const auto& s : *live) {
    const auto& t = s.totals;
    rows.push_back({s.name, s.state + (s.paused && s.state != "paused" ? " (paused)" : ""),
                    std::to_string(t.records_in), std::to_string(t.inserted), std::to_string(t.restatements),
                    std::to_string(t.duplicates), std::to_string(t.quarantined), std::to_string(t.pending),
                    std::to_string(s.requests), std::to_string(s.retries), s.circuit,
                    std::to_string(s.in_flight)});
  }
  return answer_ok(body + table(rows));
}

console_reply cmd_endpoints(const console_context& ctx) {
  auto live = live_status(ctx);
  if (!live) return answer_err(live.error().message);
  std::vector<std::vector<std::string>> rows{
      {"ENDPOINT", "DSP", "STYLE", "STATE", "PAUSED", "CIRCUIT", "RATE"}};
  for (const auto& s : *live)
    rows.push_back(
        {s.name, s.dsp, s.style, s.state, s.paused ? "yes" : "no", s.circuit, fixed(s.rate, 2) + "/s"});
  return answer_ok(table(rows));
}

console_reply cmd_endpoint(const console_context& ctx, const std::string& name) {
  const auto* ep = find_endpoint(ctx, name);
  if (ep == nullptr) return answer_err(no_endpoint(name));
  auto live = live_status(ctx);
  if (!live) return answer_err(live.error().message);
  const auto* s = find_status(*live, name);
  const int64_t now = wall_ms();
  std::vector<std::vector<std::string>> rows;
  auto row = [&](std::string k, std::string v) { rows.push_back({k + ":", std::move(v)}); };
  row("endpoint", ep->name);
  row("dsp", ep->dsp);
  row("style", to_string(ep->pagination.style));
  row("url", without_userinfo(ep->base_url) + ep->path);
  if (ep->auth.token_env.empty()) {
    row("auth", "none");
  } else {
    const char* v = std::getenv(ep->auth.token_env.c_str());
    row("auth", ep->auth.header + ": " + (ep->auth.scheme.empty() ? "" : ep->auth.scheme + " ") +
                    "<token from $" + ep->auth.token_env +
                    (v != nullptr && *v != '\0' ? ", set>" : ", NOT SET>"));
  }
  row("rate budget", fixed(ep->rate.requests_per_second, 2) + " req/s, burst " +
                         std::to_string(ep->rate.burst) +
                         (ep->rate.group.empty() ? "" : ", group " + ep->rate.group));
  if (s == nullptr) {
    row("state", "not running");
  } else {
    row("state", s->state + (s->reason.empty() ? "" : " (" + s->reason + ")"));
    row("paused", s->paused ? "yes" : "no");
    const auto& t = s->totals;
    row("cursor", "\"" + t.cursor + "\"" + (t.caught_up ? " (caught up)" : ""));
    row("pages",
        std::to_string(t.pages) + " committed, " + std::to_string(t.page_faults) + " quarantined as corrupt");
    row("records", "in " + std::to_string(t.records_in) + ", new " + std::to_string(t.inserted) +
                       ", restated " + std::to_string(t.restatements) + ", duplicates " +
                       std::to_string(t.duplicates) + ", quarantined " + std::to_string(t.quarantined) +
                       ", pending " + std::to_string(t.pending));
    row("last commit", when(t.updated_at_ms, now));
    std::string codes;
    for (const auto& [code, n] : s->responses)
      codes += (codes.empty() ? "" : ", ") + (code == 0 ? std::string("transport") : std::to_string(code)) +
               " " + std::to_string(n);
    row("requests", std::to_string(s->requests) + (codes.empty() ? "" : " (" + codes + ")"));
    row("retries", std::to_string(s->retries));
    row("restarts", std::to_string(s->restarts));
    row("circuit", s->circuit);
    row("in flight", std::to_string(s->in_flight) + " pages");
    row("rate now", fixed(s->rate, 2) + " req/s");
    row("latency", "p50 " + fixed(s->latency.quantile(0.5)) + " s, p95 " + fixed(s->latency.quantile(0.95)) +
                       " s over " + std::to_string(s->latency.count) + " exchanges");
    row("backoff", "p95 " + fixed(s->backoff.quantile(0.95)) + " s over " + std::to_string(s->backoff.count) +
                       " delays, " + fixed(s->backoff.sum) + " s in all");
    const auto recent = s->recent.total();
    row("recent pages", std::to_string(s->recent.size()) + ": " + std::to_string(recent.records_in) +
                            " records, " + std::to_string(recent.quarantined) + " quarantined, " +
                            std::to_string(recent.duplicates) + " duplicates");
  }
  return answer_ok(table(rows));
}

/// pause, resume and restart: through the supervisor, audited with the state before and after.
console_reply cmd_control(const console_context& ctx, const std::string& verb, const std::string& name,
                          const std::string& actor) {
  if (find_endpoint(ctx, name) == nullptr) return answer_err(no_endpoint(name));
  auto before = live_status(ctx);
  if (!before) return answer_err(before.error().message);
  const auto* s = find_status(*before, name);
  const std::string old_state = s ? s->state : "not running";
  const bool was_paused = s && s->paused;
  expected<std::string> done = failure{ec::bad_argument, "unknown"};
  std::string kind, details;
  if (verb == "pause") {
    done = ask<std::string>(ctx, ctx.supervisor, pause_atom::value, name);
    kind = "endpoint.paused";
    details =
        std::string("paused ") + (was_paused ? "yes" : "no") + " -> yes; state " + old_state + " -> paused";
  } else if (verb == "resume") {
    done = ask<std::string>(ctx, ctx.supervisor, resume_atom::value, name);
    kind = "endpoint.resumed";
    details =
        std::string("paused ") + (was_paused ? "yes" : "no") + " -> no; state " + old_state + " -> starting";
  } else {
    done = ask<std::string>(ctx, ctx.supervisor, restart_atom::value, name, actor);
    kind = "endpoint.restarted";
    const uint64_t restarts = s ? s->restarts : 0;
    details = "state " + old_state + " -> restarting; restarts " + std::to_string(restarts) +
              " (an operator's restart does not count against the restart limit)";
  }
  if (!done) return answer_err(done.error().message);
  return answer_ok(*done + "\n" + audit(ctx, kind, actor, name, details));
}

console_reply cmd_cursor(const console_context& ctx, const console_command& cmd) {
  if (cmd.args.empty()) return answer_err("usage: cursor NAME [set VALUE]");
  const auto& name = cmd.args[0];
  const auto* ep = find_endpoint(ctx, name);
  if (ep == nullptr) return answer_err(no_endpoint(name));
  if (cmd.args.size() == 1) {
    auto cp = ctx.store->checkpoint(name);
    if (!cp) return answer_err(cp.error().message);
    if (!*cp)
      return answer_ok("cursor of " + name + ": nothing committed yet (starts at \"" + initial_cursor(*ep) +
                       "\")");
    return answer_ok("cursor of " + name + ": \"" + (*cp)->cursor + "\"" +
                     ((*cp)->caught_up ? " (caught up)" : "") + ", committed " +
                     when((*cp)->updated_at_ms, wall_ms()));
  }
  if (cmd.args[1] != "set" || cmd.args.size() < 3) return answer_err("usage: cursor NAME [set VALUE]");
  const std::string value = cmd.rest_after(2);
  // The supervisor refuses while the endpoint runs; the ledger audits the old and the new value.
  auto done = ask<std::string>(ctx, ctx.supervisor, cursor_atom::value, name, value);
  if (!done) return answer_err(done.error().message);
  return answer_ok(*done);
}

console_reply cmd_quarantine(const console_context& ctx, const console_command& cmd,
                             const std::string& actor) {
  const std::string sub = cmd.args.empty() ? "" : cmd.args[0];
  if (sub == "list") {
    uint64_t total = 0;
    std::map<std::string, uint64_t> by_source;
    std::vector<std::vector<std::string>> rows{{"KEY", "KIND", "SOURCE", "POSITION", "ERROR"}};
    auto st = ctx.store->for_each_quarantined([&](const stored_quarantine& q) {
      ++total;
      ++by_source[q.source];
      if (rows.size() > list_limit) return;
      std::string error =
          q.errors.empty() ? ""
                           : std::string(to_string(q.errors.front().code)) + ": " + q.errors.front().message;
      if (q.errors.size() > 1) error += " (+" + std::to_string(q.errors.size() - 1) + " more)";
      rows.push_back({to_hex(q.key), q.kind, q.source, std::to_string(q.position), error});
    });
    if (!st) return answer_err(st.error().message);
    std::string body = std::to_string(total) + " items in quarantine";
    for (const auto& [src, n] : by_source)
      body += (body.back() == 'e' ? ": " : ", ") + src + " " + std::to_string(n);
    body += "\n";
    if (total > 0) body += table(rows);
    if (total > list_limit) body += "... and " + std::to_string(total - list_limit) + " more\n";
    return answer_ok(body);
  }
  if ((sub == "show" || sub == "release") && cmd.args.size() == 2) {
    auto key = parse_record_key(cmd.args[1]);
    if (!key) return answer_err("not a quarantine key (64 hex digits): " + cmd.args[1].substr(0, 80));
    auto item = ctx.store->quarantined(*key);
    if (!item) return answer_err(item.error().message);
    if (!*item) return answer_err("nothing in quarantine under " + to_hex(*key));
    const auto& q = **item;
    if (sub == "show") {
      std::string body = "key: " + to_hex(q.key) + "\nkind: " + q.kind + "\nsource: " + q.source +
                         "\nrequest: " + q.request + "\nposition: " + std::to_string(q.position) +
                         "\nerrors:\n";
      for (const auto& e : q.errors) body += "  " + std::string(to_string(e.code)) + ": " + e.message + "\n";
      body += "raw (" + std::to_string(q.raw.size()) + " bytes):\n" + q.raw.substr(0, raw_shown) + "\n";
      if (q.raw.size() > raw_shown)
        body += "... (" + std::to_string(q.raw.size() - raw_shown) + " bytes more)\n";
      return answer_ok(body);
    }
    if (q.kind != "record") return answer_err("a whole page is not released: its endpoint fetches it again");
    const auto* ep = find_endpoint(ctx, q.source);
    if (ep == nullptr) return answer_err("its source '" + q.source + "' is not an endpoint of this config");
    territory_options territories;
    territories.pseudo = ctx.config->pseudo_territories;
    auto rec = revalidate_quarantined(*ep, territories, q.raw, q.position);
    if (!rec)
      return answer_err("still invalid with the current config of " + ep->name + "; kept in quarantine",
                        rec.error().message);
    auto done = ask<std::string>(ctx, ctx.ledger, release_atom::value, to_hex(q.key), *rec, actor);
    if (!done) return answer_err(done.error().message);
    return answer_ok(*done);
  }
  return answer_err("usage: quarantine list|show KEY|release KEY");
}

// The reconciliation code (ledger_store's lifecycle section) may or may not be in this build: the
// console uses it when it is there and says so when it is not.
template <class S, class = void>
struct has_drift : std::false_type {};
template <class S>
struct has_drift<S, std::void_t<decltype(std::declval<const S&>().for_each_drift(nullptr))>>
    : std::true_type {};
template <class S, class = void>
struct has_decisions : std::false_type {};
template <class S>
struct has_decisions<S, std::void_t<decltype(std::declval<const S&>().decision(uint64_t{}))>>
    : std::true_type {};

/// Why a latest version waits: its validation fault, or the reconciler's reason.
template <class S>
std::pair<std::string, std::string> pending_reason(const S& store, const stored_record& r) {
  if (!r.faults.empty()) return {"validation", r.faults};
  if constexpr (has_decisions<S>::value) {
    auto d = store.decision(r.seq);
    if (d && *d) return {to_string((**d).decision.reason), (**d).decision.message};
  }
  return {"not reconciled", ""};
}

template <class S>
console_reply pending_report(const S& store) {
  struct item {
    std::string reason;
    std::string line;
  };
  // Latest versions only: a version is dropped when a later one names it as its previous version
  // (versions are stored in order).
  std::map<uint64_t, item> pending;
  auto st = store.for_each_record([&](const stored_record& r) {
    if (r.prev_seq != 0) pending.erase(r.prev_seq);
    if (r.state != record_state::pending_reconciliation) return;
    auto [reason, why] = pending_reason(store, r);
    std::string line = to_hex(r.key) + "  seq " + std::to_string(r.seq) + "  " + r.record.dsp + " " +
                       r.record.isrc + " " + r.record.reporting_period + " tx " + r.record.transaction_id +
                       "  " + reason + (why.empty() ? "" : ": " + why);
    pending[r.seq] = {std::move(reason), std::move(line)};
  });
  if (!st) return answer_err(st.error().message);
  std::map<std::string, uint64_t> by_reason;
  for (const auto& [seq, it] : pending) ++by_reason[it.reason];
  std::string body = std::to_string(pending.size()) + " records pending reconciliation\n";
  for (const auto& [reason, n] : by_reason) body += "  " + reason + ": " + std::to_string(n) + "\n";
  std::size_t shown = 0;
  for (const auto& [seq, it] : pending) {
    if (shown++ == list_limit) {
      body += "... and " + std::to_string(pending.size() - list_limit) + " more\n";
      break;
    }
    body += it.line + "\n";
  }
  return answer_ok(body);
}

template <class S>
console_reply drift_report(const S& store) {
  if constexpr (!has_drift<S>::value) {
    return answer_ok("drift detection is not enabled in this build: no drift events recorded");
  } else {
    uint64_t total = 0;
    std::map<std::string, uint64_t> by_kind;
    std::deque<std::string> last;
    auto st = store.for_each_drift([&](const auto& d) {
      ++total;
      ++by_kind[to_string(d.event.kind)];
      last.push_back("#" + std::to_string(d.seq) + " " + to_string(d.event.kind) + " " + d.event.subject +
                     ": \"" + d.event.reference_value + "\" -> \"" + d.event.observed_value + "\"" +
                     (d.event.detail.empty() ? "" : " (" + d.event.detail + ")"));
      if (last.size() > list_limit) last.pop_front();
    });
    if (!st) return answer_err(st.error().message);
    if (total == 0) return answer_ok("no drift events recorded");
    std::string body = std::to_string(total) + " drift events";
    for (const auto& [kind, n] : by_kind)
      body += (body.back() == 's' ? ": " : ", ") + kind + " " + std::to_string(n);
    body += "\n";
    if (total > last.size()) body += "the last " + std::to_string(last.size()) + ":\n";
    for (const auto& l : last) body += l + "\n";
    return answer_ok(body);
  }
}

console_reply cmd_audit(const console_context& ctx, const console_command& cmd) {
  if (cmd.args.size() != 1 || cmd.args[0] != "verify") return answer_err("usage: audit verify");
  auto v = ctx.store->verify_audit();
  if (!v) return answer_err(v.error().message);
  if (v->first_broken_seq != 0)
    return answer_err("audit chain broken at entry " + std::to_string(v->first_broken_seq) + ": " + v->detail,
                      std::to_string(v->entries) + " entries checked");
  return answer_ok("audit chain intact: " + std::to_string(v->entries) + " entries");
}

console_reply cmd_triage(const console_context& ctx) {
  auto live = live_status(ctx);
  if (!live) return answer_err(live.error().message);
  auto cps = ctx.store->checkpoints();
  if (!cps) return answer_err(cps.error().message);
  std::map<std::string, source_checkpoint> by_source(cps->begin(), cps->end());
  const int64_t now = wall_ms();
  std::vector<triage_line> lines;
  for (const auto& s : *live) {
    triage_endpoint te;
    te.name = s.name;
    te.state = s.state;
    te.reason = s.reason;
    te.paused = s.paused;
    te.circuit = s.circuit;
    if (const auto* ep = find_endpoint(ctx, s.name)) {
      const bool since = ep->pagination.style == pagination_style::updated_since;
      te.lag_limit_s = cursor_lag_limit_seconds(since, ep->schedule.interval.count(),
                                                ep->schedule.lag.count(), ep->schedule.lookback.count());
      if (auto it = by_source.find(s.name); it != by_source.end())
        te.lag_s = cursor_lag_seconds(since, it->second.cursor, it->second.updated_at_ms, now);
    }
    te.recent = s.recent.total();
    te.recent_pages = s.recent.size();
    auto checks = triage_endpoint_checks(te);
    lines.insert(lines.end(), checks.begin(), checks.end());
  }
  auto counts = state_counts(ctx);
  if (!counts) return answer_err(counts.error().message);
  auto it = counts->find(record_state::pending_reconciliation);
  lines.push_back(triage_pending(it == counts->end() ? 0 : it->second, ctx.config->console.pending_sla));
  auto attention = std::count_if(lines.begin(), lines.end(), [](const auto& l) { return l.attention; });
  return answer_ok(format_triage(lines) + std::to_string(attention) + " of " + std::to_string(lines.size()) +
                   " checks need attention\n");
}

console_reply cmd_lineage(const console_context& ctx, const console_command& cmd) {
  if (cmd.args.size() != 1) return answer_err("usage: lineage KEY");
  auto key = parse_record_key(cmd.args[0]);
  if (!key) return answer_err("not a record key (64 hex digits): " + cmd.args[0].substr(0, 80));
  auto versions = ctx.store->versions(*key);
  if (!versions) return answer_err(versions.error().message);
  if (versions->empty()) {
    auto q = ctx.store->quarantined(*key);
    if (q && *q)
      return answer_err("no record under " + cmd.args[0] + ": it is in quarantine (quarantine show KEY)");
    return answer_err("no record under " + cmd.args[0]);
  }
  const std::string hex = to_hex(*key);
  std::string body = "record " + hex + ": " + std::to_string(versions->size()) + " version(s)\n";
  std::vector<uint64_t> pages;
  for (const auto& v : *versions) {
    const auto& r = v.record;
    body += "version " + std::to_string(v.version) + "  seq " + std::to_string(v.seq) + "  state " +
            to_string(v.state) + "  page " + std::to_string(v.page_seq) + " position " +
            std::to_string(v.position) + "\n  " + r.dsp + " " + r.isrc + " upc " + r.upc + " " + r.territory +
            " " + r.reporting_period + " tx " + r.transaction_id + " units " + std::to_string(r.units) +
            " revenue " + r.revenue.to_string() + " " + r.currency +
            (v.faults.empty() ? "" : "\n  pending: " + v.faults) + "\n";
    if (v.page_seq != 0 && std::find(pages.begin(), pages.end(), v.page_seq) == pages.end())
      pages.push_back(v.page_seq);
  }
  for (const auto& v : *versions) {
    if (v.page_seq == 0) continue;
    auto p = ctx.store->page(v.page_seq);
    if (!p || !*p) {
      body += "page " + std::to_string(v.page_seq) + ": not found\n";
      continue;
    }
    const auto& page = **p;
    body += "page " + std::to_string(page.seq) + " (version " + std::to_string(v.version) +
            ")\n  source: " + page.source + "\n  request: " + page.request +
            "\n  correlation_id: " + page.correlation_id +
            "\n  fetched: " + when(page.fetched_at_ms, wall_ms()) + "\n  body_sha256: " + page.body_sha256 +
            " (" + std::to_string(page.body.size()) + " bytes)\n  cursor: \"" + page.cursor_before +
            "\" -> \"" + page.cursor_after + "\"\n";
    if (const auto* ep = find_endpoint(ctx, page.source)) {
      auto spans = array_element_spans(page.body, ep->pagination.records_pointer);
      if (v.position < spans.size()) body += "  raw record: " + std::string(spans[v.position]) + "\n";
    }
  }
  std::vector<std::string> subjects;
  for (auto seq : pages) subjects.push_back("page:" + std::to_string(seq));
  std::string entries;
  auto st = ctx.store->for_each_audit([&](const audit_entry& a) {
    bool mine = std::find(subjects.begin(), subjects.end(), a.subject) != subjects.end() ||
                a.details.find(hex) != std::string::npos;
    if (!mine) return;
    entries += "  #" + std::to_string(a.seq) + " " + format_rfc3339(a.at_ms / 1000) + " " + a.kind + " by " +
               a.actor + " on " + a.subject + ": " + a.details + "\n";
  });
  if (!st) return answer_err(st.error().message);
  body += "audit entries:\n" + (entries.empty() ? std::string("  none\n") : entries);
  return answer_ok(body);
}

}  // namespace

std::string collect_metrics(const console_context& ctx) {
  metrics_snapshot snap;
  snap.now_ms = wall_ms();
  if (auto live = live_status(ctx)) {
    snap.live = true;
    snap.endpoints = std::move(*live);
  }
  if (auto cps = ctx.store->checkpoints()) snap.checkpoints = std::move(*cps);
  if (auto st = ctx.store->stats()) snap.stats = *st;
  if (auto counts = state_counts(ctx)) snap.states = std::move(*counts);
  snap.commits = ctx.store->commit_durations();
  return render_metrics(*ctx.config, snap);
}

console_reply run_console_command(const console_context& ctx, const console_command& cmd,
                                  const std::string& actor) {
  const auto& n = cmd.name;
  const auto& a = cmd.args;
  try {
    if (n == "help") return answer_ok(console_help());
    if (n == "quit") return {frame_ok("bye"), true};
    if (n == "auth") return answer_ok("already authenticated");
    if (n == "status") return cmd_status(ctx);
    if (n == "endpoints") return cmd_endpoints(ctx);
    if (n == "endpoint") return a.size() == 1 ? cmd_endpoint(ctx, a[0]) : answer_err("usage: endpoint NAME");
    if (n == "pause" || n == "resume" || n == "restart")
      return a.size() == 1 ? cmd_control(ctx, n, a[0], actor) : answer_err("usage: " + n + " NAME");
    if (n == "cursor") return cmd_cursor(ctx, cmd);
    if (n == "quarantine") return cmd_quarantine(ctx, cmd, actor);
    if (n == "pending") return pending_report(*ctx.store);
    if (n == "drift") return drift_report(*ctx.store);
    if (n == "metrics") return answer_ok(collect_metrics(ctx));
    if (n == "audit") return cmd_audit(ctx, cmd);
    if (n == "triage") return cmd_triage(ctx);
    if (n == "lineage") return cmd_lineage(ctx, cmd);
  } catch (const std::exception& e) {
    return answer_err(n + " failed: " + e.what());
  }
  return {unknown_command_reply(n), false};
}

}  // namespace dspsync
