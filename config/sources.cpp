#include "config/sources.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include <boost/json.hpp>

#include "config/config.hpp"
#include "domain/idempotency.hpp"
#include "domain/identifiers.hpp"

namespace dspsync {

namespace json = boost::json;

const char* to_string(source_format format) { return format == source_format::dsr ? "dsr" : "csv"; }

namespace {

/// The members a source object accepts.
bool known_member(std::string_view name) {
  static const std::set<std::string_view> members{"name",
                                                  "dsp",
                                                  "format",
                                                  "delimiter",
                                                  "quote",
                                                  "columns",
                                                  "currency",
                                                  "batch_rows",
                                                  "key_fields",
                                                  "lenient_quotes",
                                                  "description",
                                                  "reporting_period",
                                                  "reporting_period_from",
                                                  "transaction_id_columns",
                                                  "transaction_id_scope"};
  return members.count(name) > 0;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

/// A JSON value as an error shows it (strings JSON-escaped, so one error stays on one line).
std::string shown(const json::value& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  if (v.is_string() && v.get_string().size() > 60)
    return json::serialize(json::string_view(v.get_string().data(), 57)) + "...";
  return json::serialize(v);
}

std::string quoted(std::string_view s) { return json::serialize(json::string_view(s.data(), s.size())); }

bool is_identifier(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

class reader {
 public:
  reader(const json::object& obj, std::string path, std::vector<config_issue>& issues)
      : obj_(obj), path_(std::move(path)), issues_(issues) {}

  const json::value* find(std::string_view name) const { return obj_.if_contains(name); }
  std::string path(std::string_view name) const { return path_ + "." + std::string(name); }
  void add(const std::string& at, std::string what) const { issues_.push_back({at, std::move(what)}); }

  bool text(std::string_view name, std::string& out) const {
    const auto* v = find(name);
    if (!v) return false;
    if (!v->is_string()) {
      add(path(name), "expected a string, got " + shown(*v));
      return false;
    }
    out.assign(v->get_string().data(), v->get_string().size());
    return true;
  }

  /// One of `choices`; returns its index, or -1 when absent or wrong.
  int choice(std::string_view name, const std::vector<std::string>& choices) const {
    const auto* v = find(name);
    if (!v) return -1;
    for (std::size_t i = 0; i < choices.size(); ++i)
      if (v->is_string() && v->get_string() == choices[i]) return static_cast<int>(i);
    std::string all;
    for (const auto& c : choices) all += (all.empty() ? "" : "|") + c;
    add(path(name), "expected one of " + all + ", got " + shown(*v));
    return -1;
  }

  /// A single character (or "" when `allow_empty`).
  bool character(std::string_view name, bool allow_empty, char& out) const {
    const auto* v = find(name);
    if (!v) return false;
    if (v->is_string() && v->get_string().size() == 1 && v->get_string()[0] != '\n' &&
        v->get_string()[0] != '\r') {
      out = v->get_string()[0];
      return true;
    }
    if (allow_empty && v->is_string() && v->get_string().empty()) {
      out = 0;
      return true;
    }
    add(path(name), std::string("expected one character such as \",\", \"\\t\" or \";\"") +
                        (allow_empty ? " (or \"\" for none)" : "") + ", got " + shown(*v));
    return false;
  }

  /// A string or a non-empty array of non-empty strings.
  bool names(const json::value& v, const std::string& at, std::vector<std::string>& out) const {
    out.clear();
    auto one = [&](const json::value& s, const std::string& where) {
      if (s.is_string() && !trimmed(std::string_view(s.get_string().data(), s.get_string().size())).empty()) {
        out.emplace_back(s.get_string().data(), s.get_string().size());
        return true;
      }
      add(where, "expected a non-empty header name, got " + shown(s));
      return false;
    };
    if (v.is_string()) return one(v, at);
    if (v.is_array() && !v.get_array().empty()) {
      bool ok = true;
      for (std::size_t i = 0; i < v.get_array().size(); ++i)
        ok = one(v.get_array()[i], at + "[" + std::to_string(i) + "]") && ok;
      return ok;
    }
    add(at, "expected a string or a non-empty array of strings, got " + shown(v));
    return false;
  }

  void check_members() const {
    for (const auto& m : obj_) {
      const std::string_view name(m.key().data(), m.key().size());
      if (!known_member(name)) add(path(name), "unknown field");
    }
  }

 private:
  const json::object& obj_;
  std::string path_;
  std::vector<config_issue>& issues_;
};

void read_columns(const reader& in, source_config& s) {
  const auto& canonical = canonical_fields();
  std::map<std::string, std::string> claimed;  // lower-case header -> canonical field
  if (const auto* v = in.find("columns")) {
    if (!v->is_object()) {
      in.add(in.path("columns"), "expected an object, got " + shown(*v));
    } else {
      for (const auto& m : v->get_object()) {
        const std::string name(m.key().data(), m.key().size());
        const std::string at = in.path("columns") + "." + name;
        if (std::find(canonical.begin(), canonical.end(), name) == canonical.end()) {
          std::string all;
          for (const auto& c : canonical) all += (all.empty() ? "" : "|") + c;
          in.add(at, "unknown canonical field; expected one of " + all);
          continue;
        }
        std::vector<std::string> headers;
        if (!in.names(m.value(), at, headers)) continue;
        for (const auto& h : headers) {
          const auto [it, inserted] = claimed.emplace(lower(trimmed(h)), name);
          if (!inserted && it->second != name)
            in.add(at, "header " + quoted(h) + " is already mapped to \"" + it->second + "\"");
        }
        s.columns[name] = headers;
      }
    }
  }
  // As for endpoints: a header the config gives to one field never also serves another by default.
  for (const auto& [field, aliases] : default_field_aliases()) {
    if (s.columns.count(field)) continue;
    auto& out = s.columns[field];
    for (const auto& alias : aliases)
      if (!claimed.count(lower(alias))) out.push_back(alias);
  }
}

void read_key_fields(const reader& in, source_config& s) {
  s.key_fields = default_key_fields();
  const auto* v = in.find("key_fields");
  if (!v) return;
  std::vector<std::string> keys;
  if (!v->is_array()) {
    in.add(in.path("key_fields"), "expected an array, got " + shown(*v));
    return;
  }
  for (std::size_t i = 0; i < v->get_array().size(); ++i) {
    const auto& k = v->get_array()[i];
    if (!k.is_string()) {
      in.add(in.path("key_fields") + "[" + std::to_string(i) + "]",
             "expected a canonical field or \"dsp\", got " + shown(k));
      return;
    }
    keys.emplace_back(k.get_string().data(), k.get_string().size());
  }
  if (auto st = validate_key_fields(keys); !st) {
    in.add(in.path("key_fields"), st.error().message);
    return;
  }
  s.key_fields = keys;
}

}  // namespace

source_config parse_source(const json::value& v, const std::string& path, std::vector<config_issue>& issues) {
  source_config s;
  if (!v.is_object()) {
    issues.push_back({path, "expected an object, got " + shown(v)});
    return s;
  }
  reader in(v.get_object(), path, issues);
  in.check_members();
  if (!in.find("name")) in.add(in.path("name"), "required field is missing");
  std::string text;
  if (in.text("name", text)) {
    if (is_identifier(text))
      s.name = text;
    else
      in.add(in.path("name"),
             "expected 1 to 64 characters from [A-Za-z0-9._-], got " + shown(*in.find("name")));
  }
  s.dsp = s.name;
  if (in.text("dsp", text)) {
    if (is_identifier(text))
      s.dsp = text;
    else
      in.add(in.path("dsp"),
             "expected 1 to 64 characters from [A-Za-z0-9._-], got " + shown(*in.find("dsp")));
  }
  if (int f = in.choice("format", {"csv", "dsr"}); f >= 0) s.format = static_cast<source_format>(f);
  const bool dsr = s.format == source_format::dsr;
  for (const char* csv_only : {"delimiter", "quote", "columns", "transaction_id_columns"})
    if (dsr && in.find(csv_only))
      in.add(in.path(csv_only), "only used with format csv (a DSR file's layout is fixed by the standard)");
  for (const char* dsr_only : {"lenient_quotes", "transaction_id_scope"})
    if (!dsr && in.find(dsr_only)) in.add(in.path(dsr_only), "only used with format dsr");
  in.character("delimiter", false, s.delimiter);
  in.character("quote", true, s.quote);
  if (s.quote != 0 && s.quote == s.delimiter) in.add(in.path("quote"), "must differ from the delimiter");
  if (!dsr) read_columns(in, s);
  if (in.text("currency", text)) {
    if (auto c = normalize_currency(text))
      s.currency = *c;
    else
      in.add(in.path("currency"), "expected an ISO 4217 currency code, got " + shown(*in.find("currency")));
  }
  if (in.text("reporting_period", text)) {
    if (auto p = normalize_period(text))
      s.reporting_period = *p;
    else
      in.add(in.path("reporting_period"),
             "expected YYYY-MM, YYYY, YYYY-Qn, YYYY-Www or YYYY-MM-DD--YYYY-MM-DD, got " +
                 shown(*in.find("reporting_period")));
  }
  if (int f = in.choice("reporting_period_from", {"column", "filename"}); f >= 0)
    s.reporting_period_from = static_cast<period_source>(f);
  if (const auto* t = in.find("transaction_id_columns")) {
    if (t->is_array() && t->get_array().empty())
      in.add(in.path("transaction_id_columns"), "expected a non-empty array of header names");
    else
      in.names(*t, in.path("transaction_id_columns"), s.transaction_id_columns);
  }
  read_key_fields(in, s);
  if (const auto* b = in.find("batch_rows")) {
    if (b->is_int64() && b->get_int64() >= 1 && b->get_int64() <= 1'000'000)
      s.batch_rows = static_cast<std::size_t>(b->get_int64());
    else
      in.add(in.path("batch_rows"), "expected an integer from 1 to 1000000, got " + shown(*b));
  }
  if (const auto* b = in.find("lenient_quotes")) {
    if (b->is_bool())
      s.lenient_quotes = b->get_bool();
    else
      in.add(in.path("lenient_quotes"), "expected true or false, got " + shown(*b));
  }
  if (int f = in.choice("transaction_id_scope", {"transaction", "message"}); f >= 0)
    s.transaction_id_scope = static_cast<transaction_scope>(f);
  in.text("description", text);
  return s;
}

std::vector<source_config> parse_sources(const json::value& v, const std::string& path,
                                         std::vector<config_issue>& issues) {
  std::vector<source_config> out;
  if (!v.is_array()) {
    issues.push_back({path, "expected an array, got " + shown(v)});
    return out;
  }
  std::map<std::string, std::size_t> names;
  for (std::size_t i = 0; i < v.get_array().size(); ++i) {
    const std::string at = path + "[" + std::to_string(i) + "]";
    auto s = parse_source(v.get_array()[i], at, issues);
    if (!s.name.empty()) {
      const auto [it, inserted] = names.emplace(s.name, i);
      if (!inserted)
        issues.push_back({at + ".name", "duplicate source name " + quoted(s.name) + " (also " + path + "[" +
                                            std::to_string(it->second) + "])"});
    }
    out.push_back(std::move(s));
  }
  return out;
}

expected<source_config> load_source_preset(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return failure{ec::io_failure, path + ": cannot read: " + std::strerror(errno)};
  std::string text;
  char buffer[65536];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  std::fclose(file);
  json::parse_options options;
  options.allow_comments = true;
  json::error_code code;
  auto v = json::parse(text, code, {}, options);
  if (code) return failure{ec::bad_config, path + ": invalid JSON: " + code.message()};
  std::vector<config_issue> issues;
  auto s = parse_source(v, "source", issues);
  if (!issues.empty()) {
    std::string all;
    for (const auto& i : issues) all += (all.empty() ? "" : "\n") + path + ": " + i.path + ": " + i.what;
    return failure{ec::bad_config, all};
  }
  return s;
}

}  // namespace dspsync
