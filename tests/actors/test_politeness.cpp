// The pollers' manners, checked from the simulated DSP's side on virtual time: rate budgets (own
// and shared), the circuit breaker, Retry-After in both forms and above the ceiling, the retry
// ledger, and operator control (pause, cursor set, resume, restart).

#include <gtest/gtest.h>

#include "actors/actors.hpp"
#include "actors/budget.hpp"
#include "domain/backoff.hpp"
#include "domain/timefmt.hpp"
#include "tests/actors/sim_fixture.hpp"

namespace dspsync::test {
namespace {

using namespace std::chrono_literals;
using std::chrono::duration_cast;
using std::chrono::nanoseconds;

recording small_recording(const std::string& name, pagination_style style, std::size_t records,
                          int page_size) {
  recording_options ro;
  ro.style = style;
  ro.records = records;
  ro.seed = 11;
  ro.page_size = page_size;
  ro.endpoint_name = name;
  ro.dsp = name;
  ro.path = "/v1/" + name;
  return generate_recording(ro);
}

bool state_is(sim_fixture& f, const std::string& name, const std::string& state) {
  auto s = f.status_of(name);
  return s && s->state == state;
}

/// In every window [t_i, t_j] between two requests, at most rate * (t_j - t_i) + burst requests.
void expect_within_budget(const std::vector<caf::actor_clock::time_point>& times, double rate, double burst) {
  for (std::size_t i = 0; i < times.size(); ++i)
    for (std::size_t j = i; j < times.size(); ++j) {
      double seconds = std::chrono::duration<double>(times[j] - times[i]).count();
      double allowed = rate * seconds + burst;
      ASSERT_LE(static_cast<double>(j - i + 1), allowed + 1e-9)
          << "requests " << i << ".." << j << " within " << seconds << " s";
    }
}

/// `clients` pollers sharing one budget against a DSP that enforces the same budget on arrival,
/// each with one request in flight at a time and sending as soon as the budget grants. The first
/// request of each takes 20 ms to arrive (connection set-up); later ones 50 to 550 us each way, all
/// drawn from `seed`. Returns the requests the DSP refused; `served` gets those it accepted within
/// `duration_ns`.
struct budget_run {
  int refused = 0, served = 0;
};
budget_run against_an_enforcing_dsp(double rate, double burst, int clients, uint64_t seed,
                                    int64_t duration_ns, bool charge_on_answer) {
  constexpr int64_t ms = 1'000'000;
  const int64_t start = 1'000'000'000;
  shared_budget budget(rate, burst, start);
  token_bucket naive = token_bucket::full(rate, burst, start);  // charged on sending
  token_bucket dsp = token_bucket::full(rate, burst, 0);        // started earlier: full as well
  uint64_t rng = seed;
  struct client {
    int64_t next_try;     // when it asks the budget next
    int64_t answered_at;  // its request in flight is answered then (0: none)
    bool first = true;
  };
  std::vector<client> cs(static_cast<std::size_t>(clients), client{start, 0});
  budget_run out;
  for (;;) {
    // The next event: the earliest answer or attempt.
    std::size_t who = 0;
    int64_t at = INT64_MAX;
    bool is_answer = false;
    for (std::size_t i = 0; i < cs.size(); ++i) {
      const bool ans = cs[i].answered_at != 0;
      const int64_t t = ans ? cs[i].answered_at : cs[i].next_try;
      if (t < at) {
        at = t;
        who = i;
        is_answer = ans;
      }
    }
    if (at >= start + duration_ns) return out;
    client& c = cs[who];
    if (is_answer) {
      if (charge_on_answer) budget.answered(at);
      c.answered_at = 0;
      c.next_try = at;
      continue;
    }
    int64_t wait = 0;
    if (charge_on_answer) {
      wait = budget.acquire(at);
    } else if (!naive.try_take(at)) {
      wait = std::max<int64_t>(1, naive.wait_ns(at));
    }
    if (wait > 0) {
      c.next_try = at + wait;
      continue;
    }
    const int64_t there = c.first ? 20 * ms : 50'000 + static_cast<int64_t>(splitmix64(rng) % 500'000);
    const int64_t back = 50'000 + static_cast<int64_t>(splitmix64(rng) % 500'000);
    c.first = false;
    if (dsp.try_take(at + there))
      ++out.served;
    else
      ++out.refused;
    c.answered_at = at + there + back;
  }
}

TEST(politeness, a_budget_charged_on_answer_never_runs_ahead_of_the_dsps) {
  struct config {
    double rate, burst;
    int clients;
  };
  for (const config c : {config{6, 1, 1}, config{10, 1, 1}, config{4, 3, 1}, config{12, 4, 1},
                         config{20, 5, 10}, config{50, 2, 4}, config{2, 1, 3}}) {
    for (uint64_t seed : {1u, 2u, 3u}) {
      const auto r = against_an_enforcing_dsp(c.rate, c.burst, c.clients, seed, 60'000'000'000, true);
      const std::string what = std::to_string(c.rate) + "/s burst " + std::to_string(c.burst) + ", " +
                               std::to_string(c.clients) + " clients, seed " + std::to_string(seed);
      EXPECT_EQ(r.refused, 0) << what;
      // Nearly the minute's whole budget (rate * 60 + burst) is used; with a burst of 1 each
      // request also waits for the previous answer (a round trip), and the first for the set-up.
      EXPECT_GE(r.served, static_cast<int>(0.99 * (c.rate * 60 + c.burst))) << what;
    }
  }
  // Charged on sending, the budget runs ahead of the DSP's by the first request's latency, and the
  // DSP refuses requests: both a lone endpoint with a burst of 1 and a group's opening burst.
  EXPECT_GT(against_an_enforcing_dsp(6, 1, 1, 1, 60'000'000'000, false).refused, 0);
  EXPECT_GT(against_an_enforcing_dsp(20, 5, 10, 1, 60'000'000'000, false).refused, 0);
}

TEST(politeness, a_request_abandoned_in_flight_gives_its_token_back_as_charged) {
  shared_budget b(1.0, 2.0, 0);
  EXPECT_EQ(b.acquire(0), 0);
  EXPECT_EQ(b.acquire(0), 0);
  EXPECT_EQ(b.in_flight(), 2);
  EXPECT_GT(b.acquire(0), 0);  // both tokens are held by the requests in flight
  b.abandoned();
  b.answered(0);
  EXPECT_EQ(b.in_flight(), 0);
  EXPECT_GT(b.acquire(500'000'000), 0);  // both were charged: the next token accrues at 1 s
  EXPECT_EQ(b.acquire(1'000'000'000), 0);
}

TEST(politeness, the_rate_budget_holds_in_every_window) {
  sim_fixture f;
  auto rec = small_recording("budgeted", pagination_style::offset, 300, 10);
  auto& dsp = f.add_dsp("budgeted", pages_of(rec));
  rec.endpoint.rate.requests_per_second = 2;
  rec.endpoint.rate.burst = 3;
  engine_config cfg;
  cfg.endpoints.push_back(rec.endpoint);
  f.start(cfg, true);
  ASSERT_TRUE(f.run_until([&] { return state_is(f, "budgeted", "caught_up"); }));
  std::vector<caf::actor_clock::time_point> times;
  for (const auto& l : dsp.log) times.push_back(l.at);
  ASSERT_GE(times.size(), 30u);
  expect_within_budget(times, 2, 3);
  // And the budget is used, not wasted: ~30 requests at 2/s after a burst of 3 take ~14 s.
  EXPECT_LE(times.back() - times.front(), 16s);
}

TEST(politeness, endpoints_in_one_group_share_its_budget) {
  sim_fixture f;
  auto a = small_recording("group-a", pagination_style::cursor, 200, 10);
  auto b = small_recording("group-b", pagination_style::cursor, 200, 10);
  auto& dsp_a = f.add_dsp("group-a", pages_of(a));
  auto& dsp_b = f.add_dsp("group-b", pages_of(b));
  engine_config cfg;
  for (auto* r : {&a, &b}) {
    r->endpoint.rate.requests_per_second = 4;
    r->endpoint.rate.burst = 2;
    r->endpoint.rate.group = "one-app-key";
    cfg.endpoints.push_back(r->endpoint);
  }
  f.start(cfg, true);
  ASSERT_TRUE(f.run_until(
      [&] { return state_is(f, "group-a", "caught_up") && state_is(f, "group-b", "caught_up"); }));
  std::vector<caf::actor_clock::time_point> times;
  for (const auto& l : dsp_a.log) times.push_back(l.at);
  for (const auto& l : dsp_b.log) times.push_back(l.at);
  std::sort(times.begin(), times.end());
  expect_within_budget(times, 4, 2);
}

TEST(politeness, an_endpoint_idle_until_a_distant_poll_drops_its_connection) {
  sim_fixture f;
  auto hourly = small_recording("hourly", pagination_style::cursor, 30, 10);
  auto busy = small_recording("busy", pagination_style::cursor, 30, 10);
  auto& dsp_hourly = f.add_dsp("hourly", pages_of(hourly));
  auto& dsp_busy = f.add_dsp("busy", pages_of(busy));
  hourly.endpoint.schedule.interval = std::chrono::hours(1);
  busy.endpoint.schedule.interval = std::chrono::seconds(5);
  engine_config cfg;
  cfg.endpoints = {hourly.endpoint, busy.endpoint};
  f.start(cfg, false);
  ASSERT_TRUE(
      f.run_until([&] { return state_is(f, "hourly", "caught_up") && state_is(f, "busy", "caught_up"); }));
  // Caught up with the next poll an hour away: the connection goes (a DSP would close it anyway).
  EXPECT_EQ(dsp_hourly.closes, 1);
  // Polling again in 5 s: the keep-alive connection is worth keeping.
  EXPECT_EQ(dsp_busy.closes, 0);
  // The next poll reconnects and works.
  const auto asked = dsp_hourly.log.size();
  f.sched().clock().advance_time(std::chrono::hours(1));
  ASSERT_TRUE(
      f.run_until([&] { return dsp_hourly.log.size() > asked && state_is(f, "hourly", "caught_up"); }));
  EXPECT_EQ(dsp_hourly.log.back().status, 200);
  EXPECT_EQ(dsp_hourly.closes, 2);
}

TEST(politeness, rate_limit_headers_slow_the_client_before_a_429) {
  sim_fixture f;
  auto rec = small_recording("hinted", pagination_style::offset, 200, 10);
  auto& dsp = f.add_dsp("hinted", pages_of(rec));
  // The DSP says: 2 requests left in the next 20 s, on every response.
  dsp.decorate = [](http_response& r) {
    r.headers.emplace_back("X-RateLimit-Remaining", "2");
    r.headers.emplace_back("X-RateLimit-Reset", "20");
  };
  rec.endpoint.rate.requests_per_second = 100;
  rec.endpoint.rate.burst = 10;
  engine_config cfg;
  cfg.endpoints.push_back(rec.endpoint);
  f.start(cfg, true);
  ASSERT_TRUE(f.run_until([&] { return state_is(f, "hinted", "caught_up"); }));
  ASSERT_GE(dsp.log.size(), 5u);
  // Paced to 2 per 20 s instead of 100/s: no two later requests closer than ~10 s.
  for (std::size_t i = 2; i < dsp.log.size(); ++i) EXPECT_GE(dsp.log[i].at - dsp.log[i - 1].at, 9s) << i;
}

TEST(politeness, the_breaker_opens_probes_once_and_closes) {
  sim_fixture f;
  auto rec = small_recording("breaking", pagination_style::cursor, 100, 50);
  auto& dsp = f.add_dsp("breaking", pages_of(rec));
  dsp.fault = [](const http_request&, std::size_t ordinal) -> std::optional<http_response> {
    if (ordinal < 2 || ordinal > 5) return std::nullopt;  // requests 2..5 fail
    http_response r;
    r.status = 503;
    return r;
  };
  rec.endpoint.breaker.threshold = 3;
  rec.endpoint.breaker.cooldown = 30s;
  rec.endpoint.backoff.base = 100ms;
  rec.endpoint.backoff.cap = 1000ms;
  rec.endpoint.backoff.max_attempts = 10;
  engine_config cfg;
  cfg.endpoints.push_back(rec.endpoint);
  f.start(cfg, true);
  bool saw_open = false;
  ASSERT_TRUE(f.run_until([&] {
    auto s = f.status_of("breaking");
    if (s && s->state == "circuit_open") saw_open = true;
    return s && s->state == "caught_up";
  }));
  EXPECT_TRUE(saw_open);
  ASSERT_GE(dsp.log.size(), 6u);
  // Failures 1-3 (requests 2-4) open it; request 5 is the single half-open probe after the
  // cool-down; it fails, the breaker opens again; request 6 is the next probe, which succeeds.
  EXPECT_LT(dsp.log[3].at - dsp.log[2].at, 30s);
  EXPECT_GE(dsp.log[4].at - dsp.log[3].at, 30s);
  EXPECT_GE(dsp.log[5].at - dsp.log[4].at, 30s);
  EXPECT_EQ(dsp.log[5].status, 200);
  EXPECT_EQ(f.status_of("breaking")->circuit, "closed");
}

TEST(politeness, retry_after_as_an_http_date_is_honoured_to_the_second) {
  sim_fixture f;
  auto rec = small_recording("dated", pagination_style::offset, 100, 50);
  auto& dsp = f.add_dsp("dated", pages_of(rec));
  dsp.fault = [](const http_request&, std::size_t ordinal) -> std::optional<http_response> {
    if (ordinal != 2) return std::nullopt;
    http_response r;
    r.status = 429;
    auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    r.headers.emplace_back("Retry-After", format_http_date(now.count() + 90));
    return r;
  };
  engine_config cfg;
  cfg.endpoints.push_back(rec.endpoint);
  f.start(cfg, true);
  ASSERT_TRUE(f.run_until([&] { return state_is(f, "dated", "caught_up"); }));
  ASSERT_GE(dsp.log.size(), 3u);
  auto gap = dsp.log[2].at - dsp.log[1].at;
  EXPECT_GE(gap, 89s);  // the date has whole seconds: 89 < wait <= 90 from the moment it was read
  EXPECT_LE(gap, 90s);
}

TEST(politeness, retry_after_beyond_the_ceiling_marks_the_endpoint_degraded) {
  sim_fixture f;
  auto rec = small_recording("sulking", pagination_style::offset, 100, 50);
  auto& dsp = f.add_dsp("sulking", pages_of(rec));
  dsp.fault = [](const http_request&, std::size_t ordinal) -> std::optional<http_response> {
    if (ordinal != 2) return std::nullopt;
    http_response r;
    r.status = 503;
    r.headers.emplace_back("Retry-After", "100000");
    return r;
  };
  rec.endpoint.backoff.retry_after_ceiling = 3600s;
  engine_config cfg;
  cfg.endpoints.push_back(rec.endpoint);
  f.start(cfg, true);
  bool degraded = false;
  ASSERT_TRUE(f.run_until([&] {
    auto s = f.status_of("sulking");
    if (s && s->state == "degraded") degraded = true;
    return s && s->state == "caught_up";
  }));
  EXPECT_TRUE(degraded);
  EXPECT_EQ(dsp.log[2].at - dsp.log[1].at, 3600s);
}

TEST(politeness, every_retried_request_has_its_retry_ledger_entries) {
  sim_fixture f;
  auto rec = small_recording("ledgered", pagination_style::cursor, 100, 50);
  auto& dsp = f.add_dsp("ledgered", pages_of(rec));
  dsp.fault = [](const http_request&, std::size_t ordinal) -> std::optional<http_response> {
    http_response r;
    if (ordinal == 2) {
      r.status = 429;
      r.headers.emplace_back("Retry-After", "7");
      return r;
    }
    if (ordinal == 3) {
      r.error = failure{ec::transport_failure, "read: connection reset"};
      return r;
    }
    return std::nullopt;
  };
  engine_config cfg;
  cfg.endpoints.push_back(rec.endpoint);
  f.start(cfg, true);
  ASSERT_TRUE(f.run_until([&] { return state_is(f, "ledgered", "caught_up"); }));
  std::vector<attempt_record> attempts;
  ASSERT_TRUE(f.store().for_each_attempt([&](const attempt_record& a) { attempts.push_back(a); }));
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(attempts[0].status, 429);
  EXPECT_EQ(attempts[0].classification, "transient");
  EXPECT_EQ(attempts[0].attempt, 1);
  EXPECT_EQ(attempts[0].delay_ms, 7000);
  EXPECT_EQ(attempts[0].delay_source, "retry-after");
  EXPECT_EQ(attempts[1].status, 0);
  EXPECT_NE(attempts[1].error.find("connection reset"), std::string::npos);
  EXPECT_EQ(attempts[1].attempt, 2);
  EXPECT_EQ(attempts[1].delay_source, "jitter");
  EXPECT_LE(attempts[1].delay_ms, 1000);  // attempt 2 waits at most base * 2
  EXPECT_EQ(attempts[2].classification, "success");
  EXPECT_EQ(attempts[2].attempt, 3);
  EXPECT_EQ(attempts[2].body_sha256.size(), 64u);
  for (const auto& a : attempts) {
    EXPECT_EQ(a.endpoint, "ledgered");
    EXPECT_EQ(a.request, attempts[0].request);  // the same page each time
    EXPECT_FALSE(a.correlation_id.empty());
  }
}

TEST(politeness, an_operator_pauses_sets_the_cursor_and_resumes) {
  sim_fixture f;
  auto rec = small_recording("steered", pagination_style::offset, 1000, 100);
  auto& dsp = f.add_dsp("steered", pages_of(rec));
  rec.endpoint.rate.requests_per_second = 1;  // slow enough to pause midway
  rec.endpoint.rate.burst = 1;
  engine_config cfg;
  cfg.endpoints.push_back(rec.endpoint);
  f.start(cfg, true);
  ASSERT_TRUE(f.run_until([&] { return dsp.log.size() >= 3; }));
  EXPECT_EQ(f.command(cursor_atom::value, std::string("steered"), std::string("900")).rfind("ERR", 0), 0u)
      << "a running endpoint's cursor must not be set";
  EXPECT_EQ(f.command(pause_atom::value, std::string("steered")), "paused steered");
  ASSERT_TRUE(f.run_until([&] {
    auto s = f.status_of("steered");
    return s && s->state == "paused" && s->in_flight == 0;
  }));
  auto before = dsp.log.size();
  EXPECT_EQ(
      f.command(cursor_atom::value, std::string("steered"), std::string("900")).rfind("cursor of steered", 0),
      0u);
  EXPECT_EQ((*f.store().checkpoint("steered"))->cursor, "900");
  EXPECT_EQ(f.command(resume_atom::value, std::string("steered")), "resumed steered");
  ASSERT_TRUE(f.run_until([&] { return state_is(f, "steered", "caught_up"); }));
  ASSERT_GT(dsp.log.size(), before);
  EXPECT_NE(dsp.log[before].target.find("offset=900"), std::string::npos) << dsp.log[before].target;
  EXPECT_EQ(f.command(pause_atom::value, std::string("nobody")).rfind("ERR", 0), 0u);
  // The change is audited with old and new values.
  auto v = f.store().verify_audit();
  ASSERT_TRUE(v);
  EXPECT_EQ(v->first_broken_seq, 0u);
}

TEST(politeness, an_operator_restart_brings_a_failed_endpoint_back) {
  sim_fixture f;
  auto rec = small_recording("revived", pagination_style::cursor, 300, 50);
  auto& dsp = f.add_dsp("revived", pages_of(rec));
  dsp.throw_on_fetch = 2;
  engine_config cfg;
  cfg.endpoints.push_back(rec.endpoint);
  supervisor_setup tweaks;
  tweaks.max_restarts = 1;
  f.start(cfg, true, tweaks);
  ASSERT_TRUE(f.run_until([&] { return state_is(f, "revived", "failed"); }));
  EXPECT_EQ(f.command(restart_atom::value, std::string("revived"), std::string("test")),
            "restarting revived");
  ASSERT_TRUE(f.run_until([&] { return state_is(f, "revived", "caught_up"); }));
  EXPECT_EQ((*f.store().checkpoint("revived"))->records_in, rec.expected.records_in);
}

}  // namespace
}  // namespace dspsync::test

namespace dspsync::test {
namespace {

TEST(scheduling, an_updated_since_window_newer_than_now_minus_lag_waits) {
  sim_fixture f;
  recording_options ro;
  ro.style = pagination_style::updated_since;
  ro.records = 100;
  ro.page_size = 50;
  ro.endpoint_name = "lagged";
  auto rec = generate_recording(ro);
  auto& dsp = f.add_dsp("lagged", pages_of(rec));
  // The window starts one hour before "now - lag": wait until it is old enough (about 1 h later).
  auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  rec.endpoint.schedule.lag = std::chrono::seconds(48 * 3600);
  rec.endpoint.pagination.initial_since = format_rfc3339(now.count() - 47 * 3600);
  engine_config cfg;
  cfg.endpoints.push_back(rec.endpoint);
  f.start(cfg, true);
  bool waited = false;
  auto t0 = f.now();
  f.run_until([&] {
    auto s = f.status_of("lagged");
    if (s && s->state == "waiting") waited = true;
    return !dsp.log.empty();
  });
  EXPECT_TRUE(waited);
  ASSERT_FALSE(dsp.log.empty());
  EXPECT_GE(dsp.log.front().at - t0, std::chrono::seconds(3590));
  EXPECT_LE(dsp.log.front().at - t0, std::chrono::seconds(3610));
}

TEST(scheduling, a_cursor_older_than_retention_is_reported_not_reset) {
  sim_fixture f;
  recording_options ro;
  ro.style = pagination_style::updated_since;
  ro.records = 100;
  ro.page_size = 50;
  ro.endpoint_name = "expired";
  auto rec = generate_recording(ro);
  auto& dsp = f.add_dsp("expired", pages_of(rec));
  rec.endpoint.schedule.retention = std::chrono::seconds(90 * 24 * 3600);
  rec.endpoint.pagination.initial_since = "2020-01-01T00:00:00Z";
  engine_config cfg;
  cfg.endpoints.push_back(rec.endpoint);
  f.start(cfg, true);
  ASSERT_TRUE(f.run_until([&] { return state_is(f, "expired", "parked"); }));
  auto s = *f.status_of("expired");
  EXPECT_NE(s.reason.find("retention"), std::string::npos) << s.reason;
  EXPECT_TRUE(dsp.log.empty());  // nothing asked, nothing silently skipped
  EXPECT_EQ(s.totals.cursor, "2020-01-01T00:00:00Z");
}

}  // namespace
}  // namespace dspsync::test
