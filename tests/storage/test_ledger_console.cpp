// The operator console's part of the ledger: audit entries in order, state counts of latest
// versions, one quarantined item, and release from quarantine (one transaction, counts moved,
// audited, once only).

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "domain/idempotency.hpp"
#include "storage/ledger_store.hpp"

namespace dspsync {
namespace {

class dir_guard {
 public:
  dir_guard() {
    char tmpl[] = "/tmp/dspsync-console-store-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~dir_guard() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string sub(const std::string& n) const { return path_ + "/" + n; }

 private:
  std::string path_;
};

royalty_record record(const std::string& txn, int64_t revenue) {
  royalty_record r;
  r.isrc = "USRC17607839";
  r.upc = "0036000291452";
  r.dsp = "spotify";
  r.territory = "US";
  r.territory_raw = "US";
  r.reporting_period = "2026-10";
  r.transaction_id = txn;
  r.currency = "USD";
  r.units = 10;
  r.revenue = money::from_units(revenue);
  return r;
}

keyed_record keyed(const royalty_record& r, record_state state = record_state::validated) {
  key_deriver keys({"isrc", "upc", "dsp", "reporting_period", "transaction_id", "currency"});
  keyed_record kr;
  kr.key = keys.key(r);
  kr.state = state;
  kr.record = r;
  if (state == record_state::pending_reconciliation) kr.faults = "territory: unknown";
  return kr;
}

struct fixture {
  dir_guard dir;
  std::unique_ptr<ledger_store> store;
  ingest_batch page;
  record_key qkey{};

  fixture() {
    ledger_options o;
    o.dir = dir.sub("ledger");
    o.map_size_mib = 64;
    store = std::move(*ledger_store::open(o));
    page.source = "ep";
    page.request = "GET /v1?cursor=";
    page.correlation_id = "ep-1-1";
    page.body = R"({"data":[{"tx":"a"},{"tx":"b"},{"tx":"bad"}]})";
    page.cursor_before = "";
    page.cursor_after = "c1";
    page.records_in = 3;
    page.records.push_back(keyed(record("a", 100)));
    page.records.push_back(keyed(record("b", 200), record_state::pending_reconciliation));
    quarantined_item q;
    q.raw = R"({"tx":"bad"})";
    q.position = 2;
    q.errors.push_back({ec::missing_field, "revenue: required field is missing or empty"});
    q.key = sha256::digest("ep\x1f" + q.raw);
    qkey = q.key;
    page.quarantined.push_back(q);
    auto out = store->commit({&page});
    EXPECT_TRUE(out) << out.error().message;
  }
};

TEST(ledger_console, audit_entries_come_in_order_with_their_fields) {
  fixture f;
  ASSERT_TRUE(f.store->audit("endpoint.paused", "console@127.0.0.1:1", "ep", "paused no -> yes"));
  std::vector<audit_entry> log;
  ASSERT_TRUE(f.store->for_each_audit([&](const audit_entry& a) { log.push_back(a); }));
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].seq, 1u);
  EXPECT_EQ(log[0].kind, "page.committed");
  EXPECT_EQ(log[0].subject, "page:1");
  EXPECT_NE(log[0].details.find("correlation=ep-1-1"), std::string::npos);
  EXPECT_EQ(log[1].seq, 2u);
  EXPECT_EQ(log[1].actor, "console@127.0.0.1:1");
  EXPECT_EQ(log[1].details, "paused no -> yes");
  EXPECT_GT(log[1].at_ms, 0);
}

TEST(ledger_console, state_counts_see_only_latest_versions) {
  fixture f;
  ingest_batch next = f.page;
  next.cursor_before = "c1";
  next.cursor_after = "c2";
  next.records = {keyed(record("a", 150))};  // a restatement of "a"
  next.quarantined.clear();
  next.records_in = 1;
  ASSERT_TRUE(f.store->commit({&next}));
  auto counts = f.store->latest_state_counts();
  ASSERT_TRUE(counts) << counts.error().message;
  EXPECT_EQ((*counts)[record_state::validated], 1u);
  EXPECT_EQ((*counts)[record_state::pending_reconciliation], 1u);
}

TEST(ledger_console, release_moves_one_record_out_of_quarantine_once_and_audits_it) {
  fixture f;
  auto item = f.store->quarantined(f.qkey);
  ASSERT_TRUE(item && *item);
  EXPECT_EQ((*item)->position, 2u);
  auto fixed = keyed(record("bad", 300));
  fixed.position = 2;
  auto done = f.store->release_quarantined(f.qkey, fixed, "console@test");
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_NE(done->find("validated record " + to_hex(fixed.key) + " version 1"), std::string::npos) << *done;
  EXPECT_NE(done->find("page 1"), std::string::npos) << "linked to the page it came from: " << *done;
  EXPECT_FALSE(*f.store->quarantined(f.qkey));
  auto versions = f.store->versions(fixed.key);
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ((*versions)[0].page_seq, 1u);
  EXPECT_EQ((*versions)[0].position, 2u);
  auto cp = **f.store->checkpoint("ep");
  EXPECT_EQ(cp.records_in, 3u);
  EXPECT_EQ(cp.quarantined, 0u);
  EXPECT_EQ(cp.inserted, 3u);
  EXPECT_EQ(cp.records_in, cp.inserted + cp.restatements + cp.duplicates + cp.quarantined);
  EXPECT_FALSE(f.store->release_quarantined(f.qkey, fixed, "console@test"));
  std::vector<audit_entry> log;
  ASSERT_TRUE(f.store->for_each_audit([&](const audit_entry& a) { log.push_back(a); }));
  ASSERT_EQ(log.back().kind, "quarantine.released");
  EXPECT_EQ(log.back().subject, "quarantine:" + to_hex(f.qkey));
  EXPECT_NE(log.back().details.find("state quarantined -> validated"), std::string::npos)
      << log.back().details;
  EXPECT_EQ(f.store->verify_audit()->first_broken_seq, 0u);
}

TEST(ledger_console, a_release_of_a_known_version_counts_as_a_duplicate) {
  fixture f;
  auto copy = keyed(record("a", 100));  // exactly what is stored already
  auto done = f.store->release_quarantined(f.qkey, copy, "console@test");
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_NE(done->find("duplicate"), std::string::npos) << *done;
  auto cp = **f.store->checkpoint("ep");
  EXPECT_EQ(cp.duplicates, 1u);
  EXPECT_EQ(cp.quarantined, 0u);
  EXPECT_EQ(f.store->stats()->record_versions, 2u);
}

}  // namespace
}  // namespace dspsync
