#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/value.hpp>

#include "domain/expected.hpp"

namespace dspsync {

/// Parses JSON documents keeping every number as its exact text, stored as a JSON string, so that
/// money never passes through a binary float (`12.30` stays "12.30"). One parser per actor: it
/// reuses its memory between documents; a returned value lives until the next `parse`.
class json_text_parser {
 public:
  json_text_parser();
  ~json_text_parser();
  json_text_parser(const json_text_parser&) = delete;
  json_text_parser& operator=(const json_text_parser&) = delete;

  /// Parses a whole document. Fails with `bad_json` naming `source`, the line and column.
  expected<const boost::json::value*> parse(std::string_view text, std::string_view source);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The raw byte spans of the elements of the array at `pointer` (RFC 6901) in `text`, found by a
/// structural scan without building values. Used to keep a bad record's bytes exactly as received.
/// Empty when the pointer does not lead to an array.
std::vector<std::string_view> array_element_spans(std::string_view text, std::string_view pointer);

/// The raw text of the value at `pointer` in `text` (structural scan, no values built); nullopt
/// when the pointer leads nowhere or the text is malformed on the way.
std::optional<std::string_view> raw_value_at(std::string_view text, std::string_view pointer);

/// `raw_value_at` for several pointers in one pass over the document's top-level members (a page
/// is scanned once, not once per pointer); one entry per pointer, in order.
std::vector<std::optional<std::string_view>> raw_values_at(std::string_view text,
                                                           const std::vector<std::string_view>& pointers);

/// The raw byte spans of the elements of `array_text`, which must be exactly one array (as
/// `raw_value_at` returns it); nullopt when it is not an array or is malformed.
std::optional<std::vector<std::string_view>> array_elements(std::string_view array_text);

}  // namespace dspsync
