#include "protocol/har.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>

#include "domain/record.hpp"

namespace dspsync {

namespace json = boost::json;

namespace {

// --- base64 (RFC 4648; the URL-safe alphabet and line breaks are tolerated on read) --------------

constexpr char base64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_digit(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

bool base64_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (unsigned char c : in) {
    if (c == '\r' || c == '\n' || c == ' ' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    int d = base64_digit(c);
    if (d < 0 || padding) return false;
    acc = (acc << 6) | static_cast<uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return bits < 6;  // a single leftover digit cannot encode a byte
}

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += base64_alphabet[(n >> 18) & 63];
    out += base64_alphabet[(n >> 12) & 63];
    out += base64_alphabet[(n >> 6) & 63];
    out += base64_alphabet[n & 63];
  }
  if (i < in.size()) {
    uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += base64_alphabet[(n >> 18) & 63];
    out += base64_alphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? base64_alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

/// True when `s` is well-formed UTF-8 (what a JSON string may carry unescaped).
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

// --- reading -----------------------------------------------------------------------------------

/// Converts the parsed document, naming the first field that does not fit (`log.entries[3].url`).
class har_reader {
 public:
  explicit har_reader(std::string_view source) : source_(source) {}

  expected<har_archive> read(const json::value& doc) {
    har_archive archive;
    const json::object* root = doc.if_object();
    if (root == nullptr) return fail("(document)", "expected an object");
    const json::object* log = object_at(*root, "log", "log", true);
    if (log == nullptr) return *error_;
    const json::value* entries = log->if_contains("entries");
    if (entries == nullptr || !entries->is_array()) return fail("log.entries", "expected an array");
    const json::array& list = entries->get_array();
    archive.entries.reserve(list.size());
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string path = "log.entries[" + std::to_string(i) + "]";
      har_entry entry;
      if (!read_entry(list[i], path, entry)) return *error_;
      archive.entries.push_back(std::move(entry));
    }
    return archive;
  }

 private:
  failure fail(const std::string& path, std::string_view what) {
    error_ = failure{ec::bad_har, std::string(source_) + ": " + path + ": " + std::string(what)};
    return *error_;
  }

  const json::object* object_at(const json::object& parent, std::string_view key, const std::string& path,
                                bool required) {
    const json::value* v = parent.if_contains(key);
    if (v == nullptr && !required) return nullptr;
    if (v == nullptr || !v->is_object()) {
      fail(path, "expected an object");
      return nullptr;
    }
    return &v->get_object();
  }

  /// Reads an optional string member into `out`; false (with the error set) on a wrong type.
  bool string_at(const json::object& parent, std::string_view key, const std::string& path, std::string& out,
                 bool required = false) {
    const json::value* v = parent.if_contains(key);
    if (v == nullptr && !required) return true;
    if (v == nullptr || !v->is_string()) {
      fail(path, "expected a string");
      return false;
    }
    out.assign(v->get_string().data(), v->get_string().size());
    return true;
  }

  bool number_at(const json::object& parent, std::string_view key, const std::string& path, double& out,
                 bool required = false) {
    const json::value* v = parent.if_contains(key);
    if (v == nullptr && !required) return true;
    if (v == nullptr || !v->is_number()) {
      fail(path, "expected a number");
      return false;
    }
    out = v->to_number<double>();
    if (!std::isfinite(out)) {  // 1e999 parses as infinity, which JSON cannot write back
      fail(path, "expected a finite number");
      return false;
    }
    return true;
  }

  bool headers_at(const json::object& parent, const std::string& path, std::vector<har_header>& out) {
    const json::value* v = parent.if_contains("headers");
    if (v == nullptr) return true;
    const std::string hpath = path + ".headers";
    if (!v->is_array()) {
      fail(hpath, "expected an array");
      return false;
    }
    out.reserve(v->get_array().size());
    for (std::size_t i = 0; i < v->get_array().size(); ++i) {
      const std::string item = hpath + "[" + std::to_string(i) + "]";
      const json::value& h = v->get_array()[i];
      if (!h.is_object()) {
        fail(item, "expected an object");
        return false;
      }
      har_header header;
      if (!string_at(h.get_object(), "name", item + ".name", header.name, true) ||
          !string_at(h.get_object(), "value", item + ".value", header.value)) {
        return false;
      }
      out.push_back(std::move(header));
    }
    return true;
  }

  /// Reads `text` (decoded per `encoding`) of a postData or content object.
  bool body_at(const json::object& parent, const std::string& path, std::string& out) {
    std::string text;
    std::string encoding;
    if (!string_at(parent, "text", path + ".text", text) ||
        !string_at(parent, "encoding", path + ".encoding", encoding)) {
      return false;
    }
    if (encoding.empty()) {
      out = std::move(text);
      return true;
    }
    if (encoding != "base64") {
      fail(path + ".encoding", "unsupported encoding \"" + encoding + "\" (expected base64)");
      return false;
    }
    if (!base64_decode(text, out)) {
      fail(path + ".text", "invalid base64");
      return false;
    }
    return true;
  }

  bool read_entry(const json::value& v, const std::string& path, har_entry& entry) {
    if (!v.is_object()) {
      fail(path, "expected an object");
      return false;
    }
    const json::object& e = v.get_object();
    if (!string_at(e, "startedDateTime", path + ".startedDateTime", entry.started) ||
        !number_at(e, "time", path + ".time", entry.time_ms)) {
      return false;
    }

    const std::string rq_path = path + ".request";
    const json::object* rq = object_at(e, "request", rq_path, true);
    if (rq == nullptr || !string_at(*rq, "method", rq_path + ".method", entry.method, true) ||
        !string_at(*rq, "url", rq_path + ".url", entry.url, true) ||
        !headers_at(*rq, rq_path, entry.request_headers)) {
      return false;
    }
    const json::object* post = object_at(*rq, "postData", rq_path + ".postData", false);
    if (error_) return false;
    if (post != nullptr && !body_at(*post, rq_path + ".postData", entry.request_body)) return false;

    const std::string rs_path = path + ".response";
    const json::object* rs = object_at(e, "response", rs_path, true);
    if (rs == nullptr) return false;
    double status = 0;
    if (!number_at(*rs, "status", rs_path + ".status", status, true)) return false;
    if (status != std::floor(status) || status < 0 || status > 999) {
      fail(rs_path + ".status", "expected an HTTP status code");
      return false;
    }
    entry.status = static_cast<int>(status);
    if (!string_at(*rs, "statusText", rs_path + ".statusText", entry.status_text) ||
        !headers_at(*rs, rs_path, entry.response_headers)) {
      return false;
    }
    const json::object* content = object_at(*rs, "content", rs_path + ".content", false);
    if (error_) return false;
    return content == nullptr || body_at(*content, rs_path + ".content", entry.response_body);
  }

  std::string_view source_;
  std::optional<failure> error_;
};

/// Feeds JSON text to a parser in pieces; the document lives in `resource`.
class har_parser {
 public:
  explicit har_parser(std::string_view source) : source_(source), parser_(&resource_) {}

  /// Parses one more piece; false (with the error set) when the text is not JSON.
  bool write(const char* data, std::size_t size) {
    boost::system::error_code err;
    offset_ += parser_.write(data, size, err);
    if (err) error_ = describe(err);
    return !err;
  }

  expected<har_archive> finish() {
    if (error_) return *error_;
    boost::system::error_code err;
    parser_.finish(err);
    if (err) return describe(err);
    json::value doc = parser_.release();
    return har_reader(source_).read(doc);
  }

 private:
  failure describe(const boost::system::error_code& err) const {
    return failure{ec::bad_json, std::string(source_) + ": not valid JSON at byte " +
                                     std::to_string(offset_) + ": " + err.message()};
  }

  std::string_view source_;
  json::monotonic_resource resource_;
  json::stream_parser parser_;
  std::size_t offset_ = 0;
  std::optional<failure> error_;
};

// --- writing -----------------------------------------------------------------------------------

std::string header_value(const std::vector<har_header>& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (h.name.size() == name.size() &&
        std::equal(h.name.begin(), h.name.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return h.value;
    }
  }
  return {};
}

/// `s` as a JSON string may hold it: unchanged when it is UTF-8, else each byte that is not part
/// of a well-formed sequence becomes U+FFFD (a recorded header with obs-text bytes must not make
/// the whole file unreadable; replay never matches on headers).
std::string json_safe(std::string_view s) {
  if (valid_utf8(s)) return std::string(s);
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t len = 1;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
      if (len == 0 || i + len > s.size() || !valid_utf8(s.substr(i, len))) {
        out += "\xEF\xBF\xBD";
        ++i;
        continue;
      }
    }
    out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

json::array headers_json(const std::vector<har_header>& headers) {
  json::array out;
  out.reserve(headers.size());
  for (const auto& h : headers)
    out.push_back(json::object{{"name", json_safe(h.name)}, {"value", json_safe(h.value)}});
  return out;
}

/// `text` with each `%XX` decoded (anything else, a stray `%` included, kept as it is).
std::string percent_decoded(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 && hex_digit(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

json::array query_json(const std::string& url) {
  // Split by hand: Boost.URL 1.81 reads out of bounds iterating the parameters of some URLs
  // (an empty query before a fragment, `https:/?#x`; found by the har fuzz target).
  json::array out;
  const auto q = url.find('?');
  const auto hash = url.find('#');
  if (q == std::string::npos || (hash != std::string::npos && hash < q)) return out;
  std::string_view query(url);
  query = query.substr(q + 1, hash == std::string::npos ? std::string_view::npos : hash - q - 1);
  // Decoded, as HAR shows them; a name or value whose bytes are not UTF-8 once decoded (a binary
  // cursor token, say) stays percent-encoded, so that the file remains valid JSON. The request is
  // replayed from `url`, never from this list.
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    const std::string_view key = part.substr(0, eq);
    const std::string_view raw = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    std::string name = percent_decoded(key);
    std::string value = percent_decoded(raw);
    if (!valid_utf8(name)) name = json_safe(key);
    if (!valid_utf8(value)) value = json_safe(raw);
    out.push_back(json::object{{"name", std::move(name)}, {"value", std::move(value)}});
  }
  return out;
}

/// Stores `body` as `text`, base64-encoded when it is not valid UTF-8.
void put_body(json::object& obj, const std::string& body) {
  if (valid_utf8(body)) {
    obj["text"] = body;
  } else {
    obj["text"] = base64_encode(body);
    obj["encoding"] = "base64";
  }
}

json::object entry_json(const har_entry& e) {
  json::object request{{"method", e.method},
                       {"url", e.url},
                       {"httpVersion", "HTTP/1.1"},
                       {"cookies", json::array()},
                       {"headers", headers_json(e.request_headers)},
                       {"queryString", query_json(e.url)},
                       {"headersSize", -1},
                       {"bodySize", e.request_body.size()}};
  if (!e.request_body.empty()) {
    json::object post{{"mimeType", header_value(e.request_headers, "Content-Type")}};
    put_body(post, e.request_body);
    request["postData"] = std::move(post);
  }

  json::object content{{"size", e.response_body.size()},
                       {"mimeType", header_value(e.response_headers, "Content-Type")}};
  put_body(content, e.response_body);
  json::object response{{"status", e.status},
                        {"statusText", e.status_text},
                        {"httpVersion", "HTTP/1.1"},
                        {"cookies", json::array()},
                        {"headers", headers_json(e.response_headers)},
                        {"content", std::move(content)},
                        {"redirectURL", header_value(e.response_headers, "Location")},
                        {"headersSize", -1},
                        {"bodySize", e.response_body.size()}};

  return json::object{
      {"startedDateTime", e.started.empty() ? std::string("1970-01-01T00:00:00.000Z") : e.started},
      {"time", e.time_ms},
      {"request", std::move(request)},
      {"response", std::move(response)},
      {"cache", json::object()},
      {"timings", json::object{{"send", 0}, {"wait", e.time_ms}, {"receive", 0}}}};
}

}  // namespace

expected<har_archive> parse_har(std::string_view json_text, std::string_view source) {
  auto parser = std::make_unique<har_parser>(source);
  parser->write(json_text.data(), json_text.size());
  return parser->finish();
}

expected<har_archive> load_har(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return failure{ec::io_failure, path + ": cannot open: " + std::strerror(errno)};
  auto parser = std::make_unique<har_parser>(path);
  std::vector<char> chunk(1 << 20);
  for (;;) {
    std::size_t n = std::fread(chunk.data(), 1, chunk.size(), file.get());
    if (n > 0 && !parser->write(chunk.data(), n)) break;
    if (n < chunk.size()) {
      if (std::ferror(file.get()))
        return failure{ec::io_failure, path + ": read error: " + std::strerror(errno)};
      break;
    }
  }
  return parser->finish();
}

std::string write_har(const har_archive& archive) {
  json::array entries;
  entries.reserve(archive.entries.size());
  for (const auto& e : archive.entries) entries.push_back(entry_json(e));
  json::object log{{"version", "1.2"},
                   {"creator", json::object{{"name", "dspsync"}, {"version", "0.1.0"}}},
                   {"entries", std::move(entries)}};
  std::string out = json::serialize(json::object{{"log", std::move(log)}});
  out += '\n';
  return out;
}

}  // namespace dspsync
