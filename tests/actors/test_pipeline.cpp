// Deterministic tests of the actor pipeline: supervisor, pollers, validators and ledger on CAF's
// test coordinator with virtual time and a simulated DSP.

#include <gtest/gtest.h>

#include "actors/actors.hpp"
#include "protocol/pagination.hpp"
#include "tests/actors/sim_fixture.hpp"

namespace dspsync::test {
namespace {

using namespace std::chrono_literals;

recording make_recording(const std::string& name, pagination_style style, std::size_t records,
                         uint64_t seed) {
  recording_options ro;
  ro.style = style;
  ro.records = records;
  ro.seed = seed;
  ro.page_size = 100;
  ro.endpoint_name = name;
  ro.dsp = name;
  ro.origin = "https://api." + name + ".example";
  ro.path = "/v1/" + name;
  return generate_recording(ro);
}

bool caught_up(sim_fixture& f, const std::string& name) {
  auto s = f.status_of(name);
  return s && s->state == "caught_up";
}

TEST(pipeline, ingests_every_style_exactly_and_stops_when_caught_up) {
  sim_fixture f;
  engine_config cfg;
  std::vector<recording> recs;
  for (auto style : {pagination_style::offset, pagination_style::cursor, pagination_style::next_url,
                     pagination_style::updated_since}) {
    auto name = std::string("ep-") + to_string(style);
    recs.push_back(make_recording(name, style, 1000, 3));
    f.add_dsp(name, pages_of(recs.back()));
    cfg.endpoints.push_back(recs.back().endpoint);
  }
  f.start(cfg, true);
  ASSERT_TRUE(f.run_until([&] {
    for (const auto& r : recs)
      if (!caught_up(f, r.endpoint.name)) return false;
    return true;
  })) <<
      [&] {
        std::string out;
        for (auto& s : f.query_status())
          out +=
              s.name + ":" + s.state + " " + s.reason + " in=" + std::to_string(s.totals.records_in) + "\n";
        return out;
      }();
  for (const auto& r : recs) {
    SCOPED_TRACE(r.endpoint.name);
    auto cp = f.store().checkpoint(r.endpoint.name);
    ASSERT_TRUE(cp && *cp);
    const auto& c = **cp;
    EXPECT_EQ(c.pages, r.expected.pages);
    EXPECT_EQ(c.records_in, r.expected.records_in);
    EXPECT_EQ(c.inserted, r.expected.unique);
    EXPECT_EQ(c.restatements, r.expected.restatements);
    EXPECT_EQ(c.duplicates, r.expected.duplicates);
    EXPECT_EQ(c.quarantined, r.expected.malformed);
    EXPECT_TRUE(c.caught_up);
  }
}

TEST(pipeline, transient_failures_back_off_with_full_jitter_then_succeed) {
  sim_fixture f;
  auto rec = make_recording("flaky", pagination_style::cursor, 300, 5);
  auto& dsp = f.add_dsp("flaky", pages_of(rec));
  dsp.fault = [](const http_request&, std::size_t ordinal) -> std::optional<http_response> {
    if (ordinal == 2 || ordinal == 3) {
      http_response r;
      r.status = 503;
      return r;
    }
    return std::nullopt;
  };
  engine_config cfg;
  rec.endpoint.backoff.base = 1000ms;
  rec.endpoint.backoff.cap = 60'000ms;
  cfg.endpoints.push_back(rec.endpoint);
  f.start(cfg, true);
  ASSERT_TRUE(f.run_until([&] { return caught_up(f, "flaky"); }));
  ASSERT_GE(dsp.log.size(), 5u);
  // Attempt n waits uniform(0, min(cap, base * 2^n)): first retry within 1 s, second within 2 s.
  EXPECT_EQ(dsp.log[1].status, 503);
  EXPECT_LE(dsp.log[2].at - dsp.log[1].at, std::chrono::milliseconds(1000));
  EXPECT_LE(dsp.log[3].at - dsp.log[2].at, std::chrono::milliseconds(2000));
  auto cp = *f.store().checkpoint("flaky");
  EXPECT_EQ(cp->records_in, rec.expected.records_in);
  EXPECT_EQ(f.status_of("flaky")->retries, 2u);
}

TEST(pipeline, retry_after_is_honoured_to_the_second_even_above_the_cap) {
  sim_fixture f;
  auto rec = make_recording("throttled", pagination_style::offset, 250, 9);
  auto& dsp = f.add_dsp("throttled", pages_of(rec));
  dsp.fault = [](const http_request&, std::size_t ordinal) -> std::optional<http_response> {
    if (ordinal != 2) return std::nullopt;
    http_response r;
    r.status = 429;
    r.headers.emplace_back("Retry-After", "120");
    return r;
  };
  engine_config cfg;
  rec.endpoint.backoff.cap = 5000ms;  // Retry-After wins even above the cap
  cfg.endpoints.push_back(rec.endpoint);
  f.start(cfg, true);
  ASSERT_TRUE(f.run_until([&] { return caught_up(f, "throttled"); }));
  ASSERT_GE(dsp.log.size(), 3u);
  EXPECT_EQ(dsp.log[1].status, 429);
  EXPECT_EQ(dsp.log[2].at - dsp.log[1].at, std::chrono::seconds(120));
}

TEST(pipeline, credentials_rejected_parks_the_endpoint_and_keeps_the_cursor) {
  sim_fixture f;
  auto rec = make_recording("locked", pagination_style::cursor, 300, 2);
  auto& dsp = f.add_dsp("locked", pages_of(rec));
  dsp.fault = [](const http_request&, std::size_t ordinal) -> std::optional<http_response> {
    if (ordinal < 2) return std::nullopt;
    http_response r;
    r.status = 401;
    return r;
  };
  engine_config cfg;
  cfg.endpoints.push_back(rec.endpoint);
  f.start(cfg, true);
  ASSERT_TRUE(f.run_until([&] {
    auto s = f.status_of("locked");
    return s && s->state == "parked";
  }));
  auto s = *f.status_of("locked");
  EXPECT_NE(s.reason.find("credentials rejected"), std::string::npos);
  EXPECT_EQ(dsp.log.size(), 2u);  // 401 is never retried
  auto cp = *f.store().checkpoint("locked");
  EXPECT_EQ(cp->pages, 1u);  // the first page is kept, the cursor stays after it
}

TEST(pipeline, corrupt_page_goes_to_quarantine_and_the_cursor_stays) {
  sim_fixture f;
  auto rec = make_recording("broken", pagination_style::cursor, 300, 4);
  auto& dsp = f.add_dsp("broken", pages_of(rec));
  dsp.fault = [](const http_request&, std::size_t ordinal) -> std::optional<http_response> {
    if (ordinal != 2) return std::nullopt;
    http_response r;
    r.status = 200;
    r.body = R"({"data":[{"isrc":"USRC17607839")";  // truncated
    return r;
  };
  engine_config cfg;
  cfg.endpoints.push_back(rec.endpoint);
  f.start(cfg, true);
  ASSERT_TRUE(f.run_until([&] { return caught_up(f, "broken"); }));
  auto cp = *f.store().checkpoint("broken");
  EXPECT_EQ(cp->records_in, rec.expected.records_in);  // the page was fetched again and ingested
  EXPECT_EQ(cp->page_faults, 1u);
  int pages_in_quarantine = 0;
  ASSERT_TRUE(f.store().for_each_quarantined([&](const stored_quarantine& q) {
    if (q.kind == "page") {
      ++pages_in_quarantine;
      EXPECT_EQ(q.raw, R"({"data":[{"isrc":"USRC17607839")");
      EXPECT_EQ(q.errors.front().code, ec::bad_json);
    }
  }));
  EXPECT_EQ(pages_in_quarantine, 1);
}

TEST(pipeline, crashed_poller_restarts_from_its_committed_cursor) {
  sim_fixture f;
  auto rec = make_recording("crashy", pagination_style::offset, 500, 6);
  auto& dsp = f.add_dsp("crashy", pages_of(rec));
  engine_config cfg;
  cfg.endpoints.push_back(rec.endpoint);
  dsp.throw_on_fetch = 2;
  f.start(cfg, true);
  ASSERT_TRUE(f.run_until([&] { return caught_up(f, "crashy"); }));
  EXPECT_EQ(f.status_of("crashy")->restarts, 2u);
  auto cp = *f.store().checkpoint("crashy");
  EXPECT_EQ(cp->records_in, rec.expected.records_in);
  EXPECT_EQ(cp->inserted, rec.expected.unique);
}

TEST(pipeline, restart_intensity_limit_fails_one_endpoint_and_the_others_keep_polling) {
  sim_fixture f;
  auto bad = make_recording("doomed", pagination_style::cursor, 200, 1);
  auto good = make_recording("healthy", pagination_style::cursor, 800, 2);
  f.add_dsp("doomed", pages_of(bad)).throw_on_fetch = 1000;
  f.add_dsp("healthy", pages_of(good));
  engine_config cfg;
  cfg.endpoints.push_back(bad.endpoint);
  cfg.endpoints.push_back(good.endpoint);
  supervisor_setup tweaks;
  tweaks.max_restarts = 3;
  tweaks.restart_window = std::chrono::seconds(600);
  f.start(cfg, true, tweaks);
  ASSERT_TRUE(f.run_until([&] {
    auto d = f.status_of("doomed");
    return d && d->state == "failed" && caught_up(f, "healthy");
  }));
  EXPECT_EQ(f.status_of("doomed")->restarts, 3u);
  auto cp = *f.store().checkpoint("healthy");
  EXPECT_EQ(cp->records_in, good.expected.records_in);
}

TEST(pipeline, a_stale_page_is_refused_by_the_cursor_fence) {
  test::temp_dir dir;
  ledger_options lo;
  lo.dir = dir.path();
  auto store = std::move(*ledger_store::open(lo));
  ingest_batch first;
  first.source = "ep";
  first.cursor_before = "0";
  first.cursor_after = "100";
  ASSERT_TRUE(store->commit({&first}));
  // The same page again (a restarted poller that did not know it was committed) must not count.
  auto again = store->commit({&first});
  ASSERT_TRUE(again);
  EXPECT_FALSE((*again)[0].refused.empty());
  EXPECT_EQ((*store->checkpoint("ep"))->pages, 1u);
}

}  // namespace
}  // namespace dspsync::test
