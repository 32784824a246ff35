#include "protocol/fault_plan.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "domain/backoff.hpp"

namespace dspsync {

namespace json = boost::json;

namespace {

constexpr const char* kind_names = "status|delay|reset|truncate|malformed_json|repeat_previous";
constexpr fault_kind all_kinds[] = {fault_kind::status,         fault_kind::delay,
                                    fault_kind::reset,          fault_kind::truncate,
                                    fault_kind::malformed_json, fault_kind::repeat_previous};
constexpr int64_t max_delay_ms = 600'000;

/// A uniform draw in [0, 1) for (seed, ordinal, fault index): each input goes through a
/// splitmix64 step, so neighbouring ordinals give unrelated draws.
double draw(uint64_t seed, uint64_t ordinal, std::size_t index) {
  uint64_t state = seed;
  state = splitmix64(state) ^ ordinal;
  state = splitmix64(state) ^ static_cast<uint64_t>(index);
  return static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53;
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

/// Converts the parsed document, naming the first field that does not fit (`faults[2].kind`).
class plan_reader {
 public:
  explicit plan_reader(std::string_view source) : source_(source) {}

  expected<fault_plan> read(const json::value& doc) {
    const json::object* root = doc.if_object();
    if (root == nullptr) return fail("(document)", "expected an object");
    if (!known_fields(*root, "", {"seed", "faults", "quotas", "comment"})) return *error_;
    fault_plan plan;
    if (const json::value* seed = root->if_contains("seed")) {
      auto n = integer(*seed, "seed", 0, INT64_MAX);
      if (!n) return *error_;
      plan.seed = static_cast<uint64_t>(*n);
    }
    const json::value* faults = root->if_contains("faults");
    if (faults == nullptr || !faults->is_array()) return fail("faults", "expected an array");
    const json::array& list = faults->get_array();
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto f = read_fault(list[i], "faults[" + std::to_string(i) + "]");
      if (!f) return *error_;
      plan.faults.push_back(std::move(*f));
    }
    if (const json::value* quotas = root->if_contains("quotas")) {
      if (!quotas->is_array()) return fail("quotas", "expected an array");
      const json::array& qs = quotas->get_array();
      for (std::size_t i = 0; i < qs.size(); ++i) {
        auto q = read_quota(qs[i], "quotas[" + std::to_string(i) + "]");
        if (!q) return *error_;
        plan.quotas.push_back(std::move(*q));
      }
    }
    return plan;
  }

 private:
  failure fail(const std::string& path, std::string_view what) {
    error_ = failure{ec::bad_value, std::string(source_) + ": " + path + ": " + std::string(what)};
    return *error_;
  }

  bool known_fields(const json::object& o, const std::string& path,
                    std::initializer_list<std::string_view> names) {
    for (const auto& kv : o) {
      if (std::find(names.begin(), names.end(), std::string_view(kv.key())) == names.end()) {
        fail(path.empty() ? std::string(kv.key()) : path + "." + std::string(kv.key()), "unknown field");
        return false;
      }
    }
    return true;
  }

  std::optional<int64_t> integer(const json::value& v, const std::string& path, int64_t lo, int64_t hi) {
    std::optional<int64_t> n;
    if (v.is_int64()) n = v.get_int64();
    if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX))
      n = static_cast<int64_t>(v.get_uint64());
    if (!n || *n < lo || *n > hi) {
      fail(path, "expected an integer in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " +
                     json::serialize(v));
      return std::nullopt;
    }
    return n;
  }

  std::optional<double> positive(const json::value& v, const std::string& path, double lo) {
    if (!v.is_number() || !(v.to_number<double>() >= lo) || v.to_number<double>() > 1e9) {
      fail(path,
           "expected a number in " + json::serialize(json::value(lo)) + "..1e9, got " + json::serialize(v));
      return std::nullopt;
    }
    return v.to_number<double>();
  }

  std::optional<quota> read_quota(const json::value& v, const std::string& path) {
    const json::object* o = v.if_object();
    if (o == nullptr) {
      fail(path, "expected an object");
      return std::nullopt;
    }
    if (!known_fields(*o, path, {"path_prefix", "requests_per_second", "burst", "comment"}))
      return std::nullopt;
    quota q;
    if (const json::value* p = o->if_contains("path_prefix")) {
      if (!p->is_string() || p->get_string().empty() || p->get_string()[0] != '/') {
        fail(path + ".path_prefix", "expected a path starting with \"/\"");
        return std::nullopt;
      }
      q.path_prefix = std::string(p->get_string());
    }
    const json::value* rate = o->if_contains("requests_per_second");
    if (rate == nullptr) {
      fail(path + ".requests_per_second", "expected a number above 0, got nothing");
      return std::nullopt;
    }
    auto r = positive(*rate, path + ".requests_per_second", 1e-6);
    if (!r) return std::nullopt;
    q.requests_per_second = *r;
    if (const json::value* burst = o->if_contains("burst")) {
      auto b = positive(*burst, path + ".burst", 1.0);
      if (!b) return std::nullopt;
      q.burst = *b;
    }
    return q;
  }

  std::optional<fault> read_fault(const json::value& v, const std::string& path) {
    const json::object* o = v.if_object();
    if (o == nullptr) {
      fail(path, "expected an object");
      return std::nullopt;
    }
    if (!known_fields(*o, path,
                      {"at", "probability", "kind", "path_prefix", "status", "headers", "retry_after_date_s",
                       "delay_ms", "keep_bytes", "comment"}))
      return std::nullopt;
    fault f;
    if (!read_kind(*o, path, f) || !read_trigger(*o, path, f)) return std::nullopt;
    if (const json::value* p = o->if_contains("path_prefix")) {
      if (!p->is_string() || p->get_string().empty() || p->get_string()[0] != '/') {
        fail(path + ".path_prefix", "expected a path starting with \"/\"");
        return std::nullopt;
      }
      f.path_prefix = std::string(p->get_string());
    }
    // Fields of another kind are rejected: a misplaced field is a plan that does not do what its
    // author thinks.
    auto only_for = [&](const char* field, fault_kind owner) {
      if (o->contains(field) && f.kind != owner) {
        fail(path + "." + field, std::string("only allowed for kind ") + to_string(owner));
        return false;
      }
      return true;
    };
    if (!only_for("status", fault_kind::status) || !only_for("headers", fault_kind::status) ||
        !only_for("retry_after_date_s", fault_kind::status) || !only_for("delay_ms", fault_kind::delay) ||
        !only_for("keep_bytes", fault_kind::truncate))
      return std::nullopt;
    switch (f.kind) {
      case fault_kind::status:
        if (!read_status(*o, path, f)) return std::nullopt;
        break;
      case fault_kind::delay: {
        const json::value* d = o->if_contains("delay_ms");
        if (d == nullptr) {
          fail(path + ".delay_ms", "required for kind delay");
          return std::nullopt;
        }
        auto ms = integer(*d, path + ".delay_ms", 0, max_delay_ms);
        if (!ms) return std::nullopt;
        f.delay = std::chrono::milliseconds(*ms);
        break;
      }
      case fault_kind::truncate:
        if (const json::value* k = o->if_contains("keep_bytes")) {
          auto n = integer(*k, path + ".keep_bytes", 0, INT64_MAX);
          if (!n) return std::nullopt;
          f.keep_bytes = static_cast<std::size_t>(*n);
        }
        break;
      default:
        break;
    }
    return f;
  }

  bool read_kind(const json::object& o, const std::string& path, fault& f) {
    const json::value* k = o.if_contains("kind");
    if (k == nullptr) {
      fail(path + ".kind", std::string("required: one of ") + kind_names);
      return false;
    }
    if (k->is_string()) {
      for (fault_kind kind : all_kinds) {
        if (k->get_string() == to_string(kind)) {
          f.kind = kind;
          return true;
        }
      }
    }
    fail(path + ".kind", std::string("expected one of ") + kind_names + ", got " + json::serialize(*k));
    return false;
  }

  bool read_trigger(const json::object& o, const std::string& path, fault& f) {
    const json::value* at = o.if_contains("at");
    const json::value* p = o.if_contains("probability");
    if ((at == nullptr) == (p == nullptr)) {
      fail(path, "expected exactly one of \"at\" (request ordinals) or \"probability\"");
      return false;
    }
    if (p != nullptr) {
      const bool number = p->is_double() || p->is_int64() || p->is_uint64();
      const double value = number ? p->to_number<double>() : -1.0;
      if (!number || !(value >= 0.0 && value <= 1.0)) {
        fail(path + ".probability", "expected a number in [0, 1], got " + json::serialize(*p));
        return false;
      }
      f.probability = value;
      return true;
    }
    if (!at->is_array() || at->get_array().empty()) {
      fail(path + ".at", "expected a non-empty array of request ordinals (1-based)");
      return false;
    }
    const json::array& list = at->get_array();
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto n = integer(list[i], path + ".at[" + std::to_string(i) + "]", 1, INT64_MAX);
      if (!n) return false;
      f.at.push_back(static_cast<uint64_t>(*n));
    }
    return true;
  }

  bool read_status(const json::object& o, const std::string& path, fault& f) {
    const json::value* s = o.if_contains("status");
    if (s == nullptr) {
      fail(path + ".status", "required for kind status");
      return false;
    }
    auto code = integer(*s, path + ".status", 400, 599);
    if (!code) return false;
    f.status = static_cast<int>(*code);
    if (const json::value* h = o.if_contains("headers")) {
      if (!h->is_object()) {
        fail(path + ".headers", "expected an object of strings");
        return false;
      }
      for (const auto& kv : h->get_object()) {
        const std::string name(kv.key());
        const std::string field = path + ".headers." + name;
        if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
          fail(field, "not a valid header name");
          return false;
        }
        if (!kv.value().is_string() || kv.value().get_string().find_first_of("\r\n") != json::string::npos) {
          fail(field, "expected a string on one line");
          return false;
        }
        f.headers.emplace_back(name, std::string(kv.value().get_string()));
      }
    }
    if (const json::value* d = o.if_contains("retry_after_date_s")) {
      auto n = integer(*d, path + ".retry_after_date_s", 0, 10LL * 365 * 86400);
      if (!n) return false;
      f.retry_after_date_s = *n;
    }
    return true;
  }

  std::string_view source_;
  std::optional<failure> error_;
};

}  // namespace

const char* to_string(fault_kind kind) {
  switch (kind) {
    case fault_kind::status:
      return "status";
    case fault_kind::delay:
      return "delay";
    case fault_kind::reset:
      return "reset";
    case fault_kind::truncate:
      return "truncate";
    case fault_kind::malformed_json:
      return "malformed_json";
    case fault_kind::repeat_previous:
      return "repeat_previous";
  }
  return "unknown";
}

bool under_path_prefix(std::string_view target, std::string_view prefix) {
  if (target.substr(0, prefix.size()) != prefix) return false;
  if (target.size() == prefix.size() || prefix.back() == '/') return true;
  const char next = target[prefix.size()];
  return next == '/' || next == '?' || next == '#';
}

std::optional<fault> fault_plan::decide(uint64_t ordinal, std::string_view target) {
  seen_.resize(faults.size(), 0);
  std::optional<fault> chosen;
  for (std::size_t i = 0; i < faults.size(); ++i) {
    const fault& f = faults[i];
    uint64_t n = ordinal;
    if (!f.path_prefix.empty()) {
      if (!under_path_prefix(target, f.path_prefix)) continue;
      // Counted even when an earlier fault wins, so ordinals stay those of requests received.
      n = ++seen_[i];
    }
    if (chosen) continue;
    const bool fires = f.probability ? draw(seed, n, i) < *f.probability
                                     : std::find(f.at.begin(), f.at.end(), n) != f.at.end();
    if (fires) chosen = f;
  }
  return chosen;
}

std::optional<fault> fault_plan::enforce_quotas(std::string_view target, int64_t now_ns) {
  if (buckets_.size() != quotas.size()) {
    buckets_.clear();
    for (const auto& q : quotas)
      buckets_.push_back(token_bucket::full(q.requests_per_second, q.burst, now_ns));
  }
  auto covers = [&](const quota& q) {
    return q.path_prefix.empty() || under_path_prefix(target, q.path_prefix);
  };
  int64_t wait = 0;
  for (std::size_t i = 0; i < quotas.size(); ++i)
    if (covers(quotas[i])) wait = std::max(wait, buckets_[i].wait_ns(now_ns));
  if (wait > 0) {
    fault f;
    f.kind = fault_kind::status;
    f.status = 429;
    // Whole seconds, rounded up; the bucket's own rounding (a nanosecond) is not a second more.
    const int64_t seconds = std::max<int64_t>(1, (wait + 999'999'000) / 1'000'000'000);
    f.headers.emplace_back("Retry-After", std::to_string(seconds));
    return f;
  }
  for (std::size_t i = 0; i < quotas.size(); ++i)
    if (covers(quotas[i])) buckets_[i].try_take(now_ns);
  return std::nullopt;
}

expected<fault_plan> parse_fault_plan(std::string_view json_text, std::string_view source) {
  boost::system::error_code err;
  json::value doc = json::parse(json::string_view(json_text.data(), json_text.size()), err);
  if (err) return failure{ec::bad_json, std::string(source) + ": not valid JSON: " + err.message()};
  return plan_reader(source).read(doc);
}

expected<fault_plan> load_fault_plan(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return failure{ec::io_failure, path + ": cannot open: " + std::strerror(errno)};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return failure{ec::io_failure, path + ": read error: " + std::strerror(errno)};
  return parse_fault_plan(text.str(), path);
}

}  // namespace dspsync
