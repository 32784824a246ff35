// describe_plan: what `dspsync check-config` prints. It reads the config only; it never contacts a
// DSP and never prints a secret, only whether the named environment variable holds one.

#include "config/config.hpp"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <utility>

namespace dspsync {

namespace {

/// Width of the label column, so that values line up.
constexpr int label_width = 15;

void line(std::ostringstream& out, std::string_view label, const std::string& value) {
  out << "  " << label;
  for (std::size_t i = label.size(); i < label_width; ++i) out << ' ';
  out << value << '\n';
}

/// A continuation line under the previous label.
void more(std::ostringstream& out, const std::string& value) { line(out, "", value); }

std::string human(std::chrono::milliseconds duration) {
  const int64_t ms = duration.count();
  if (ms % 1000 != 0) return std::to_string(ms) + " ms";
  int64_t s = ms / 1000;
  if (s == 0) return "0 s";
  std::string out;
  for (const auto& [unit, size] : {std::pair{"d", int64_t(86400)}, std::pair{"h", int64_t(3600)},
                                   std::pair{"min", int64_t(60)}, std::pair{"s", int64_t(1)}}) {
    if (s >= size) {
      out += (out.empty() ? "" : " ") + std::to_string(s / size) + " " + unit;
      s %= size;
    }
  }
  return out;
}

std::string human(std::chrono::seconds duration) {
  return human(std::chrono::duration_cast<std::chrono::milliseconds>(duration));
}

std::string mib(uint64_t size) {
  if (size % (1024 * 1024) == 0) return std::to_string(size / (1024 * 1024)) + " TiB";
  if (size % 1024 == 0) return std::to_string(size / 1024) + " GiB";
  return std::to_string(size) + " MiB";
}

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

/// Whether the variable holds a value; the value itself never leaves this function.
std::string env_state(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (!value) return "NOT SET";
  return *value ? "set" : "set but empty";
}

std::string percent_encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

/// The URL of the first request: fixed query parameters, then those of the pagination style.
std::string first_request(const endpoint_config& e) {
  const auto& p = e.pagination;
  std::vector<std::pair<std::string, std::string>> params(e.query.begin(), e.query.end());
  params.emplace_back(p.limit_param, std::to_string(p.page_size));
  if (p.style == pagination_style::offset) params.emplace_back(p.offset_param, "0");
  if (p.style == pagination_style::updated_since)
    params.emplace_back(p.since_param, p.initial_since.empty() ? "1970-01-01T00:00:00Z" : p.initial_since);
  std::string url = e.base_url + e.path;
  char separator = '?';
  for (const auto& [name, value] : params) {
    url += separator + percent_encode(name) + "=" + percent_encode(value);
    separator = '&';
  }
  return url;
}

std::string pagination_summary(const pagination_config& p) {
  std::string out =
      std::string(to_string(p.style)) + ", " + std::to_string(p.page_size) + " records per page";
  switch (p.style) {
    case pagination_style::offset:
      out += "; ?" + p.offset_param + "=N advances by the page size, done on a short page";
      break;
    case pagination_style::cursor:
      out += "; ?" + p.cursor_param + "= takes the cursor at " + p.next_pointer + ", done when it is absent";
      break;
    case pagination_style::next_url:
      out += "; follows the URL at " + p.next_pointer + ", done when it is absent";
      break;
    case pagination_style::updated_since:
      out +=
          "; ?" + p.since_param + "= takes the high-water mark at " + p.next_pointer + " minus the lookback";
      break;
  }
  return out;
}

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

void describe_endpoint(std::ostringstream& out, const engine_config& cfg, const endpoint_config& e) {
  out << "\nendpoint " << e.name << " (dsp " << e.dsp << ")\n";
  line(out, "first request", "GET " + first_request(e));
  line(out, "pagination", pagination_summary(e.pagination));
  const auto& p = e.pagination;
  if (p.style == pagination_style::updated_since)
    more(out, "first window starts at " +
                  (p.initial_since.empty() ? std::string("1970-01-01T00:00:00Z") : p.initial_since));
  line(out, "records",
       p.records_pointer.empty() ? "the response is the records array" : "at " + p.records_pointer);
  if (!p.total_pointer.empty()) more(out, "total count at " + p.total_pointer);

  if (e.auth.token_env.empty()) {
    line(out, "auth", "none");
  } else {
    const std::string prefix = e.auth.scheme.empty() ? "" : e.auth.scheme + " ";
    line(out, "auth",
         e.auth.header + ": " + prefix + "<token from $" + e.auth.token_env + " (" +
             env_state(e.auth.token_env) + ")>");
    if (e.base_url.rfind("http://", 0) == 0) more(out, "warning: plain http:// sends the token unencrypted");
  }

  std::string rate =
      number(e.rate.requests_per_second) + " requests/s, burst " + std::to_string(e.rate.burst);
  if (!e.rate.group.empty()) {
    std::vector<std::string> shared;
    for (const auto& other : cfg.endpoints)
      if (other.rate.group == e.rate.group && other.name != e.name) shared.push_back(other.name);
    rate +=
        "; group \"" + e.rate.group + "\"" + (shared.empty() ? "" : ", shared with " + join(shared, ", "));
  }
  line(out, "rate", rate);
  line(out, "backoff",
       "full jitter from " + human(e.backoff.base) + " doubling up to " + human(e.backoff.cap) +
           ", at most " + std::to_string(e.backoff.max_attempts) + " attempts");
  more(out, "Retry-After honoured up to " + human(e.backoff.retry_after_ceiling) + ", beyond that degraded");
  line(out, "breaker",
       "opens after " + std::to_string(e.breaker.threshold) + " failures in a row, cool-down " +
           human(e.breaker.cooldown));
  line(out, "schedule",
       "every " + human(e.schedule.interval) + " once caught up; lag " + human(e.schedule.lag) +
           "; lookback " + human(e.schedule.lookback));
  std::string tls = "CA from the system store";
  if (!e.ca_file.empty()) {
    std::error_code ignored;
    tls = "CA from " + e.ca_file + (std::filesystem::exists(e.ca_file, ignored) ? "" : " (NOT FOUND)");
  }
  line(out, "timeout", human(e.timeout) + " per request; " + tls);
  if (e.webhook.enabled) {
    const auto& w = e.webhook;
    line(out, "webhook",
         "POST /webhooks/" + e.name + " on the http port; " + w.signature_header + ": sha256=HMAC-SHA256(<" +
             w.timestamp_header + ">.<body>)");
    more(out, "secret from $" + w.secret_env + " (" + env_state(w.secret_env) + "); timestamps within " +
                  human(w.tolerance) + " of now");
    more(out, (w.records_pointer.empty() ? std::string("the delivery is the records array")
                                         : "records at " + w.records_pointer) +
                  (w.update_pointer.empty() ? std::string("; no updates held")
                                            : "; updates (" + w.update_pointer + " = \"" + w.update_value +
                                                  "\") of records not yet ingested are held"));
  }
  if (e.totals.enabled) {
    const auto& t = e.totals;
    std::string query;
    for (const auto& [name, value] : t.query) query += (query.empty() ? "?" : "&") + name + "=" + value;
    line(out, "totals", "GET " + t.path + query + " (dspsync fetch-totals --period YYYY-MM)");
    more(out, "rows at " + t.rows_pointer + ": " + t.period_field + ", " + t.currency_field + ", " +
                  t.revenue_field + " (exact), " + t.units_field + ", " + t.records_field);
  }

  const auto& defaults = default_field_aliases();
  bool first = true;
  for (const auto& field : canonical_fields()) {
    const auto it = e.fields.find(field);
    const std::vector<std::string> sources = it == e.fields.end() ? std::vector<std::string>{} : it->second;
    const auto d = defaults.find(field);
    std::string text = field;
    text.resize(17, ' ');
    text += "<- " + (sources.empty() ? std::string("(none)") : join(sources, ", "));
    if (d == defaults.end() || d->second != sources) text += "  (configured)";
    line(out, first ? "fields" : "", text);
    first = false;
  }
  line(out, "key fields", join(e.key_fields, ", "));
}

}  // namespace

std::string describe_plan(const engine_config& cfg) {
  std::ostringstream out;
  out << "dspsync plan\n";
  line(out, "data dir", cfg.data_dir + " (LMDB map up to " + mib(cfg.map_size_mib) + ")");
  line(out, "pipeline",
       std::to_string(cfg.pipeline.validators) + " validators; per endpoint at most " +
           std::to_string(cfg.pipeline.max_pages_in_flight) + " pages in flight; at most " +
           std::to_string(cfg.pipeline.max_pages_per_commit) + " pages per commit");
  if (cfg.console.port == 0) {
    line(out, "console", "disabled (port 0)");
  } else {
    const bool v6 = cfg.console.listen.find(':') != std::string::npos && cfg.console.listen.front() != '[';
    const std::string host = v6 ? "[" + cfg.console.listen + "]" : cfg.console.listen;
    line(out, "console", "listening on " + host + ":" + std::to_string(cfg.console.port));
    more(out, cfg.console.token_env.empty()
                  ? std::string("no token (loopback only)")
                  : "token from $" + cfg.console.token_env + " (" + env_state(cfg.console.token_env) + ")");
  }
  line(
      out, "territories",
      "ISO 3166-1 plus " + (cfg.pseudo_territories.empty() ? "nothing" : join(cfg.pseudo_territories, ", ")));
  line(out, "endpoints",
       cfg.endpoints.empty() ? "none: nothing will be polled" : std::to_string(cfg.endpoints.size()));
  for (const auto& e : cfg.endpoints) describe_endpoint(out, cfg, e);
  return out.str();
}

}  // namespace dspsync
