#include "domain/settlement.hpp"

#include <cstdio>

#include "domain/splits.hpp"

namespace dspsync {

int64_t pool_split::of(right_type right) const {
  switch (right) {
    case right_type::master:
      return master;
    case right_type::mechanical:
      return mechanical;
    case right_type::performance:
      return performance;
  }
  return 0;
}

const char* to_string(entry_kind kind) { return kind == entry_kind::adjustment ? "adjustment" : "regular"; }

std::string payee_currencies::of(const std::string& holder, const std::string& record_currency) const {
  auto it = by_holder.find(holder);
  if (it != by_holder.end()) return it->second;
  return fallback.empty() ? record_currency : fallback;
}

expected<std::vector<settled_line>> split_revenue(money gross, const std::string& currency,
                                                  const std::string& territory,
                                                  const recording_entry& recording, const work_entry* work,
                                                  const pool_split& pools, const payee_currencies& payees,
                                                  const fx_table& fx) {
  static constexpr right_type rights[] = {right_type::master, right_type::mechanical,
                                          right_type::performance};
  auto by_pool =
      allocate_largest_remainder(gross.units(), {pools.master, pools.mechanical, pools.performance});
  if (!by_pool) return by_pool.error();
  std::vector<settled_line> out;
  for (std::size_t p = 0; p < 3; ++p) {
    const right_type right = rights[p];
    if (pools.of(right) == 0) continue;
    const std::vector<rights_share>* all = &recording.master;
    std::string owner = recording.isrc;
    if (right != right_type::master) {
      if (work == nullptr)
        return failure{ec::bad_value, "recording " + recording.isrc + " has no work for its " +
                                          to_string(right) + " shares"};
      all = &work->shares;
      owner = work->iswc;
    }
    const auto lines = effective_shares(*all, right, territory);
    const int64_t sum = sum_shares(lines);
    if (sum != share_whole)
      return failure{ec::bad_value, std::string(to_string(right)) + " shares of " + owner + " sum to " +
                                        format_share(sum) + " in " + territory + ", not 100%"};
    std::vector<int64_t> weights;
    for (const auto* s : lines) weights.push_back(s->share);
    auto amounts = allocate_largest_remainder((*by_pool)[p], weights);
    if (!amounts) return amounts.error();
    for (std::size_t i = 0; i < lines.size(); ++i) {
      settled_line l;
      l.holder = lines[i]->holder;
      l.role = lines[i]->role;
      l.right = right;
      l.pool_share = pools.of(right);
      l.holder_share = lines[i]->share;
      l.net = money::from_units((*amounts)[i]);
      l.payee_currency = payees.of(l.holder, currency);
      auto rate = fx.rate(currency, l.payee_currency);
      if (!rate) return rate.error();
      l.fx_rate = *rate;
      auto converted = convert(l.net, l.fx_rate);
      if (!converted) return converted.error();
      l.payee_net = *converted;
      out.push_back(std::move(l));
    }
  }
  return out;
}

std::string combined_share(const settled_line& line) {
  // pool% * holder% / 100, both in 10^-8 percent: the product is percent in 10^-18.
  unsigned __int128 v =
      static_cast<unsigned __int128>(line.pool_share) * static_cast<uint64_t>(line.holder_share);
  const unsigned __int128 unit = static_cast<unsigned __int128>(1'000'000'000'000'000'000ULL);
  auto whole = static_cast<uint64_t>(v / unit);
  auto frac = static_cast<uint64_t>(v % unit);
  std::string out = std::to_string(whole);
  if (frac != 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%018llu", static_cast<unsigned long long>(frac));
    std::string digits(buf);
    digits.erase(digits.find_last_not_of('0') + 1);
    out += "." + digits;
  }
  return out + "%";
}

bool is_month(std::string_view p) {
  if (p.size() != 7 || p[4] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6})
    if (p[i] < '0' || p[i] > '9') return false;
  const int m = (p[5] - '0') * 10 + (p[6] - '0');
  return m >= 1 && m <= 12;
}

std::optional<std::string> next_month(std::string_view p) {
  if (!is_month(p)) return std::nullopt;
  int y = std::stoi(std::string(p.substr(0, 4)));
  int m = (p[5] - '0') * 10 + (p[6] - '0') + 1;
  if (m == 13) {
    m = 1;
    ++y;
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d", y, m);
  return std::string(buf);
}

}  // namespace dspsync
