#pragma once

// An in-memory filter over 8-byte key prefixes: "certainly absent" or "maybe present".

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dspsync {

/// A blocked Bloom filter over 8-byte key prefixes (big-endian numbers). A prefix is the start of a
/// SHA-256, so prefixes are already uniform: the block is chosen from the prefix's own bits, and
/// the bits inside the block from a mix of them. Each prefix sets 6 bits in one 512-bit block (one
/// cache line), so a lookup costs at most one cache miss. Sized at `bits_per_key` bits for each of
/// `capacity` prefixes; with 10 bits a key at capacity, about 1-2 % of absent prefixes answer
/// "maybe". Past capacity it still never answers "absent" for an added prefix; `full()` says
/// when to build a larger one. Not thread-safe: its owner serialises access.
class prefix_filter {
 public:
  static constexpr uint64_t bits_per_key = 10;

  explicit prefix_filter(uint64_t capacity)
      : capacity_(std::max<uint64_t>(1, capacity)), blocks_(blocks_for(capacity_)), words_(blocks_ * 8, 0) {}

  void add(uint64_t prefix) {
    uint64_t* block = &words_[block_of(prefix) * 8];
    uint64_t h = mix(prefix);
    for (int i = 0; i < hashes; ++i, h >>= 9) block[(h >> 6) & 7] |= uint64_t{1} << (h & 63);
    ++added_;
  }

  /// False only when `prefix` was never added.
  bool may_contain(uint64_t prefix) const {
    const uint64_t* block = &words_[block_of(prefix) * 8];
    uint64_t h = mix(prefix);
    for (int i = 0; i < hashes; ++i, h >>= 9)
      if ((block[(h >> 6) & 7] & (uint64_t{1} << (h & 63))) == 0) return false;
    return true;
  }

  uint64_t capacity() const { return capacity_; }
  /// Prefixes added (each add counts, repeats too).
  uint64_t added() const { return added_; }
  /// More prefixes added than it was sized for: its false "maybe"s are getting more frequent.
  bool full() const { return added_ > capacity_; }
  uint64_t bytes() const { return words_.size() * sizeof(uint64_t); }

  /// The filter as bytes, with `stamp` (what the owner needs to know it is still current):
  /// a header of five 64-bit words (byte-order mark, stamp, capacity, added, blocks), then the bits,
  /// in this machine's byte order.
  std::string serialize(uint64_t stamp) const {
    std::string out(header_words * 8 + bytes(), '\0');
    const uint64_t header[header_words] = {byte_order_mark, stamp, capacity_, added_, blocks_};
    std::memcpy(out.data(), header, sizeof header);
    std::memcpy(out.data() + sizeof header, words_.data(), bytes());
    return out;
  }
  /// The filter `serialize` wrote, if `bytes` is one (of this machine's byte order, with its size
  /// matching its header) and its stamp is `stamp`; nothing otherwise.
  static std::optional<prefix_filter> parse(std::string_view bytes, uint64_t stamp) {
    uint64_t header[header_words];
    if (bytes.size() < sizeof header) return std::nullopt;
    std::memcpy(header, bytes.data(), sizeof header);
    // The capacity decides the size allocated: it must agree with the bytes actually there.
    if (header[0] != byte_order_mark || header[1] != stamp || header[2] == 0 || header[2] > max_capacity ||
        blocks_for(header[2]) != header[4] || bytes.size() - sizeof header != header[4] * 64)
      return std::nullopt;
    prefix_filter f(header[2]);
    f.added_ = header[3];
    std::memcpy(f.words_.data(), bytes.data() + sizeof header, f.bytes());
    return f;
  }

 private:
  static constexpr int hashes = 6;
  static constexpr std::size_t header_words = 5;
  static constexpr uint64_t byte_order_mark =
      0x0102030405060708ULL;  // 6 x 9 bits (word in block, bit in word) of one 64-bit mix

  /// Far beyond any ledger (2^40 keys); keeps the size arithmetic from overflowing.
  static constexpr uint64_t max_capacity = uint64_t{1} << 40;
  static uint64_t blocks_for(uint64_t capacity) {
    return std::max<uint64_t>(1, (std::min(capacity, max_capacity) * bits_per_key + 511) / 512);
  }
  uint64_t block_of(uint64_t prefix) const {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(prefix) * blocks_) >> 64);
  }
  /// splitmix64's finaliser: the bits inside the block independent of those that chose it.
  static uint64_t mix(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }

  uint64_t capacity_;
  uint64_t blocks_;
  std::vector<uint64_t> words_;
  uint64_t added_ = 0;
};

}  // namespace dspsync
