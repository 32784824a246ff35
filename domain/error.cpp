#include "domain/error.hpp"

namespace dspsync {

const char* to_string(ec code) {
  switch (code) {
    case ec::none:
      return "none";
    case ec::missing_field:
      return "missing_field";
    case ec::bad_isrc:
      return "bad_isrc";
    case ec::bad_gtin:
      return "bad_gtin";
    case ec::bad_iswc:
      return "bad_iswc";
    case ec::bad_territory:
      return "bad_territory";
    case ec::bad_currency:
      return "bad_currency";
    case ec::bad_period:
      return "bad_period";
    case ec::bad_number:
      return "bad_number";
    case ec::amount_precision:
      return "amount_precision";
    case ec::amount_overflow:
      return "amount_overflow";
    case ec::bad_value:
      return "bad_value";
    case ec::bad_json:
      return "bad_json";
    case ec::missing_records:
      return "missing_records";
    case ec::bad_config:
      return "bad_config";
    case ec::transport_failure:
      return "transport_failure";
    case ec::storage_failure:
      return "storage_failure";
    case ec::io_failure:
      return "io_failure";
    case ec::bad_har:
      return "bad_har";
    case ec::bad_argument:
      return "bad_argument";
    case ec::bad_signature:
      return "bad_signature";
    case ec::storage_full:
      return "storage_full";
  }
  return "unknown";
}

}  // namespace dspsync
