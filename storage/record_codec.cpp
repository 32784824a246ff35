#include "storage/record_codec.hpp"

#include <cstring>

#include "storage/codec.hpp"
#include "storage/lmdb.hpp"

namespace dspsync::record_codec {

namespace {

// Header: format(1) state(1) version(4, BE) key(32) prev_seq(8) page_seq(8) position(8) = 62 bytes.
constexpr std::size_t header_size = 62;
constexpr std::size_t key_offset = 6;

void put_u32be(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint32_t get_u32be(std::string_view s) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

[[noreturn]] void corrupt() { throw lmdb::error("corrupt record value", MDB_CORRUPTED); }

}  // namespace

void encode_content(const royalty_record& r, std::string& out) {
  codec::writer w(out);
  w.str(r.isrc);
  w.str(r.upc);
  w.str(r.iswc);
  w.str(r.dsp);
  w.str(r.territory);
  w.str(r.territory_raw);
  w.str(r.reporting_period);
  w.str(r.transaction_id);
  w.str(r.currency);
  w.str(r.title);
  w.varint(r.artists.size());
  for (const auto& a : r.artists) w.str(a);
  w.svarint(r.units);
  w.svarint(r.revenue.units());
}

void encode(const keyed_record& kr, uint32_t version, uint64_t prev_seq, uint64_t page_seq,
            std::string_view content, std::string& out) {
  codec::writer w(out);
  w.u8(1);
  w.u8(static_cast<uint8_t>(kr.state));
  put_u32be(out, version);
  w.raw(std::string_view(reinterpret_cast<const char*>(kr.key.data()), kr.key.size()));
  w.u64be(prev_seq);
  w.u64be(page_seq);
  w.u64be(kr.position);
  w.str(content);
  w.str(kr.faults);
}

std::string_view key_of(std::string_view value) {
  if (value.size() < header_size) corrupt();
  return value.substr(key_offset, 32);
}

std::string_view content_of(std::string_view value) {
  if (value.size() < header_size) corrupt();
  codec::reader r(value.substr(header_size));
  auto c = r.str();
  if (!r.ok()) corrupt();
  return c;
}

uint64_t prev_of(std::string_view value) {
  if (value.size() < header_size) corrupt();
  return codec::reader::decode_u64be(value.substr(38, 8));
}

uint32_t version_of(std::string_view value) {
  if (value.size() < header_size) corrupt();
  return get_u32be(value.substr(2, 4));
}

stored_record decode(uint64_t seq, std::string_view value) {
  if (value.size() < header_size || value[0] != 1) corrupt();
  stored_record s;
  s.seq = seq;
  s.state = static_cast<record_state>(static_cast<uint8_t>(value[1]));
  s.version = get_u32be(value.substr(2, 4));
  std::memcpy(s.key.data(), value.data() + key_offset, 32);
  s.prev_seq = codec::reader::decode_u64be(value.substr(38, 8));
  s.page_seq = codec::reader::decode_u64be(value.substr(46, 8));
  s.position = codec::reader::decode_u64be(value.substr(54, 8));
  codec::reader outer(value.substr(header_size));
  codec::reader r(outer.str());
  s.faults = std::string(outer.str());
  auto& rec = s.record;
  rec.isrc = std::string(r.str());
  rec.upc = std::string(r.str());
  rec.iswc = std::string(r.str());
  rec.dsp = std::string(r.str());
  rec.territory = std::string(r.str());
  rec.territory_raw = std::string(r.str());
  rec.reporting_period = std::string(r.str());
  rec.transaction_id = std::string(r.str());
  rec.currency = std::string(r.str());
  rec.title = std::string(r.str());
  auto n = r.varint();
  for (uint64_t i = 0; i < n && r.ok(); ++i) rec.artists.emplace_back(r.str());
  rec.units = r.svarint();
  rec.revenue = money::from_units(r.svarint());
  if (!r.ok() || !outer.ok()) corrupt();
  return s;
}

}  // namespace dspsync::record_codec
