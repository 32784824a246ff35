#pragma once

// Triage: what an operator should look at first. Pure rules over figures the console gathers from
// the supervisor (live status) and the ledger (checkpoints, pending backlog).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dspsync {

/// What one committed page brought.
struct page_tally {
  uint64_t records_in = 0;
  uint64_t quarantined = 0;
  uint64_t duplicates = 0;
};

/// The last `capacity` committed pages of an endpoint (a ring; no allocation). Every endpoint's
/// status holds one, so a page is kept in 12 bytes (a count above 2^32 - 1 is held as that).
class recent_pages {
 public:
  static constexpr std::size_t capacity = 20;

  void add(const page_tally& page);
  /// Pages held (at most `capacity`).
  std::size_t size() const { return size_; }
  /// Sums over the pages held.
  page_tally total() const;

 private:
  struct compact {
    uint32_t records_in = 0, quarantined = 0, duplicates = 0;
  };
  std::array<compact, capacity> ring_{};
  uint8_t next_ = 0;
  uint8_t size_ = 0;
};

/// Cursor lag in seconds at `now_ms`: for an `updated_since` endpoint, how far its cursor (an
/// RFC 3339 time) is behind now; for the other styles, the time since its last commit (for a
/// caught-up endpoint: since it last synced). nullopt when nothing was committed yet or the cursor
/// is not a time.
std::optional<int64_t> cursor_lag_seconds(bool updated_since, std::string_view cursor, int64_t updated_at_ms,
                                          int64_t now_ms);

/// The lag above which an endpoint needs attention: two polling intervals, plus the reporting lag
/// and window overlap an `updated_since` cursor keeps behind now on purpose.
int64_t cursor_lag_limit_seconds(bool updated_since, int64_t interval_s, int64_t reporting_lag_s,
                                 int64_t lookback_s);

/// Thresholds of the triage checks.
struct triage_thresholds {
  /// Share of quarantined records among the recent pages' records: a rejection spike above it.
  double rejection_share = 0.05;
  /// Share of duplicates among the recent pages' records.
  double duplicate_share = 0.10;
};

/// The figures of one endpoint.
struct triage_endpoint {
  std::string name;
  /// Poller state (fetching, caught_up, parked, failed, ...) and why.
  std::string state;
  std::string reason;
  bool paused = false;
  /// closed | half_open | open
  std::string circuit = "closed";
  std::optional<int64_t> lag_s;
  int64_t lag_limit_s = 0;
  /// The recent pages, or (before any page was seen live) nothing.
  page_tally recent;
  std::size_t recent_pages = 0;
};

/// One triage finding.
struct triage_line {
  std::string subject;
  std::string check;
  bool attention = false;
  /// The figure, with the limit it was judged against.
  std::string figure;
};

/// The checks of one endpoint: state, cursor lag, rejection spike, duplicate rate, circuit.
std::vector<triage_line> triage_endpoint_checks(const triage_endpoint& e, const triage_thresholds& t = {});

/// The pending-reconciliation backlog against its SLA (a count; 0 means no SLA).
triage_line triage_pending(uint64_t pending, uint64_t sla);

/// `NAME  CHECK  ok|attention  FIGURE`, columns aligned for a console.
std::string format_triage(const std::vector<triage_line>& lines);

}  // namespace dspsync
