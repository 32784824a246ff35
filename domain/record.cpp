#include "domain/record.hpp"

namespace dspsync {

const char* to_string(record_state state) {
  switch (state) {
    case record_state::ingested:
      return "ingested";
    case record_state::validated:
      return "validated";
    case record_state::pending_reconciliation:
      return "pending_reconciliation";
    case record_state::reconciled:
      return "reconciled";
    case record_state::settled:
      return "settled";
    case record_state::quarantined:
      return "quarantined";
  }
  return "unknown";
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<record_key> key_from_hex(std::string_view hex) {
  record_key key{};
  if (hex.size() != key.size() * 2) return std::nullopt;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    key[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return key;
}

std::string to_hex(const record_key& key) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(key.size() * 2, '0');
  for (std::size_t i = 0; i < key.size(); ++i) {
    out[2 * i] = digits[key[i] >> 4];
    out[2 * i + 1] = digits[key[i] & 0xF];
  }
  return out;
}

bool royalty_record::operator==(const royalty_record& o) const {
  return isrc == o.isrc && upc == o.upc && iswc == o.iswc && dsp == o.dsp && territory == o.territory &&
         territory_raw == o.territory_raw && reporting_period == o.reporting_period &&
         transaction_id == o.transaction_id && currency == o.currency && title == o.title &&
         artists == o.artists && units == o.units && revenue == o.revenue;
}

}  // namespace dspsync
