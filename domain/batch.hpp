#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "domain/expected.hpp"
#include "domain/record.hpp"

namespace dspsync {

/// A record that passed (or nearly passed) validation, ready for the ledger.
struct keyed_record {
  record_key key{};
  /// `validated` or `pending_reconciliation`.
  record_state state = record_state::validated;
  /// Position in its page (records array index) or file (line number): lineage.
  uint64_t position = 0;
  royalty_record record;
  /// Why it is pending; empty when validated.
  std::string faults;
  /// Webhook deliveries: the record says it is an update of an earlier one (the endpoint's
  /// `webhook.update_pointer`). An update whose key has no stored version yet is held by the ledger
  /// until its base record arrives, instead of being stored as a new record.
  bool update = false;
};

/// An input that failed validation: kept whole, with why, under a deterministic key.
struct quarantined_item {
  record_key key{};
  /// Position in its page (records array index) or file (line number).
  uint64_t position = 0;
  /// The raw bytes exactly as received.
  std::string raw;
  /// Error codes and messages, one per fault.
  std::vector<failure> errors;
};

/// Everything one fetched page produced, committed by the ledger in one transaction together with
/// the cursor that follows it. Messages carry whole batches, never single records.
struct ingest_batch {
  /// Endpoint (or file source) name.
  std::string source;
  /// Request signature: method and target of the request that fetched the page.
  std::string request;
  /// Correlation id of the HTTP exchange.
  std::string correlation_id;
  /// The response body, exactly as received (bronze).
  std::string body;
  /// Lower-case hex SHA-256 of `body`.
  std::string body_sha256;
  /// Wall-clock time of the fetch, Unix milliseconds.
  int64_t fetched_at_ms = 0;
  /// The committed cursor this page was fetched at; the ledger refuses the batch if the stored
  /// cursor differs (a stale or duplicate page must never be counted twice).
  std::string cursor_before;
  /// The cursor to store with this page.
  std::string cursor_after;
  /// The page was read ahead: fetched at a cursor that an earlier page, not committed yet, leads
  /// to. The ledger stores it only on top of that cursor, so for a source with no checkpoint yet
  /// it refuses it (that earlier page, the source's first, failed to commit; storing this one
  /// instead would skip the first page's records).
  bool after_uncommitted = false;
  /// True when the endpoint reached the end of its data with this page.
  bool caught_up = false;
  /// The poller read the next cursor ahead by a structural scan (`peek_next_page`); the
  /// validator's full parse must agree with it.
  bool peeked = false;
  std::string peeked_cursor;
  /// Offset and length in `body` of each record's raw bytes, found by that scan (empty when the
  /// page was not scanned); the validator keeps a bad record's bytes from them instead of scanning
  /// the page again.
  std::vector<std::pair<std::size_t, std::size_t>> record_spans;
  /// When the whole page is corrupt (not JSON, no records array): why. The page is then kept in
  /// quarantine and the cursor does not move.
  std::vector<failure> page_errors;
  /// Records on the page.
  uint64_t records_in = 0;
  std::vector<keyed_record> records;
  /// Optional: every record's content bytes as the ledger stores them, concatenated, record `i`'s
  /// ending at `content_ends[i]` (`ledger_store::prepare`, on the producer's thread). Used by the
  /// commit only when there is one entry per record; otherwise the ledger encodes them itself.
  std::string contents;
  std::vector<uint32_t> content_ends;
  std::vector<quarantined_item> quarantined;
  /// Webhook deliveries only (empty for polled pages and files): SHA-256 over the endpoint name and
  /// the accepted signature. The ledger records it with the delivery and answers a second delivery
  /// with the same key and `signed_at_s` as a replay, storing nothing of it.
  std::string replay_key;
  /// The delivery's signed timestamp (Unix seconds).
  int64_t signed_at_s = 0;
  /// Replay records of deliveries signed before this time (Unix seconds) are dropped: such a
  /// delivery fails the timestamp check before it could reach the ledger again.
  int64_t replays_expire_before_s = 0;
};

/// What the ledger did with one batch.
struct batch_outcome {
  uint64_t page_seq = 0;
  uint64_t records_in = 0;
  uint64_t inserted = 0;
  uint64_t restatements = 0;
  uint64_t duplicates = 0;
  uint64_t quarantined = 0;
  uint64_t pending = 0;
  bool page_quarantined = false;
  /// Updates of records not yet ingested, held until their base record arrives (webhooks). Part of
  /// `records_in`; they join the source's checkpoint when released.
  uint64_t held = 0;
  /// Held updates applied (as restatements or duplicates) because this batch stored their base.
  uint64_t released = 0;
  /// A webhook delivery accepted before (same signature and timestamp): nothing was stored, and
  /// `page_seq` is the page of the first delivery.
  bool replayed = false;
  /// Non-empty when the ledger refused the batch (its cursor_before is not the committed cursor):
  /// nothing of it was stored, and the poller must resume from the committed cursor.
  std::string refused;
};

}  // namespace dspsync
