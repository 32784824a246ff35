#include "domain/catalog.hpp"

#include <algorithm>
#include <cctype>

#include "domain/identifiers.hpp"
#include "domain/timefmt.hpp"

namespace dspsync {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

std::string share_line(const rights_share& s) {
  std::string out = s.holder;
  if (!s.role.empty()) out += " (" + s.role + ")";
  out += ' ';
  out += to_string(s.right);
  if (!s.territory.empty()) out += "@" + s.territory;
  out += "=" + format_share(s.share);
  return out;
}

/// Checks and normalises shares; `allowed` says which rights the entry may hold.
void check_shares(std::vector<rights_share>& shares, const std::string& where, bool master_only,
                  std::vector<std::string>& errors) {
  for (std::size_t i = 0; i < shares.size(); ++i) {
    auto& s = shares[i];
    const std::string at = where + ": share " + std::to_string(i + 1);
    auto first = s.holder.find_first_not_of(" \t");
    auto last = s.holder.find_last_not_of(" \t");
    s.holder = first == std::string::npos ? "" : s.holder.substr(first, last - first + 1);
    if (s.holder.empty()) errors.push_back(at + ": holder: required field is missing or empty");
    if (master_only != (s.right == right_type::master))
      errors.push_back(at + ": right: expected " +
                       std::string(master_only ? "master" : "mechanical or performance") + ", got " +
                       quoted(to_string(s.right)));
    if (s.share <= 0 || s.share > share_whole)
      errors.push_back(at + ": share: expected more than 0% and at most 100%, got " + format_share(s.share));
    if (!s.territory.empty()) {
      if (auto t = normalize_territory(s.territory))
        s.territory = *t;
      else
        errors.push_back(at + ": " + t.error().message);
    }
  }
}

}  // namespace

const char* to_string(right_type right) {
  switch (right) {
    case right_type::master:
      return "master";
    case right_type::mechanical:
      return "mechanical";
    case right_type::performance:
      return "performance";
  }
  return "unknown";
}

std::optional<right_type> right_from_name(std::string_view name) {
  const auto n = lower(name);
  if (n == "master") return right_type::master;
  if (n == "mechanical") return right_type::mechanical;
  if (n == "performance") return right_type::performance;
  return std::nullopt;
}

expected<int64_t> parse_share(std::string_view text, std::string_view field) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (!text.empty() && text.back() == '%') text.remove_suffix(1);
  auto m = money::parse(text, field);
  if (!m) return m.error();
  if (m->units() <= 0 || m->units() > share_whole)
    return failure{
        ec::bad_value,
        std::string(field) + ": expected a percentage more than 0 and at most 100, got " + quoted(text)};
  return m->units();
}

std::string format_share(int64_t share) { return money::from_units(share).to_string() + "%"; }

bool rights_share::operator==(const rights_share& o) const {
  return holder == o.holder && role == o.role && right == o.right && territory == o.territory &&
         share == o.share;
}

bool recording_entry::same_content(const recording_entry& o) const {
  return isrc == o.isrc && title == o.title && artists == o.artists && upc == o.upc &&
         release_date == o.release_date && iswc == o.iswc && master == o.master;
}

bool work_entry::same_content(const work_entry& o) const {
  return iswc == o.iswc && title == o.title && shares == o.shares;
}

std::vector<const rights_share*> effective_shares(const std::vector<rights_share>& all, right_type right,
                                                  std::string_view territory) {
  std::vector<const rights_share*> specific, fallback;
  for (const auto& s : all) {
    if (s.right != right) continue;
    if (s.territory.empty())
      fallback.push_back(&s);
    else if (s.territory == territory)
      specific.push_back(&s);
  }
  return specific.empty() ? fallback : specific;
}

int64_t sum_shares(const std::vector<const rights_share*>& lines) {
  int64_t sum = 0;
  for (const auto* s : lines) sum += s->share;  // each <= 10^10: no overflow below 9e8 lines
  return sum;
}

std::string describe_shares(const std::vector<rights_share>& shares) {
  std::vector<std::string> lines;
  for (const auto& s : shares) lines.push_back(share_line(s));
  std::sort(lines.begin(), lines.end());
  return join(lines, "|");
}

std::vector<std::string> describe_changes(const recording_entry& b, const recording_entry& a) {
  std::vector<std::string> out;
  auto field = [&](const char* name, const std::string& x, const std::string& y) {
    if (x != y) out.push_back(std::string(name) + ": " + quoted(x) + " -> " + quoted(y));
  };
  field("title", b.title, a.title);
  field("artists", join(b.artists, "|"), join(a.artists, "|"));
  field("upc", b.upc, a.upc);
  field("release_date", b.release_date, a.release_date);
  field("iswc", b.iswc, a.iswc);
  field("master_shares", describe_shares(b.master), describe_shares(a.master));
  return out;
}

std::vector<std::string> describe_changes(const work_entry& b, const work_entry& a) {
  std::vector<std::string> out;
  if (b.title != a.title) out.push_back("title: " + quoted(b.title) + " -> " + quoted(a.title));
  auto x = describe_shares(b.shares), y = describe_shares(a.shares);
  if (x != y) out.push_back("shares: " + quoted(x) + " -> " + quoted(y));
  return out;
}

std::vector<std::string> normalize_entry(recording_entry& e, const std::string& where) {
  std::vector<std::string> errors;
  if (auto isrc = normalize_isrc(e.isrc))
    e.isrc = *isrc;
  else
    errors.push_back(where + ": " + isrc.error().message);
  if (e.title.empty()) errors.push_back(where + ": title: required field is missing or empty");
  if (!e.upc.empty()) {
    if (auto upc = normalize_gtin(e.upc))
      e.upc = *upc;
    else
      errors.push_back(where + ": " + upc.error().message);
  }
  if (!e.iswc.empty()) {
    if (auto iswc = normalize_iswc(e.iswc))
      e.iswc = *iswc;
    else
      errors.push_back(where + ": " + iswc.error().message);
  }
  if (!e.release_date.empty()) {
    const auto& d = e.release_date;
    bool ok = d.size() == 10 && d[4] == '-' && d[7] == '-';
    for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) ok = ok && std::isdigit(static_cast<unsigned char>(d[i]));
    ok = ok && valid_date(std::stoi(d.substr(0, 4)), static_cast<unsigned>(std::stoi(d.substr(5, 2))),
                          static_cast<unsigned>(std::stoi(d.substr(8, 2))));
    if (!ok) errors.push_back(where + ": release_date: expected a date YYYY-MM-DD, got " + quoted(d));
  }
  for (auto& a : e.artists) {
    auto first = a.find_first_not_of(" \t");
    auto last = a.find_last_not_of(" \t");
    a = first == std::string::npos ? "" : a.substr(first, last - first + 1);
  }
  e.artists.erase(std::remove(e.artists.begin(), e.artists.end(), std::string()), e.artists.end());
  check_shares(e.master, where, true, errors);
  return errors;
}

std::vector<std::string> normalize_entry(work_entry& e, const std::string& where) {
  std::vector<std::string> errors;
  if (auto iswc = normalize_iswc(e.iswc))
    e.iswc = *iswc;
  else
    errors.push_back(where + ": " + iswc.error().message);
  check_shares(e.shares, where, false, errors);
  return errors;
}

}  // namespace dspsync
