#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/batch.hpp"
#include "domain/expected.hpp"
#include "domain/histogram.hpp"
#include "domain/record.hpp"
// --- lifecycle: reconciliation and settlement ---
#include "storage/lifecycle_types.hpp"

namespace dspsync {

/// An endpoint's (or file source's) committed position and running totals, written in the same
/// transaction as the page that moved it.
struct source_checkpoint {
  std::string cursor;
  bool caught_up = false;
  uint64_t pages = 0;
  uint64_t records_in = 0;
  uint64_t inserted = 0;
  uint64_t restatements = 0;
  uint64_t duplicates = 0;
  uint64_t quarantined = 0;
  uint64_t pending = 0;
  /// Whole pages quarantined as corrupt (their records are not in `records_in`).
  uint64_t page_faults = 0;
  int64_t updated_at_ms = 0;
};

/// One stored version of a record.
struct stored_record {
  record_key key{};
  uint32_t version = 1;
  record_state state = record_state::validated;
  uint64_t seq = 0;
  /// Sequence of the previous version (0 for the first).
  uint64_t prev_seq = 0;
  /// Lineage: the raw page it came from and its position there.
  uint64_t page_seq = 0;
  uint64_t position = 0;
  royalty_record record;
  std::string faults;
};

/// One quarantined item.
struct stored_quarantine {
  record_key key{};
  /// `record` or `page`.
  std::string kind;
  std::string source;
  std::string request;
  uint64_t position = 0;
  std::vector<failure> errors;
  std::string raw;
};

/// One raw page (bronze).
struct stored_page {
  uint64_t seq = 0;
  std::string source;
  std::string request;
  std::string correlation_id;
  int64_t fetched_at_ms = 0;
  std::string body_sha256;
  std::string cursor_before;
  std::string cursor_after;
  std::string body;
};

/// Result of recomputing the audit hash chain.
struct audit_verification {
  uint64_t entries = 0;
  /// 0 when the chain is intact; otherwise the first entry whose bytes no longer match the hash its
  /// successor (or the stored head) recorded.
  uint64_t first_broken_seq = 0;
  std::string detail;
};

/// Counts of what the ledger holds.
struct ledger_stats {
  uint64_t pages = 0;
  uint64_t record_versions = 0;
  uint64_t quarantined = 0;
  uint64_t audit_entries = 0;
  /// Entries of the key index by level (new keys, the middle level, the main one): one per stored
  /// key, in exactly one level.
  uint64_t index_new = 0, index_mid = 0, index_main = 0;
  /// Sorted runs in the main level (those of a fold pass under way included; not the one a sweep
  /// pass under way is writing).
  uint64_t index_runs = 0;
  /// Entries a fold pass under way has still to copy from its runs into the main B-tree (0: none
  /// under way); counted in `index_main`.
  uint64_t index_folding = 0;
};

/// How long the ledger's record commits took (`ledger_store::commit`, successful ones): the whole
/// write transaction (looking keys up, storing records, the index's passes, making it durable),
/// and the part that made it durable (LMDB writing the dirty pages, `fdatasync`, the meta page).
struct commit_timings {
  fixed_histogram commit = fixed_histogram::commit_seconds();
  fixed_histogram durable = fixed_histogram::commit_seconds();
};

/// One HTTP attempt in the retry ledger: what was asked, what came back, what was decided.
struct attempt_record {
  int64_t at_ms = 0;
  std::string endpoint;
  /// Method and target.
  std::string request;
  /// HTTP status, or 0 for a transport failure (see `error`).
  int status = 0;
  std::string error;
  /// transient | credentials_rejected | permanent | corrupt_page | success
  std::string classification;
  /// 1 for the first try of a page, 2 for the first retry, ...
  int attempt = 1;
  /// The wait chosen before the next attempt, and why: jitter | retry-after | rate-budget | none.
  int64_t delay_ms = 0;
  std::string delay_source;
  /// Lower-case hex SHA-256 of the response body (empty when there was none).
  std::string body_sha256;
  std::string correlation_id;
};

/// Options for opening the ledger.
struct ledger_options {
  std::string dir;
  uint64_t map_size_mib = 16 * 1024;
  /// Create the directory when it does not exist (its parent must exist).
  bool create = true;
  /// Open read-only (inspection commands); no lock is taken.
  bool read_only = false;
  /// Sync every commit to disk (the default, and the only setting the engine uses). Deterministic
  /// simulations that test logic, not power cuts, turn it off to run thousands of seeds quickly.
  bool durable = true;
};

// --- webhooks ---
/// An update delivered by webhook for a record not ingested yet, held until its base record arrives
/// (see `ledger_store::for_each_held`).
struct held_update {
  /// Arrival number: the updates of one key are applied in this order.
  uint64_t arrival = 0;
  /// The source that delivered it (`ENDPOINT/webhook`).
  std::string source;
  int64_t held_at_ms = 0;
  /// The record as it will be stored: key, state, content, the page it arrived on and its position
  /// there (version and previous version are decided when it is applied).
  stored_record record;
};

// --- operator console: audit log, lineage, release from quarantine ---
/// One audit entry as stored (see `ledger_store::for_each_audit`).
struct audit_entry {
  uint64_t seq = 0;
  int64_t at_ms = 0;
  std::string kind;
  std::string actor;
  std::string subject;
  std::string details;
};

/// The durable ledger: raw pages, records by idempotency key with state and versions, quarantine,
/// cursors and the audit chain, in one LMDB environment. Exactly one writer: the ledger actor.
///
/// Layout (see docs/architecture.md): `pages` and `records` are keyed by 8-byte sequence numbers
/// and appended with MDB_APPEND; `keys` maps the first 8 bytes of an idempotency key to the
/// sequence of its latest version (MDB_DUPSORT, so a prefix collision is resolved by comparing the
/// full key stored in the record); `quarantine` is keyed by the item's deterministic key;
/// `cursors` by source name; `audit` by sequence; `meta` holds the format and the audit head.
class ledger_store {
 public:
  /// Opens (creating when allowed) the ledger in `opts.dir`. Fails with a message naming the
  /// directory: missing, not writable, another engine holds its lock, or not a dspsync ledger.
  static expected<std::unique_ptr<ledger_store>> open(const ledger_options& opts);
  ~ledger_store();

  /// Commits batches in ONE write transaction, in order: each batch's records, quarantine, raw
  /// page, checkpoint and audit entry. A batch whose `cursor_before` is not the stored cursor (or
  /// that is `after_uncommitted` while its source has no checkpoint) is refused (outcome.refused)
  /// and leaves no trace. On failure nothing of any batch is stored.
  expected<std::vector<batch_outcome>> commit(const std::vector<const ingest_batch*>& batches);
  /// The durations of the record commits since this open (any thread).
  commit_timings commit_durations() const;

  /// Encodes each record's stored content into `b.contents` / `b.content_ends`, so the commit
  /// does not: a producer with a core to spare (the file reader) calls it on its own thread before
  /// handing the batch over, taking that work off the ledger's single writer. Thread-safe (touches
  /// nothing but `b`); the records must not change afterwards.
  static void prepare(ingest_batch& b);

  /// The committed checkpoint of a source, if it has one.
  expected<std::optional<source_checkpoint>> checkpoint(std::string_view source) const;

  /// Every checkpoint, by source name.
  expected<std::vector<std::pair<std::string, source_checkpoint>>> checkpoints() const;

  /// Overwrites a source's cursor (operator action), keeping its totals; audited.
  status set_cursor(std::string_view source, std::string_view cursor, std::string_view actor);

  /// All versions of one key, oldest first.
  expected<std::vector<stored_record>> versions(const record_key& key) const;

  /// Visits every stored record version in storage order.
  status for_each_record(const std::function<void(const stored_record&)>& fn) const;

  /// Visits every quarantined item.
  status for_each_quarantined(const std::function<void(const stored_quarantine&)>& fn) const;

  /// A raw page by sequence.
  expected<std::optional<stored_page>> page(uint64_t seq) const;

  /// Appends attempts to the retry ledger (one transaction).
  status append_attempts(const std::vector<attempt_record>& attempts);

  /// Visits the retry ledger in order.
  status for_each_attempt(const std::function<void(const attempt_record&)>& fn) const;

  /// Appends an audit entry in its own transaction.
  status audit(std::string_view kind, std::string_view actor, std::string_view subject,
               std::string_view details);

  /// Recomputes the audit hash chain.
  expected<audit_verification> verify_audit() const;

  expected<ledger_stats> stats() const;

  const std::string& dir() const { return dir_; }

  /// Test hook: `fault` is asked before every write transaction of this ledger commits and answers
  /// 0 to let it commit or an LMDB / errno code (MDB_MAP_FULL, MDB_TXN_FULL, EIO) to fail it the way
  /// LMDB fails a commit: aborted, nothing of it stored, the write reporting that code (a full map
  /// as `ec::storage_full`). Deterministic simulations inject ledger write failures with it; an
  /// empty function removes it. Set it while nothing writes (from the thread that drives the
  /// actors); production never sets one and pays a null check per commit.
  void set_commit_fault(std::function<int()> fault);

  /// The key index's defaults (docs/architecture.md): entries at which the new level is merged
  /// into the middle one, entries of the middle one at which a pass sweeps it into the main one,
  /// most main-level pages one slice of the sweep may cover, smallest capacity of the older
  /// levels' filter.
  static constexpr uint64_t default_index_new_limit = 1u << 18;
  static constexpr uint64_t default_index_mid_limit = 5u << 17;
  static constexpr uint64_t default_index_step_pages = 8192;
  static constexpr uint64_t default_filter_min_capacity = 1u << 16;
  /// Least entries one commit's slice of a merge or sweep pass moves (more when the commit adds
  /// more: twice what it adds).
  static constexpr uint64_t default_index_slice_entries = 4096;
  /// Sorted runs the main level gathers before a fold pass copies them into its B-tree.
  static constexpr uint64_t default_index_runs_limit = 8;
  /// Test hook: those four, so that tests cross every merge and filter rebuild with a few thousand
  /// records (and benchmarks try other sizes). Set it while nothing writes and no filter build
  /// runs (`wait_index_filter`).
  void set_index_limits(uint64_t new_limit, uint64_t mid_limit,
                        uint64_t step_pages = default_index_step_pages,
                        uint64_t filter_min_capacity = default_filter_min_capacity);
  /// Test hook: the least entries a slice of a merge or sweep pass moves, so that tests cross
  /// passes of many slices with a few pages. Set it while nothing writes.
  void set_index_slice_entries(uint64_t entries);
  /// Test hook: the sorted runs at which a fold pass starts (benchmarks try other counts). Set it
  /// while nothing writes.
  void set_index_runs_limit(uint64_t runs);
  /// Test hook: sweeps begun from now on copy into the main level's B-tree as
  /// `dspsync-ledger/4` did, so tests make such a ledger. Set it while nothing writes.
  void set_index_sweep_into_keys(bool into_keys);
  /// Test hook: how many times a filter of the key index's older levels was installed (built after
  /// the first commit, then each time it filled). Read it while nothing writes.
  uint64_t index_filter_builds() const;
  /// Test hook: 1 when this open took that filter back from the last close (saved by a clean close
  /// when nothing was written after it), else 0.
  uint64_t index_filter_loads() const;
  /// Test hook: waits until a running build of that filter has finished (the next commit installs
  /// it), so a test knows which commits ran with which filter.
  void wait_index_filter();

 private:
  struct impl;
  explicit ledger_store(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
  std::string dir_;

  // --- lifecycle: reconciliation and settlement ---
  // Implemented in ledger_lifecycle.cpp (catalog versions in catalog_store.cpp). Every transition
  // rewrites only the state byte of a record version, in the same write transaction as its
  // decision or settlement entry and one audit entry per batch; settled entries are append-only.
 public:
  /// Decides every latest record version in `validated`, and every `pending_reconciliation` one the
  /// reconciler parked against an older catalog version than `catalog_version`, with `decide`;
  /// stores each decision and its drift events (once per distinct event), and moves the state byte.
  /// Versions pending for a validation fault (no decision) and superseded versions are left alone.
  /// Commits every `per_txn` decisions (resumable: a crash loses no decision already committed).
  expected<reconcile_summary> reconcile(const decide_fn& decide, uint64_t catalog_version,
                                        std::size_t per_txn = 20000);

  /// Flags latest record versions whose revenue per unit is an outlier in its (DSP, territory,
  /// period, currency) group (median and MAD); returns how many new events were stored.
  expected<uint64_t> detect_revenue_outliers(const outlier_options& opts);

  /// The stored decision about a record version, if any.
  expected<std::optional<stored_decision>> decision(uint64_t record_seq) const;

  /// Visits every stored decision in record order.
  status for_each_decision(const std::function<void(const stored_decision&)>& fn) const;

  /// Visits every drift event in the order detected.
  status for_each_drift(const std::function<void(const stored_drift&)>& fn) const;

  /// Settles `period` (YYYY-MM) in ONE write transaction: every latest reconciled version of the
  /// period (regular entries) and of earlier settled periods whose next open period this is
  /// (adjustments: late records, and restatements as the change from what was settled), with
  /// `compute` giving each entry's lines. Closes the period. A settled period is never settled
  /// again: the answer then says so and nothing changes.
  expected<settle_summary> settle(std::string_view period, const settle_fn& compute);

  /// A period's state; nullopt when it was never settled.
  expected<std::optional<period_info>> period(std::string_view period) const;

  /// Visits every settled period.
  status for_each_period(const std::function<void(const period_info&)>& fn) const;

  /// Visits the entries settled in `period` in the order settled.
  status for_each_settlement(std::string_view period,
                             const std::function<void(const settled_entry&)>& fn) const;

  /// Visits the stored bytes of every settlement entry (key, value): what "never rewritten" means.
  status for_each_settlement_bytes(const std::function<void(std::string_view, std::string_view)>& fn) const;

  /// Visits the latest version of every record key, in storage order.
  status for_each_latest_record(const std::function<void(const stored_record&)>& fn) const;

  /// Stores a DSP-reported total (replacing one with the same source, DSP, period and currency).
  status put_reported_total(const reported_total& total);

  /// Visits every DSP-reported total.
  status for_each_reported_total(const std::function<void(const reported_total&)>& fn) const;

 private:
  friend class catalog_store;

  // --- operator console: audit log, lineage, release from quarantine ---
  // Implemented in ledger_console.cpp. Reads are LMDB read transactions (they never wait for the
  // writer); `release_quarantined` is a write and belongs to the ledger actor alone.
 public:
  /// Visits every audit entry in order.
  status for_each_audit(const std::function<void(const audit_entry&)>& fn) const;

  /// One quarantined item by its key, if it is (still) in quarantine.
  expected<std::optional<stored_quarantine>> quarantined(const record_key& key) const;

  /// How many latest record versions are in each state (superseded versions are not counted).
  expected<std::map<record_state, uint64_t>> latest_state_counts() const;

  /// Releases a quarantined record that the caller re-validated into `rec`, in ONE write
  /// transaction: stores it as a new record (or a restatement; a copy of a known version counts as
  /// a duplicate), links it to the page it came from when that page is found, removes it from
  /// quarantine, moves it from `quarantined` to `inserted`, `restatements` or `duplicates` in its
  /// source's checkpoint (records in stay the same), and appends an audit entry with the old and the
  /// new state. Fails when the item is not (or no longer) in quarantine or is a whole page. Returns
  /// a line for the operator.
  expected<std::string> release_quarantined(const record_key& quarantine_key, const keyed_record& rec,
                                            std::string_view actor);

  // --- webhooks ---
  // Implemented in ledger_webhooks.cpp. `commit` holds a webhook update whose key has no stored
  // version yet (`keyed_record::update`) in the `webhook_held` database, applies the held updates of
  // a key in arrival order in the transaction that stores its base record (from any source), and
  // answers a repeated signed delivery (`ingest_batch::replay_key`) as a replay.
 public:
  /// How many updates are held.
  expected<uint64_t> held_updates() const;

  /// Visits the held updates, ordered by key and, within a key, by arrival.
  status for_each_held(const std::function<void(const held_update&)>& fn) const;
};

}  // namespace dspsync
