#include "domain/fx.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "domain/identifiers.hpp"

namespace dspsync {

namespace {

/// q = n / d rounded half to even, for d > 0.
__int128 divide_half_even(__int128 n, __int128 d) {
  __int128 q = n / d, r = n % d;  // truncates toward zero
  if (r < 0) r = -r;
  const __int128 twice = 2 * r;
  if (twice > d || (twice == d && (q % 2 != 0))) q += n < 0 ? -1 : 1;
  return q;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_commas(std::string_view line) {
  std::vector<std::string_view> out;
  for (;;) {
    auto comma = line.find(',');
    out.push_back(trim(line.substr(0, comma)));
    if (comma == std::string_view::npos) return out;
    line.remove_prefix(comma + 1);
  }
}

}  // namespace

status fx_table::add(std::string_view from, std::string_view to, int64_t rate) {
  auto key = std::make_pair(std::string(from), std::string(to));
  auto [it, inserted] = rates_.emplace(key, rate);
  if (!inserted && it->second != rate)
    return failure{ec::bad_value, std::string(from) + "->" + std::string(to) + ": two different rates (" +
                                      money::from_units(it->second).to_string() + " and " +
                                      money::from_units(rate).to_string() + ")"};
  return ok;
}

expected<int64_t> fx_table::rate(std::string_view from, std::string_view to) const {
  if (from == to) return money::one;
  auto it = rates_.find(std::make_pair(std::string(from), std::string(to)));
  if (it == rates_.end())
    return failure{ec::bad_value, (source_.empty() ? std::string("fx table") : source_) + ": no rate from " +
                                      std::string(from) + " to " + std::string(to) + " (add a line \"" +
                                      std::string(from) + "," + std::string(to) + ",RATE\")"};
  return it->second;
}

expected<fx_table> fx_table::parse_csv(std::string_view text, std::string_view source) {
  fx_table out;
  out.source_ = std::string(source);
  std::vector<std::string> errors;
  int col_from = -1, col_to = -1, col_rate = -1;
  bool header = false;
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (line_no == 1 && line.size() >= 3 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    if (line.empty() || line.front() == '#') continue;
    auto cells = split_commas(line);
    const std::string at = std::string(source) + ":" + std::to_string(line_no) + ": ";
    if (!header) {
      for (std::size_t i = 0; i < cells.size(); ++i) {
        if (cells[i] == "from") col_from = static_cast<int>(i);
        if (cells[i] == "to") col_to = static_cast<int>(i);
        if (cells[i] == "rate") col_rate = static_cast<int>(i);
      }
      if (col_from < 0 || col_to < 0 || col_rate < 0)
        return failure{ec::bad_value, at + "expected a header with the columns from,to,rate"};
      header = true;
      continue;
    }
    const auto need = static_cast<std::size_t>(std::max({col_from, col_to, col_rate}));
    if (cells.size() <= need) {
      errors.push_back(at + "expected " + std::to_string(need + 1) + " cells, got " +
                       std::to_string(cells.size()));
      continue;
    }
    auto from = normalize_currency(cells[static_cast<std::size_t>(col_from)], "from");
    auto to = normalize_currency(cells[static_cast<std::size_t>(col_to)], "to");
    auto rate = money::parse(cells[static_cast<std::size_t>(col_rate)], "rate");
    if (!from) errors.push_back(at + from.error().message);
    if (!to) errors.push_back(at + to.error().message);
    if (!rate) errors.push_back(at + rate.error().message);
    if (!from || !to || !rate) continue;
    if (rate->units() <= 0) {
      errors.push_back(at + "rate: expected a number > 0, got \"" + rate->to_string() + "\"");
      continue;
    }
    if (*from == *to && rate->units() != money::one) {
      errors.push_back(at + "a currency converts to itself at 1, got " + rate->to_string());
      continue;
    }
    if (auto added = out.add(*from, *to, rate->units()); !added) errors.push_back(at + added.error().message);
  }
  if (!header) return failure{ec::bad_value, std::string(source) + ": empty; expected a header from,to,rate"};
  if (!errors.empty()) {
    std::string joined;
    for (const auto& e : errors) joined += (joined.empty() ? "" : "\n") + e;
    return failure{ec::bad_value, joined};
  }
  return out;
}

expected<money> convert(money amount, int64_t rate) {
  const __int128 q = divide_half_even(static_cast<__int128>(amount.units()) * rate, money::one);
  if (q > std::numeric_limits<int64_t>::max() || q < std::numeric_limits<int64_t>::min())
    return failure{ec::amount_overflow, "fx: " + amount.to_string() + " * " +
                                            money::from_units(rate).to_string() + " is out of range"};
  return money::from_units(static_cast<int64_t>(q));
}

money round_half_even(money amount, int decimals) {
  if (decimals >= money::scale) return amount;
  if (decimals < 0) decimals = 0;
  int64_t step = 1;
  for (int i = decimals; i < money::scale; ++i) step *= 10;
  const __int128 q = divide_half_even(amount.units(), step);
  return money::from_units(static_cast<int64_t>(q * step));
}

}  // namespace dspsync
