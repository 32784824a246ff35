#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "domain/expected.hpp"

namespace dspsync {

// HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) is dspsync's cassette format: users
// record real DSP traffic with a browser, mitmproxy or Charles and replay it. Only what replay needs
// is kept; cookies, timings beyond the total and cache data are dropped on read.

/// One HTTP header as recorded (name case preserved).
struct har_header {
  std::string name;
  std::string value;
};

/// One recorded request/response exchange.
struct har_entry {
  std::string method;
  /// Absolute URL as recorded (`https://api.dsp.example/v1/streams?cursor=abc`).
  std::string url;
  std::vector<har_header> request_headers;
  /// `request.postData.text` (empty when absent).
  std::string request_body;
  int status = 200;
  std::string status_text;
  std::vector<har_header> response_headers;
  /// `response.content.text`, base64-decoded when `content.encoding` is `base64`.
  std::string response_body;
  /// `startedDateTime` (ISO 8601).
  std::string started;
  /// Total time of the exchange in milliseconds.
  double time_ms = 0;
};

/// A HAR log: its entries in recorded order.
struct har_archive {
  std::vector<har_entry> entries;
};

/// Parses a HAR document. `source` names the input in errors, which name the offending field, e.g.
/// `flows.har: log.entries[3].response.status: expected a number`. Fails with `bad_json` for text that
/// is not JSON and `bad_har` for JSON that is not a HAR log.
expected<har_archive> parse_har(std::string_view json_text, std::string_view source);

/// Reads and parses a HAR file, streaming it through the parser so that only the document tree, not
/// the file text as well, is held in memory. Fails with `io_failure` when the file cannot be read.
expected<har_archive> load_har(const std::string& path);

/// Writes a valid HAR 1.2 document (`creator` is dspsync; every required field present). Bodies that
/// are not valid UTF-8 are written base64-encoded with `encoding: "base64"`.
std::string write_har(const har_archive& archive);

}  // namespace dspsync
