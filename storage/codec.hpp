#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace dspsync::codec {

// The byte layout of stored values: LEB128 varints, zig-zag for signed numbers, strings as a varint
// length then bytes, fixed-width big-endian integers for keys (so LMDB's byte order is numeric order
// and MDB_APPEND applies).

/// Appends to a string buffer.
class writer {
 public:
  explicit writer(std::string& out) : out_(out) {}
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void svarint(int64_t v) { varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void str(std::string_view s) {
    varint(s.size());
    out_.append(s.data(), s.size());
  }
  void raw(std::string_view s) { out_.append(s.data(), s.size()); }
  void u64be(uint64_t v) {
    for (int i = 7; i >= 0; --i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }

 private:
  std::string& out_;
};

/// Reads what `writer` wrote; `ok()` turns false on truncated or malformed input, and every read
/// after that returns zero values (callers check once at the end).
class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return in_.empty(); }
  std::string_view rest() const { return in_; }
  uint8_t u8() {
    if (in_.empty()) return fail(), 0;
    auto v = static_cast<uint8_t>(in_.front());
    in_.remove_prefix(1);
    return v;
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) return fail(), 0;
      auto b = static_cast<uint8_t>(in_.front());
      in_.remove_prefix(1);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return fail(), 0;
  }
  int64_t svarint() {
    uint64_t u = varint();
    return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  std::string_view str() {
    uint64_t n = varint();
    if (n > in_.size()) return fail(), std::string_view{};
    auto s = in_.substr(0, n);
    in_.remove_prefix(n);
    return s;
  }
  std::string_view raw(std::size_t n) {
    if (n > in_.size()) return fail(), std::string_view{};
    auto s = in_.substr(0, n);
    in_.remove_prefix(n);
    return s;
  }
  uint64_t u64be() {
    auto s = raw(8);
    if (!ok_) return 0;
    return decode_u64be(s);
  }
  static uint64_t decode_u64be(std::string_view s) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
    return v;
  }

 private:
  void fail() {
    ok_ = false;
    in_ = {};
  }
  std::string_view in_;
  bool ok_ = true;
};

/// An 8-byte big-endian key.
inline std::string u64_key(uint64_t v) {
  std::string out;
  writer(out).u64be(v);
  return out;
}

}  // namespace dspsync::codec
