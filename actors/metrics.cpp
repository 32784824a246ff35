#include "actors/metrics.hpp"

#include <set>

#include "domain/triage.hpp"
#include "protocol/prometheus.hpp"

namespace dspsync {

namespace {

/// The DSP of a source, from the config (endpoints, then file sources).
std::string dsp_of(const engine_config& cfg, const std::string& source) {
  for (const auto& ep : cfg.endpoints)
    if (ep.name == source) return ep.dsp;
  for (const auto& s : cfg.sources)
    if (s.name == source) return s.dsp.empty() ? s.name : s.dsp;
  // Webhook deliveries are committed under ENDPOINT/webhook (actors/webhooks.hpp).
  constexpr std::string_view webhook_suffix = "/webhook";
  if (source.size() > webhook_suffix.size() &&
      source.compare(source.size() - webhook_suffix.size(), webhook_suffix.size(), webhook_suffix) == 0)
    return dsp_of(cfg, source.substr(0, source.size() - webhook_suffix.size()));
  return "";
}

const endpoint_config* endpoint_of(const engine_config& cfg, const std::string& name) {
  for (const auto& ep : cfg.endpoints)
    if (ep.name == name) return &ep;
  return nullptr;
}

int circuit_value(const std::string& circuit) {
  if (circuit == "open") return 2;
  if (circuit == "half_open") return 1;
  return 0;
}

}  // namespace

std::string render_metrics(const engine_config& cfg, const metrics_snapshot& snap) {
  prometheus_writer w;
  auto labels = [&](const std::string& source) {
    return prom_labels{{"endpoint", source}, {"dsp", dsp_of(cfg, source)}};
  };
  auto with = [](prom_labels l, const char* name, std::string value) {
    l.emplace_back(name, std::move(value));
    return l;
  };

  w.family("dspsync_up", "gauge", "1 when this exposition was produced");
  w.sample_int("dspsync_up", {}, 1);
  w.family("dspsync_engine_live", "gauge",
           "1 when the supervisor answered in time; 0 leaves out the live endpoint families");
  w.sample_int("dspsync_engine_live", {}, snap.live ? 1 : 0);

  // --- Committed figures, from the ledger's checkpoints ---
  const auto& cps = snap.checkpoints;
  w.family("dspsync_records_in_total", "counter", "Records received on committed pages");
  for (const auto& [src, cp] : cps) w.sample_int("dspsync_records_in_total", labels(src), cp.records_in);
  w.family("dspsync_records_total", "counter",
           "Committed records by what the ledger did with them: inserted, restated, duplicate, quarantined; "
           "pending counts the inserted or restated ones that wait for reconciliation");
  for (const auto& [src, cp] : cps) {
    const auto l = labels(src);
    w.sample_int("dspsync_records_total", with(l, "state", "inserted"), cp.inserted);
    w.sample_int("dspsync_records_total", with(l, "state", "restated"), cp.restatements);
    w.sample_int("dspsync_records_total", with(l, "state", "duplicate"), cp.duplicates);
    w.sample_int("dspsync_records_total", with(l, "state", "quarantined"), cp.quarantined);
    w.sample_int("dspsync_records_total", with(l, "state", "pending"), cp.pending);
  }
  w.family("dspsync_schema_rejections_total", "counter",
           "Records quarantined because they failed validation");
  for (const auto& [src, cp] : cps)
    w.sample_int("dspsync_schema_rejections_total", labels(src), cp.quarantined);
  w.family("dspsync_duplicates_total", "counter", "Records that repeated a stored version");
  for (const auto& [src, cp] : cps) w.sample_int("dspsync_duplicates_total", labels(src), cp.duplicates);
  w.family("dspsync_pages_total", "counter", "Pages committed");
  for (const auto& [src, cp] : cps) w.sample_int("dspsync_pages_total", labels(src), cp.pages);
  w.family("dspsync_page_faults_total", "counter", "Whole pages quarantined as corrupt");
  for (const auto& [src, cp] : cps) w.sample_int("dspsync_page_faults_total", labels(src), cp.page_faults);
  w.family("dspsync_last_commit_timestamp_seconds", "gauge", "Unix time of the source's last commit");
  for (const auto& [src, cp] : cps)
    w.sample("dspsync_last_commit_timestamp_seconds", labels(src),
             static_cast<double>(cp.updated_at_ms) / 1000.0);
  w.family("dspsync_caught_up", "gauge", "1 when the source reached the end of its data with its last page");
  for (const auto& [src, cp] : cps) w.sample_int("dspsync_caught_up", labels(src), cp.caught_up ? 1 : 0);
  w.family("dspsync_cursor_lag_seconds", "gauge",
           "updated_since endpoints: now minus the cursor time; others: seconds since the last commit "
           "(for a caught-up endpoint, the sync completion delta)");
  for (const auto& [src, cp] : cps) {
    const auto* ep = endpoint_of(cfg, src);
    const bool since = ep != nullptr && ep->pagination.style == pagination_style::updated_since;
    if (auto lag = cursor_lag_seconds(since, cp.cursor, cp.updated_at_ms, snap.now_ms))
      w.sample_int("dspsync_cursor_lag_seconds", labels(src), static_cast<uint64_t>(*lag));
  }

  // --- The ledger as a whole ---
  if (snap.stats) {
    w.family("dspsync_quarantine_size", "gauge", "Items in quarantine (records and whole pages)");
    w.sample_int("dspsync_quarantine_size", {}, snap.stats->quarantined);
    w.family("dspsync_audit_entries_total", "counter", "Entries in the audit log");
    w.sample_int("dspsync_audit_entries_total", {}, snap.stats->audit_entries);
  }
  if (snap.commits) {
    // The ledger's one writer: its commits bound ingestion once the network and validators keep up.
    const auto& c = *snap.commits;
    w.family("dspsync_ledger_commit_duration_seconds", "histogram",
             "Duration of the ledger's record commits (one write transaction per group of pages)");
    w.histogram("dspsync_ledger_commit_duration_seconds", {}, c.commit.bounds(), c.commit.counts,
                c.commit.sum);
    w.family("dspsync_ledger_durable_write_duration_seconds", "histogram",
             "Part of each record commit spent writing its pages and making them durable (fdatasync)");
    w.histogram("dspsync_ledger_durable_write_duration_seconds", {}, c.durable.bounds(), c.durable.counts,
                c.durable.sum);
  }
  if (snap.states) {
    auto count = [&](record_state s) {
      auto it = snap.states->find(s);
      return it == snap.states->end() ? uint64_t{0} : it->second;
    };
    w.family("dspsync_pending_size", "gauge", "Records (latest versions) pending reconciliation");
    w.sample_int("dspsync_pending_size", {}, count(record_state::pending_reconciliation));
    w.family("dspsync_ledger_records", "gauge", "Records (latest versions) in the ledger by lifecycle state");
    for (auto s : {record_state::validated, record_state::pending_reconciliation, record_state::reconciled,
                   record_state::settled})
      w.sample_int("dspsync_ledger_records", {{"state", to_string(s)}}, count(s));
  }

  if (!snap.live) return w.text();
  // --- Live figures, from the supervisor ---
  const auto& eps = snap.endpoints;
  w.family("dspsync_requests_total", "counter",
           "HTTP exchanges by status code (0: no response, a transport failure)");
  for (const auto& s : eps)
    for (const auto& [code, n] : s.responses)
      w.sample_int("dspsync_requests_total", with(labels(s.name), "code", std::to_string(code)), n);
  w.family("dspsync_retries_total", "counter", "Failed attempts that were retried or given up");
  for (const auto& s : eps) w.sample_int("dspsync_retries_total", labels(s.name), s.retries);
  w.family("dspsync_restarts_total", "counter", "Poller restarts by the supervisor");
  for (const auto& s : eps) w.sample_int("dspsync_restarts_total", labels(s.name), s.restarts);
  w.family("dspsync_circuit_state", "gauge", "Circuit breaker: 0 closed, 1 half_open, 2 open");
  for (const auto& s : eps)
    w.sample_int("dspsync_circuit_state", with(labels(s.name), "state", s.circuit),
                 static_cast<uint64_t>(circuit_value(s.circuit)));
  w.family("dspsync_endpoint_state", "gauge", "1 for the endpoint's current state");
  for (const auto& s : eps) w.sample_int("dspsync_endpoint_state", with(labels(s.name), "state", s.state), 1);
  w.family("dspsync_endpoint_paused", "gauge", "1 when an operator paused the endpoint");
  for (const auto& s : eps) w.sample_int("dspsync_endpoint_paused", labels(s.name), s.paused ? 1 : 0);
  w.family("dspsync_in_flight_pages", "gauge", "Pages fetched but not yet committed");
  for (const auto& s : eps)
    w.sample_int("dspsync_in_flight_pages", labels(s.name), static_cast<uint64_t>(std::max(s.in_flight, 0)));
  w.family("dspsync_rate_budget_requests_per_second", "gauge",
           "Requests per second the rate budget allows now (after the DSP's rate-limit hints)");
  for (const auto& s : eps) w.sample("dspsync_rate_budget_requests_per_second", labels(s.name), s.rate);
  w.family("dspsync_request_duration_seconds", "histogram", "Duration of HTTP exchanges");
  for (const auto& s : eps)
    w.histogram("dspsync_request_duration_seconds", labels(s.name), s.latency.bounds(), s.latency.counts,
                s.latency.sum);
  w.family("dspsync_backoff_delay_seconds", "histogram",
           "Backoff delays chosen before a retry (jitter or Retry-After)");
  for (const auto& s : eps)
    w.histogram("dspsync_backoff_delay_seconds", labels(s.name), s.backoff.bounds(), s.backoff.counts,
                s.backoff.sum);
  return w.text();
}

}  // namespace dspsync
