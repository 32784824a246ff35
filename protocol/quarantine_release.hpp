#pragma once

#include <cstdint>
#include <string_view>

#include "config/config.hpp"
#include "domain/batch.hpp"
#include "domain/expected.hpp"
#include "domain/identifiers.hpp"

namespace dspsync {

/// Re-validates a quarantined record's raw bytes (one JSON object, exactly as the DSP sent it) with
/// the current field mapping of the endpoint it came from, through the same page mapper the
/// validators use: after a config fix (an alias for a renamed field, say) it may now be valid.
/// Gives the keyed record (validated, or pending for a fixable data fault) at `position`, or a
/// failure whose message lists the faults that still keep it in quarantine, one per line.
expected<keyed_record> revalidate_quarantined(const endpoint_config& ep, const territory_options& territories,
                                              std::string_view raw, uint64_t position);

}  // namespace dspsync
