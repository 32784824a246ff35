#include "protocol/reported_totals.hpp"

#include <charconv>
#include <cstdlib>
#include <future>
#include <map>

#include <boost/json/value.hpp>

#include "domain/identifiers.hpp"
#include "protocol/json_text.hpp"
#include "protocol/pagination.hpp"

namespace dspsync {

namespace {

std::string shown(const boost::json::value* v) {
  if (v == nullptr) return "nothing (the member is missing)";
  if (v->is_string()) return "\"" + std::string(v->get_string()) + "\"";
  if (v->is_null()) return "null";
  if (v->is_bool()) return v->get_bool() ? "true" : "false";
  return v->is_object() ? "an object" : "an array";
}

/// Numbers arrive as their text (json_text_parser keeps them as strings).
const std::string* text_of(const boost::json::value* v, std::string& scratch) {
  if (v == nullptr || !v->is_string()) return nullptr;
  scratch.assign(v->get_string().data(), v->get_string().size());
  return &scratch;
}

bool whole_number(const std::string& s, int64_t& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

std::string totals_target(const totals_config& t, const std::string& period) {
  std::string target = t.path;
  for (const auto& [name, raw] : t.query) {  // std::map: sorted by name
    std::string value = raw;
    for (std::size_t at; (at = value.find("{period}")) != std::string::npos;) value.replace(at, 8, period);
    append_query_param(target, name, value);
  }
  return target;
}

expected<std::vector<dsp_total>> parse_totals(const totals_config& t, std::string_view body,
                                              const std::string& source) {
  json_text_parser parser;
  auto doc = parser.parse(body, source);
  if (!doc) return doc.error();
  boost::system::error_code pointer_ec;
  const boost::json::value* rows = (*doc)->find_pointer(t.rows_pointer, pointer_ec);
  if (rows == nullptr || !rows->is_array())
    return failure{ec::bad_json, source + ": " +
                                     (t.rows_pointer.empty() ? std::string("the document") : t.rows_pointer) +
                                     ": expected an array of totals rows, got " + shown(rows)};
  std::vector<dsp_total> out;
  std::string scratch;
  std::size_t i = 0;
  for (const auto& row : rows->get_array()) {
    const std::string at = t.rows_pointer + "/" + std::to_string(i++);
    if (!row.is_object())
      return failure{ec::bad_json, source + ": " + at + ": expected an object, got " + shown(&row)};
    const auto& o = row.get_object();
    auto field = [&](const std::string& name) { return o.if_contains(name); };
    auto bad = [&](const std::string& name, const std::string& expected_what) {
      return failure{ec::bad_json, source + ": " + at + "/" + name + ": expected " + expected_what +
                                       ", got " + shown(field(name))};
    };
    dsp_total d;
    const auto* period = field(t.period_field);
    if (period == nullptr || !period->is_string()) return bad(t.period_field, "a reporting period YYYY-MM");
    auto canonical = normalize_period(std::string(period->get_string()), at + "/" + t.period_field);
    if (!canonical) return failure{canonical.error().code, source + ": " + canonical.error().message};
    d.period = *canonical;
    const auto* currency = field(t.currency_field);
    if (currency == nullptr || !currency->is_string())
      return bad(t.currency_field, "an ISO 4217 currency code");
    auto cur = normalize_currency(std::string(currency->get_string()), at + "/" + t.currency_field);
    if (!cur) return failure{cur.error().code, source + ": " + cur.error().message};
    d.currency = *cur;
    const auto* revenue = text_of(field(t.revenue_field), scratch);
    if (revenue == nullptr) return bad(t.revenue_field, "a decimal number");
    auto m = money::parse(*revenue, at + "/" + t.revenue_field);
    if (!m) return failure{m.error().code, source + ": " + m.error().message};
    d.revenue = *m;
    int64_t n = 0;
    const auto* units = text_of(field(t.units_field), scratch);
    if (units == nullptr || !whole_number(*units, n)) return bad(t.units_field, "a whole number");
    d.units = n;
    const auto* records = text_of(field(t.records_field), scratch);
    if (records == nullptr || !whole_number(*records, n) || n < 0)
      return bad(t.records_field, "a whole number >= 0");
    d.records = static_cast<uint64_t>(n);
    out.push_back(std::move(d));
  }
  return out;
}

expected<std::vector<dsp_total>> fetch_totals(network& net, const endpoint_config& ep,
                                              const std::string& period) {
  const std::string source = "totals of " + ep.name;
  tls_options tls;
  tls.ca_file = ep.ca_file;
  auto client = make_http_client(net, ep.base_url, tls);
  if (!client) return failure{client.error().code, source + ": " + client.error().message};
  http_request req;
  req.target = totals_target(ep.totals, period);
  req.timeout = ep.timeout;
  req.headers.emplace_back("Accept", "application/json");
  if (!ep.auth.token_env.empty()) {
    const char* token = std::getenv(ep.auth.token_env.c_str());
    if (token == nullptr || *token == '\0')
      return failure{ec::bad_config, source + ": credentials missing: environment variable " +
                                         ep.auth.token_env + " is not set"};
    req.headers.emplace_back(ep.auth.header,
                             ep.auth.scheme.empty() ? std::string(token) : ep.auth.scheme + " " + token);
  }
  std::promise<http_response> answer;
  auto result = answer.get_future();
  (*client)->fetch(req, [&answer](http_response r) { answer.set_value(std::move(r)); });
  // The client's own timeout bounds the exchange; this wait only adds a margin to it.
  if (result.wait_for(ep.timeout + std::chrono::seconds(5)) != std::future_status::ready) {
    (*client)->close();
    return failure{ec::transport_failure, source + ": GET " + req.target + ": no answer"};
  }
  auto r = result.get();
  (*client)->close();
  if (r.error) return failure{r.error->code, source + ": GET " + req.target + ": " + r.error->message};
  if (r.status != 200) {
    std::string retry(r.header("Retry-After"));
    return failure{ec::transport_failure, source + ": GET " + req.target + ": HTTP " +
                                              std::to_string(r.status) +
                                              (retry.empty() ? "" : " (Retry-After: " + retry + ")")};
  }
  auto rows = parse_totals(ep.totals, r.body, source);
  if (!rows) return rows.error();
  std::vector<dsp_total> out;
  for (auto& row : *rows)
    if (row.period == period) out.push_back(std::move(row));
  return out;
}

}  // namespace dspsync
