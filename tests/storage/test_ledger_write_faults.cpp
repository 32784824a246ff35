// Ledger write failures injected at the commit of the write transaction (ledger_store's commit fault,
// which the deterministic simulation uses): a failed commit stores nothing and burns no sequence
// number, a full map is reported as such with the fix, every write path sees the fault and no read
// does; and the cursor fence refuses a read-ahead page whose source's first page never committed.

#include <gtest/gtest.h>
#include <lmdb.h>
#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "domain/idempotency.hpp"
#include "storage/ledger_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace dspsync {
namespace {

std::unique_ptr<ledger_store> open_store(const std::string& dir) {
  ledger_options opts;
  opts.dir = dir;
  opts.map_size_mib = 64;
  opts.durable = false;
  auto s = ledger_store::open(opts);
  if (!s) ADD_FAILURE() << "open " << dir << ": " << s.error().message;
  return s ? std::move(*s) : nullptr;
}

ingest_batch page(const std::string& source, const std::string& before, const std::string& after,
                  const std::vector<std::string>& txns) {
  key_deriver keys(
      std::vector<std::string>{"isrc", "upc", "dsp", "reporting_period", "transaction_id", "currency"});
  ingest_batch b;
  b.source = source;
  b.request = "GET /v1/streams?cursor=" + before;
  b.correlation_id = "corr-" + source + "-" + after;
  b.body = "{\"data\":[],\"next_cursor\":\"" + after + "\"}";
  b.body_sha256 = to_hex(sha256::digest(b.body));
  b.cursor_before = before;
  b.cursor_after = after;
  for (const auto& txn : txns) {
    keyed_record kr;
    kr.record.isrc = "USRC17607839";
    kr.record.upc = "0036000291452";
    kr.record.dsp = "spotify";
    kr.record.territory = "US";
    kr.record.reporting_period = "2026-10";
    kr.record.transaction_id = txn;
    kr.record.currency = "USD";
    kr.record.units = 10;
    kr.record.revenue = money::from_units(3);
    kr.key = keys.key(kr.record);
    b.records.push_back(std::move(kr));
  }
  b.records_in = b.records.size();
  return b;
}

/// The fault that fails every write commit with `code` while `on` is set, and counts what it is asked.
struct switchable_fault {
  int code = MDB_MAP_FULL;
  bool on = false;
  int asked = 0;
  int operator()() {
    ++asked;
    return on ? code : MDB_SUCCESS;
  }
};

TEST(ledger_write_faults, a_commit_failing_for_a_full_map_stores_nothing_and_says_how_to_fix_it) {
  test::temp_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto fault = std::make_shared<switchable_fault>();
  store->set_commit_fault([fault] { return (*fault)(); });
  auto p1 = page("s", "", "c1", {"t1", "t2"});
  auto p2 = page("s", "c1", "c2", {"t3"});
  ASSERT_TRUE(store->commit({&p1}));
  auto before = *store->stats();

  fault->on = true;
  auto failed = store->commit({&p2});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ec::storage_full);
  EXPECT_NE(failed.error().message.find("MDB_MAP_FULL"), std::string::npos) << failed.error().message;
  EXPECT_NE(failed.error().message.find("map_size_mib"), std::string::npos) << failed.error().message;
  // Nothing of it: no page, record, audit entry, and the checkpoint where the first page left it.
  auto after = *store->stats();
  EXPECT_EQ(after.pages, before.pages);
  EXPECT_EQ(after.record_versions, before.record_versions);
  EXPECT_EQ(after.audit_entries, before.audit_entries);
  auto cp = **store->checkpoint("s");
  EXPECT_EQ(cp.cursor, "c1");
  EXPECT_EQ(cp.records_in, 2u);

  // The map grows (here: the fault goes); the same page commits with the next sequence numbers.
  fault->on = false;
  auto ok = store->commit({&p2});
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ((*ok)[0].page_seq, 2u);
  EXPECT_EQ((*ok)[0].inserted, 1u);
  EXPECT_EQ((**store->checkpoint("s")).cursor, "c2");
  auto page2 = store->page(2);
  ASSERT_TRUE(page2 && *page2);
  EXPECT_EQ((*page2)->cursor_after, "c2");
  auto chain = store->verify_audit();
  ASSERT_TRUE(chain);
  EXPECT_EQ(chain->first_broken_seq, 0u) << chain->detail;
}

TEST(ledger_write_faults, every_write_path_sees_the_fault_and_no_read_asks_it) {
  test::temp_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto fault = std::make_shared<switchable_fault>();
  fault->code = EIO;
  store->set_commit_fault([fault] { return (*fault)(); });
  auto p1 = page("s", "", "c1", {"t1"});
  ASSERT_TRUE(store->commit({&p1}));
  EXPECT_EQ(fault->asked, 1);

  // Reads never ask.
  ASSERT_TRUE(store->checkpoint("s"));
  ASSERT_TRUE(store->stats());
  ASSERT_TRUE(store->for_each_record([](const stored_record&) {}));
  EXPECT_EQ(fault->asked, 1);

  fault->on = true;
  attempt_record a;
  a.endpoint = "s";
  a.request = "GET /";
  auto attempts = store->append_attempts({a});
  auto cursor = store->set_cursor("s", "elsewhere", "console");
  auto audited = store->audit("endpoint.paused", "console", "s", "");
  for (const status* st : {&attempts, &cursor, &audited}) {
    ASSERT_FALSE(*st);
    EXPECT_EQ(st->error().code, ec::storage_failure);
    EXPECT_NE(st->error().message.find("Input/output error"), std::string::npos) << st->error().message;
  }
  EXPECT_EQ(fault->asked, 4);
  EXPECT_EQ((**store->checkpoint("s")).cursor, "c1");
  std::size_t attempts_stored = 0;
  ASSERT_TRUE(store->for_each_attempt([&](const attempt_record&) { ++attempts_stored; }));
  EXPECT_EQ(attempts_stored, 0u);

  // Removed, it costs nothing and is not asked.
  store->set_commit_fault({});
  EXPECT_TRUE(store->set_cursor("s", "c1", "console"));
  EXPECT_EQ(fault->asked, 4);
}

TEST(ledger_write_faults, a_read_ahead_page_is_refused_when_its_sources_first_page_never_committed) {
  // The first page's commit failed; the page read ahead after it reaches the ledger on its own.
  // With no checkpoint to fence against, storing it would move the cursor past the first page's
  // records for good.
  test::temp_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto p1 = page("s", "", "c1", {"t1", "t2"});
  auto p2 = page("s", "c1", "c2", {"t3"});
  p2.after_uncommitted = true;
  auto alone = store->commit({&p2});
  ASSERT_TRUE(alone) << alone.error().message;
  EXPECT_NE((*alone)[0].refused.find("cursor fence"), std::string::npos);
  EXPECT_EQ(store->stats()->pages, 0u);
  EXPECT_FALSE(*store->checkpoint("s"));

  // In order, in one transaction or in two, both are stored.
  auto together = store->commit({&p1, &p2});
  ASSERT_TRUE(together) << together.error().message;
  EXPECT_TRUE((*together)[0].refused.empty());
  EXPECT_TRUE((*together)[1].refused.empty());
  auto cp = **store->checkpoint("s");
  EXPECT_EQ(cp.cursor, "c2");
  EXPECT_EQ(cp.records_in, 3u);

  // A flagged page of a source that has a checkpoint goes through the ordinary fence.
  auto p3 = page("s", "c2", "c3", {"t4"});
  p3.after_uncommitted = true;
  auto next = store->commit({&p3});
  ASSERT_TRUE(next);
  EXPECT_TRUE((*next)[0].refused.empty());
  EXPECT_EQ((**store->checkpoint("s")).cursor, "c3");
}

}  // namespace
}  // namespace dspsync
