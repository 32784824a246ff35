#include "domain/triage.hpp"

#include <algorithm>
#include <cstdio>

#include "domain/timefmt.hpp"

namespace dspsync {

void recent_pages::add(const page_tally& page) {
  auto narrow = [](uint64_t v) { return static_cast<uint32_t>(std::min<uint64_t>(v, UINT32_MAX)); };
  ring_[next_] = {narrow(page.records_in), narrow(page.quarantined), narrow(page.duplicates)};
  next_ = static_cast<uint8_t>((next_ + 1) % capacity);
  size_ = static_cast<uint8_t>(std::min<std::size_t>(size_ + 1u, capacity));
}

page_tally recent_pages::total() const {
  page_tally sum;
  for (std::size_t i = 0; i < size_; ++i) {
    sum.records_in += ring_[i].records_in;
    sum.quarantined += ring_[i].quarantined;
    sum.duplicates += ring_[i].duplicates;
  }
  return sum;
}

std::optional<int64_t> cursor_lag_seconds(bool updated_since, std::string_view cursor, int64_t updated_at_ms,
                                          int64_t now_ms) {
  if (updated_since) {
    auto at = parse_rfc3339(cursor);
    if (!at) return std::nullopt;
    return std::max<int64_t>(0, now_ms / 1000 - *at);
  }
  if (updated_at_ms <= 0) return std::nullopt;
  return std::max<int64_t>(0, (now_ms - updated_at_ms) / 1000);
}

int64_t cursor_lag_limit_seconds(bool updated_since, int64_t interval_s, int64_t reporting_lag_s,
                                 int64_t lookback_s) {
  int64_t limit = 2 * interval_s;
  if (updated_since) limit += reporting_lag_s + lookback_s;
  return limit;
}

namespace {

std::string percent(uint64_t part, uint64_t whole) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / whole);
  return buf;
}

std::string share_figure(uint64_t part, uint64_t whole, std::size_t pages, double limit) {
  return percent(part, whole) + " (" + std::to_string(part) + " of " + std::to_string(whole) +
         " records in the last " + std::to_string(pages) + " pages; limit " +
         percent(static_cast<uint64_t>(limit * 1000), 1000) + ")";
}

}  // namespace

std::vector<triage_line> triage_endpoint_checks(const triage_endpoint& e, const triage_thresholds& t) {
  std::vector<triage_line> out;
  const bool bad_state = e.state == "failed" || e.state == "parked" || e.state == "degraded";
  std::string state = e.state + (e.paused && e.state != "paused" ? " (paused)" : "");
  if (!e.reason.empty()) state += ": " + e.reason;
  out.push_back({e.name, "state", bad_state, state});
  if (e.lag_s)
    out.push_back({e.name, "cursor_lag", *e.lag_s > e.lag_limit_s,
                   std::to_string(*e.lag_s) + " s (limit " + std::to_string(e.lag_limit_s) + " s)"});
  else
    out.push_back({e.name, "cursor_lag", false, "nothing committed yet"});
  if (e.recent_pages == 0 || e.recent.records_in == 0) {
    out.push_back({e.name, "rejections", false, "no records seen in this run yet"});
    out.push_back({e.name, "duplicates", false, "no records seen in this run yet"});
  } else {
    const auto& r = e.recent;
    out.push_back({e.name, "rejections",
                   static_cast<double>(r.quarantined) > t.rejection_share * static_cast<double>(r.records_in),
                   share_figure(r.quarantined, r.records_in, e.recent_pages, t.rejection_share)});
    out.push_back({e.name, "duplicates",
                   static_cast<double>(r.duplicates) > t.duplicate_share * static_cast<double>(r.records_in),
                   share_figure(r.duplicates, r.records_in, e.recent_pages, t.duplicate_share)});
  }
  out.push_back({e.name, "circuit", e.circuit != "closed", e.circuit});
  return out;
}

triage_line triage_pending(uint64_t pending, uint64_t sla) {
  triage_line l{"ledger", "pending_backlog", sla > 0 && pending > sla,
                std::to_string(pending) + " records pending reconciliation"};
  l.figure += sla > 0 ? " (SLA " + std::to_string(sla) + ")" : " (no SLA set)";
  return l;
}

std::string format_triage(const std::vector<triage_line>& lines) {
  std::size_t w_subject = 0, w_check = 0;
  for (const auto& l : lines) {
    w_subject = std::max(w_subject, l.subject.size());
    w_check = std::max(w_check, l.check.size());
  }
  std::string out;
  for (const auto& l : lines) {
    out += l.subject + std::string(w_subject - l.subject.size() + 2, ' ');
    out += l.check + std::string(w_check - l.check.size() + 2, ' ');
    out += l.attention ? "attention  " : "ok         ";
    out += l.figure;
    out += '\n';
  }
  return out;
}

}  // namespace dspsync
