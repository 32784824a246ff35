#pragma once

#include <array>
#include <memory>
#include <string>
#include <utility>
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

  /// How a pushed delivery (a webhook) is read.
  struct payload_options {
    /// Where the records array is.
    std::string records_pointer;
    /// A record is an update when the value at this pointer inside it is the string `update_value`;
    /// "" marks none.
    std::string update_pointer;
    std::string update_value;
  };

  /// Maps a pushed delivery like `map`, without pagination: `cursor_after` is set to
  /// `cursor_before` and `caught_up` to true; records are read at `opts.records_pointer` and marked
  /// as updates by `opts.update_pointer`.
  void map_payload(ingest_batch& batch, const payload_options& opts);

  /// The endpoint this mapper serves.
  const endpoint_config& endpoint() const { return ep_; }

 private:
  struct alias {
    bool pointer;
    std::string name;
    /// Where the member was in the last record that had it: records of a page usually list their
    /// members in one order, so it is tried before a search of the object.
    std::size_t position_hint = 0;
  };
  /// Resets `batch`'s results, hashes its body and parses it: the document and its records array at
  /// `records_pointer`; nulls (and `page_errors` set) when the page is corrupt.
  std::pair<const boost::json::value*, const boost::json::array*> parse_page(
      ingest_batch& batch, const std::string& records_pointer);
  /// Maps, validates and keys every element of `arr` (the records array at `records_pointer`).
  void map_records(ingest_batch& batch, const boost::json::array& arr, const std::string& records_pointer,
                   const payload_options* updates);
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
