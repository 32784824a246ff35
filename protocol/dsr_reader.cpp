#include "protocol/dsr_reader.hpp"

#include <algorithm>
#include <cstring>
#include <set>

#include <boost/json.hpp>

#include "domain/identifiers.hpp"

namespace dspsync {

namespace {

/// Cell positions, 0-based into `dsr_line::cells` (the standard's cell N is index N-1). See the
/// table in dsr_reader.hpp.
namespace cell {
constexpr std::size_t head_message_id = 4, head_file_number = 6, head_number_of_files = 7,
                      head_usage_start = 8, head_usage_end = 9;
constexpr std::size_t sy_id = 1, sy_territory = 6, sy_currency = 10, sy_net_revenue = 11;
constexpr std::size_t block_id = 1;
constexpr std::size_t re_reference = 2, re_icpn = 6;
constexpr std::size_t as_reference = 2, as_isrc = 4, as_title = 5, as_artist = 7, as02_iswc = 11;
constexpr std::size_t mw_iswc = 3;
constexpr std::size_t su_summary = 2, su_transaction = 3, su_release = 4, su_resource = 5, su01_usages = 8,
                      su01_returns = 9, su02_streams = 7;
constexpr std::size_t foot_lines = 1, foot_lines_report = 2, foot_summaries = 3, foot_blocks = 4,
                      foot_blocks_report = 5;
}  // namespace cell

constexpr std::size_t max_line = 16u << 20;

std::string_view at(const dsr_line& l, std::size_t i) {
  return i < l.cells.size() ? l.cells[i] : std::string_view();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string quoted(std::string_view s) {
  return boost::json::serialize(boost::json::string_view(s.data(), s.size()));
}

/// A whole number (`12`, `-3`, `12.0`), as validation reads units.
std::optional<int64_t> whole_number(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  auto m = money::parse(text, "units");
  if (!m || m->units() % money::one != 0) return std::nullopt;
  return m->units() / money::one;
}

bool is_block_record(std::string_view type) {
  if (type.size() < 2) return false;
  const auto p = type.substr(0, 2);
  return p == "RE" || p == "AS" || p == "MW" || p == "SU" || p == "LI";
}

// --- Reporting period from HEAD ------------------------------------------------------------

struct ymd {
  int y = 0, m = 0, d = 0;
};

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int days_in(int y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : days[m - 1];
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`; a partial date is widened to its first (or last) day.
std::optional<ymd> parse_iso_date(std::string_view s, bool end) {
  s = trim(s);
  auto digits = [&](std::size_t from, std::size_t n) {
    if (from + n > s.size()) return -1;
    int v = 0;
    for (std::size_t i = from; i < from + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  ymd d;
  d.y = digits(0, 4);
  if (d.y < 0) return std::nullopt;
  if (s.size() == 4) {
    d.m = end ? 12 : 1;
    d.d = end ? 31 : 1;
    return d;
  }
  if (s.size() < 7 || s[4] != '-') return std::nullopt;
  d.m = digits(5, 2);
  if (d.m < 1 || d.m > 12) return std::nullopt;
  if (s.size() == 7) {
    d.d = end ? days_in(d.y, d.m) : 1;
    return d;
  }
  if (s.size() != 10 || s[7] != '-') return std::nullopt;
  d.d = digits(8, 2);
  if (d.d < 1 || d.d > days_in(d.y, d.m)) return std::nullopt;
  return d;
}

std::optional<std::string> usage_period(std::string_view start, std::string_view end) {
  auto s = parse_iso_date(start, false);
  auto e = parse_iso_date(end, true);
  if (!s || !e) return std::nullopt;
  char buf[64];
  const bool starts_month = s->d == 1, ends_month = e->d == days_in(e->y, e->m);
  if (s->y == e->y && starts_month && ends_month) {
    if (s->m == e->m) {
      std::snprintf(buf, sizeof buf, "%04d-%02d", s->y, s->m);
      return std::string(buf);
    }
    if (s->m == 1 && e->m == 12) {
      std::snprintf(buf, sizeof buf, "%04d", s->y);
      return std::string(buf);
    }
    if ((s->m - 1) % 3 == 0 && e->m == s->m + 2) {
      std::snprintf(buf, sizeof buf, "%04d-Q%d", s->y, (s->m - 1) / 3 + 1);
      return std::string(buf);
    }
  }
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d--%04d-%02d-%02d", s->y, s->m, s->d, e->y, e->m, e->d);
  auto p = normalize_period(buf);
  if (!p) return std::nullopt;
  return *p;
}

}  // namespace

// --- Escapes --------------------------------------------------------------------------------

std::string dsr_unescape(std::string_view cell) {
  std::string out;
  out.reserve(cell.size());
  for (std::size_t i = 0; i < cell.size(); ++i) {
    char c = cell[i];
    if (c == '\\' && i + 1 < cell.size()) {
      const char n = cell[++i];
      c = n == 't' ? '\t' : n == 'n' ? '\n' : n;
    }
    out += c;
  }
  return out;
}

std::vector<std::string> dsr_values(std::string_view cell) {
  std::vector<std::string> out;
  std::size_t from = 0;
  for (std::size_t i = 0; i <= cell.size(); ++i) {
    if (i < cell.size() && cell[i] == '\\') {
      ++i;  // an escaped character never separates
      continue;
    }
    if (i == cell.size() || cell[i] == '|') {
      auto v = dsr_unescape(cell.substr(from, i - from));
      if (!trim(v).empty()) out.push_back(std::move(v));
      from = i + 1;
    }
  }
  return out;
}

// --- Line reader ----------------------------------------------------------------------------

dsr_line_reader::dsr_line_reader(std::unique_ptr<byte_source> in, bool lenient_quotes)
    : in_(std::move(in)), lenient_(lenient_quotes), buf_(256 * 1024) {}

expected<bool> dsr_line_reader::next(dsr_line& out) {
  std::size_t line_end = 0, next = 0;
  for (;;) {
    const void* nl = std::memchr(buf_.data() + pos_, '\n', end_ - pos_);
    if (nl != nullptr) {
      line_end = static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.data());
      next = line_end + 1;
      break;
    }
    if (eof_) {
      if (pos_ == end_) return false;
      line_end = next = end_;
      break;
    }
    if (pos_ > 0) {
      std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
      base_ += pos_;
      end_ -= pos_;
      pos_ = 0;
    }
    if (end_ == buf_.size()) {
      if (buf_.size() >= max_line)
        return failure{ec::bad_value, in_->path() + ": line " + std::to_string(line_ + 1) +
                                          " is longer than " + std::to_string(max_line) + " bytes"};
      buf_.resize(buf_.size() * 2);
    }
    auto n = in_->read(buf_.data() + end_, buf_.size() - end_);
    if (!n) return n.error();
    if (*n == 0) eof_ = true;
    end_ += *n;
    if (!bom_checked_ && (end_ >= 3 || eof_)) {
      if (end_ >= 3 && std::memcmp(buf_.data(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;
      bom_checked_ = true;
    }
  }
  std::size_t raw_end = line_end;
  if (raw_end > pos_ && buf_[raw_end - 1] == '\r') --raw_end;
  out.raw = std::string_view(buf_.data() + pos_, raw_end - pos_);
  out.line = ++line_;
  out.offset = base_ + pos_;
  out.end_offset = base_ + next;
  pos_ = next;
  out.cells.clear();
  out.type = std::string_view();
  if (out.raw.empty() || out.raw.front() == '#') return true;
  // Cells may be unwrapped into `unquoted_`; reserving the line's size first keeps the views valid.
  unquoted_.clear();
  unquoted_.reserve(out.raw.size());
  std::size_t from = 0;
  for (std::size_t i = 0; i <= out.raw.size(); ++i) {
    if (i < out.raw.size() && out.raw[i] != '\t') continue;
    std::string_view c = out.raw.substr(from, i - from);
    if (lenient_ && c.size() >= 2 && c.front() == '"' && c.back() == '"') {
      const std::size_t begin = unquoted_.size();
      for (std::size_t k = 1; k + 1 < c.size(); ++k) {
        unquoted_ += c[k];
        if (c[k] == '"' && k + 2 < c.size() && c[k + 1] == '"') ++k;
      }
      c = std::string_view(unquoted_.data() + begin, unquoted_.size() - begin);
    }
    out.cells.push_back(c);
    from = i + 1;
  }
  out.type = trim(out.cells[0]);
  if (auto dot = out.type.find('.'); dot != std::string_view::npos) out.type = out.type.substr(0, dot);
  return true;
}

// --- Allocation -----------------------------------------------------------------------------

bool allocation_plan::plan(money total) {
  negative_ = total.units() < 0;
  // |INT64_MIN| does not fit; money never holds it from parsed text in practice, but stay exact.
  const __int128 amount = negative_ ? -static_cast<__int128>(total.units()) : total.units();
  weight_sum_ = 0;
  for (const auto& [w, g] : groups_) weight_sum_ += static_cast<__int128>(w) * g.rows;
  if (weight_sum_ == 0) {
    for (auto& [w, g] : groups_) g.base = g.extra = g.seen = 0;
    return amount == 0;
  }
  __int128 left = amount;
  struct rank {
    __int128 remainder;
    int64_t weight;
  };
  std::vector<rank> order;
  for (auto& [w, g] : groups_) {
    const __int128 product = amount * w;
    g.base = static_cast<int64_t>(product / weight_sum_);
    g.extra = 0;
    g.seen = 0;
    left -= static_cast<__int128>(g.base) * g.rows;
    order.push_back(rank{product % weight_sum_, w});
  }
  // Largest remainder first; equal remainders: the larger weight, then (within a weight) file order.
  std::sort(order.begin(), order.end(), [](const rank& a, const rank& b) {
    return a.remainder != b.remainder ? a.remainder > b.remainder : a.weight > b.weight;
  });
  for (const auto& r : order) {
    if (left <= 0) break;
    auto& g = groups_[r.weight];
    const auto give = static_cast<uint64_t>(std::min<__int128>(left, g.rows));
    g.extra = give;
    left -= give;
  }
  return left == 0;
}

money allocation_plan::take(int64_t w) {
  auto it = groups_.find(w);
  if (it == groups_.end()) return money{};
  auto& g = it->second;
  int64_t part = g.base + (g.seen < g.extra ? 1 : 0);
  ++g.seen;
  return money::from_units(negative_ ? -part : part);
}

uint64_t allocation_plan::rows() const {
  uint64_t n = 0;
  for (const auto& [w, g] : groups_) n += g.rows;
  return n;
}

uint64_t dsr_report::usage_rows() const {
  uint64_t n = 0;
  for (const auto& f : files) n += f.usage_rows;
  return n;
}

// --- First pass -----------------------------------------------------------------------------

dsr_reader::dsr_reader(const source_config& src, territory_options territories)
    : src_(src), mapper_(src, std::move(territories)) {}

namespace {

/// Units of a usage row; nullopt when absent, not whole, or negative (it then takes no revenue
/// and is quarantined).
std::optional<int64_t> usage_units(const dsr_line& l) {
  if (l.type == "SU02") {
    auto s = whole_number(at(l, cell::su02_streams));
    if (s && *s >= 0) return s;
    return std::nullopt;
  }
  auto u = whole_number(at(l, cell::su01_usages));
  auto r = whole_number(at(l, cell::su01_returns));
  if (!u) return std::nullopt;
  const int64_t units = *u - (r ? *r : 0);
  if (units < 0 || (r && *r < 0) || (!r && !trim(at(l, cell::su01_returns)).empty())) return std::nullopt;
  return units;
}

struct foot_counts {
  std::optional<int64_t> lines, lines_report, summaries, blocks, blocks_report;
};

}  // namespace

expected<std::vector<dsr_report>> dsr_reader::scan(const std::vector<file_identity>& files) {
  std::vector<dsr_report> reports;
  std::map<std::string, std::size_t> index;  // message id -> report
  // Weights by report and summary id, merged once every file is read (a summary may sit in another file).
  std::map<std::string, std::map<std::string, allocation_plan>> weights;
  std::map<std::string, std::vector<foot_counts>> feet;
  for (const auto& id : files) {
    auto in = byte_source::open(id.path);
    if (!in) return in.error();
    dsr_line_reader reader(std::move(*in), src_.lenient_quotes);
    dsr_file f;
    f.id = id;
    std::vector<std::string> problems;
    std::vector<dsr_summary> summaries;
    foot_counts foot;
    bool head = false, footer = false, after_foot = false, in_block = false;
    std::string block;
    dsr_line l;
    for (;;) {
      auto got = reader.next(l);
      if (!got) return got.error();
      if (!*got) break;
      ++f.lines;
      if (l.type.empty()) continue;
      if (footer && !after_foot) {
        problems.push_back(id.path + ": line " + std::to_string(l.line) + ": " + std::string(l.type) +
                           " record after FOOT");
        after_foot = true;
      }
      if (!head && l.type != "HEAD") {
        problems.push_back(id.path + ": line " + std::to_string(l.line) +
                           ": expected a HEAD record first, got " + quoted(l.type));
        head = true;  // report once
      }
      if (l.type == "HEAD") {
        if (!f.head_line.empty()) {
          problems.push_back(id.path + ": line " + std::to_string(l.line) + ": a second HEAD record");
          continue;
        }
        head = true;
        f.head_line = std::string(l.raw);
        f.message_id = dsr_unescape(trim(at(l, cell::head_message_id)));
        f.file_number = whole_number(at(l, cell::head_file_number)).value_or(0);
        f.number_of_files = whole_number(at(l, cell::head_number_of_files)).value_or(0);
        f.usage_start = dsr_unescape(trim(at(l, cell::head_usage_start)));
        f.usage_end = dsr_unescape(trim(at(l, cell::head_usage_end)));
        if (f.message_id.empty()) problems.push_back(id.path + ": HEAD has no MessageId (cell 5)");
        if (f.file_number < 1 || f.number_of_files < 1 || f.file_number > f.number_of_files)
          problems.push_back(id.path + ": HEAD FileNumber / NumberOfFiles (cells 7, 8) are " +
                             quoted(at(l, cell::head_file_number)) + " / " +
                             quoted(at(l, cell::head_number_of_files)) +
                             ", expected 1 <= FileNumber <= NumberOfFiles");
      } else if (l.type.substr(0, 2) == "SY") {
        ++f.summaries;
        dsr_summary s;
        s.id = dsr_unescape(trim(at(l, cell::sy_id)));
        s.type = std::string(l.type);
        if (l.type == "SY01" || l.type == "SY02") {
          s.territory = dsr_unescape(at(l, cell::sy_territory));
          s.currency = dsr_unescape(at(l, cell::sy_currency));
          s.net_revenue_text = dsr_unescape(trim(at(l, cell::sy_net_revenue)));
          if (auto m = money::parse(s.net_revenue_text, "NetRevenue"))
            s.net_revenue = *m;
          else
            s.unusable = "summary record " + quoted(s.id) + " (line " + std::to_string(l.line) + " of " +
                         id.path + "): " + m.error().message;
        } else {
          s.unusable = "summary record " + quoted(s.id) + " is a " + s.type +
                       ", which dspsync does not allocate from (SY01 and SY02 only)";
        }
        summaries.push_back(std::move(s));
      } else if (l.type == "FOOT") {
        footer = true;
        f.foot_line = std::string(l.raw);
        auto number = [&](std::size_t i) -> std::optional<int64_t> {
          return trim(at(l, i)).empty() ? std::nullopt : whole_number(at(l, i));
        };
        foot.lines = number(cell::foot_lines);
        foot.lines_report = number(cell::foot_lines_report);
        foot.summaries = number(cell::foot_summaries);
        foot.blocks = number(cell::foot_blocks);
        foot.blocks_report = number(cell::foot_blocks_report);
        if (!foot.lines || !foot.summaries || !foot.blocks)
          problems.push_back(id.path + ": FOOT (line " + std::to_string(l.line) +
                             ") lacks NumberOfLinesInFile, NumberOfSummaryRecords or NumberOfBlocksInFile "
                             "(cells 2, 4, 5): " +
                             quoted(l.raw));
      } else if (is_block_record(l.type)) {
        const auto bid = at(l, cell::block_id);
        if (!in_block || bid != block) {
          ++f.blocks;
          block = std::string(bid);
          in_block = true;
        }
        if (l.type == "SU01" || l.type == "SU02") {
          ++f.usage_rows;
          if (auto w = usage_units(l); w && !f.message_id.empty())
            weights[f.message_id][dsr_unescape(trim(at(l, cell::su_summary)))].add_weight(*w);
        }
      } else {
        ++f.skipped_records;
      }
    }
    if (f.head_line.empty() && !head) problems.push_back(id.path + ": no HEAD record (empty file?)");
    if (!footer) {
      problems.push_back(id.path + ": no FOOT record (a truncated file?)");
    } else {
      auto check = [&](const std::optional<int64_t>& said, uint64_t counted, const char* what,
                       const char* unit) {
        if (said && *said != static_cast<int64_t>(counted))
          problems.push_back(id.path + ": FOOT " + what + " says " + std::to_string(*said) +
                             ", the file has " + std::to_string(counted) + " " + unit);
      };
      check(foot.lines, f.lines, "NumberOfLinesInFile", "lines");
      check(foot.summaries, f.summaries, "NumberOfSummaryRecords", "summary records");
      check(foot.blocks, f.blocks, "NumberOfBlocksInFile", "blocks");
    }
    const std::string key = f.message_id.empty() ? "?" + id.path : f.message_id;
    auto [it, inserted] = index.emplace(key, reports.size());
    if (inserted) {
      reports.emplace_back();
      reports.back().message_id = f.message_id;
    }
    auto& r = reports[it->second];
    for (auto& s : summaries) {
      if (r.summaries.count(s.id))
        problems.push_back(id.path + ": summary record id " + quoted(s.id) + " appears twice in the report");
      else
        r.summaries.emplace(s.id, std::move(s));
    }
    r.problems.insert(r.problems.end(), problems.begin(), problems.end());
    r.files.push_back(std::move(f));
    feet[key].push_back(foot);
  }

  for (auto& [key, i] : index) {
    auto& r = reports[i];
    auto& ft = feet[key];
    // Files in FileNumber order; each of 1..N exactly once.
    std::vector<std::size_t> order(r.files.size());
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return r.files[a].file_number < r.files[b].file_number;
    });
    std::vector<dsr_file> files;
    std::vector<foot_counts> feet_sorted;
    for (auto k : order) {
      files.push_back(std::move(r.files[k]));
      feet_sorted.push_back(ft[k]);
    }
    r.files = std::move(files);
    if (!r.message_id.empty()) {
      const int64_t n = r.files.front().number_of_files;
      std::set<int64_t> have;
      for (const auto& f : r.files) {
        if (f.number_of_files != n)
          r.problems.push_back(f.id.path + ": HEAD NumberOfFiles " + std::to_string(f.number_of_files) +
                               " differs from " + std::to_string(n) + " in " + r.files.front().id.path);
        if (!have.insert(f.file_number).second)
          r.problems.push_back(f.id.path + ": file " + std::to_string(f.file_number) + " of report " +
                               quoted(r.message_id) + " given twice");
      }
      for (int64_t k = 1; k <= n && k <= 10000; ++k)
        if (!have.count(k))
          r.problems.push_back("report " + quoted(r.message_id) + ": file " + std::to_string(k) + "of" +
                               std::to_string(n) + " is missing; give every file of a multi-file report");
      uint64_t lines = 0, blocks = 0;
      for (const auto& f : r.files) {
        lines += f.lines;
        blocks += f.blocks;
      }
      for (std::size_t k = 0; k < r.files.size(); ++k) {
        const auto& fc = feet_sorted[k];
        if (fc.lines_report && *fc.lines_report != static_cast<int64_t>(lines))
          r.problems.push_back(r.files[k].id.path + ": FOOT NumberOfLinesInReport says " +
                               std::to_string(*fc.lines_report) + ", the report has " +
                               std::to_string(lines) + " lines");
        if (fc.blocks_report && *fc.blocks_report != static_cast<int64_t>(blocks))
          r.problems.push_back(r.files[k].id.path + ": FOOT NumberOfBlocksInReport says " +
                               std::to_string(*fc.blocks_report) + ", the report has " +
                               std::to_string(blocks) + " blocks");
      }
      const auto& head = r.files.front();
      if (auto p = usage_period(head.usage_start, head.usage_end))
        r.period = *p;
      else
        r.problems.push_back(head.id.path + ": HEAD UsageStartDate / UsageEndDate (cells 9, 10) " +
                             quoted(head.usage_start) + " / " + quoted(head.usage_end) +
                             " are not a period (YYYY[-MM[-DD]])");
    }
    auto& w = weights[key];
    for (auto& [sid, s] : r.summaries) {
      if (!s.unusable.empty()) continue;
      if (auto it = w.find(sid); it != w.end()) s.allocation = std::move(it->second);
      if (!s.allocation.plan(s.net_revenue))
        r.problems.push_back("summary record " + quoted(sid) + " carries NetRevenue " + s.net_revenue_text +
                             " " + s.currency + " but none of its usage rows has units to take it");
    }
  }
  return reports;
}

// --- Second pass ----------------------------------------------------------------------------

status dsr_reader::emit(dsr_report& report, const std::vector<std::optional<uint64_t>>& start,
                        batch_sink& sink) {
  struct resource {
    std::string isrc, title, iswc;
    std::vector<std::string> artists;
  };
  struct usage {
    std::string isrc, upc, iswc, territory, units, revenue, currency, transaction_id, title;
    std::vector<std::string> artists;
  } u;
  raw_fields raw;
  uint64_t rows = 0, done_bytes = 0;  // progress across the report's files
  for (std::size_t i = 0; i < report.files.size(); ++i) {
    const auto& f = report.files[i];
    auto in = byte_source::open(f.id.path);
    if (!in) return in.error();
    dsr_line_reader reader(std::move(*in), src_.lenient_quotes);
    std::optional<file_batcher> batcher;
    const std::optional<uint64_t> from = i < start.size() ? start[i] : std::optional<uint64_t>(0);
    if (from) batcher.emplace(file_source_name(src_.name, f.id), f.id, *from, src_.batch_rows, sink);
    const std::string scope = src_.name + "/" + f.id.sha256;
    bool in_block = false;
    std::string block, head_release_icpn, last_as;
    std::map<std::string, std::string> releases;  // ReleaseReference -> ICPN
    std::map<std::string, resource> resources;    // ResourceReference -> resource
    dsr_line l;
    for (;;) {
      auto got = reader.next(l);
      if (!got) return got.error();
      if (!*got) break;
      if (!is_block_record(l.type)) continue;
      const auto bid = at(l, cell::block_id);
      if (!in_block || bid != block) {
        block = std::string(bid);
        in_block = true;
        head_release_icpn.clear();
        last_as.clear();
        releases.clear();
        resources.clear();
      }
      if (l.type == "RE01") {
        auto icpn = dsr_unescape(trim(at(l, cell::re_icpn)));
        if (releases.empty()) head_release_icpn = icpn;
        releases[dsr_unescape(trim(at(l, cell::re_reference)))] = icpn;
        continue;
      }
      if (l.type == "AS01" || l.type == "AS02") {
        resource r;
        auto isrcs = dsr_values(at(l, cell::as_isrc));
        if (!isrcs.empty()) r.isrc = isrcs.front();
        r.title = dsr_unescape(at(l, cell::as_title));
        r.artists = dsr_values(at(l, cell::as_artist));
        if (l.type == "AS02") r.iswc = dsr_unescape(trim(at(l, cell::as02_iswc)));
        last_as = dsr_unescape(trim(at(l, cell::as_reference)));
        resources[last_as] = std::move(r);
        continue;
      }
      if (l.type == "MW01") {
        // A recording of several works (a medley) keeps its first ISWC.
        if (auto it = resources.find(last_as); it != resources.end() && it->second.iswc.empty())
          it->second.iswc = dsr_unescape(trim(at(l, cell::mw_iswc)));
        continue;
      }
      if (l.type != "SU01" && l.type != "SU02") continue;

      // Allocation runs for every usage row in file order, delivered or not, so a resumed run
      // hands out exactly the parts an uninterrupted one would.
      std::vector<failure> faults;
      std::string note;
      const std::string sid = dsr_unescape(trim(at(l, cell::su_summary)));
      auto s = report.summaries.find(sid);
      const auto units = usage_units(l);
      money part;
      if (s == report.summaries.end()) {
        faults.push_back(failure{ec::bad_value, "usage row refers to summary record " + quoted(sid) +
                                                    ", which report " + quoted(report.message_id) +
                                                    " does not have"});
      } else if (!s->second.unusable.empty()) {
        faults.push_back(failure{ec::bad_value, s->second.unusable});
      } else if (!units) {
        faults.push_back(failure{ec::bad_number, std::string("units: ") +
                                                     (l.type == "SU02" ? "NumberOfStreams (cell 8)"
                                                                       : "Usages - Returns (cells 9, 10)") +
                                                     " is not a whole number >= 0 in " + quoted(l.raw)});
      } else {
        part = s->second.allocation.take(*units);
        note = "allocated net revenue " + part.to_string() + " " + s->second.currency +
               " of summary record " + quoted(sid);
      }
      if (!batcher || l.offset < *from) continue;

      const std::string resource_ref = dsr_unescape(trim(at(l, cell::su_resource)));
      const std::string release_ref = dsr_unescape(trim(at(l, cell::su_release)));
      const resource* res = nullptr;
      if (faults.empty()) {
        if (resource_ref.empty()) {
          faults.push_back(failure{
              ec::missing_field,
              release_ref.empty()
                  ? "usage row names neither TransactedResource (cell 6) nor TransactedRelease (cell 5)"
                  : "usage of release " + quoted(release_ref) +
                        " without a resource: dspsync keeps records per recording (ISRC), so release-level "
                        "usage is not supported"});
        } else if (auto it = resources.find(resource_ref); it == resources.end()) {
          faults.push_back(failure{ec::bad_value, "TransactedResource " + quoted(resource_ref) +
                                                      " is not an AS record of block " + quoted(block)});
        } else {
          res = &it->second;
        }
      }
      if (!faults.empty()) {
        if (!note.empty()) faults.front().message += " (" + note + ")";
        mapper_.quarantine(l.line, l.raw, std::move(faults), scope, batcher->current());
      } else {
        const auto& sum = s->second;
        u.isrc = res->isrc;
        u.iswc = res->iswc;
        u.title = res->title;
        u.artists = res->artists;
        u.upc = head_release_icpn;
        if (!release_ref.empty())
          if (auto it = releases.find(release_ref); it != releases.end()) u.upc = it->second;
        u.territory = sum.territory;
        u.currency = sum.currency;
        u.units = std::to_string(*units);
        u.revenue = part.to_string();
        const std::string txid = dsr_unescape(trim(at(l, cell::su_transaction)));
        u.transaction_id = src_.transaction_id_scope == transaction_scope::message && !txid.empty()
                               ? report.message_id + ":" + txid
                               : txid;
        raw.clear();
        auto put = [&](field fl, const std::string& v) {
          if (!v.empty()) raw[fl] = v;
        };
        put(field::isrc, u.isrc);
        put(field::upc, u.upc);
        put(field::iswc, u.iswc);
        put(field::territory, u.territory);
        put(field::reporting_period, report.period);
        put(field::units, u.units);
        put(field::revenue, u.revenue);
        put(field::currency, u.currency);
        put(field::transaction_id, u.transaction_id);
        put(field::title, u.title);
        for (const auto& a : u.artists) raw.artists.push_back(a);
        mapper_.map_fields(raw, l.line, l.raw, scope, note, batcher->current());
      }
      if (auto st = batcher->row_done(l.line, l.end_offset); !st) return st;
      if ((++rows & 8191) == 0) sink.progress(done_bytes + reader.source().file_bytes_read(), rows);
    }
    if (batcher)
      if (auto st = batcher->finish(reader.offset()); !st) return st;
    done_bytes += reader.source().file_bytes_read();
    sink.progress(done_bytes, rows);
  }
  return ok;
}

ingest_batch dsr_reader::problem_batch(const dsr_report& report, const std::string& cursor) const {
  ingest_batch b;
  const auto& first = report.files.front();
  b.source = file_source_name(src_.name, first.id);
  b.request = "REPORT " + (report.message_id.empty() ? std::string("(no MessageId)") : report.message_id);
  for (const auto& f : report.files) b.request += " " + f.id.path;
  b.correlation_id = "report-" + first.id.sha256.substr(0, 16);
  b.cursor_before = cursor.empty() ? file_cursor(first.id, 0) : cursor;
  b.cursor_after = b.cursor_before;
  // Descriptor of the report (its files stay the raw copy; see file_batcher).
  boost::json::object d;
  d["message_id"] = report.message_id;
  boost::json::array files;
  for (const auto& f : report.files) {
    boost::json::object o;
    o["file"] = f.id.path;
    o["sha256"] = f.id.sha256;
    o["head"] = f.head_line;
    o["foot"] = f.foot_line;
    o["lines"] = f.lines;
    o["summary_records"] = f.summaries;
    o["blocks"] = f.blocks;
    o["usage_rows"] = f.usage_rows;
    files.push_back(std::move(o));
  }
  d["files"] = std::move(files);
  boost::json::array problems;
  for (const auto& p : report.problems) problems.emplace_back(p);
  d["problems"] = std::move(problems);
  b.body = boost::json::serialize(d);
  b.body_sha256 = to_hex(sha256::digest(b.body));
  for (const auto& p : report.problems) b.page_errors.push_back(failure{ec::bad_value, p});
  return b;
}

}  // namespace dspsync
