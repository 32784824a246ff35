#include "protocol/pagination.hpp"

#include "protocol/json_text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>

#include <boost/json/error.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "domain/timefmt.hpp"

namespace dspsync {

namespace {

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

std::string next_pointer_of(const pagination_config& p) {
  if (!p.next_pointer.empty()) return p.next_pointer;
  switch (p.style) {
    case pagination_style::cursor:
      return "/next_cursor";
    case pagination_style::next_url:
      return "/next";
    case pagination_style::updated_since:
      return "/high_water_mark";
    case pagination_style::offset:
      break;
  }
  return {};
}

/// A `bad_value` failure: `<endpoint>: <pointer>: <what>`.
failure bad_value(const endpoint_config& ep, std::string_view pointer, std::string_view what) {
  std::string msg = ep.name.empty() ? std::string() : ep.name + ": ";
  msg += pointer;
  msg += ": ";
  msg += what;
  return failure{ec::bad_value, std::move(msg)};
}

/// The value at `pointer`, or nullptr when it is absent or null. A malformed pointer is an error
/// (the config loader should have rejected it), an absent member is not.
expected<const boost::json::value*> lookup(const endpoint_config& ep, const boost::json::value& page,
                                           const std::string& pointer) {
  boost::system::error_code err;
  const boost::json::value* v = page.find_pointer(pointer, err);
  if (v == nullptr) {
    if (err == boost::json::error::missing_slash || err == boost::json::error::invalid_escape ||
        err == boost::json::error::token_not_number || err == boost::json::error::token_overflow) {
      return bad_value(ep, pointer, "invalid JSON pointer: " + err.message());
    }
    return static_cast<const boost::json::value*>(nullptr);
  }
  if (v->is_null()) return static_cast<const boost::json::value*>(nullptr);
  return v;
}

std::optional<uint64_t> parse_u64(std::string_view text) {
  uint64_t n = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (err != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return n;
}

/// A non-negative integer held as a JSON number or as a number's text.
std::optional<uint64_t> as_count(const boost::json::value& v) {
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64()) {
    if (v.get_int64() < 0) return std::nullopt;
    return static_cast<uint64_t>(v.get_int64());
  }
  if (v.is_double()) {
    double d = v.get_double();
    if (d < 0 || d > 9.0e18 || d != static_cast<double>(static_cast<uint64_t>(d))) return std::nullopt;
    return static_cast<uint64_t>(d);
  }
  if (v.is_string()) return parse_u64(std::string_view(v.get_string().data(), v.get_string().size()));
  return std::nullopt;
}

/// A cursor token held as a string or a number.
std::optional<std::string> as_token(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.get_string().data(), v.get_string().size());
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  return std::nullopt;
}

expected<page_step> next_offset(const endpoint_config& ep, std::string_view cursor,
                                const boost::json::value& page, std::size_t record_count) {
  const auto& p = ep.pagination;
  auto offset = parse_u64(cursor);
  if (!offset)
    return bad_value(ep, "cursor", "expected a decimal offset, got \"" + std::string(cursor) + "\"");
  uint64_t next = *offset + record_count;
  bool done = record_count < static_cast<std::size_t>(std::max(p.page_size, 1));
  if (!p.total_pointer.empty()) {
    auto total = lookup(ep, page, p.total_pointer);
    if (!total) return total.error();
    if (*total != nullptr) {
      auto n = as_count(**total);
      if (!n) return bad_value(ep, p.total_pointer, "expected a non-negative integer");
      if (next >= *n) done = true;
    }
  }
  return page_step{done, std::to_string(next)};
}

expected<page_step> next_cursor(const endpoint_config& ep, std::string_view cursor,
                                const boost::json::value& page) {
  const std::string pointer = next_pointer_of(ep.pagination);
  auto v = lookup(ep, page, pointer);
  if (!v) return v.error();
  if (*v == nullptr) return page_step{true, std::string(cursor)};
  auto token = as_token(**v);
  if (!token) return bad_value(ep, pointer, "expected a string or null");
  if (token->empty()) return page_step{true, std::string(cursor)};
  return page_step{false, std::move(*token)};
}

expected<page_step> next_link(const endpoint_config& ep, std::string_view cursor,
                              const boost::json::value& page) {
  const std::string pointer = next_pointer_of(ep.pagination);
  auto v = lookup(ep, page, pointer);
  if (!v) return v.error();
  if (*v == nullptr) return page_step{true, std::string(cursor)};
  if (!(*v)->is_string()) return bad_value(ep, pointer, "expected a URL string or null");
  std::string link((*v)->get_string().data(), (*v)->get_string().size());
  if (link.empty()) return page_step{true, std::string(cursor)};
  if (link[0] == '/' && (link.size() < 2 || link[1] != '/')) return page_step{false, std::move(link)};

  // An absolute URL, or a network-path reference (`//host/...`) that takes the base URL's scheme.
  if (link[0] == '/') {
    auto base = boost::urls::parse_uri(ep.base_url);
    if (!base) return bad_value(ep, pointer, "cannot resolve \"" + link + "\": base_url is not a URL");
    link = std::string(base->scheme()) + ":" + link;
  }
  auto url = boost::urls::parse_uri(link);
  if (!url) return bad_value(ep, pointer, "expected an absolute URL or a path, got \"" + link + "\"");
  const std::string origin = url_origin(link);
  const std::string expected_origin = url_origin(ep.base_url);
  if (origin.empty() || origin != expected_origin) {
    return bad_value(ep, pointer,
                     "next URL origin \"" + origin + "\" is not the endpoint's origin \"" + expected_origin +
                         "\"; refusing to follow it");
  }
  std::string target(url->encoded_path());
  if (target.empty()) target = "/";
  if (url->has_query()) {
    target += '?';
    target += url->encoded_query();
  }
  return page_step{false, std::move(target)};
}

expected<page_step> next_window(const endpoint_config& ep, std::string_view cursor,
                                const boost::json::value& page, std::size_t record_count) {
  const std::string pointer = next_pointer_of(ep.pagination);
  const bool full = record_count >= static_cast<std::size_t>(std::max(ep.pagination.page_size, 1));
  auto current = parse_rfc3339(cursor);
  if (!current)
    return bad_value(ep, "cursor", "expected an RFC 3339 timestamp, got \"" + std::string(cursor) + "\"");
  auto v = lookup(ep, page, pointer);
  if (!v) return v.error();
  if (*v == nullptr) {
    if (full)
      return bad_value(ep, pointer,
                       "updated_since window did not advance: a full page has no high-water mark");
    return page_step{true, std::string(cursor)};
  }
  if (!(*v)->is_string()) return bad_value(ep, pointer, "expected an RFC 3339 timestamp string");
  std::string_view text((*v)->get_string().data(), (*v)->get_string().size());
  auto hwm = parse_rfc3339(text);
  if (!hwm)
    return bad_value(ep, pointer, "expected an RFC 3339 timestamp, got \"" + std::string(text) + "\"");
  if (*hwm <= *current && full) {
    return bad_value(ep, pointer,
                     "updated_since window did not advance (high-water mark " + std::string(text) +
                         ", window start " + std::string(cursor) + ")");
  }
  unix_seconds next = *hwm - static_cast<unix_seconds>(ep.schedule.lookback.count());
  if (next <= *current) next = *hwm;
  if (next <= *current) return page_step{!full, std::string(cursor)};  // never move a window backwards
  return page_step{!full, format_rfc3339(next)};
}

}  // namespace

void append_percent_encoded(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  for (unsigned char c : text) {
    if (is_unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0x0F];
    }
  }
}

void append_query_param(std::string& target, std::string_view name, std::string_view value) {
  target += target.find('?') == std::string::npos ? '?' : '&';
  append_percent_encoded(target, name);
  target += '=';
  append_percent_encoded(target, value);
}

std::string initial_cursor(const endpoint_config& ep) {
  switch (ep.pagination.style) {
    case pagination_style::offset:
      return "0";
    case pagination_style::cursor:
    case pagination_style::next_url:
      return "";
    case pagination_style::updated_since:
      return ep.pagination.initial_since.empty() ? "1970-01-01T00:00:00Z" : ep.pagination.initial_since;
  }
  return "";
}

std::string request_target(const endpoint_config& ep, std::string_view cursor) {
  const auto& p = ep.pagination;
  if (p.style == pagination_style::next_url && !cursor.empty()) return std::string(cursor);

  std::map<std::string, std::string> params = ep.query;
  params[p.limit_param] = std::to_string(p.page_size);
  switch (p.style) {
    case pagination_style::offset:
      params[p.offset_param] = std::string(cursor);
      break;
    case pagination_style::cursor:
      if (!cursor.empty()) params[p.cursor_param] = std::string(cursor);
      break;
    case pagination_style::next_url:
      break;
    case pagination_style::updated_since:
      params[p.since_param] = std::string(cursor);
      break;
  }

  std::string target = ep.path.empty() ? std::string("/") : ep.path;
  for (const auto& [name, value] : params) append_query_param(target, name, value);
  return target;
}

expected<page_step> next_page(const endpoint_config& ep, std::string_view cursor,
                              const boost::json::value& page, std::size_t record_count) {
  switch (ep.pagination.style) {
    case pagination_style::offset:
      return next_offset(ep, cursor, page, record_count);
    case pagination_style::cursor:
      return next_cursor(ep, cursor, page);
    case pagination_style::next_url:
      return next_link(ep, cursor, page);
    case pagination_style::updated_since:
      return next_window(ep, cursor, page, record_count);
  }
  return failure{ec::bad_value, "pagination: unknown style"};
}

std::string url_origin(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || !parsed->has_authority() || parsed->encoded_host().empty()) return {};
  std::string scheme(parsed->scheme());
  std::string host(parsed->encoded_host());
  auto lower = [](std::string& s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  };
  lower(scheme);
  lower(host);
  std::string origin = scheme + "://" + host;
  if (parsed->has_port() && !parsed->port().empty()) {
    const uint16_t port = parsed->port_number();
    const bool is_default = (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
    if (!is_default) origin += ":" + std::to_string(port);
  }
  return origin;
}

}  // namespace dspsync

namespace dspsync {

expected<page_step> peek_next_page(const endpoint_config& ep, std::string_view cursor, std::string_view body,
                                   std::size_t& record_count,
                                   std::vector<std::pair<std::size_t, std::size_t>>* record_spans) {
  const auto& pg = ep.pagination;
  const std::string next_pointer = next_pointer_of(pg);
  auto values = raw_values_at(body, {pg.records_pointer, next_pointer, pg.total_pointer});
  const auto& raw_records = values[0];
  if (!raw_records || raw_records->empty() || raw_records->front() != '[')
    return failure{ec::missing_records, "records array not found by scan"};
  auto spans = array_elements(*raw_records);
  if (!spans) return failure{ec::bad_json, "records array could not be scanned"};
  record_count = spans->size();
  // A small document holding only what the pagination rules read, at the same pointers.
  boost::json::value doc = boost::json::object();
  for (std::size_t slot = 1; slot < values.size(); ++slot) {
    const std::string pointer(slot == 1 ? next_pointer : pg.total_pointer);
    if (pointer.empty()) continue;
    const auto& raw = values[slot];
    if (!raw) continue;
    boost::json::error_code jec;
    auto v = boost::json::parse(*raw, jec);
    if (jec) return failure{ec::bad_json, "value at " + pointer + " could not be parsed"};
    // Build the path of objects down to the pointer.
    boost::json::value* at = &doc;
    std::size_t pos = 0;
    while (pos < pointer.size()) {
      std::size_t end = pointer.find('/', pos + 1);
      if (end == std::string::npos) end = pointer.size();
      std::string token(pointer.substr(pos + 1, end - pos - 1));
      for (std::size_t k = 0; (k = token.find("~1", k)) != std::string::npos;) token.replace(k, 2, "/");
      for (std::size_t k = 0; (k = token.find("~0", k)) != std::string::npos;) token.replace(k, 2, "~");
      if (!at->is_object()) return failure{ec::bad_value, "pointer " + pointer + " crosses an array"};
      at = &at->as_object()[token];
      pos = end;
    }
    *at = std::move(v);
  }
  auto step = next_page(ep, cursor, doc, record_count);
  if (step && record_spans != nullptr) {
    record_spans->clear();
    record_spans->reserve(spans->size());
    for (auto span : *spans)
      record_spans->emplace_back(static_cast<std::size_t>(span.data() - body.data()), span.size());
  }
  return step;
}

}  // namespace dspsync
