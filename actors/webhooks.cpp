#include "actors/webhooks.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <random>

#include <boost/json.hpp>

#include "domain/idempotency.hpp"
#include "protocol/log.hpp"
#include "protocol/page_mapper.hpp"
#include "protocol/prometheus.hpp"
#include "protocol/webhook_auth.hpp"

namespace dspsync {

namespace json = boost::json;

namespace {

/// What happened to a delivery, as counted in `dspsync_webhook_deliveries_total`.
enum class outcome : std::size_t { accepted, forged, stale, replayed, corrupt, failed, count };

constexpr std::array<const char*, static_cast<std::size_t>(outcome::count)> outcome_names{
    "accepted", "forged", "stale", "replayed", "corrupt", "failed"};

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

service_response answer(unsigned status, json::object body) {
  service_response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = json::serialize(body) + "\n";
  return r;
}

service_response refuse(unsigned status, const std::string& error) {
  return answer(status, {{"error", error}});
}

/// What a failed commit request means, for the sender and the log.
std::string error_text(const caf::error& e) {
  if (e == caf::sec::request_timeout) return "the ledger did not commit in time";
  if (e == caf::sec::request_receiver_down) return "the engine is stopping";
  const auto& context = e.context();
  if (context.match_elements<std::string>()) return context.get_as<std::string>(0);
  return caf::to_string(e);
}

}  // namespace

/// One endpoint's receiver: its key, its header names and window, its mapper and its counters.
struct webhook_receiver::receiver {
  receiver(const endpoint_config& ep, std::string secret, const territory_options& territories)
      : endpoint(ep), key(std::move(secret)), mapper(ep, territories) {
    auth.signature_header = ep.webhook.signature_header;
    auth.timestamp_header = ep.webhook.timestamp_header;
    auth.tolerance_s = ep.webhook.tolerance.count();
    payload.records_pointer = ep.webhook.records_pointer;
    payload.update_pointer = ep.webhook.update_pointer;
    payload.update_value = ep.webhook.update_value;
  }
  endpoint_config endpoint;
  hmac_sha256 key;
  webhook_auth_options auth;
  page_mapper::payload_options payload;
  /// The mapper reuses its buffers: one delivery at a time.
  std::mutex mapper_mutex;
  page_mapper mapper;
  std::atomic<uint64_t> exchanges{0};
  std::array<std::atomic<uint64_t>, static_cast<std::size_t>(outcome::count)> counts{};

  void count(outcome o) { counts[static_cast<std::size_t>(o)].fetch_add(1, std::memory_order_relaxed); }
};

webhook_receiver::~webhook_receiver() = default;

std::string webhook_receiver::source_of(const std::string& endpoint) { return endpoint + "/webhook"; }

expected<std::unique_ptr<webhook_receiver>> webhook_receiver::create(webhook_setup setup) {
  std::unique_ptr<webhook_receiver> r(new webhook_receiver());
  territory_options territories;
  territories.pseudo = setup.config->pseudo_territories;
  const auto& eps = setup.config->endpoints;
  for (std::size_t i = 0; i < eps.size(); ++i) {
    const auto& ep = eps[i];
    if (!ep.webhook.enabled) continue;
    const std::string field = "endpoints[" + std::to_string(i) + "].webhook.secret_env";
    const char* v = ep.webhook.secret_env.empty() ? nullptr : std::getenv(ep.webhook.secret_env.c_str());
    if (v == nullptr || *v == '\0')
      return failure{ec::bad_config,
                     field + ": environment variable " +
                         (ep.webhook.secret_env.empty() ? std::string("(none)") : ep.webhook.secret_env) +
                         " is not set (or empty): refusing to receive webhooks for " + ep.name +
                         " without their secret"};
    // The value is never echoed, only its length rule.
    if (std::string_view(v).size() < min_secret_size)
      return failure{ec::bad_config, field + ": the secret in " + ep.webhook.secret_env +
                                         " is shorter than " + std::to_string(min_secret_size) +
                                         " bytes; use a long random key (for example: openssl rand -hex 32)"};
    r->receivers_.emplace(ep.name, std::make_unique<receiver>(ep, std::string(v), territories));
    r->max_tolerance_s_ = std::max<int64_t>(r->max_tolerance_s_, ep.webhook.tolerance.count());
  }
  std::random_device rd;
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(rd()));
  r->incarnation_ = buf;
  r->setup_ = std::move(setup);
  return expected<std::unique_ptr<webhook_receiver>>(std::move(r));
}

service_response webhook_receiver::handle(const std::string& endpoint, const service_request& req) {
  auto it = receivers_.find(endpoint);
  if (it == receivers_.end()) {
    for (const auto& ep : setup_.config->endpoints)
      if (ep.name == endpoint)
        return refuse(404,
                      "endpoint " + endpoint +
                          " receives no webhooks: it has no webhook configuration (endpoints[].webhook)");
    return refuse(404, "no endpoint named " + endpoint);
  }
  if (req.method != "POST") return refuse(405, "use POST /webhooks/" + endpoint);
  auto& r = *it->second;
  const int64_t now = wall_ms();
  const std::string source = source_of(endpoint);
  auto batch = std::make_shared<ingest_batch>();
  batch->source = source;
  batch->request = "POST /webhooks/" + endpoint;
  batch->correlation_id = endpoint + "-webhook-" + incarnation_ + "-" + std::to_string(++r.exchanges);
  batch->fetched_at_ms = now;
  batch->body = req.body;
  const auto& cid = batch->correlation_id;

  const auto check = check_webhook(r.key, r.auth, req.header(r.auth.timestamp_header),
                                   req.header(r.auth.signature_header), req.body, now / 1000);
  if (check.verdict == webhook_verdict::stale) {
    r.count(outcome::stale);
    log_event(log_level::warn, "webhook.stale",
              {{"endpoint", endpoint}, {"correlation_id", cid}, {"reason", check.reason}});
    return refuse(401, check.reason + "; nothing was stored");
  }

  // Commits a batch through the ledger actor (the only writer) and waits for its outcome.
  auto commit = [&](const batch_ptr& b) -> expected<batch_outcome> {
    if (!setup_.ledger || setup_.system == nullptr)
      return failure{ec::storage_failure, "the ledger is not running"};
    std::optional<expected<batch_outcome>> out;
    caf::scoped_actor self{*setup_.system};
    self->request(setup_.ledger, setup_.commit_timeout, commit_atom::value, b)
        .receive([&](batch_outcome& o) { out.emplace(std::move(o)); },
                 [&](caf::error& e) {
                   out.emplace(failure{ec::storage_failure, error_text(e)});
                 });
    if (!out) return failure{ec::storage_failure, "no answer from the ledger"};
    return std::move(*out);
  };

  if (check.forged()) {
    // Fatal corruption: the bytes are kept whole in quarantine, never ingested.
    r.count(outcome::forged);
    batch->body_sha256 = to_hex(sha256::digest(batch->body));
    batch->page_errors.push_back(failure{ec::bad_signature, "webhook " + endpoint + ": " + check.reason});
    auto done = commit(batch);
    const bool kept = done && done->page_quarantined;
    const std::string key = to_hex(sha256::digest(source + '\x1f' + batch->body));
    log_event(log_level::alert, "webhook.forged",
              {{"endpoint", endpoint},
               {"correlation_id", cid},
               {"reason", check.reason},
               {"body_sha256", batch->body_sha256},
               {"quarantine_key", kept ? key : std::string()},
               {"quarantine_error", done ? std::string() : done.error().message}});
    return answer(401, {{"error", "not authentic: " + check.reason}, {"quarantined", kept}});
  }

  try {
    std::lock_guard<std::mutex> guard(r.mapper_mutex);
    r.mapper.map_payload(*batch, r.payload);
  } catch (const std::exception& e) {
    batch->records.clear();
    batch->quarantined.clear();
    batch->page_errors.push_back(failure{
        ec::bad_value, source + " " + batch->request + ": delivery could not be mapped: " + e.what()});
  }
  const std::string signed_by =
      endpoint + '\x1f' +
      std::string(reinterpret_cast<const char*>(check.signature.data()), check.signature.size());
  const auto replay = sha256::digest(signed_by);
  batch->replay_key.assign(reinterpret_cast<const char*>(replay.data()), replay.size());
  batch->signed_at_s = check.timestamp;
  batch->replays_expire_before_s = now / 1000 - max_tolerance_s_;

  auto done = commit(batch);
  if (!done) {
    r.count(outcome::failed);
    log_event(log_level::error, "webhook.commit_failed",
              {{"endpoint", endpoint}, {"correlation_id", cid}, {"reason", done.error().message}});
    return refuse(503, "not committed (" + done.error().message + "); deliver it again");
  }
  const auto& o = *done;
  if (!o.refused.empty()) {
    r.count(outcome::failed);
    log_event(log_level::error, "webhook.commit_failed",
              {{"endpoint", endpoint}, {"correlation_id", cid}, {"reason", o.refused}});
    return refuse(503, "not committed (" + o.refused + "); deliver it again");
  }
  if (o.replayed) {
    r.count(outcome::replayed);
    log_event(log_level::warn, "webhook.replayed",
              {{"endpoint", endpoint}, {"correlation_id", cid}, {"first_page", std::to_string(o.page_seq)}});
    return answer(409,
                  {{"error", "replayed delivery: this signature and timestamp were accepted before (page " +
                                 std::to_string(o.page_seq) + "); nothing was stored again"},
                   {"page", o.page_seq}});
  }
  if (o.page_quarantined) {
    r.count(outcome::corrupt);
    const std::string reason = batch->page_errors.empty() ? "corrupt" : batch->page_errors.front().message;
    log_event(log_level::error, "webhook.corrupt",
              {{"endpoint", endpoint}, {"correlation_id", cid}, {"reason", reason}});
    return answer(422, {{"error", reason}, {"quarantined", true}});
  }
  r.count(outcome::accepted);
  log_event(log_level::info, "webhook.accepted",
            {{"endpoint", endpoint},
             {"correlation_id", cid},
             {"page", std::to_string(o.page_seq)},
             {"records", std::to_string(o.records_in)},
             {"held", std::to_string(o.held)},
             {"released", std::to_string(o.released)}});
  return answer(200, {{"page", o.page_seq},
                      {"records_in", o.records_in},
                      {"new", o.inserted},
                      {"restated", o.restatements},
                      {"duplicates", o.duplicates},
                      {"quarantined", o.quarantined},
                      {"pending", o.pending},
                      {"held", o.held},
                      {"released", o.released}});
}

std::string webhook_receiver::metrics() const {
  prometheus_writer w;
  w.family("dspsync_webhook_deliveries_total", "counter",
           "Webhook deliveries since start by outcome: accepted, forged (bad signature, quarantined), stale "
           "(timestamp outside the window), replayed, corrupt (not a records document, quarantined), failed "
           "(not committed)");
  for (const auto& [name, r] : receivers_)
    for (std::size_t i = 0; i < outcome_names.size(); ++i)
      w.sample_int("dspsync_webhook_deliveries_total",
                   {{"endpoint", name}, {"dsp", r->endpoint.dsp}, {"outcome", outcome_names[i]}},
                   r->counts[i].load(std::memory_order_relaxed));
  if (auto held = setup_.store->held_updates()) {
    w.family("dspsync_webhook_held", "gauge", "Webhook updates held until their base record arrives");
    w.sample_int("dspsync_webhook_held", {}, *held);
  }
  return w.text();
}

}  // namespace dspsync
