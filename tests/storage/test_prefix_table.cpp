#include "storage/prefix_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <set>
#include <utility>
#include <vector>

namespace {

using dspsync::prefix_table;

uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::vector<uint64_t> seqs_of(const prefix_table& t, uint64_t prefix) {
  std::vector<uint64_t> out;
  t.find_if(prefix, [&](uint64_t seq) {
    out.push_back(seq);
    return false;
  });
  std::sort(out.begin(), out.end());
  return out;
}

TEST(prefix_table, matches_a_multiset_through_inserts_removals_and_growth) {
  // Random inserts and removals against std::multiset, with prefixes drawn from a small set so
  // that prefixes repeat, runs of occupied slots wrap round the array and removals shift entries
  // back across the wrap; every prefix's sequences must match after every step.
  for (uint64_t pool : {7u, 300u, 100000u}) {
    prefix_table t;
    std::multiset<std::pair<uint64_t, uint64_t>> model;
    std::vector<uint64_t> prefixes;
    uint64_t rng = pool;
    for (uint64_t i = 0; i < pool; ++i) prefixes.push_back(splitmix(rng));
    uint64_t next_seq = 1;
    const int steps = pool < 100 ? 3000 : 20000;  // a few prefixes make long runs: slower steps
    for (int step = 0; step < steps; ++step) {
      const uint64_t prefix = prefixes[splitmix(rng) % prefixes.size()];
      if (model.empty() || splitmix(rng) % 3 != 0) {
        t.insert(prefix, next_seq);
        model.insert({prefix, next_seq++});
      } else {
        auto it = model.begin();
        std::advance(it, static_cast<long>(splitmix(rng) % std::min<std::size_t>(model.size(), 50)));
        ASSERT_TRUE(t.erase(it->first, it->second)) << step;
        ASSERT_FALSE(t.erase(it->first, next_seq + 1)) << step;  // not there
        model.erase(it);
      }
      ASSERT_EQ(t.size(), model.size());
      if (step % 97 == 0 || pool == 7) {
        for (std::size_t n = 0; n < std::min<std::size_t>(prefixes.size(), 400); ++n) {
          const uint64_t p = prefixes[(n * 7919 + static_cast<std::size_t>(step)) % prefixes.size()];
          std::vector<uint64_t> want;
          for (auto it = model.lower_bound({p, 0}); it != model.end() && it->first == p; ++it)
            want.push_back(it->second);
          ASSERT_EQ(seqs_of(t, p), want) << "pool " << pool << " step " << step;
        }
      }
    }
    const auto all = t.sorted();
    ASSERT_EQ(all.size(), model.size());
    EXPECT_TRUE(std::equal(all.begin(), all.end(), model.begin()));
  }
}

TEST(prefix_table, stops_at_the_first_match_the_caller_accepts) {
  prefix_table t;
  EXPECT_FALSE(t.find_if(42, [](uint64_t) { return true; }));  // empty
  EXPECT_FALSE(t.erase(42, 1));
  t.insert(42, 1);
  t.insert(42, 2);
  t.insert(43, 3);
  int calls = 0;
  EXPECT_TRUE(t.find_if(42, [&](uint64_t) { return ++calls == 1; }));
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(t.find_if(44, [](uint64_t) { return true; }));
  EXPECT_EQ(seqs_of(t, 42), (std::vector<uint64_t>{1, 2}));
}

TEST(prefix_table, a_cleared_table_is_empty_and_fills_again) {
  prefix_table t;
  uint64_t s = 7;
  std::vector<uint64_t> first;
  for (uint64_t seq = 1; seq <= 1000; ++seq) {
    first.push_back(splitmix(s));
    t.insert(first.back(), seq);
  }
  t.clear();
  EXPECT_EQ(t.size(), 0u);
  EXPECT_TRUE(t.sorted().empty());
  for (auto p : first) ASSERT_TRUE(seqs_of(t, p).empty());
  EXPECT_FALSE(t.erase(first.front(), 1));
  // Filled again (over the kept array) it answers for the new entries only.
  for (uint64_t seq = 1001; seq <= 1500; ++seq) t.insert(first[seq - 1001], seq);
  EXPECT_EQ(t.size(), 500u);
  EXPECT_EQ(seqs_of(t, first[0]), (std::vector<uint64_t>{1001}));
  EXPECT_TRUE(seqs_of(t, first[999]).empty());
}

}  // namespace
