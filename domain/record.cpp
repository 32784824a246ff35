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
