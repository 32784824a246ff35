#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/settlement.hpp"
#include "config/sources.hpp"
#include "domain/expected.hpp"

namespace dspsync {

/// How an endpoint pages through its data.
enum class pagination_style {
  /// `?offset=N&limit=M`; done when a page has fewer than `limit` records (or `offset >= total`).
  offset,
  /// `?cursor=C&limit=M`; the next cursor sits at `next_pointer`; done when it is null or absent.
  cursor,
  /// The response carries the full URL of the next page at `next_pointer`; done when null or absent.
  next_url,
  /// `?updated_since=T&limit=M`; the next window starts at the value at `next_pointer` (the page's
  /// high-water mark) minus `schedule.lookback`; done when a page has fewer than `limit` records.
  updated_since,
};

/// `offset`, `cursor`, `next_url` or `updated_since`.
const char* to_string(pagination_style style);

/// Where an endpoint's credentials come from. The token itself is never in the config file.
struct auth_config {
  /// Name of the environment variable that holds the token; empty means no authentication.
  std::string token_env;
  /// Header that carries the token.
  std::string header = "Authorization";
  /// Prefix before the token in that header (empty for a bare token).
  std::string scheme = "Bearer";
};

/// Pagination parameters and the JSON pointers (RFC 6901) into each response.
struct pagination_config {
  pagination_style style = pagination_style::cursor;
  /// Records per request.
  int page_size = 1000;
  /// Query parameter names.
  std::string limit_param = "limit";
  std::string offset_param = "offset";
  std::string cursor_param = "cursor";
  std::string since_param = "updated_since";
  /// Pointer to the records array.
  std::string records_pointer = "/data";
  /// Pointer to the next cursor, next URL or high-water mark (style dependent). Default by style:
  /// cursor `/next_cursor`, next_url `/next`, updated_since `/high_water_mark`, offset "" (unused).
  std::string next_pointer;
  /// Pointer to the total record count (offset style, optional).
  std::string total_pointer;
  /// First value of the cursor for `updated_since` (an RFC 3339 timestamp); empty starts from the
  /// beginning (`1970-01-01T00:00:00Z`).
  std::string initial_since;
};

/// Token bucket for one endpoint.
struct rate_config {
  double requests_per_second = 5.0;
  int burst = 10;
  /// Endpoints with the same non-empty group share one budget (one DSP quota).
  std::string group;
};

/// Capped exponential backoff with full jitter.
struct backoff_config {
  std::chrono::milliseconds base{500};
  std::chrono::milliseconds cap{60'000};
  int max_attempts = 8;
  /// Longest Retry-After honoured before the endpoint is marked degraded.
  std::chrono::seconds retry_after_ceiling{24 * 3600};
  /// Times a corrupt page (unparseable, truncated, no records array) is fetched again before the
  /// endpoint parks.
  int page_retries = 3;
};

/// Circuit breaker.
struct breaker_config {
  int threshold = 5;
  std::chrono::seconds cooldown{30};
};

/// When and how far an endpoint polls.
struct schedule_config {
  /// Pause between catch-up runs once the endpoint has reached the end of its data.
  std::chrono::seconds interval{3600};
  /// Reporting latency: never ask for windows newer than now - lag.
  std::chrono::seconds lag{48 * 3600};
  /// Overlap of consecutive `updated_since` windows.
  std::chrono::seconds lookback{0};
  /// `updated_since` only: query parameter that bounds a window above at now - lag (empty: the
  /// API has none; the poller then waits until the window start is older than now - lag).
  std::string until_param;
  /// How long the API keeps data (0: unknown). A committed cursor older than this is reported as
  /// out of retention, never silently reset.
  std::chrono::seconds retention{0};
};

/// Signed webhook deliveries for an endpoint: `POST /webhooks/{name}` on the service HTTP port. The
/// body is authenticated with HMAC-SHA256 over `TIMESTAMP "." BODY` under a secret read from the
/// environment; see docs/configuration.md#webhook.
struct webhook_config {
  /// True when the endpoint has a `webhook` object; otherwise its webhook path answers 404.
  bool enabled = false;
  /// Environment variable holding the HMAC secret (required; the engine refuses to start without it).
  std::string secret_env;
  /// Header with the signature: 64 hex digits, optionally prefixed `sha256=`.
  std::string signature_header = "X-Signature";
  /// Header with the signed timestamp (Unix seconds).
  std::string timestamp_header = "X-Timestamp";
  /// How far the timestamp may be from now, either way (`tolerance_s`).
  std::chrono::seconds tolerance{300};
  /// Where the records array is in a delivery; defaults to `pagination.records_pointer`.
  std::string records_pointer;
  /// Pointer inside each record: the record is an update when the value there is `update_value`. An
  /// update of a record not yet ingested is held until its base record arrives. "" disables it.
  std::string update_pointer = "/op";
  std::string update_value = "update";
};

/// Where a DSP serves its own totals of a period (`dspsync fetch-totals`), which the statements'
/// reconciliation report compares with the ledger: one GET of `path` with `query` (`{period}`
/// becomes YYYY-MM), an array of rows at `rows_pointer`, each row an object with the members named
/// here. See docs/configuration.md#totals.
struct totals_config {
  /// True when the endpoint has a `totals` object.
  bool enabled = false;
  std::string path;
  std::map<std::string, std::string> query{{"period", "{period}"}};
  std::string rows_pointer = "/totals";
  std::string period_field = "period";
  std::string currency_field = "currency";
  std::string revenue_field = "revenue";
  std::string units_field = "units";
  std::string records_field = "records";
};

/// Canonical field -> source names tried in order, shared by copies until one is changed (copy on
/// write): an endpoint's config is copied where it is used, and endpoints configured alike share
/// one map (the config loader interns them), so 10,000 endpoints do not hold 10,000 alias tables.
/// Reads like the `std::map` it holds; `edit()` (or `operator[]`) gives a private copy to change.
class field_aliases {
 public:
  using map_type = std::map<std::string, std::vector<std::string>>;

  field_aliases() : map_(std::make_shared<map_type>()) {}
  field_aliases(map_type m) : map_(std::make_shared<map_type>(std::move(m))) {}  // NOLINT: implicit
  field_aliases& operator=(map_type m) {
    map_ = std::make_shared<map_type>(std::move(m));
    return *this;
  }

  const map_type& get() const { return *map_; }
  operator const map_type&() const { return *map_; }  // NOLINT: reads as the map
  /// The map to change; copied first when shared.
  map_type& edit() {
    if (map_.use_count() > 1) map_ = std::make_shared<map_type>(*map_);
    return *map_;
  }
  std::vector<std::string>& operator[](const std::string& field) { return edit()[field]; }

  map_type::const_iterator begin() const { return map_->begin(); }
  map_type::const_iterator end() const { return map_->end(); }
  map_type::const_iterator find(const std::string& field) const { return map_->find(field); }
  const std::vector<std::string>& at(const std::string& field) const { return map_->at(field); }
  std::size_t size() const { return map_->size(); }
  bool empty() const { return map_->empty(); }

  /// True when both hold one map (not a copy of it).
  bool shares_with(const field_aliases& other) const { return map_ == other.map_; }

  friend bool operator==(const field_aliases& a, const field_aliases& b) {
    return a.map_ == b.map_ || *a.map_ == *b.map_;
  }
  friend bool operator==(const field_aliases& a, const map_type& b) { return *a.map_ == b; }
  friend bool operator!=(const field_aliases& a, const field_aliases& b) { return !(a == b); }

 private:
  std::shared_ptr<map_type> map_;  // never null
};

/// One DSP reporting endpoint.
struct endpoint_config {
  std::string name;
  std::string dsp;
  /// `http://host:port` or `https://host`; no path.
  std::string base_url;
  /// Path of the first request, e.g. `/v1/streams`.
  std::string path = "/";
  /// Extra fixed query parameters sent with every request.
  std::map<std::string, std::string> query;
  auth_config auth;
  pagination_config pagination;
  /// Canonical field -> source names tried in order (aliases for schema drift). Canonical fields:
  /// isrc, upc, iswc, territory, reporting_period, units, revenue, currency, transaction_id, title,
  /// artists. A source name is a member name of the record object, or a JSON pointer when it starts
  /// with `/`.
  field_aliases fields;
  /// Canonical fields that make the idempotency key, in this order.
  std::vector<std::string> key_fields;
  rate_config rate;
  backoff_config backoff;
  breaker_config breaker;
  schedule_config schedule;
  /// Request timeout for one HTTP exchange.
  std::chrono::milliseconds timeout{30'000};
  /// CA bundle for HTTPS; empty uses the system store.
  std::string ca_file;
  /// Signed webhook deliveries (off unless configured).
  webhook_config webhook;
  /// The DSP's own totals per period (off unless configured).
  totals_config totals;
};

/// The operator console.
struct console_config {
  /// Address to listen on; loopback by default. Any other address requires `token_env`.
  std::string listen = "127.0.0.1";
  /// TCP port; 0 disables the console.
  uint16_t port = 0;
  /// Environment variable with the console token.
  std::string token_env;
  /// A session that sends nothing for this long is closed (`idle_timeout_s`).
  std::chrono::milliseconds idle_timeout{300'000};
  /// Records pending reconciliation above which `triage` asks for attention (0: no SLA).
  uint64_t pending_sla = 1000;
  /// Sessions open at once; one more is told so and closed (a flood of connections must not take
  /// the file descriptors the pollers need).
  int max_sessions = 16;
};

/// How much work may be in flight.
struct pipeline_config {
  /// Worker threads of the actor system; 0 = one per CPU core (at least 2).
  int workers = 0;
  /// Validator actors in the pool.
  int validators = 2;
  /// Pages fetched but not yet committed, per endpoint (backpressure bound).
  int max_pages_in_flight = 16;
  /// Most pages the ledger folds into one write transaction.
  int max_pages_per_commit = 64;
};

/// How the supervisor restarts pollers (Erlang/OTP restart intensity).
struct supervision_config {
  /// At most this many restarts of one endpoint within `window`; one more marks it failed.
  int max_restarts = 5;
  std::chrono::seconds window{60};
  /// Delay before a restart, doubled for each recent restart, capped.
  std::chrono::milliseconds restart_delay{500};
  std::chrono::milliseconds restart_delay_cap{30'000};
};

/// The service's HTTP port: /metrics (Prometheus) and /webhooks/{endpoint}.
struct http_config {
  /// Address to listen on; loopback by default.
  std::string listen = "127.0.0.1";
  /// TCP port; 0 disables the HTTP port.
  uint16_t port = 0;
};

/// The whole engine.
struct engine_config {
  /// Where the LMDB environment lives.
  std::string data_dir = "./dspsync-data";
  /// LMDB map size in MiB (the most the database may grow to).
  uint64_t map_size_mib = 16 * 1024;
  pipeline_config pipeline;
  supervision_config supervision;
  console_config console;
  http_config http;
  /// Territory codes accepted besides ISO 3166-1.
  std::vector<std::string> pseudo_territories = {"WW", "ZZ", "XK", "EU"};
  std::vector<endpoint_config> endpoints;
  /// Reconciliation and settlement (config/settlement.hpp).
  settlement_config settlement;
  /// File sources for `ingest-csv` and `ingest-dsr`.
  std::vector<source_config> sources;
};

/// The canonical record fields a mapping may name.
const std::vector<std::string>& canonical_fields();

/// The default key fields: isrc, upc, dsp, reporting_period, transaction_id, currency.
const std::vector<std::string>& default_key_fields();

/// The source names tried for each canonical field the config does not map (`units`: `units`,
/// `streams`, `play_count`, `quantity`, ...). A configured mapping replaces these for its field, and
/// a name configured for one field is dropped from the defaults of the others.
const std::map<std::string, std::vector<std::string>>& default_field_aliases();

/// Parses a config document. `source` names the input in errors. On failure the message lists
/// every error found, one per line, each naming the field path, e.g.
/// `endpoints[2].pagination.style: expected one of offset|cursor|next_url|updated_since, got "pages"`.
expected<engine_config> parse_config(std::string_view json_text, std::string_view source = "config");

/// Reads and parses a config file.
expected<engine_config> load_config(const std::string& path);

/// A human-readable plan of what the engine would do with this config (for `check-config`).
std::string describe_plan(const engine_config& cfg);

}  // namespace dspsync
