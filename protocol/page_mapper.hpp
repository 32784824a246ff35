#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "domain/batch.hpp"
#include "domain/idempotency.hpp"
#include "domain/validation.hpp"
#include "protocol/json_text.hpp"

namespace dspsync {

/// Turns one fetched JSON page into an `ingest_batch`: parses it (numbers kept as text), finds the
/// records array, maps each record's fields through the endpoint's aliases, validates, derives the
/// idempotency key and works out the next cursor. Pure apart from its reused buffers: one per
/// validator actor.
class page_mapper {
 public:
  page_mapper(const endpoint_config& ep, territory_options territories);

  /// Fills `records`, `quarantined`, `records_in`, `body_sha256`, `cursor_after`, `caught_up`, or
  /// `page_errors` when the page as a whole is corrupt (not JSON, no records array, a next-page
  /// value that cannot be followed). Expects `source`, `request`, `body` and `cursor_before` set.
  void map(ingest_batch& batch);

  /// The endpoint this mapper serves.
  const endpoint_config& endpoint() const { return ep_; }

 private:
  struct alias {
    bool pointer;
    std::string name;
  };
  endpoint_config ep_;
  validation_context ctx_;
  std::array<std::vector<alias>, field_count> aliases_;
  json_text_parser parser_;
  key_deriver keys_;
  sha256 body_hash_;
  raw_fields raw_;
  validation_result result_;
};

/// Lower-case hex of a digest.
std::string hex_digest(const record_key& digest);

}  // namespace dspsync
