#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "domain/catalog.hpp"
#include "domain/expected.hpp"

namespace dspsync {

// Catalog and rights-registry files (documented with examples in examples/catalog/README.md).
//
// CSV (RFC 4180: comma, double-quote quoting, header row, UTF-8, `#` comment lines), told apart by
// their header:
//   recordings: isrc,title,artists,upc,release_date,iswc,master_shares
//     artists        `|`-separated names
//     master_shares  `|`-separated `holder (role)=percent`, the role optional:
//                    `Northern Lights Records (label)=80|Nova Lane (artist)=20`
//   works (one row per share line): iswc,title,holder,role,right,share,territory
//     right          mechanical | performance
//     share          percent, exact decimal (at most 8 decimals), `%` optional
//     territory      empty for every territory; a code (DE, DEU, UK...) for lines that replace the
//                    default lines of that right in that territory
//     A row with an empty holder only declares the work (it has no shares yet).
// JSON: {"recordings": [{"isrc", "title", "artists": [...], "upc", "release_date", "iswc",
//        "master_shares": [{"holder", "role", "share"}]}],
//        "works": [{"iswc", "title", "shares": [{"holder", "role", "right", "share", "territory"}]}]}
//   Shares may be numbers or strings; numbers are read from their text, never through a float.
//
// Identifiers are normalised as everywhere (ISRC, UPC/EAN, ISWC, territory). Every problem in a file
// is reported, each with its file and line (CSV) or array index (JSON).

/// Parses a CSV catalog file (recordings or works, by its header) into `out`.
status parse_catalog_csv(std::string_view text, std::string_view source, catalog_data& out);

/// Parses a JSON catalog file into `out`.
status parse_catalog_json(std::string_view text, std::string_view source, catalog_data& out);

/// Reads catalog files (`.json` as JSON, anything else as CSV) into one load.
expected<catalog_data> read_catalog_files(const std::vector<std::string>& paths);

/// Writes recordings / works in the CSV formats above (what the demo bundles).
std::string recordings_csv(const std::vector<recording_entry>& recordings);
std::string works_csv(const std::vector<work_entry>& works);

/// One CSV cell, quoted when it holds a comma, a quote, a line break or surrounding spaces.
std::string csv_cell(std::string_view text);

/// Splits CSV text into rows of cells (RFC 4180). `line_of[i]` is the line where row i starts.
/// Fails with `bad_value` on an unterminated quote, naming `source` and the line.
expected<std::vector<std::vector<std::string>>> split_csv(std::string_view text, std::string_view source,
                                                          std::vector<std::size_t>& line_of);

}  // namespace dspsync
