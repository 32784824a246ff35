#include "domain/breaker.hpp"

#include <algorithm>

namespace dspsync {

const char* to_string(breaker_state s) {
  switch (s) {
    case breaker_state::closed:
      return "closed";
    case breaker_state::open:
      return "open";
    case breaker_state::half_open:
      return "half_open";
  }
  return "unknown";
}

circuit_breaker::circuit_breaker(int threshold, int64_t cooldown_ns)
    : threshold_(std::max(threshold, 1)), cooldown_ns_(std::max<int64_t>(cooldown_ns, 0)) {}

breaker_state circuit_breaker::state(int64_t now_ns) const {
  if (!opened_) return breaker_state::closed;
  return now_ns < open_until_ns_ ? breaker_state::open : breaker_state::half_open;
}

bool circuit_breaker::allow(int64_t now_ns) {
  switch (state(now_ns)) {
    case breaker_state::closed:
      return true;
    case breaker_state::open:
      return false;
    case breaker_state::half_open:
      if (probe_out_) return false;
      probe_out_ = true;
      return true;
  }
  return false;
}

void circuit_breaker::on_success(int64_t now_ns) {
  const breaker_state s = state(now_ns);
  if (s == breaker_state::open) return;
  // In half-open state only the probe's answer counts: with no probe out, it is a late answer.
  if (s == breaker_state::half_open && !probe_out_) return;
  opened_ = false;
  probe_out_ = false;
  failures_ = 0;
}

void circuit_breaker::on_failure(int64_t now_ns) {
  switch (state(now_ns)) {
    case breaker_state::closed:
      if (++failures_ >= threshold_) open(now_ns);
      return;
    case breaker_state::open:
      return;
    case breaker_state::half_open:
      if (probe_out_) open(now_ns);
      return;
  }
}

void circuit_breaker::open(int64_t now_ns) {
  opened_ = true;
  probe_out_ = false;
  failures_ = 0;
  open_until_ns_ = now_ns > 0 && cooldown_ns_ > INT64_MAX - now_ns ? INT64_MAX : now_ns + cooldown_ns_;
}

}  // namespace dspsync
