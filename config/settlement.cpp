#include "config/settlement.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <boost/json.hpp>

#include "domain/identifiers.hpp"

namespace dspsync {

namespace json = boost::json;

namespace {

using issue_list = std::vector<std::pair<std::string, std::string>>;

std::string member(const std::string& parent, std::string_view name) {
  return parent + "." + std::string(name);
}

std::string shown(const json::value& v) {
  if (v.is_string()) return json::serialize(v);
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  return json::serialize(v);
}

/// Unknown members are errors, as everywhere in the config.
void check_members(const json::object& o, const std::string& path,
                   std::initializer_list<std::string_view> known, issue_list& issues) {
  for (const auto& m : o) {
    const std::string_view name(m.key().data(), m.key().size());
    if (std::find(known.begin(), known.end(), name) == known.end())
      issues.emplace_back(member(path, name), "unknown field");
  }
}

bool read_fraction(const json::object& o, const std::string& path, std::string_view name, bool zero_ok,
                   double& out, issue_list& issues) {
  const auto* v = o.if_contains(name);
  if (v == nullptr) return false;
  if (v->is_number()) {
    const double d = v->to_number<double>();
    if (std::isfinite(d) && (zero_ok ? d >= 0 && d < 1 : d > 0 && d <= 1)) {
      out = d;
      return true;
    }
  }
  issues.emplace_back(member(path, name),
                      std::string("expected a number ") +
                          (zero_ok ? "from 0 up to (not including) 1" : "above 0 and at most 1") + ", got " +
                          shown(*v));
  return false;
}

/// A percentage as an exact share: an integer JSON number or a decimal string.
bool read_percent(const json::value& v, const std::string& path, int64_t& out, issue_list& issues) {
  std::string text;
  if (v.is_int64() || v.is_uint64()) {
    text = json::serialize(v);
  } else if (v.is_string()) {
    text.assign(v.get_string().data(), v.get_string().size());
  } else {
    issues.emplace_back(path, "expected a percentage as an integer or a decimal string (\"12.5\"), got " +
                                  shown(v) +
                                  (v.is_double() ? " (a fractional JSON number would not stay exact)" : ""));
    return false;
  }
  auto m = money::parse(text, path);
  if (!m || m->units() < 0 || m->units() > share_whole) {
    issues.emplace_back(path, "expected a percentage from 0 to 100, got " + shown(v));
    return false;
  }
  out = m->units();
  return true;
}

bool read_currency(const json::value& v, const std::string& path, std::string& out, issue_list& issues) {
  if (!v.is_string()) {
    issues.emplace_back(path, "expected an ISO 4217 currency code, got " + shown(v));
    return false;
  }
  auto c = normalize_currency(std::string_view(v.get_string().data(), v.get_string().size()), path);
  if (!c) {
    issues.emplace_back(path, "expected an ISO 4217 currency code, got " + shown(v));
    return false;
  }
  out = *c;
  return true;
}

}  // namespace

std::string settlement_config::fx_path(const std::string& period) const {
  std::string out = fx_table;
  for (auto at = out.find("{period}"); at != std::string::npos; at = out.find("{period}", at + period.size()))
    out.replace(at, 8, period);
  return out;
}

reconcile_options settlement_config::reconcile() const {
  reconcile_options o;
  o.fuzzy.threshold = fuzzy_threshold;
  o.fuzzy.margin = fuzzy_margin;
  o.pools = pools;
  return o;
}

dspsync::payee_currencies settlement_config::payees() const {
  dspsync::payee_currencies p;
  p.by_holder = payee_currencies;
  p.fallback = default_currency;
  return p;
}

void read_settlement_config(const json::value& v, const std::string& path, settlement_config& out,
                            issue_list& issues) {
  const auto* o = v.if_object();
  if (o == nullptr) {
    issues.emplace_back(path, "expected an object, got " + shown(v));
    return;
  }
  check_members(*o, path,
                {"fuzzy_threshold", "fuzzy_margin", "pools", "fx_table", "payee_currencies",
                 "default_currency", "outliers", "reconcile_interval_s"},
                issues);
  if (const auto* r = o->if_contains("reconcile_interval_s")) {
    if (r->is_int64() && r->get_int64() >= 0 && r->get_int64() <= 86400)
      out.reconcile_interval_s = static_cast<int>(r->get_int64());
    else
      issues.emplace_back(member(path, "reconcile_interval_s"),
                          "expected whole seconds from 0 (off) to 86400, got " + shown(*r));
  }
  read_fraction(*o, path, "fuzzy_threshold", false, out.fuzzy_threshold, issues);
  read_fraction(*o, path, "fuzzy_margin", true, out.fuzzy_margin, issues);
  if (const auto* p = o->if_contains("pools")) {
    const std::string at = member(path, "pools");
    if (const auto* po = p->if_object()) {
      check_members(*po, at, {"master", "mechanical", "performance"}, issues);
      pool_split pools{0, 0, 0};
      bool good = true;
      for (auto [name, field] :
           {std::pair{"master", &pools.master}, std::pair{"mechanical", &pools.mechanical},
            std::pair{"performance", &pools.performance}}) {
        if (const auto* x = po->if_contains(name))
          good = read_percent(*x, member(at, name), *field, issues) && good;
      }
      const int64_t sum = pools.master + pools.mechanical + pools.performance;
      if (good && sum != share_whole)
        issues.emplace_back(
            at, "expected shares summing to exactly 100, got " + money::from_units(sum).to_string());
      else if (good)
        out.pools = pools;
    } else {
      issues.emplace_back(at, "expected an object, got " + shown(*p));
    }
  }
  if (const auto* f = o->if_contains("fx_table")) {
    if (f->is_string() && !f->get_string().empty())
      out.fx_table.assign(f->get_string().data(), f->get_string().size());
    else
      issues.emplace_back(member(path, "fx_table"), "expected a file path (with {period}), got " + shown(*f));
  }
  if (const auto* p = o->if_contains("payee_currencies")) {
    const std::string at = member(path, "payee_currencies");
    if (const auto* po = p->if_object()) {
      for (const auto& m : *po) {
        const std::string holder(m.key().data(), m.key().size());
        std::string cur;
        if (holder.empty())
          issues.emplace_back(at, "expected a rights holder's name, got an empty one");
        else if (read_currency(m.value(), at + "[\"" + holder + "\"]", cur, issues))
          out.payee_currencies[holder] = cur;
      }
    } else {
      issues.emplace_back(at, "expected an object of holder -> currency, got " + shown(*p));
    }
  }
  if (const auto* d = o->if_contains("default_currency")) {
    if (d->is_string() && d->get_string().empty())
      out.default_currency.clear();
    else
      read_currency(*d, member(path, "default_currency"), out.default_currency, issues);
  }
  if (const auto* x = o->if_contains("outliers")) {
    const std::string at = member(path, "outliers");
    if (const auto* xo = x->if_object()) {
      check_members(*xo, at, {"min_group", "min_units", "threshold"}, issues);
      for (auto [name, min] : {std::pair{"min_group", 3}, std::pair{"min_units", 1}}) {
        if (const auto* n = xo->if_contains(name)) {
          if (n->is_int64() && n->get_int64() >= min &&
              n->get_int64() <= std::numeric_limits<int32_t>::max()) {
            if (std::string_view(name) == "min_group")
              out.outliers.min_group = static_cast<std::size_t>(n->get_int64());
            else
              out.outliers.min_units = n->get_int64();
          } else {
            issues.emplace_back(member(at, name),
                                "expected an integer >= " + std::to_string(min) + ", got " + shown(*n));
          }
        }
      }
      if (const auto* t = xo->if_contains("threshold")) {
        if (t->is_number() && std::isfinite(t->to_number<double>()) && t->to_number<double>() > 0)
          out.outliers.threshold = t->to_number<double>();
        else
          issues.emplace_back(member(at, "threshold"), "expected a number > 0, got " + shown(*t));
      }
    } else {
      issues.emplace_back(at, "expected an object, got " + shown(*x));
    }
  }
}

}  // namespace dspsync
