#pragma once

#include <cstdint>

namespace dspsync {

/// Where a circuit breaker stands.
enum class breaker_state {
  /// Requests flow; consecutive failures are counted.
  closed,
  /// Requests are refused until the cool-down is over.
  open,
  /// The cool-down is over: exactly one probe may go out; its outcome closes or reopens.
  half_open,
};

/// `closed`, `open` or `half_open`.
const char* to_string(breaker_state s);

/// A circuit breaker as pure code: the caller passes the time (nanoseconds on a monotonic clock)
/// and reports the outcome of every request it was allowed to send.
///
/// closed -> open after `threshold` consecutive failures; open -> half-open once `cooldown_ns`
/// has passed; half-open lets exactly one probe through (`allow` refuses the rest while it is
/// out); the probe's success closes the breaker, its failure opens it again for a new cool-down.
class circuit_breaker {
 public:
  /// A closed breaker. A threshold below 1 is taken as 1.
  circuit_breaker(int threshold, int64_t cooldown_ns);

  /// Whether a request may go out now. In half-open state the first call takes the probe slot.
  bool allow(int64_t now_ns);
  /// Reports a successful request. In closed state it resets the failure count; in half-open
  /// state (the probe) it closes the breaker. While open it is a late answer to a request sent
  /// before opening, and changes nothing: only a probe may close the breaker.
  void on_success(int64_t now_ns);
  /// Reports a failed request: counts towards the threshold when closed, reopens when it is the
  /// probe's. Late failures while open do not extend the cool-down.
  void on_failure(int64_t now_ns);
  /// The state at `now_ns` (open turns half-open by the passing of time alone).
  breaker_state state(int64_t now_ns) const;
  /// Failures in a row while closed.
  int consecutive_failures() const { return failures_; }
  /// When the current (or last) cool-down ends.
  int64_t reopens_at_ns() const { return open_until_ns_; }

 private:
  int threshold_;
  int64_t cooldown_ns_;
  int failures_ = 0;
  bool opened_ = false;
  bool probe_out_ = false;
  int64_t open_until_ns_ = 0;

  void open(int64_t now_ns);
};

}  // namespace dspsync
