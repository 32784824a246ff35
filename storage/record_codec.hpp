#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "domain/batch.hpp"
#include "storage/ledger_store.hpp"

namespace dspsync::record_codec {

// A stored record version: a fixed header (format, state, version, full key, previous version,
// lineage) followed by the length-prefixed content (the record's fields, canonical) and its faults.
// Duplicate detection compares content bytes, so the encoding must stay canonical.

/// Appends the canonical content bytes of a record.
void encode_content(const royalty_record& rec, std::string& out);

/// Encodes a whole stored value; `content` is what `encode_content` produced for `kr.record`.
void encode(const keyed_record& kr, uint32_t version, uint64_t prev_seq, uint64_t page_seq,
            std::string_view content, std::string& out);

/// The full 32-byte key of a stored value.
std::string_view key_of(std::string_view value);

/// The content bytes of a stored value.
std::string_view content_of(std::string_view value);

/// The sequence of the previous version (0 for the first).
uint64_t prev_of(std::string_view value);

/// The version number of a stored value.
uint32_t version_of(std::string_view value);

/// Decodes a stored value (throws lmdb::error on a corrupt value).
stored_record decode(uint64_t seq, std::string_view value);

}  // namespace dspsync::record_codec
