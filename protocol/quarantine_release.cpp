#include "protocol/quarantine_release.hpp"

#include "protocol/page_mapper.hpp"

namespace dspsync {

expected<keyed_record> revalidate_quarantined(const endpoint_config& ep, const territory_options& territories,
                                              std::string_view raw, uint64_t position) {
  // A one-record page of the endpoint, with pagination that needs nothing from the page: the
  // mapping, validation and key derivation are exactly the validators'.
  endpoint_config one = ep;
  one.pagination.style = pagination_style::offset;
  one.pagination.records_pointer = "/records";
  one.pagination.total_pointer.clear();
  one.pagination.next_pointer.clear();
  one.pagination.page_size = 2;
  ingest_batch batch;
  batch.source = ep.name;
  batch.request = "release from quarantine";
  batch.cursor_before = "0";
  batch.body = "{\"records\":[";
  batch.body.append(raw.data(), raw.size());
  batch.body += "]}";
  page_mapper mapper(one, territories);
  mapper.map(batch);
  if (!batch.page_errors.empty())
    return failure{ec::bad_json,
                   "the raw bytes are not one JSON value: " + batch.page_errors.front().message};
  if (batch.records_in != 1)
    return failure{ec::bad_value,
                   "the raw bytes hold " + std::to_string(batch.records_in) + " records, not one"};
  if (!batch.quarantined.empty()) {
    std::string faults;
    for (const auto& f : batch.quarantined.front().errors) {
      if (!faults.empty()) faults += '\n';
      faults += std::string(to_string(f.code)) + ": " + f.message;
    }
    return failure{batch.quarantined.front().errors.empty() ? ec::bad_value
                                                            : batch.quarantined.front().errors.front().code,
                   faults};
  }
  keyed_record kr = std::move(batch.records.front());
  kr.position = position;
  return kr;
}

}  // namespace dspsync
