#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "storage/prefix_filter.hpp"

namespace {

using dspsync::prefix_filter;

/// Distinct, uniformly spread 64-bit numbers, like the SHA-256 prefixes the filter holds.
std::vector<uint64_t> prefixes(uint64_t seed, std::size_t n) {
  std::vector<uint64_t> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    out.push_back(z ^ (z >> 31));
  }
  return out;
}

TEST(prefix_filter, never_answers_absent_for_an_added_prefix_even_past_capacity) {
  prefix_filter f(1000);
  const auto added = prefixes(1, 5000);  // five times its capacity
  for (std::size_t i = 0; i < added.size(); ++i) {
    f.add(added[i]);
    EXPECT_EQ(f.full(), i + 1 > 1000) << i;
  }
  for (auto p : added) ASSERT_TRUE(f.may_contain(p)) << p;
  EXPECT_EQ(f.added(), 5000u);
}

TEST(prefix_filter, answers_maybe_for_few_absent_prefixes_at_capacity) {
  prefix_filter f(100000);
  for (auto p : prefixes(7, 100000)) f.add(p);
  std::size_t maybe = 0;
  const auto absent = prefixes(99, 200000);
  for (auto p : absent) maybe += f.may_contain(p) ? 1 : 0;
  // 10 bits a prefix, 6 bits set in one 512-bit block: about 1 % (a plain Bloom filter of the
  // same size: 0.8 %). 3 % would mean the block or bit choice is skewed.
  EXPECT_LT(maybe, absent.size() * 3 / 100);
  EXPECT_GT(f.bytes(), 100000u * prefix_filter::bits_per_key / 8 - 64);
}

TEST(prefix_filter, an_empty_filter_holds_nothing_and_the_extremes_of_the_key_space_work) {
  prefix_filter f(1);
  EXPECT_FALSE(f.may_contain(0));
  EXPECT_FALSE(f.may_contain(UINT64_MAX));
  f.add(0);
  f.add(UINT64_MAX);
  EXPECT_TRUE(f.may_contain(0));
  EXPECT_TRUE(f.may_contain(UINT64_MAX));
  EXPECT_TRUE(f.full());
}

TEST(prefix_filter, serialized_it_comes_back_whole_and_only_with_its_stamp) {
  prefix_filter f(2000);
  const auto added = prefixes(3, 1500);
  for (auto p : added) f.add(p);
  const std::string bytes = f.serialize(42);
  auto back = prefix_filter::parse(bytes, 42);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->capacity(), 2000u);
  EXPECT_EQ(back->added(), 1500u);
  for (auto p : added) ASSERT_TRUE(back->may_contain(p));
  for (auto p : prefixes(5, 1000)) EXPECT_EQ(back->may_contain(p), f.may_contain(p));
  EXPECT_FALSE(prefix_filter::parse(bytes, 43));                              // another stamp
  EXPECT_FALSE(prefix_filter::parse(bytes.substr(0, bytes.size() - 1), 42));  // cut short
  EXPECT_FALSE(prefix_filter::parse(bytes.substr(0, 20), 42));                // not even a header
  std::string flipped = bytes;
  std::reverse(flipped.begin(), flipped.begin() + 8);  // the other byte order
  EXPECT_FALSE(prefix_filter::parse(flipped, 42));
  // A capacity that disagrees with the bytes there (a damaged header) is refused before anything
  // is allocated for it.
  for (uint64_t capacity : {uint64_t{1} << 50, uint64_t{4000}}) {
    std::string damaged = bytes;
    std::memcpy(damaged.data() + 16, &capacity, 8);
    EXPECT_FALSE(prefix_filter::parse(damaged, 42)) << capacity;
  }
}

}  // namespace
