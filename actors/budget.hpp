#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "domain/rate_budget.hpp"

namespace dspsync {

/// A token bucket that one endpoint, or a group of endpoints drawing on one DSP quota, takes its
/// requests from. The arithmetic is `token_bucket` (domain/rate_budget.hpp); this adds the lock
/// that pollers on different threads need when they share a group.
class shared_budget {
 public:
  shared_budget(double rate, double burst, int64_t now_ns)
      : bucket_(token_bucket::full(rate, burst, now_ns)) {}

  /// Takes a token and returns 0, or returns how many nanoseconds until one is available.
  int64_t acquire(int64_t now_ns) {
    std::lock_guard<std::mutex> guard(mutex_);
    if (bucket_.try_take(now_ns)) return 0;
    auto wait = bucket_.wait_ns(now_ns);
    return wait > 0 ? wait : 1;
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

 private:
  mutable std::mutex mutex_;
  token_bucket bucket_;
};

}  // namespace dspsync
