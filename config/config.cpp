#include "config/config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iomanip>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/url/ipv4_address.hpp>
#include <boost/url/ipv6_address.hpp>
#include <boost/url/parse.hpp>

#include "domain/timefmt.hpp"

namespace dspsync {

namespace json = boost::json;

const char* to_string(pagination_style style) {
  switch (style) {
    case pagination_style::offset:
      return "offset";
    case pagination_style::cursor:
      return "cursor";
    case pagination_style::next_url:
      return "next_url";
    case pagination_style::updated_since:
      return "updated_since";
  }
  return "unknown";
}

const std::vector<std::string>& canonical_fields() {
  static const std::vector<std::string> fields{
      "isrc",    "upc",      "iswc",           "territory", "reporting_period", "units",
      "revenue", "currency", "transaction_id", "title",     "artists"};
  return fields;
}

const std::vector<std::string>& default_key_fields() {
  static const std::vector<std::string> fields{"isrc",           "upc",     "dsp", "reporting_period",
                                               "transaction_id", "currency"};
  return fields;
}

const std::map<std::string, std::vector<std::string>>& default_field_aliases() {
  static const std::map<std::string, std::vector<std::string>> aliases{
      {"isrc", {"isrc", "ISRC"}},
      {"upc", {"upc", "UPC", "ean", "icpn"}},
      {"iswc", {"iswc", "ISWC"}},
      {"territory", {"territory", "country", "country_code"}},
      {"reporting_period", {"reporting_period", "period", "month"}},
      {"units", {"units", "streams", "play_count", "quantity"}},
      {"revenue", {"revenue", "net_revenue", "amount", "earnings"}},
      {"currency", {"currency", "currency_code"}},
      {"transaction_id", {"transaction_id", "id", "row_id"}},
      {"title", {"title", "track_title"}},
      {"artists", {"artists", "artist"}},
  };
  return aliases;
}

namespace {

// --- Error collection and paths ------------------------------------------------------------

/// Every problem found in one document; the user fixes them all in one edit instead of one per run.
class error_list {
 public:
  void add(const std::string& path, const std::string& what) {
    lines_.push_back(path.empty() ? what : path + ": " + what);
  }
  bool empty() const { return lines_.empty(); }
  std::string joined() const {
    std::string out;
    for (const auto& line : lines_) {
      if (!out.empty()) out += '\n';
      out += line;
    }
    return out;
  }

 private:
  std::vector<std::string> lines_;
};

std::string member_path(const std::string& parent, std::string_view name) {
  return parent.empty() ? std::string(name) : parent + "." + std::string(name);
}

std::string element_path(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

std::string json_quoted(std::string_view text) {
  return json::serialize(json::string_view(text.data(), text.size()));
}

/// A JSON value as an error shows it. Strings are JSON-escaped so a value can never break the
/// one-error-per-line format, and long ones are cut.
std::string shown(const json::value& v) {
  switch (v.kind()) {
    case json::kind::object:
      return "an object";
    case json::kind::array:
      return "an array";
    case json::kind::string: {
      const auto& s = v.get_string();
      if (s.size() > 60) return json_quoted(std::string_view(s.data(), 57)) + "...";
      return json_quoted(std::string_view(s.data(), s.size()));
    }
    case json::kind::double_: {
      // serialize() would print 2.5 as 2.5E0; users wrote 2.5.
      std::ostringstream out;
      out << std::setprecision(15) << v.get_double();
      return out.str();
    }
    default:
      return json::serialize(v);
  }
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions, the commonest typo).
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

/// The candidate closest to `name` within edit distance 2, if any. A distance as large as the name
/// itself would suggest anything for a one- or two-letter name, so that is not a match.
std::optional<std::string> closest(std::string_view name, const std::vector<std::string>& candidates) {
  const std::string key = lower(name);
  std::optional<std::string> best;
  std::size_t best_distance = 3;
  for (const auto& candidate : candidates) {
    const std::size_t distance = edit_distance(key, lower(candidate));
    if (distance < best_distance && distance < key.size()) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

std::string did_you_mean(const std::optional<std::string>& suggestion) {
  return suggestion ? " (did you mean " + json_quoted(*suggestion) + "?)" : "";
}

/// Member names that would hold a credential inline. Compared without case, `_` or `-`, so that
/// `apiKey`, `API-KEY` and `api_key` are all refused.
bool is_secret_name(std::string_view name) {
  std::string key;
  for (char c : name)
    if (c != '_' && c != '-') key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::set<std::string> secrets{"token",  "secret",      "password",    "passwd",
                                             "apikey", "accesstoken", "clientsecret"};
  return secrets.count(key) > 0;
}

// --- Schema: the member names each config object accepts -----------------------------------

struct object_schema {
  std::vector<std::string> members;
  /// Members that are objects with their own schema, so a member written one level too high can
  /// be pointed to where it belongs (`page_size` -> `pagination.page_size`).
  std::vector<std::pair<std::string, const object_schema*>> children;
};

const object_schema auth_schema{{"token_env", "header", "scheme"}, {}};
const object_schema pagination_schema{
    {"style", "page_size", "limit_param", "offset_param", "cursor_param", "since_param", "records_pointer",
     "next_pointer", "total_pointer", "initial_since"},
    {}};
const object_schema rate_schema{{"requests_per_second", "burst", "group"}, {}};
const object_schema backoff_schema{
    {"base_ms", "cap_ms", "max_attempts", "retry_after_ceiling_s", "page_retries"}, {}};
const object_schema breaker_schema{{"threshold", "cooldown_s"}, {}};
const object_schema schedule_schema{{"interval_s", "lag_s", "lookback_s", "until_param", "retention_s"}, {}};
const object_schema webhook_schema{{"secret_env", "signature_header", "timestamp_header", "tolerance_s",
                                    "records_pointer", "update_pointer", "update_value"},
                                   {}};
const object_schema totals_schema{{"path", "query", "rows_pointer", "period_field", "currency_field",
                                   "revenue_field", "units_field", "records_field"},
                                  {}};
const object_schema endpoint_schema{
    {"name", "dsp", "base_url", "path", "query", "auth", "pagination", "fields", "key_fields", "rate",
     "backoff", "breaker", "schedule", "timeout_ms", "ca_file", "webhook", "totals"},
    {{"auth", &auth_schema},
     {"pagination", &pagination_schema},
     {"rate", &rate_schema},
     {"backoff", &backoff_schema},
     {"breaker", &breaker_schema},
     {"schedule", &schedule_schema},
     {"webhook", &webhook_schema},
     {"totals", &totals_schema}}};
const object_schema pipeline_schema{{"workers", "validators", "max_pages_in_flight", "max_pages_per_commit"},
                                    {}};
const object_schema console_schema{
    {"listen", "port", "token_env", "idle_timeout_s", "pending_sla", "max_sessions"}, {}};
const object_schema supervision_schema{
    {"max_restarts", "window_s", "restart_delay_ms", "restart_delay_cap_ms"}, {}};
const object_schema http_schema{{"listen", "port"}, {}};
const object_schema engine_schema{{"data_dir", "map_size_mib", "pipeline", "supervision", "console", "http",
                                   "pseudo_territories", "endpoints", "sources", "settlement"},
                                  {{"pipeline", &pipeline_schema},
                                   {"supervision", &supervision_schema},
                                   {"console", &console_schema},
                                   {"http", &http_schema}}};

/// Reports members the schema does not know. Secret-named members are left to `find_secrets`, which
/// gives the more useful message.
void check_members(const json::object& obj, const std::string& path, const object_schema& schema,
                   error_list& errors) {
  for (const auto& member : obj) {
    const std::string_view name(member.key().data(), member.key().size());
    if (is_secret_name(name)) continue;
    if (std::find(schema.members.begin(), schema.members.end(), name) != schema.members.end()) continue;
    auto suggestion = closest(name, schema.members);
    if (!suggestion) {
      for (const auto& [child, child_schema] : schema.children) {
        if (auto inner = closest(name, child_schema->members)) {
          suggestion = child + "." + *inner;
          break;
        }
      }
    }
    errors.add(member_path(path, name), "unknown field" + did_you_mean(suggestion));
  }
}

/// Walks the whole document: a credential must never sit in a file that gets copied, committed and
/// attached to tickets. The value is never echoed.
void find_secrets(const json::value& v, const std::string& path, error_list& errors) {
  if (const auto* obj = v.if_object()) {
    for (const auto& member : *obj) {
      const std::string_view name(member.key().data(), member.key().size());
      const std::string child = member_path(path, name);
      if (is_secret_name(name)) {
        errors.add(child,
                   "secrets are not accepted inline; put the secret in an environment variable and name it "
                   "in \"token_env\"");
      } else {
        find_secrets(member.value(), child, errors);
      }
    }
  } else if (const auto* arr = v.if_array()) {
    for (std::size_t i = 0; i < arr->size(); ++i) find_secrets((*arr)[i], element_path(path, i), errors);
  }
}

// --- Typed reads of single values ----------------------------------------------------------

/// An integer from any JSON number that holds one exactly (`1e3` included); nullopt otherwise.
std::optional<int64_t> integral(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) return std::numeric_limits<int64_t>::max();  // beyond every range we accept
  if (v.is_double()) {
    const double d = v.get_double();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e18) return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

constexpr int64_t no_max = std::numeric_limits<int32_t>::max();

bool read_integer(const json::value& v, const std::string& path, int64_t min, int64_t max, int64_t& out,
                  error_list& errors) {
  const auto n = integral(v);
  if (n && *n >= min && *n <= max) {
    out = *n;
    return true;
  }
  const std::string range = max == no_max ? ">= " + std::to_string(min)
                                          : "from " + std::to_string(min) + " to " + std::to_string(max);
  errors.add(path, "expected an integer " + range + ", got " + shown(v));
  return false;
}

bool read_text(const json::value& v, const std::string& path, std::string& out, error_list& errors) {
  if (!v.is_string()) {
    errors.add(path, "expected a string, got " + shown(v));
    return false;
  }
  out.assign(v.get_string().data(), v.get_string().size());
  return true;
}

/// A JSON object's members with their path, read with the schema's names only.
class object_reader {
 public:
  object_reader(const json::object& obj, std::string path, const object_schema& schema, error_list& errors)
      : obj_(obj), path_(std::move(path)), errors_(errors) {
    check_members(obj_, path_, schema, errors_);
  }

  const json::value* find(std::string_view name) const { return obj_.if_contains(name); }
  std::string path(std::string_view name) const { return member_path(path_, name); }
  const std::string& path() const { return path_; }
  error_list& errors() const { return errors_; }

  bool text(std::string_view name, std::string& out) const {
    const auto* v = find(name);
    return v && read_text(*v, path(name), out, errors_);
  }

  template <class Int>
  bool integer(std::string_view name, int64_t min, int64_t max, Int& out) const {
    const auto* v = find(name);
    int64_t n = 0;
    if (!v || !read_integer(*v, path(name), min, max, n, errors_)) return false;
    out = static_cast<Int>(n);
    return true;
  }

  template <class Rep, class Period>
  bool duration(std::string_view name, int64_t min, std::chrono::duration<Rep, Period>& out) const {
    const auto* v = find(name);
    int64_t n = 0;
    if (!v || !read_integer(*v, path(name), min, no_max, n, errors_)) return false;
    out = std::chrono::duration<Rep, Period>(n);
    return true;
  }

  bool positive_number(std::string_view name, double& out) const {
    const auto* v = find(name);
    if (!v) return false;
    if (v->is_number()) {
      const double d = v->to_number<double>();
      if (std::isfinite(d) && d > 0) {
        out = d;
        return true;
      }
    }
    errors_.add(path(name), "expected a number > 0, got " + shown(*v));
    return false;
  }

  /// The member as an object; a present member of another type is an error, an absent one is not.
  const json::object* object(std::string_view name) const {
    const auto* v = find(name);
    if (v && !v->is_object()) errors_.add(path(name), "expected an object, got " + shown(*v));
    return v ? v->if_object() : nullptr;
  }

  const json::array* array(std::string_view name) const {
    const auto* v = find(name);
    if (v && !v->is_array()) errors_.add(path(name), "expected an array, got " + shown(*v));
    return v ? v->if_array() : nullptr;
  }

 private:
  const json::object& obj_;
  std::string path_;
  error_list& errors_;
};

// --- Value rules ----------------------------------------------------------------------------

bool is_identifier(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

/// The name of an environment variable (POSIX portable: letters, digits, `_`, not starting with a digit).
bool is_env_name(std::string_view text) {
  if (text.empty() || std::isdigit(static_cast<unsigned char>(text[0]))) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

/// Endpoint and DSP names appear in metrics labels, console commands and LMDB keys, so they are
/// kept to a safe character set.
void read_identifier(const object_reader& in, std::string_view name, std::string& out) {
  std::string value;
  if (!in.text(name, value)) return;
  if (is_identifier(value))
    out = value;
  else
    in.errors().add(in.path(name),
                    "expected 1 to 64 characters from [A-Za-z0-9._-], got " + shown(*in.find(name)));
}

/// `token_env` values are not echoed: the usual mistake is pasting the token itself there.
void read_env_name(const object_reader& in, std::string_view name, std::string& out) {
  std::string value;
  if (!in.text(name, value)) return;
  if (!value.empty() && !is_env_name(value)) {
    in.errors().add(in.path(name),
                    "expected the name of an environment variable ([A-Za-z_][A-Za-z0-9_]*), not the secret "
                    "itself (value not shown)");
    return;
  }
  out = value;
}

/// "" or an RFC 6901 pointer: starts with `/`, and `~` only as `~0` or `~1`.
void read_pointer(const object_reader& in, std::string_view name, std::string& out) {
  const auto* v = in.find(name);
  std::string value;
  if (!v || !read_text(*v, in.path(name), value, in.errors())) return;
  bool ok = value.empty() || value[0] == '/';
  for (std::size_t i = 0; ok && i < value.size(); ++i)
    if (value[i] == '~') ok = i + 1 < value.size() && (value[i + 1] == '0' || value[i + 1] == '1');
  if (!ok) {
    in.errors().add(in.path(name),
                    "expected \"\" or a JSON pointer starting with \"/\" (RFC 6901), got " + shown(*v));
    return;
  }
  out = value;
}

/// A base URL is scheme and authority only; the path goes in `path`, parameters in `query`.
void read_base_url(const object_reader& in, std::string& out) {
  const std::string path = in.path("base_url");
  const auto* v = in.find("base_url");
  if (!v) {
    in.errors().add(path, "required field is missing");
    return;
  }
  std::string url;
  if (!read_text(*v, path, url, in.errors())) return;
  // A URL with `@` may carry a password; it is never echoed back.
  const std::string got = url.find('@') == std::string::npos ? ", got " + shown(*v) : "";
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    in.errors().add(path, "expected an absolute http:// or https:// URL" + got);
    return;
  }
  const auto& u = *parsed;
  if (u.scheme_id() != boost::urls::scheme::http && u.scheme_id() != boost::urls::scheme::https) {
    in.errors().add(path, "expected an http:// or https:// URL" + got);
    return;
  }
  if (u.has_userinfo()) {
    in.errors().add(path,
                    "credentials are not accepted in the URL; put the token in an environment variable and "
                    "name it in \"auth.token_env\"");
    return;
  }
  bool ok = true;
  if (u.encoded_host().empty()) {
    in.errors().add(path, "expected a host, as in https://api.example.com" + got);
    ok = false;
  }
  if (u.has_port() && (u.port().empty() || u.port_number() == 0)) {
    in.errors().add(path, "expected a port from 1 to 65535" + got);
    ok = false;
  }
  if (!u.encoded_path().empty() && u.encoded_path() != "/") {
    in.errors().add(path, "expected no path beyond \"/\" (put it in \"path\")" + got);
    ok = false;
  }
  if (u.has_query() || u.has_fragment()) {
    in.errors().add(path, "expected no query or fragment (put fixed parameters in \"query\")" + got);
    ok = false;
  }
  if (!ok) return;
  // Stored without the trailing `/` so that base_url + path is the request URL.
  if (!url.empty() && url.back() == '/') url.pop_back();
  out = url;
}

// --- Objects ----------------------------------------------------------------------------------

/// An HTTP header name (an RFC 9110 token).
void read_header_name(const object_reader& in, std::string_view name, std::string& out) {
  std::string header;
  if (!in.text(name, header)) return;
  const bool token = !header.empty() && std::all_of(header.begin(), header.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
  });
  if (token)
    out = header;
  else
    in.errors().add(in.path(name), "expected an HTTP header name, got " + shown(*in.find(name)));
}

void read_auth(const object_reader& parent, auth_config& auth) {
  const auto* obj = parent.object("auth");
  if (!obj) return;
  object_reader in(*obj, parent.path("auth"), auth_schema, parent.errors());
  read_env_name(in, "token_env", auth.token_env);
  in.text("scheme", auth.scheme);
  read_header_name(in, "header", auth.header);
}

/// `webhook`: read after `pagination`, whose records pointer is the default here.
void read_webhook(const object_reader& parent, const pagination_config& p, webhook_config& w) {
  w.records_pointer = p.records_pointer;
  const auto* obj = parent.object("webhook");
  if (!obj) return;
  w.enabled = true;
  object_reader in(*obj, parent.path("webhook"), webhook_schema, parent.errors());
  const auto* secret = in.find("secret_env");
  if (!secret)
    in.errors().add(in.path("secret_env"),
                    "required field is missing (the environment variable that holds the HMAC secret)");
  else if (secret->is_string() && secret->get_string().empty())
    in.errors().add(in.path("secret_env"), "expected the name of an environment variable, got \"\"");
  else
    read_env_name(in, "secret_env", w.secret_env);
  read_header_name(in, "signature_header", w.signature_header);
  read_header_name(in, "timestamp_header", w.timestamp_header);
  if (lower(w.signature_header) == lower(w.timestamp_header))
    in.errors().add(in.path("timestamp_header"), "must differ from signature_header");
  if (const auto* v = in.find("tolerance_s")) {
    int64_t n = 0;
    if (read_integer(*v, in.path("tolerance_s"), 1, 86400, n, in.errors()))
      w.tolerance = std::chrono::seconds(n);
  }
  read_pointer(in, "records_pointer", w.records_pointer);
  read_pointer(in, "update_pointer", w.update_pointer);
  std::string value;
  if (in.text("update_value", value)) {
    if (value.empty())
      in.errors().add(in.path("update_value"),
                      "expected a non-empty string (set update_pointer to \"\" to turn updates off)");
    else
      w.update_value = value;
  }
}

/// `totals`: the DSP's own totals of a period.
void read_totals(const object_reader& parent, totals_config& t) {
  const auto* obj = parent.object("totals");
  if (!obj) return;
  t.enabled = true;
  object_reader in(*obj, parent.path("totals"), totals_schema, parent.errors());
  if (!in.find("path")) {
    in.errors().add(in.path("path"),
                    "required field is missing (the path of the DSP's totals, e.g. \"/v1/streams/totals\")");
  } else if (in.text("path", t.path) && (t.path.empty() || t.path[0] != '/')) {
    in.errors().add(in.path("path"), "expected a path starting with \"/\", got \"" + t.path + "\"");
  }
  if (const auto* q = in.object("query")) {
    t.query.clear();
    for (const auto& member : *q) {
      const std::string name(member.key().data(), member.key().size());
      if (is_secret_name(name)) continue;  // reported by find_secrets
      const std::string path = member_path(in.path("query"), name);
      std::string value;
      if (!read_text(member.value(), path, value, in.errors())) continue;
      if (name.empty())
        in.errors().add(path, "expected a non-empty query parameter name");
      else
        t.query[name] = value;
    }
  }
  read_pointer(in, "rows_pointer", t.rows_pointer);
  for (auto [name, field] :
       {std::pair{"period_field", &t.period_field}, std::pair{"currency_field", &t.currency_field},
        std::pair{"revenue_field", &t.revenue_field}, std::pair{"units_field", &t.units_field},
        std::pair{"records_field", &t.records_field}}) {
    std::string value;
    if (!in.text(name, value)) continue;
    if (value.empty())
      in.errors().add(in.path(name), "expected the name of a member of each totals row, got \"\"");
    else
      *field = value;
  }
}

void read_pagination(const object_reader& parent, pagination_config& p) {
  const auto* obj = parent.object("pagination");
  if (!obj) {
    p.next_pointer = "/next_cursor";  // default style is cursor
    return;
  }
  object_reader in(*obj, parent.path("pagination"), pagination_schema, parent.errors());
  if (const auto* v = in.find("style")) {
    static const std::vector<std::pair<std::string, pagination_style>> styles{
        {"offset", pagination_style::offset},
        {"cursor", pagination_style::cursor},
        {"next_url", pagination_style::next_url},
        {"updated_since", pagination_style::updated_since}};
    const auto it = std::find_if(styles.begin(), styles.end(),
                                 [&](const auto& s) { return v->is_string() && v->get_string() == s.first; });
    if (it != styles.end())
      p.style = it->second;
    else
      in.errors().add(in.path("style"),
                      "expected one of offset|cursor|next_url|updated_since, got " + shown(*v));
  }
  in.integer("page_size", 1, 100'000, p.page_size);
  for (auto [name, out] :
       {std::pair{"limit_param", &p.limit_param}, std::pair{"offset_param", &p.offset_param},
        std::pair{"cursor_param", &p.cursor_param}, std::pair{"since_param", &p.since_param}}) {
    std::string param;
    if (!in.text(name, param)) continue;
    if (param.empty())
      in.errors().add(in.path(name), "expected a non-empty query parameter name");
    else
      *out = param;
  }
  read_pointer(in, "records_pointer", p.records_pointer);
  read_pointer(in, "total_pointer", p.total_pointer);

  if (in.find("next_pointer")) {
    read_pointer(in, "next_pointer", p.next_pointer);
    if (in.find("next_pointer")->is_string() && p.next_pointer.empty() && p.style != pagination_style::offset)
      in.errors().add(in.path("next_pointer"),
                      std::string("expected a JSON pointer; style ") + to_string(p.style) + " needs one");
  } else {
    p.next_pointer = p.style == pagination_style::cursor          ? "/next_cursor"
                     : p.style == pagination_style::next_url      ? "/next"
                     : p.style == pagination_style::updated_since ? "/high_water_mark"
                                                                  : "";
  }

  std::string since;
  if (in.text("initial_since", since) && !since.empty()) {
    if (!parse_rfc3339(since))
      in.errors().add(in.path("initial_since"),
                      "expected an RFC 3339 timestamp such as 2026-01-01T00:00:00Z, got " +
                          shown(*in.find("initial_since")));
    else if (p.style != pagination_style::updated_since)
      in.errors().add(in.path("initial_since"),
                      std::string("only used with style updated_since, not ") + to_string(p.style));
    else
      p.initial_since = since;
  }
}

void read_query(const object_reader& parent, const pagination_config& p,
                std::map<std::string, std::string>& out) {
  const auto* obj = parent.object("query");
  if (!obj) return;
  const std::set<std::string> reserved{p.limit_param, p.offset_param, p.cursor_param, p.since_param};
  for (const auto& member : *obj) {
    const std::string name(member.key().data(), member.key().size());
    if (is_secret_name(name)) continue;  // reported by find_secrets
    const std::string path = member_path(parent.path("query"), name);
    std::string value;
    if (!read_text(member.value(), path, value, parent.errors())) continue;
    if (name.empty()) {
      parent.errors().add(path, "expected a non-empty query parameter name");
    } else if (reserved.count(name)) {
      // The poller sets pagination parameters itself; a fixed value would pin every request to one page.
      parent.errors().add(path, "is a pagination parameter, set by the poller; remove it from \"query\"");
    } else {
      out[name] = value;
    }
  }
}

void read_fields(const object_reader& parent, std::map<std::string, std::vector<std::string>>& fields) {
  const auto& canonical = canonical_fields();
  std::map<std::string, std::string> claimed;  // source name -> canonical field configured to use it
  if (const auto* obj = parent.object("fields")) {
    for (const auto& member : *obj) {
      const std::string name(member.key().data(), member.key().size());
      if (is_secret_name(name)) continue;
      const std::string path = member_path(parent.path("fields"), name);
      if (std::find(canonical.begin(), canonical.end(), name) == canonical.end()) {
        const auto suggestion = closest(name, canonical);
        std::string all;
        for (const auto& c : canonical) all += (all.empty() ? "" : "|") + c;
        parent.errors().add(path, "unknown canonical field" +
                                      (suggestion ? did_you_mean(suggestion) : "; expected one of " + all));
        continue;
      }
      std::vector<std::string> sources;
      const auto& v = member.value();
      const auto add_source = [&](const json::value& s, const std::string& at) {
        std::string text;
        if (s.is_string() && !s.get_string().empty() &&
            (s.get_string()[0] != '/' || s.get_string().size() > 1)) {
          text.assign(s.get_string().data(), s.get_string().size());
          sources.push_back(text);
        } else {
          parent.errors().add(at, "expected a non-empty source name or JSON pointer, got " + shown(s));
        }
      };
      if (v.is_string()) {
        add_source(v, path);
      } else if (v.is_array() && !v.get_array().empty()) {
        for (std::size_t i = 0; i < v.get_array().size(); ++i)
          add_source(v.get_array()[i], element_path(path, i));
      } else {
        parent.errors().add(path, "expected a string or a non-empty array of strings, got " + shown(v));
        continue;
      }
      for (const auto& source : sources) {
        const auto [it, inserted] = claimed.emplace(source, name);
        if (!inserted && it->second != name)
          parent.errors().add(
              path, "source " + json_quoted(source) + " is already mapped to \"" + it->second + "\"");
      }
      fields[name] = sources;
    }
  }
  // A name the config gives to one field is dropped from the other fields' default aliases, so that
  // mapping units to "amount" can never also read "amount" as revenue.
  for (const auto& [field, aliases] : default_field_aliases()) {
    if (fields.count(field)) continue;
    auto& out = fields[field];
    for (const auto& alias : aliases)
      if (!claimed.count(alias)) out.push_back(alias);
  }
}

void read_key_fields(const object_reader& parent, std::vector<std::string>& out) {
  const auto* arr = parent.array("key_fields");
  if (!arr) return;
  const std::string path = parent.path("key_fields");
  if (arr->empty()) {
    parent.errors().add(path, "expected a non-empty array of canonical fields");
    return;
  }
  std::vector<std::string> allowed = canonical_fields();
  allowed.push_back("dsp");
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const auto& v = (*arr)[i];
    const std::string at = element_path(path, i);
    const std::string name = v.is_string() ? std::string(v.get_string()) : "";
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      parent.errors().add(at, "expected a canonical field or \"dsp\", got " + shown(v) +
                                  (v.is_string() ? did_you_mean(closest(name, allowed)) : ""));
    } else if (std::find(keys.begin(), keys.end(), name) != keys.end()) {
      parent.errors().add(at, json_quoted(name) + " is listed twice");
    } else {
      keys.push_back(name);
    }
  }
  out = keys;
}

endpoint_config read_endpoint(const json::object& obj, const std::string& path, error_list& errors) {
  endpoint_config e;
  object_reader in(obj, path, endpoint_schema, errors);
  if (!in.find("name")) errors.add(in.path("name"), "required field is missing");
  read_identifier(in, "name", e.name);
  e.dsp = e.name;
  read_identifier(in, "dsp", e.dsp);
  read_base_url(in, e.base_url);
  if (const auto* v = in.find("path")) {
    std::string p;
    if (read_text(*v, in.path("path"), p, errors)) {
      if (p.empty() || p[0] != '/')
        errors.add(in.path("path"), "expected a path starting with \"/\", got " + shown(*v));
      else if (p.find_first_of("?#") != std::string::npos)
        errors.add(
            in.path("path"),
            "expected a path without \"?\" or \"#\" (put fixed parameters in \"query\"), got " + shown(*v));
      else
        e.path = p;
    }
  }
  read_auth(in, e.auth);
  read_pagination(in, e.pagination);
  read_query(in, e.pagination, e.query);
  read_fields(in, e.fields.edit());
  e.key_fields = default_key_fields();
  read_key_fields(in, e.key_fields);

  if (const auto* o = in.object("rate")) {
    object_reader r(*o, in.path("rate"), rate_schema, errors);
    r.positive_number("requests_per_second", e.rate.requests_per_second);
    r.integer("burst", 1, no_max, e.rate.burst);
    r.text("group", e.rate.group);
  }
  if (const auto* o = in.object("backoff")) {
    object_reader b(*o, in.path("backoff"), backoff_schema, errors);
    const bool base_read = b.duration("base_ms", 1, e.backoff.base);
    const bool cap_read = b.duration("cap_ms", 1, e.backoff.cap);
    // Checked against the value actually in force, which is the default when one side is absent.
    if (e.backoff.cap < e.backoff.base) {
      if (cap_read)
        errors.add(b.path("cap_ms"), "expected an integer >= base_ms (" +
                                         std::to_string(e.backoff.base.count()) + "), got " +
                                         shown(*b.find("cap_ms")));
      else if (base_read)
        errors.add(b.path("base_ms"), "expected an integer <= cap_ms (" +
                                          std::to_string(e.backoff.cap.count()) + "), got " +
                                          shown(*b.find("base_ms")));
    }
    b.integer("max_attempts", 1, no_max, e.backoff.max_attempts);
    b.duration("retry_after_ceiling_s", 0, e.backoff.retry_after_ceiling);
    b.integer("page_retries", 0, 1000, e.backoff.page_retries);
  }
  if (const auto* o = in.object("breaker")) {
    object_reader b(*o, in.path("breaker"), breaker_schema, errors);
    b.integer("threshold", 1, no_max, e.breaker.threshold);
    b.duration("cooldown_s", 0, e.breaker.cooldown);
  }
  if (const auto* o = in.object("schedule")) {
    object_reader s(*o, in.path("schedule"), schedule_schema, errors);
    // A zero interval would re-poll a caught-up endpoint in a tight loop.
    s.duration("interval_s", 1, e.schedule.interval);
    s.duration("lag_s", 0, e.schedule.lag);
    s.duration("lookback_s", 0, e.schedule.lookback);
    s.text("until_param", e.schedule.until_param);
    s.duration("retention_s", 0, e.schedule.retention);
  }
  in.duration("timeout_ms", 1, e.timeout);
  in.text("ca_file", e.ca_file);
  read_webhook(in, e.pagination, e.webhook);
  read_totals(in, e.totals);
  return e;
}

// --- Console --------------------------------------------------------------------------------

enum class address_kind { loopback, other, invalid };

address_kind classify_listen(std::string_view address) {
  if (lower(address) == "localhost") return address_kind::loopback;
  if (auto v4 = boost::urls::parse_ipv4_address(address))
    return v4->is_loopback() ? address_kind::loopback : address_kind::other;
  if (address.size() > 2 && address.front() == '[' && address.back() == ']')
    address = address.substr(1, address.size() - 2);
  if (auto v6 = boost::urls::parse_ipv6_address(address)) {
    if (v6->is_loopback()) return address_kind::loopback;
    if (v6->is_v4_mapped() && v6->to_bytes()[12] == 127) return address_kind::loopback;
    return address_kind::other;
  }
  return address_kind::invalid;
}

void read_console(const object_reader& parent, console_config& console) {
  const auto* obj = parent.object("console");
  if (!obj) return;
  object_reader in(*obj, parent.path("console"), console_schema, parent.errors());
  in.integer("port", 0, 65535, console.port);
  read_env_name(in, "token_env", console.token_env);
  std::chrono::seconds idle{300};
  if (in.duration("idle_timeout_s", 1, idle)) console.idle_timeout = idle;
  in.integer("pending_sla", 0, no_max, console.pending_sla);
  in.integer("max_sessions", 1, 1024, console.max_sessions);
  std::string listen;
  if (!in.text("listen", listen)) return;
  const auto kind = classify_listen(listen);
  if (kind == address_kind::invalid) {
    in.errors().add(in.path("listen"),
                    "expected an IP address or \"localhost\", got " + shown(*in.find("listen")));
    return;
  }
  console.listen = listen;
  // Safe by default: anything reachable from another host must ask for a token.
  if (kind == address_kind::other && console.token_env.empty())
    in.errors().add(in.path("token_env"),
                    "required when console.listen is not loopback (" + json_quoted(listen) + ")");
}

// --- Whole document -------------------------------------------------------------------------

/// Boost.JSON keeps the last of two equal keys; in a config that silently discards a setting, so
/// a pre-pass finds them (and the parser's own errors come with a position).
class duplicate_finder {
 public:
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);

  std::vector<std::string> duplicates;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) { return push(true); }
  bool on_array_end(std::size_t, json::error_code&) { return pop(); }
  bool on_object_begin(json::error_code&) { return push(false); }
  bool on_object_end(std::size_t, json::error_code&) { return pop(); }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return done(); }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    auto& top = frames_.back();
    if (!top.keys.insert(key_).second) duplicates.push_back(current_path(key_));
    top.key = std::move(key_);
    key_.clear();
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(int64_t, json::string_view, json::error_code&) { return done(); }
  bool on_uint64(uint64_t, json::string_view, json::error_code&) { return done(); }
  bool on_double(double, json::string_view, json::error_code&) { return done(); }
  bool on_bool(bool, json::error_code&) { return done(); }
  bool on_null(json::error_code&) { return done(); }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  struct frame {
    bool is_array = false;
    std::size_t index = 0;
    std::set<std::string> keys;
    std::string key;
  };

  bool push(bool is_array) {
    frames_.push_back(frame{is_array, 0, {}, {}});
    return true;
  }
  bool pop() {
    frames_.pop_back();
    return done();
  }
  bool done() {
    if (!frames_.empty() && frames_.back().is_array) ++frames_.back().index;
    return true;
  }
  std::string current_path(const std::string& key) const {
    std::string path;
    for (std::size_t i = 0; i + 1 < frames_.size(); ++i)
      path = frames_[i].is_array ? element_path(path, frames_[i].index) : member_path(path, frames_[i].key);
    return member_path(path, key);
  }

  std::vector<frame> frames_;
  std::string key_;
};

json::parse_options parse_options() {
  json::parse_options options;
  // Operators annotate their configs; comments cost nothing and are never data.
  options.allow_comments = true;
  return options;
}

std::string position(std::string_view text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + " column " + std::to_string(column);
}

void read_engine(const json::object& root, engine_config& cfg, error_list& errors) {
  object_reader in(root, "", engine_schema, errors);
  if (const auto* v = in.find("data_dir")) {
    std::string dir;
    if (read_text(*v, "data_dir", dir, errors)) {
      if (dir.empty())
        errors.add("data_dir", "expected a non-empty directory path");
      else
        cfg.data_dir = dir;
    }
  }
  // 2^30 MiB is 1 PiB: far beyond any host, and small enough that the byte count fits 64 bits.
  in.integer("map_size_mib", 1, int64_t(1) << 30, cfg.map_size_mib);
  if (const auto* o = in.object("pipeline")) {
    object_reader p(*o, "pipeline", pipeline_schema, errors);
    p.integer("workers", 0, 1024, cfg.pipeline.workers);
    p.integer("validators", 1, no_max, cfg.pipeline.validators);
    p.integer("max_pages_in_flight", 1, no_max, cfg.pipeline.max_pages_in_flight);
    p.integer("max_pages_per_commit", 1, no_max, cfg.pipeline.max_pages_per_commit);
  }
  if (const auto* o = in.object("supervision")) {
    object_reader p(*o, "supervision", supervision_schema, errors);
    p.integer("max_restarts", 0, 1000, cfg.supervision.max_restarts);
    p.duration("window_s", 1, cfg.supervision.window);
    p.duration("restart_delay_ms", 0, cfg.supervision.restart_delay);
    p.duration("restart_delay_cap_ms", 0, cfg.supervision.restart_delay_cap);
  }
  read_console(in, cfg.console);
  if (const auto* o = in.object("http")) {
    object_reader h(*o, "http", http_schema, errors);
    h.integer("port", 0, 65535, cfg.http.port);
    std::string listen;
    if (h.text("listen", listen)) {
      if (classify_listen(listen) == address_kind::invalid)
        errors.add("http.listen", "expected an IP address or \"localhost\", got " + shown(*h.find("listen")));
      else
        cfg.http.listen = listen;
    }
  }
  if (const auto* arr = in.array("pseudo_territories")) {
    std::vector<std::string> codes;
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const auto& v = (*arr)[i];
      const std::string at = element_path("pseudo_territories", i);
      const bool ok = v.is_string() && v.get_string().size() >= 2 && v.get_string().size() <= 3 &&
                      std::all_of(v.get_string().begin(), v.get_string().end(),
                                  [](char c) { return c >= 'A' && c <= 'Z'; });
      if (!ok) {
        errors.add(at, "expected a code of 2 or 3 upper-case letters, got " + shown(v));
        continue;
      }
      std::string code(v.get_string());
      if (std::find(codes.begin(), codes.end(), code) != codes.end())
        errors.add(at, json_quoted(code) + " is listed twice");
      else
        codes.push_back(code);
    }
    cfg.pseudo_territories = codes;
  }
  if (const auto* v = in.find("sources")) {
    std::vector<config_issue> issues;
    cfg.sources = parse_sources(*v, "sources", issues);
    for (const auto& i : issues) errors.add(i.path, i.what);
  }
  if (const auto* v = in.find("settlement")) {  // config/settlement.hpp
    std::vector<std::pair<std::string, std::string>> issues;
    read_settlement_config(*v, "settlement", cfg.settlement, issues);
    for (const auto& [path, what] : issues) errors.add(path, what);
  }
  const auto* endpoints = in.array("endpoints");
  if (!endpoints) return;
  std::map<std::string, std::size_t> names;   // name -> first index
  std::map<std::string, std::size_t> groups;  // rate group -> first index
  std::map<field_aliases::map_type, field_aliases> alias_tables;
  for (std::size_t i = 0; i < endpoints->size(); ++i) {
    const std::string path = element_path("endpoints", i);
    const auto& v = (*endpoints)[i];
    if (!v.is_object()) {
      errors.add(path, "expected an object, got " + shown(v));
      continue;
    }
    auto e = read_endpoint(v.get_object(), path, errors);
    if (!e.name.empty()) {
      const auto [it, inserted] = names.emplace(e.name, i);
      if (!inserted)
        errors.add(path + ".name", "duplicate endpoint name " + json_quoted(e.name) + " (also endpoints[" +
                                       std::to_string(it->second) + "])");
    }
    // Endpoints with the same aliases share one table (most use the defaults or one DSP's names).
    const auto [shared, fresh] = alias_tables.emplace(e.fields.get(), e.fields);
    if (!fresh) e.fields = shared->second;
    cfg.endpoints.push_back(std::move(e));
    if (cfg.endpoints.back().webhook.enabled && cfg.http.port == 0)
      errors.add(path + ".webhook",
                 "webhooks are received on the service HTTP port, which is off: set http.port");
    const auto& rate = cfg.endpoints.back().rate;
    if (!rate.group.empty()) {
      // One group is one DSP quota, so it has one budget; differing numbers would make it ambiguous.
      const auto [it, inserted] = groups.emplace(rate.group, i);
      const auto& first = cfg.endpoints[it->second].rate;
      if (!inserted && (first.requests_per_second != rate.requests_per_second || first.burst != rate.burst)) {
        std::ostringstream what;
        what << "rate group " << json_quoted(rate.group) << " has one budget, but endpoints[" << it->second
             << "] sets " << first.requests_per_second << " requests/s burst " << first.burst
             << " and this one " << rate.requests_per_second << " requests/s burst " << rate.burst;
        errors.add(path + ".rate", what.str());
      }
    }
  }
}

}  // namespace

expected<engine_config> parse_config(std::string_view json_text, std::string_view source) {
  const std::string src(source);
  json::basic_parser<duplicate_finder> pre(parse_options());
  json::error_code code;
  const std::size_t used = pre.write_some(false, json_text.data(), json_text.size(), code);
  if (!code && used < json_text.size()) code = json::error::extra_data;
  if (code) {
    const std::string reason = json_text.find_first_not_of(" \t\r\n") == std::string_view::npos
                                   ? "the document is empty"
                                   : code.message();
    return failure{ec::bad_config, src + ": invalid JSON at " + position(json_text, used) + ": " + reason};
  }
  error_list errors;
  for (const auto& path : pre.handler().duplicates)
    errors.add(path, "duplicate member; JSON keeps only the last one, so remove the other");

  json::value root = json::parse(json_text, code, {}, parse_options());
  if (code) return failure{ec::bad_config, src + ": invalid JSON: " + code.message()};
  if (!root.is_object())
    return failure{ec::bad_config, src + ": expected a JSON object at the top level, got " + shown(root)};

  find_secrets(root, "", errors);
  engine_config cfg;
  read_engine(root.get_object(), cfg, errors);
  if (!errors.empty()) return failure{ec::bad_config, errors.joined()};
  return cfg;
}

expected<engine_config> load_config(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return failure{ec::io_failure, path + ": cannot read: " + std::strerror(errno)};
  std::string text;
  char buffer[65536];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  const int read_error = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (read_error) return failure{ec::io_failure, path + ": cannot read: " + std::strerror(read_error)};
  return parse_config(text, path);
}

}  // namespace dspsync
