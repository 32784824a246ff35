#include "protocol/json_text.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

#include <cctype>
#include <cstdint>
#include <cstring>
#include <optional>

namespace dspsync {

namespace {

namespace json = boost::json;
using json::error_code;
using json::string_view;

/// Builds a value like Boost.JSON's own parser, except that numbers are pushed as their text.
struct text_number_handler {
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  json::value_stack st;
  std::string number;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) { return true; }
  bool on_object_end(std::size_t n, error_code&) {
    st.push_object(n);
    return true;
  }
  bool on_array_begin(error_code&) { return true; }
  bool on_array_end(std::size_t n, error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(string_view s, std::size_t, error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code&) {
    st.push_key(s);
    return true;
  }
  bool on_string_part(string_view s, std::size_t, error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(string_view s, std::size_t, error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(string_view s, error_code&) {
    number.append(s.data(), s.size());
    return true;
  }
  bool push_number(string_view s) {
    if (number.empty()) {
      st.push_string(s);
    } else {
      number.append(s.data(), s.size());
      st.push_string(number);
      number.clear();
    }
    return true;
  }
  bool on_int64(int64_t, string_view s, error_code&) { return push_number(s); }
  bool on_uint64(uint64_t, string_view s, error_code&) { return push_number(s); }
  bool on_double(double, string_view s, error_code&) { return push_number(s); }
  bool on_bool(bool b, error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }
};

}  // namespace

struct json_text_parser::impl {
  json::basic_parser<text_number_handler> parser{json::parse_options{}};
  std::unique_ptr<json::monotonic_resource> memory = std::make_unique<json::monotonic_resource>();
  std::optional<json::value> result;
};

json_text_parser::json_text_parser() : impl_(std::make_unique<impl>()) {}
json_text_parser::~json_text_parser() = default;

expected<const boost::json::value*> json_text_parser::parse(std::string_view text, std::string_view source) {
  auto& p = *impl_;
  // Drop the previous document before its memory is released.
  p.result.reset();
  // A fresh arena per document sized from the text: one allocation for a typical page. (Reusing one
  // arena with release() lets Boost 1.81's block-size growth run away until it throws bad_alloc.)
  p.memory = std::make_unique<json::monotonic_resource>(text.size() * 3 + 4096);
  p.parser.reset();
  p.parser.handler().number.clear();
  p.parser.handler().st.reset(json::storage_ptr(p.memory.get()));
  error_code ec;
  std::size_t used = p.parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && used != text.size()) ec = json::error::extra_data;
  if (ec) {
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < used && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    return failure{ec::bad_json, std::string(source) + ": invalid JSON at line " + std::to_string(line) +
                                     " column " + std::to_string(column) + ": " + ec.message()};
  }
  // Move construction keeps the monotonic storage (move assignment would copy to the heap).
  p.result.emplace(p.parser.handler().st.release());
  return &*p.result;
}

namespace {

/// Character classes for the structural scan: only quotes and brackets matter inside a container.
enum : uint8_t { plain = 0, quote = 1, opening = 2, closing = 3 };
struct char_classes {
  uint8_t of[256] = {};
  constexpr char_classes() {
    of[static_cast<unsigned char>('"')] = quote;
    of[static_cast<unsigned char>('{')] = opening;
    of[static_cast<unsigned char>('[')] = opening;
    of[static_cast<unsigned char>('}')] = closing;
    of[static_cast<unsigned char>(']')] = closing;
  }
};
constexpr char_classes classes;

/// A forward-only scanner over JSON text that skips values without building them. It checks
/// structure only as far as it needs to find values (quotes and brackets balance); the validator's
/// full parse is the judge of well-formedness.
struct scanner {
  std::string_view s;
  std::size_t i = 0;

  void ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  }
  bool eat(char c) {
    ws();
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  /// From an opening quote at `at`, the index just past the closing one; npos when unterminated.
  std::size_t past_string(std::size_t at) const {
    // Find each quote with memchr (vectorised); a quote preceded by an odd run of backslashes is
    // escaped. The run cannot reach past the opening quote.
    const char* p = s.data();
    const std::size_t n = s.size();
    std::size_t j = at + 1;
    while (j < n) {
      const void* found = std::memchr(p + j, '"', n - j);
      if (found == nullptr) return std::string_view::npos;
      const std::size_t q = static_cast<std::size_t>(static_cast<const char*>(found) - p);
      std::size_t run = 0;
      while (p[q - 1 - run] == '\\') ++run;
      if (run % 2 == 0) return q + 1;
      j = q + 1;
    }
    return std::string_view::npos;
  }
  /// Reads a string's raw content (escapes left as they are); false when not at a string.
  bool string(std::string_view& out) {
    ws();
    if (i >= s.size() || s[i] != '"') return false;
    const std::size_t end = past_string(i);
    if (end == std::string_view::npos) return false;
    out = s.substr(i + 1, end - i - 2);
    i = end;
    return true;
  }
  /// Skips one value; false on malformed text.
  bool skip() {
    ws();
    const char* p = s.data();
    const std::size_t n = s.size();
    if (i >= n) return false;
    const char c = p[i];
    if (c == '"') {
      const std::size_t end = past_string(i);
      if (end == std::string_view::npos) return false;
      i = end;
      return true;
    }
    if (c == '{' || c == '[') {
      std::size_t depth = 0;
      std::size_t j = i;
      while (j < n) {
        switch (classes.of[static_cast<unsigned char>(p[j])]) {
          case plain:
            ++j;
            break;
          case quote:
            j = past_string(j);
            if (j == std::string_view::npos) return false;
            break;
          case opening:
            ++depth;
            ++j;
            break;
          default:  // closing
            ++j;
            if (--depth == 0) {
              i = j;
              return true;
            }
        }
      }
      return false;
    }
    while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ']' &&
           !std::isspace(static_cast<unsigned char>(p[i])))
      ++i;
    return true;
  }
  /// At an array: the spans of its elements, leaving the scanner past it; nullopt when not at an
  /// array or the array is malformed.
  std::optional<std::vector<std::string_view>> elements() {
    if (!eat('[')) return std::nullopt;
    std::vector<std::string_view> out;
    if (eat(']')) return out;
    while (true) {
      ws();
      const std::size_t start = i;
      if (!skip()) return std::nullopt;
      out.push_back(s.substr(start, i - start));
      if (eat(',')) continue;
      if (eat(']')) return out;
      return std::nullopt;
    }
  }
};

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// The text of a JSON string's raw content with its escapes resolved (keys compare by value).
std::string unescape_string(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  auto hex4 = [&](std::size_t at) -> int64_t {
    if (at + 4 > raw.size()) return -1;
    uint32_t v = 0;
    for (std::size_t k = at; k < at + 4; ++k) {
      char c = raw[k];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return -1;
    }
    return v;
  };
  for (std::size_t k = 0; k < raw.size(); ++k) {
    if (raw[k] != '\\' || k + 1 >= raw.size()) {
      out += raw[k];
      continue;
    }
    char e = raw[++k];
    switch (e) {
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        auto cp = hex4(k + 1);
        if (cp < 0) return out;
        k += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && k + 6 < raw.size() + 0 && raw[k + 1] == '\\' &&
            raw[k + 2] == 'u') {
          auto lo = hex4(k + 3);
          if (lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            k += 6;
          }
        }
        append_utf8(out, static_cast<uint32_t>(cp));
        break;
      }
      default:
        out += e;  // \" \\ \/
    }
  }
  return out;
}

std::string unescape_token(std::string_view t) {
  std::string out;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '~' && i + 1 < t.size()) {
      out += t[i + 1] == '1' ? '/' : '~';
      ++i;
    } else {
      out += t[i];
    }
  }
  return out;
}

}  // namespace

namespace {

/// Positions the scanner at the value the pointer names; false when there is none.
bool locate(scanner& sc, std::string_view pointer) {
  std::size_t pos = 0;
  while (pos < pointer.size()) {
    if (pointer[pos] != '/') return false;
    std::size_t end = pointer.find('/', pos + 1);
    if (end == std::string_view::npos) end = pointer.size();
    std::string token = unescape_token(pointer.substr(pos + 1, end - pos - 1));
    pos = end;
    sc.ws();
    if (sc.eat('{')) {
      // JSON parsers keep the LAST of repeated members (Boost.JSON does), so the scan must too:
      // walk the whole object and come back to the last member whose unescaped key matches.
      std::size_t value_at = std::string_view::npos;
      if (!sc.eat('}')) {
        while (true) {
          std::string_view key;
          if (!sc.string(key) || !sc.eat(':')) return false;
          sc.ws();
          if (unescape_string(key) == token) value_at = sc.i;
          if (!sc.skip()) return false;
          if (sc.eat(',')) continue;
          if (sc.eat('}')) break;
          return false;
        }
      }
      if (value_at == std::string_view::npos) return false;
      sc.i = value_at;
    } else if (sc.eat('[')) {
      std::size_t index = 0;
      for (char c : token) {
        if (c < '0' || c > '9') return false;
        index = index * 10 + static_cast<std::size_t>(c - '0');
      }
      for (std::size_t k = 0; k < index; ++k)
        if (!sc.skip() || !sc.eat(',')) return false;
    } else {
      return false;
    }
  }
  sc.ws();
  return true;
}

}  // namespace

std::vector<std::string_view> array_element_spans(std::string_view text, std::string_view pointer) {
  scanner sc{text};
  if (!locate(sc, pointer)) return {};
  return sc.elements().value_or(std::vector<std::string_view>{});
}

std::optional<std::vector<std::string_view>> array_elements(std::string_view array_text) {
  scanner sc{array_text};
  return sc.elements();
}

std::optional<std::string_view> raw_value_at(std::string_view text, std::string_view pointer) {
  scanner sc{text};
  if (!locate(sc, pointer)) return std::nullopt;
  std::size_t start = sc.i;
  if (!sc.skip()) return std::nullopt;
  return text.substr(start, sc.i - start);
}

std::vector<std::optional<std::string_view>> raw_values_at(std::string_view text,
                                                           const std::vector<std::string_view>& pointers) {
  std::vector<std::optional<std::string_view>> out(pointers.size());
  auto one_by_one = [&] {
    for (std::size_t k = 0; k < pointers.size(); ++k) out[k] = raw_value_at(text, pointers[k]);
    return out;
  };
  scanner sc{text};
  if (!sc.eat('{')) return one_by_one();
  // One pass over the top-level members (the last of repeated keys wins, as in the parser); each
  // pointer then descends only into the member its first token names.
  std::vector<std::pair<std::string, std::string_view>> members;
  if (!sc.eat('}')) {
    while (true) {
      std::string_view key;
      if (!sc.string(key) || !sc.eat(':')) return one_by_one();
      sc.ws();
      const std::size_t start = sc.i;
      if (!sc.skip()) return one_by_one();
      members.emplace_back(key.find('\\') == std::string_view::npos ? std::string(key) : unescape_string(key),
                           text.substr(start, sc.i - start));
      if (sc.eat(',')) continue;
      if (sc.eat('}')) break;
      return one_by_one();
    }
  }
  for (std::size_t k = 0; k < pointers.size(); ++k) {
    const std::string_view pointer = pointers[k];
    if (pointer.empty()) {
      out[k] = raw_value_at(text, pointer);
      continue;
    }
    if (pointer.front() != '/') continue;
    std::size_t end = pointer.find('/', 1);
    if (end == std::string_view::npos) end = pointer.size();
    const std::string token = unescape_token(pointer.substr(1, end - 1));
    for (auto m = members.rbegin(); m != members.rend(); ++m) {
      if (m->first != token) continue;
      out[k] = end == pointer.size() ? std::optional<std::string_view>(m->second)
                                     : raw_value_at(m->second, pointer.substr(end));
      break;
    }
  }
  return out;
}

}  // namespace dspsync
