// HAR reader: any bytes either fail with a message naming the file, or give an archive that
// write_har() writes back and parse_har() reads again to the very same archive (an absent
// startedDateTime, which HAR requires, is written as the epoch; a time may move by an ulp, see
// same_time).

#include <cmath>

#include "protocol/har.hpp"
#include "tests/fuzz/fuzz_targets.hpp"

namespace dspsync::fuzz {

namespace {

bool same_headers(const std::vector<har_header>& a, const std::vector<har_header>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].value != b[i].value) return false;
  return true;
}

/// Boost.JSON 1.81 parses decimal numbers to within an ulp, not always to the nearest double
/// (`7.4E31` reads as 7.4000000000000005E31), so a time written and read back may move by an ulp.
/// HAR times are informational (money never passes through a double).
bool same_time(double a, double b) { return a == b || std::fabs(a - b) <= std::fabs(a) * 1e-15; }

bool same_entry(const har_entry& a, const har_entry& b) {
  return a.method == b.method && a.url == b.url && same_headers(a.request_headers, b.request_headers) &&
         a.request_body == b.request_body && a.status == b.status && a.status_text == b.status_text &&
         same_headers(a.response_headers, b.response_headers) && a.response_body == b.response_body &&
         (a.started == b.started || (a.started.empty() && b.started == "1970-01-01T00:00:00.000Z")) &&
         same_time(a.time_ms, b.time_ms);
}

}  // namespace

int fuzz_har(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto archive = parse_har(text, "fuzz.har");
  if (!archive) {
    FUZZ_CHECK("har", archive.error().message.find("fuzz.har") != std::string::npos,
               "error does not name the file: " + archive.error().message);
    return 0;
  }
  const std::string written = write_har(*archive);
  auto again = parse_har(written, "rewritten.har");
  FUZZ_CHECK("har", static_cast<bool>(again),
             "write_har output does not parse: " + (again ? std::string() : again.error().message));
  FUZZ_CHECK("har", again->entries.size() == archive->entries.size(), "entry count changed in a round trip");
  for (std::size_t i = 0; i < archive->entries.size(); ++i)
    FUZZ_CHECK("har", same_entry(archive->entries[i], again->entries[i]),
               "entry " + std::to_string(i) + " changed in a round trip");
  return 0;
}

}  // namespace dspsync::fuzz

DSPSYNC_FUZZ_ENTRY(fuzz_har)
