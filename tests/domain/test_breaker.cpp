#include "domain/breaker.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dspsync {
namespace {

constexpr int64_t sec = 1'000'000'000;

TEST(circuit_breaker, opens_after_threshold_consecutive_failures) {
  circuit_breaker b(3, 30 * sec);
  EXPECT_EQ(b.state(0), breaker_state::closed);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(b.allow(i));
    b.on_failure(i);
  }
  EXPECT_EQ(b.consecutive_failures(), 2);
  EXPECT_EQ(b.state(2), breaker_state::closed);
  ASSERT_TRUE(b.allow(2));
  b.on_failure(2);
  EXPECT_EQ(b.state(2), breaker_state::open);
  EXPECT_FALSE(b.allow(3));
  EXPECT_EQ(b.reopens_at_ns(), 2 + 30 * sec);
}

TEST(circuit_breaker, success_resets_the_failure_count) {
  circuit_breaker b(3, 30 * sec);
  b.on_failure(0);
  b.on_failure(1);
  b.on_success(2);
  EXPECT_EQ(b.consecutive_failures(), 0);
  b.on_failure(3);
  b.on_failure(4);
  EXPECT_EQ(b.state(5), breaker_state::closed);  // 2 in a row, not 4 in total
  b.on_failure(5);
  EXPECT_EQ(b.state(5), breaker_state::open);
}

TEST(circuit_breaker, closed_open_half_open_closed) {
  circuit_breaker b(1, 10 * sec);
  b.on_failure(0);
  EXPECT_EQ(b.state(10 * sec - 1), breaker_state::open);
  EXPECT_FALSE(b.allow(10 * sec - 1));
  EXPECT_EQ(b.state(10 * sec), breaker_state::half_open);
  EXPECT_TRUE(b.allow(10 * sec));   // the probe
  EXPECT_FALSE(b.allow(10 * sec));  // exactly one while it is out
  EXPECT_FALSE(b.allow(11 * sec));
  EXPECT_EQ(b.state(11 * sec), breaker_state::half_open);
  b.on_success(12 * sec);
  EXPECT_EQ(b.state(12 * sec), breaker_state::closed);
  EXPECT_TRUE(b.allow(12 * sec));
  EXPECT_TRUE(b.allow(12 * sec));
}

TEST(circuit_breaker, failed_probe_reopens_with_new_cooldown) {
  circuit_breaker b(2, 10 * sec);
  b.on_failure(0);
  b.on_failure(0);
  ASSERT_TRUE(b.allow(15 * sec));
  b.on_failure(16 * sec);
  EXPECT_EQ(b.state(16 * sec), breaker_state::open);
  EXPECT_EQ(b.reopens_at_ns(), 26 * sec);
  EXPECT_FALSE(b.allow(25 * sec));
  EXPECT_TRUE(b.allow(26 * sec));  // the next probe
  EXPECT_FALSE(b.allow(26 * sec));
}

TEST(circuit_breaker, late_answers_do_not_move_it) {
  circuit_breaker b(1, 10 * sec);
  b.on_failure(0);
  b.on_success(1 * sec);  // sent before it opened: only a probe may close it
  EXPECT_EQ(b.state(1 * sec), breaker_state::open);
  b.on_failure(9 * sec);  // does not extend the cool-down
  EXPECT_EQ(b.reopens_at_ns(), 10 * sec);
  b.on_success(11 * sec);  // half-open, but no probe out
  EXPECT_EQ(b.state(11 * sec), breaker_state::half_open);
  EXPECT_TRUE(b.allow(11 * sec));
}

TEST(circuit_breaker, names_and_threshold_floor) {
  EXPECT_EQ(std::string(to_string(breaker_state::closed)), "closed");
  EXPECT_EQ(std::string(to_string(breaker_state::open)), "open");
  EXPECT_EQ(std::string(to_string(breaker_state::half_open)), "half_open");
  circuit_breaker b(0, 0);
  b.on_failure(5);
  EXPECT_EQ(b.state(5), breaker_state::half_open);  // zero cool-down: straight to a probe
}

}  // namespace
}  // namespace dspsync
