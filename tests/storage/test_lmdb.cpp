// The LMDB wrapper's lifetimes: a cursor may outlive the transaction it was opened in (declared in
// an outer scope, or left open when a commit throws); the transaction closes it first, so LMDB's own
// release of a write transaction's cursors never meets a second close (AddressSanitizer would
// report the double free this test guards against).

#include <gtest/gtest.h>

#include "storage/lmdb.hpp"
#include "tests/support/temp_dir.hpp"

namespace dspsync::test {
namespace {

struct fixture {
  temp_dir dir;
  lmdb::env env = lmdb::env::open(dir.path(), 16u << 20, 4, 0);
  MDB_dbi dbi = 0;
  fixture() {
    auto t = lmdb::txn::begin(env, false);
    dbi = lmdb::open_db(t, "things", MDB_CREATE);
    lmdb::put(t, dbi, "a", "1");
    lmdb::put(t, dbi, "b", "2");
    t.commit();
  }
};

TEST(lmdb_wrapper, a_cursor_that_outlives_its_write_transaction_is_closed_once) {
  fixture f;
  auto t = lmdb::txn::begin(f.env, false);
  lmdb::cursor c(t, f.dbi);
  std::string_view k, v;
  ASSERT_TRUE(c.get(k, v, MDB_FIRST));
  EXPECT_EQ(k, "a");
  lmdb::put(t, f.dbi, "c", "3");
  t.commit();  // closes `c` before LMDB frees the transaction
  EXPECT_EQ(c.get(), nullptr);
}  // `c` is destroyed after its transaction: nothing left to close

TEST(lmdb_wrapper, cursors_of_an_aborted_or_moved_transaction_are_closed_with_it) {
  fixture f;
  {
    auto t = lmdb::txn::begin(f.env, false);
    lmdb::cursor c(t, f.dbi);
    lmdb::cursor moved(std::move(c));
    EXPECT_EQ(c.get(), nullptr);
    EXPECT_NE(moved.get(), nullptr);
    lmdb::txn other = std::move(t);  // the cursor list moves with the transaction
    other.abort();
    EXPECT_EQ(moved.get(), nullptr);
  }
  // What was aborted was not written; what was committed before is intact.
  auto r = lmdb::txn::begin(f.env, true);
  std::string_view v;
  EXPECT_TRUE(lmdb::get(r, f.dbi, "b", v));
  EXPECT_FALSE(lmdb::get(r, f.dbi, "c", v));
  {
    lmdb::cursor c(r, f.dbi);  // closed by its own destructor, before the read transaction ends
    std::string_view k;
    ASSERT_TRUE(c.get(k, v, MDB_LAST));
    EXPECT_EQ(k, "b");
  }
}

}  // namespace
}  // namespace dspsync::test
