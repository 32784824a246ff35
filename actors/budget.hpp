#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>

#include "domain/rate_budget.hpp"

namespace dspsync {

/// The rate budget one endpoint, or a group of endpoints drawing on one DSP quota, takes its
/// requests from. The arithmetic is `token_bucket` (domain/rate_budget.hpp); this adds the lock
/// that pollers on different threads need when they share a group, and keeps the bucket behind
/// the DSP's own.
///
/// The DSP charges a request when it arrives, which the client never sees; it only knows that the
/// arrival lay between sending and the answer. A bucket charged at sending runs ahead of the DSP's
/// whenever the two were full in between: a first request slowed by the connection set-up, or a
/// group's opening burst, leaves the DSP's bucket refilling later than the client's, and the next
/// request, travelling faster, arrives before the DSP has its token: a 429. So a request holds a
/// token while it is in flight and is charged to the bucket when it is answered (the latest moment
/// the DSP can have charged it): the bucket is then never fuller than the DSP's, whatever the
/// latencies, and at full load, where neither bucket is full, it grants exactly as many requests.
class shared_budget {
 public:
  shared_budget(double rate, double burst, int64_t now_ns)
      : bucket_(token_bucket::full(rate, burst, now_ns)) {}

  /// Takes a token for a request about to be sent and returns 0, or returns how many nanoseconds
  /// until one may be available (requests in flight hold theirs until answered).
  int64_t acquire(int64_t now_ns) {
    std::lock_guard<std::mutex> guard(mutex_);
    bucket_.refill(now_ns);
    if (bucket_.tokens - static_cast<double>(in_flight_) >= 1.0) {
      ++in_flight_;
      return 0;
    }
    token_bucket free = bucket_;  // what is left once the requests in flight are charged
    free.tokens -= static_cast<double>(in_flight_);
    const int64_t wait = free.wait_ns(now_ns);
    if (static_cast<double>(in_flight_) + 1.0 > bucket_.burst) {
      // The bucket cannot hold enough: no token until an answer charges one; look again after a
      // token's time.
      const int64_t token = bucket_.rate > 0 ? static_cast<int64_t>(1e9 / bucket_.rate) : wait;
      return std::max<int64_t>(1, std::min(wait, token));
    }
    return wait > 0 ? wait : 1;
  }

  /// The request of an `acquire` was answered (or failed) at `now_ns`: it is charged now.
  void answered(int64_t now_ns) {
    std::lock_guard<std::mutex> guard(mutex_);
    bucket_.refill(now_ns);
    settle_one();
  }

  /// The request of an `acquire` ends without an answer seen (its poller stopped or failed with it
  /// in flight): charged at the bucket's last update, so its token is not held for ever.
  void abandoned() {
    std::lock_guard<std::mutex> guard(mutex_);
    settle_one();
  }

  /// Slows down to what the DSP's rate-limit headers say is left.
  void adapt(const rate_hints& hints, int64_t now_ns) {
    std::lock_guard<std::mutex> guard(mutex_);
    pace(bucket_, hints, now_ns);
  }

  /// Requests per second allowed right now.
  double effective_rate(int64_t now_ns) const {
    std::lock_guard<std::mutex> guard(mutex_);
    return bucket_.effective_rate(now_ns);
  }

  /// Requests sent and not yet answered.
  int in_flight() const {
    std::lock_guard<std::mutex> guard(mutex_);
    return in_flight_;
  }

 private:
  void settle_one() {
    if (in_flight_ > 0) --in_flight_;
    bucket_.tokens -= 1.0;  // may go below 0: a debt the refill pays off first
  }

  mutable std::mutex mutex_;
  token_bucket bucket_;
  int in_flight_ = 0;
};

}  // namespace dspsync
