#pragma once

// The key index's new level in memory: record sequences by 8-byte key prefix, several per prefix.
//
// Open addressing with linear probing in one flat array of (prefix, sequence) slots: a look-up
// usually reads one cache line, where a node-based hash table reads a bucket and a node or two
// (measured: std::unordered_multimap's look-up was 14 % of the ledger thread's time end to end).
// The array is at most half full; removal shifts the entries after it back (no tombstones), so a
// look-up stops at the first empty slot. Sequence 0 marks an empty slot (record sequences start
// at 1).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace dspsync {

class prefix_table {
 public:
  /// Adds the entry (prefix, seq); `seq` is not 0.
  void insert(uint64_t prefix, uint64_t seq) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    std::size_t i = home(prefix);
    while (slots_[i].seq != 0) i = (i + 1) & mask_;
    slots_[i] = {prefix, seq};
    ++size_;
  }

  /// Removes the entry (prefix, seq); false when it is not there.
  bool erase(uint64_t prefix, uint64_t seq) {
    if (size_ == 0) return false;
    std::size_t i = home(prefix);
    while (slots_[i].seq != 0 && !(slots_[i].prefix == prefix && slots_[i].seq == seq)) i = (i + 1) & mask_;
    if (slots_[i].seq == 0) return false;
    // Backward shift: an entry after the hole moves into it unless its home lies cyclically in
    // (hole, entry], where a look-up for it would not pass the hole.
    for (std::size_t j = (i + 1) & mask_; slots_[j].seq != 0; j = (j + 1) & mask_) {
      const std::size_t k = home(slots_[j].prefix);
      const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
      if (stays) continue;
      slots_[i] = slots_[j];
      i = j;
    }
    slots_[i] = {};
    --size_;
    return true;
  }

  /// Calls `f(seq)` for each entry of `prefix` until it returns true; true when one did.
  template <class F>
  bool find_if(uint64_t prefix, F&& f) const {
    if (size_ == 0) return false;
    for (std::size_t i = home(prefix); slots_[i].seq != 0; i = (i + 1) & mask_)
      if (slots_[i].prefix == prefix && f(slots_[i].seq)) return true;
    return false;
  }

  /// Asks the CPU to fetch the slot where a look-up of `prefix` starts (a hint, no effect on
  /// contents): a caller that knows its next keys overlaps their cache misses.
  void prefetch(uint64_t prefix) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[home(prefix)]);
  }

  std::size_t size() const { return size_; }

  /// Removes every entry and keeps the array: a table that fills up to the same size again (the
  /// new level after each merge) does not grow through every power of two again.
  void clear() {
    std::fill(slots_.begin(), slots_.end(), slot{});
    size_ = 0;
  }

  /// Every entry, sorted by prefix then sequence.
  std::vector<std::pair<uint64_t, uint64_t>> sorted() const {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    out.reserve(size_);
    for (const auto& s : slots_)
      if (s.seq != 0) out.emplace_back(s.prefix, s.seq);
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  struct slot {
    uint64_t prefix = 0, seq = 0;
  };
  /// Fibonacci hashing: the top bits of the product, so prefixes that differ only in their low
  /// bits (or only in their high bits) still spread.
  std::size_t home(uint64_t prefix) const {
    return static_cast<std::size_t>((prefix * 0x9E3779B97F4A7C15ULL) >> shift_);
  }
  void grow() {
    std::vector<slot> old = std::move(slots_);
    const std::size_t capacity = std::max<std::size_t>(16, old.size() * 2);
    slots_.assign(capacity, slot{});
    mask_ = capacity - 1;
    shift_ = 64;
    for (std::size_t c = capacity; c > 1; c >>= 1) --shift_;
    size_ = 0;
    for (const auto& s : old)
      if (s.seq != 0) insert(s.prefix, s.seq);
  }

  std::vector<slot> slots_;
  std::size_t mask_ = 0;
  unsigned shift_ = 64;
  std::size_t size_ = 0;
};

}  // namespace dspsync
