#pragma once

// Internals of ledger_store shared by its implementation files (ledger_store.cpp and the
// lifecycle code that extends it). Not part of the storage interface.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "domain/idempotency.hpp"
#include "storage/codec.hpp"
#include "storage/ledger_store.hpp"
#include "storage/lmdb.hpp"
#include "storage/prefix_filter.hpp"
#include "storage/prefix_table.hpp"
#include "storage/record_codec.hpp"

namespace dspsync {

namespace ledger_detail {

/// The ledger's format. `dspsync-ledger/1` (the key index's new level a B-tree, `keys_new`) is
/// still read, and moved to this format by an open for writing; earlier builds refuse this one.
inline constexpr std::string_view format_tag = "dspsync-ledger/5";
/// `dspsync-ledger/4`: a sweep pass copied the middle level into `keys` itself (no sorted runs).
/// Read as it is; an open for writing moves the tag on, and a sweep under way then ends as it
/// began, into `keys` (earlier builds would not look in the runs).
inline constexpr std::string_view format_tag_v4 = "dspsync-ledger/4";
/// `dspsync-ledger/3`: the new level moved into the middle one in one commit, so its log never
/// held entries that were also in the middle level. Read as it is; an open for writing moves the
/// tag on (earlier builds would not take a copied entry out of the middle level when restated).
inline constexpr std::string_view format_tag_v3 = "dspsync-ledger/3";
inline constexpr std::string_view format_tag_v1 = "dspsync-ledger/1";
/// `dspsync-ledger/2`: the log held one entry per index entry (sequence -> 8-byte prefix). Such
/// entries are still read (and written no more); an open for writing moves the tag on.
inline constexpr std::string_view format_tag_v2 = "dspsync-ledger/2";

/// Index entries per `keys_log` value: 120 x 16 bytes stays under LMDB's largest in-page node (a
/// bigger value would go to overflow pages), two values to a 4 KiB page.
inline constexpr std::size_t log_chunk_entries = 120;

/// Calls `f(seq, prefix)` for each index entry of one `keys_log` value (`key` its key), oldest
/// first: a chunk of (sequence, prefix) pairs, or one `dspsync-ledger/2` entry (`key` the
/// sequence, the value the prefix). Throws on a value of neither shape.
template <class F>
void for_each_log_entry(std::string_view key, std::string_view value, F&& f) {
  if (value.size() == 8) {
    f(codec::reader::decode_u64be(key), codec::reader::decode_u64be(value));
    return;
  }
  if (value.empty() || value.size() % 16 != 0)
    throw lmdb::error("corrupt key index log value", MDB_CORRUPTED);
  for (std::size_t at = 0; at < value.size(); at += 16)
    f(codec::reader::decode_u64be(value.substr(at, 8)), codec::reader::decode_u64be(value.substr(at + 8, 8)));
}

inline int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

inline std::string encode_checkpoint(const source_checkpoint& c) {
  std::string out;
  codec::writer w(out);
  w.u8(1);
  w.str(c.cursor);
  w.u8(c.caught_up ? 1 : 0);
  for (auto v : {c.pages, c.records_in, c.inserted, c.restatements, c.duplicates, c.quarantined, c.pending,
                 c.page_faults})
    w.varint(v);
  w.svarint(c.updated_at_ms);
  return out;
}

inline source_checkpoint decode_checkpoint(std::string_view bytes) {
  codec::reader r(bytes);
  source_checkpoint c;
  r.u8();
  c.cursor = std::string(r.str());
  c.caught_up = r.u8() != 0;
  for (auto* v : {&c.pages, &c.records_in, &c.inserted, &c.restatements, &c.duplicates, &c.quarantined,
                  &c.pending, &c.page_faults})
    *v = r.varint();
  c.updated_at_ms = r.svarint();
  if (!r.ok()) throw lmdb::error("corrupt checkpoint value", MDB_CORRUPTED);
  return c;
}

inline std::string encode_quarantine(const stored_quarantine& q) {
  std::string out;
  codec::writer w(out);
  w.u8(1);
  w.raw(std::string_view(reinterpret_cast<const char*>(q.key.data()), q.key.size()));
  w.str(q.kind);
  w.str(q.source);
  w.str(q.request);
  w.varint(q.position);
  w.varint(q.errors.size());
  for (const auto& e : q.errors) {
    w.str(to_string(e.code));
    w.str(e.message);
  }
  w.str(q.raw);
  return out;
}

inline stored_quarantine decode_quarantine(std::string_view bytes) {
  codec::reader r(bytes);
  stored_quarantine q;
  r.u8();
  auto k = r.raw(32);
  if (r.ok()) std::memcpy(q.key.data(), k.data(), 32);
  q.kind = std::string(r.str());
  q.source = std::string(r.str());
  q.request = std::string(r.str());
  q.position = r.varint();
  auto n = r.varint();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    auto code = r.str();
    failure f;
    f.code = ec::bad_value;
    for (int c = 0; c <= static_cast<int>(last_ec); ++c)
      if (code == to_string(static_cast<ec>(c))) f.code = static_cast<ec>(c);
    f.message = std::string(r.str());
    q.errors.push_back(std::move(f));
  }
  q.raw = std::string(r.str());
  if (!r.ok()) throw lmdb::error("corrupt quarantine value", MDB_CORRUPTED);
  return q;
}

inline std::string encode_page(const ingest_batch& b) {
  std::string out;
  out.reserve(b.body.size() + 256);
  codec::writer w(out);
  w.u8(1);
  w.str(b.source);
  w.str(b.request);
  w.str(b.correlation_id);
  w.svarint(b.fetched_at_ms);
  w.str(b.body_sha256);
  w.str(b.cursor_before);
  w.str(b.cursor_after);
  w.str(b.body);
  return out;
}

inline stored_page decode_page(uint64_t seq, std::string_view bytes) {
  codec::reader r(bytes);
  stored_page p;
  p.seq = seq;
  r.u8();
  p.source = std::string(r.str());
  p.request = std::string(r.str());
  p.correlation_id = std::string(r.str());
  p.fetched_at_ms = r.svarint();
  p.body_sha256 = std::string(r.str());
  p.cursor_before = std::string(r.str());
  p.cursor_after = std::string(r.str());
  p.body = std::string(r.str());
  if (!r.ok()) throw lmdb::error("corrupt page value", MDB_CORRUPTED);
  return p;
}

inline std::string_view key_bytes(const record_key& k) {
  return {reinterpret_cast<const char*>(k.data()), k.size()};
}

/// A failed write as the storage interface reports it: `what` and LMDB's message; a full map is
/// `ec::storage_full` and says how to fix it.
inline failure write_failure(const lmdb::error& e, const std::string& what) {
  if (e.code() == MDB_MAP_FULL)
    return failure{ec::storage_full,
                   what + ": " + e.what() + " (grow map_size_mib in the config and restart)"};
  return failure{ec::storage_failure, what + ": " + e.what()};
}

inline uint64_t last_seq(const lmdb::txn& t, MDB_dbi dbi) {
  lmdb::cursor c(t, dbi);
  std::string_view k, v;
  if (!c.get(k, v, MDB_LAST)) return 0;
  return codec::reader::decode_u64be(k);
}

}  // namespace ledger_detail

struct ledger_store::impl {
  lmdb::env env;
  MDB_dbi pages = 0, records = 0, keys = 0, quarantine = 0, cursors = 0, audit = 0, meta = 0, attempts = 0;
  // --- the key index, in levels ---
  // Each stored key has one entry (its 8-byte prefix -> the sequence of its latest version) in one
  // of three levels. The new level takes every new entry. It is a hash table in memory
  // (`new_level`, where the writer looks keys up) whose durable form is `keys_log`: a transaction's
  // entries, (sequence, prefix) pairs in sequence order, are appended at its end in chunks of
  // `log_chunk_entries` keyed by their first sequence, so a commit writes a few puts at the log's
  // end instead of one per record or pages all over a B-tree; an open for writing rebuilds the
  // table from the log. When it holds `index_new_limit` entries a merge pass copies them in key
  // order into the middle level, a slice of the key space per commit, then takes them out of the
  // log and the table (see "merge and sweep passes" below). The middle level is two B-trees, `keys_mid` and
  // `keys_mid_b`, which take turns (`meta/index_mid_roles`): the active one takes the merges; when
  // it reaches `index_mid_limit` the two swap and a pass starts that copies the full one into `keys`
  // (the main level: see "sorted runs" below) one slice of the key
  // space per commit, round the key space once (its position is `meta/index_sweep`, and the
  // entries not copied yet are counted in `meta/index_sweep_left`), each slice narrow enough that
  // the main level pages it dirties stay under `index_step_pages`; the last slice empties it whole
  // (`mdb_drop`) instead of deleting its entries one by one. The big tree is rewritten in key order
  // a slice at a time instead of a page per key per commit, and no transaction holds more than a
  // bounded number of dirty pages (LMDB keeps them in anonymous memory until the commit) however
  // large the ledger grows. Lookups read every level (an entry copied already is found alike in
  // the level being swept and in the main one; likewise an entry a merge pass copied, in the new
  // level and the middle one). Each slice runs inside a commit's write transaction, so the index
  // is never seen half way through one.
  MDB_dbi keys_log = 0, keys_mid = 0, keys_mid_b = 0;
  /// The middle level's roles as of the current write transaction (`index_scope` reads them): the
  /// tree taking merges and the one being swept into the main level (0 when there is none: a
  /// read-only open of a ledger written before the two took turns).
  MDB_dbi mid_active = 0, mid_sweeping = 0;
  /// The roles as `meta/index_mid_roles` has them in `t`.
  std::pair<MDB_dbi, MDB_dbi> mid_roles(const lmdb::txn& t) const {
    std::string_view r;
    if (keys_mid_b == 0 || !lmdb::get(t, meta, "index_mid_roles", r)) return {keys_mid, 0};
    if (r.size() != 1 || (r[0] != 0 && r[0] != 1))
      throw lmdb::error("corrupt index_mid_roles", MDB_CORRUPTED);
    return r[0] == 0 ? std::make_pair(keys_mid, keys_mid_b) : std::make_pair(keys_mid_b, keys_mid);
  }
  void read_mid_roles(const lmdb::txn& t) { std::tie(mid_active, mid_sweeping) = mid_roles(t); }
  // --- the main level: sorted runs and `keys` ---
  // A sweep pass writes the middle tree it empties as a sorted run: its entries under a new run
  // number (`meta/index_run_last` gives the last one out), keyed (run, prefix) -> sequence, appended in key
  // order (MDB_APPEND) to the end of the active runs tree, so the pages it writes are new ones at the tree's
  // right edge, filled whole, and no page of an older run is touched. Two runs trees take turns (`keys_runs`,
  // `keys_runs_b`; `meta/index_runs_roles`), each listing its runs in `meta`
  // (`index_runs`, `index_runs_b`: run numbers, 8 bytes each). When the active one holds
  // `index_runs_limit` runs (and no sweep is writing one) the two swap and a fold pass copies the
  // full one's runs into `keys` a slice of the key space per commit (`meta/index_fold`, with the
  // entries not copied yet counted in `meta/index_fold_left`), then empties it whole. `keys` is
  // thus rewritten once per `index_runs_limit` sweeps instead of once per sweep. A key has one
  // entry in the index as a whole; while a pass copies, an entry it copied is found alike where it
  // was and where it went, and a restatement takes out both. `keys` alone is the whole index of
  // ledgers written before the levels, and the main level of those written before the runs.
  MDB_dbi keys_runs = 0, keys_runs_b = 0;
  struct run_tree {
    MDB_dbi dbi = 0;
    /// Its runs' numbers, oldest first.
    std::vector<uint64_t> runs;
  };
  /// The runs trees as of the current write transaction (`index_scope` reads them): the one sweeps
  /// write to, and the one a fold pass is copying into `keys` (no runs listed when none is).
  run_tree runs_active, runs_folding;
  /// The run the sweep pass under way writes (0: none, or a sweep begun before the runs, which
  /// copies into `keys` itself).
  uint64_t sweep_run = 0;
  uint64_t index_runs_limit = ledger_store::default_index_runs_limit;
  /// Test hook: sweeps copy into `keys` as `dspsync-ledger/4` did.
  bool sweep_into_keys = false;
  static const char* runs_list_name(bool b) { return b ? "index_runs_b" : "index_runs"; }
  /// The runs trees' roles and lists as `meta` has them in `t`.
  std::pair<run_tree, run_tree> runs_roles(const lmdb::txn& t) const {
    std::pair<run_tree, run_tree> out;
    if (keys_runs == 0) return out;
    std::string_view r;
    const bool b_active = lmdb::get(t, meta, "index_runs_roles", r) && r.size() == 1 && r[0] == 1;
    if (!r.empty() && (r.size() != 1 || (r[0] != 0 && r[0] != 1)))
      throw lmdb::error("corrupt index_runs_roles", MDB_CORRUPTED);
    auto read = [&](bool b) {
      run_tree tree;
      tree.dbi = b ? keys_runs_b : keys_runs;
      std::string_view list;
      if (lmdb::get(t, meta, runs_list_name(b), list)) {
        if (list.size() % 8 != 0) throw lmdb::error("corrupt index run list", MDB_CORRUPTED);
        for (std::size_t i = 0; i < list.size(); i += 8)
          tree.runs.push_back(codec::reader::decode_u64be(list.substr(i, 8)));
      }
      return tree;
    };
    out.first = read(b_active);
    out.second = read(!b_active);
    return out;
  }
  void read_runs(const lmdb::txn& t) {
    std::tie(runs_active, runs_folding) = runs_roles(t);
    sweep_run = meta_u64(t, "index_sweep_run");
  }
  /// Writes `tree`'s run list to `meta` (none: removed).
  void write_runs_list(const lmdb::txn& t, const run_tree& tree) {
    const char* name = runs_list_name(tree.dbi == keys_runs_b);
    if (tree.runs.empty()) {
      lmdb::del(t, meta, name);
      return;
    }
    std::string list;
    for (uint64_t r : tree.runs) list += codec::u64_key(r);
    lmdb::put(t, meta, name, list);
  }
  /// A runs tree's key: the run number, then the 8-byte prefix.
  static std::string run_key(uint64_t run, std::string_view prefix) {
    std::string k = codec::u64_key(run);
    k += prefix;
    return k;
  }
  /// Where the sweep pass stands in `t` (0: no pass under way) and the entries it has left to copy.
  uint64_t sweep_position(const lmdb::txn& t) const { return meta_u64(t, "index_sweep"); }
  uint64_t sweep_left(const lmdb::txn& t) const { return meta_u64(t, "index_sweep_left"); }
  /// A `meta` number as of `t` (0 when absent).
  uint64_t meta_u64(const lmdb::txn& t, std::string_view name) const {
    std::string_view at;
    return lmdb::get(t, meta, name, at) ? codec::reader::decode_u64be(at) : 0;
  }
  /// `keys_new`: the new level as `dspsync-ledger/1` kept it (a B-tree, prefix -> sequence). An
  /// open for writing moves it into the log; a read-only open reads it as it is. 0 when absent.
  MDB_dbi keys_new_v1 = 0;
  /// False only for a read-only open of a ledger written before the levels (all of it in `keys`).
  bool levels_open = false;
  uint64_t index_new_limit = ledger_store::default_index_new_limit;
  uint64_t index_mid_limit = ledger_store::default_index_mid_limit;
  /// Most main-level leaf pages one sweep slice may cover (8,192 pages: 32 MiB of 4 KiB pages); a
  /// slice is also never wider than a tenth of the key space.
  uint64_t index_step_pages = ledger_store::default_index_step_pages;
  /// Opens `name` (with MDB_CREATE when `create` has it); 0 when it does not exist.
  static MDB_dbi open_optional(const lmdb::txn& t, const char* name, unsigned flags) {
    try {
      return lmdb::open_db(t, name, flags);
    } catch (const lmdb::error& e) {
      if ((flags & MDB_CREATE) != 0 || e.code() != MDB_NOTFOUND) throw;
      return 0;
    }
  }
  /// Opens the levels (with MDB_CREATE when `create` has it) inside `t`; for writing, also moves a
  /// `dspsync-ledger/1` new level into the log and loads the new level's table.
  void open_levels(const lmdb::txn& t, unsigned create) {
    keys_mid = open_optional(t, "keys_mid", create | MDB_DUPSORT | MDB_DUPFIXED);
    levels_open = keys_mid != 0;  // named databases never get handle 0 (that is LMDB's free list)
    if (!levels_open) return;
    keys_log = open_optional(t, "keys_log", create);
    keys_new_v1 = open_optional(t, "keys_new", MDB_DUPSORT | MDB_DUPFIXED);
    keys_mid_b = open_optional(t, "keys_mid_b", create | MDB_DUPSORT | MDB_DUPFIXED);
    keys_runs = open_optional(t, "keys_runs", create | MDB_DUPSORT | MDB_DUPFIXED);
    keys_runs_b = open_optional(t, "keys_runs_b", create | MDB_DUPSORT | MDB_DUPFIXED);
    if (keys_runs != 0 && keys_runs_b == 0) throw lmdb::error("keys_runs_b is missing", MDB_CORRUPTED);
    read_mid_roles(t);
    read_runs(t);
    if (create == 0) return;
    std::string_view roles;
    if (!lmdb::get(t, meta, "index_mid_roles", roles)) {
      // Written before the middle level's trees took turns: `keys_mid` was the only one, and a
      // pass deleted what it moved. During such a pass, what `keys_mid` holds below the position
      // was merged after the pass started and is not in the main level: it goes to the other tree,
      // which takes the merges from now on, and the rest is swept as the pass goes on.
      const uint64_t position = sweep_position(t);
      char role = 0;
      if (position != 0) {
        lmdb::cursor c(t, keys_mid);
        std::string_view k, v;
        for (bool more = c.get(k, v, MDB_FIRST); more && codec::reader::decode_u64be(k) < position;
             more = c.get(k, v, MDB_NEXT)) {
          lmdb::put(t, keys_mid_b, k, v);
          c.del();  // MDB_NEXT then returns the entry after it
        }
        role = 1;
        lmdb::put(t, meta, "index_sweep_left", codec::u64_key(entries(t, keys_mid)));
      }
      lmdb::put(t, meta, "index_mid_roles", std::string(1, role));
      read_mid_roles(t);
    }
    if (keys_new_v1 != 0) {
      lmdb::cursor c(t, keys_new_v1);
      std::string_view k, v;
      for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT))
        lmdb::put(t, keys_log, v, k);
      lmdb::check(mdb_drop(t.get(), keys_new_v1, 1), "mdb_drop (keys_new)");
      keys_new_v1 = 0;
    }
    load_new_level(t);
  }
  /// (Re)builds the new level's table from the log as of `t`.
  void load_new_level(const lmdb::txn& t) {
    new_level = {};
    insert_log_entries(t);
    new_level_loaded = true;
    new_level_stale = false;
  }
  /// Adds every entry of the log as of `t` to the table.
  void insert_log_entries(const lmdb::txn& t) {
    lmdb::cursor c(t, keys_log);
    std::string_view k, v;
    for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT))
      ledger_detail::for_each_log_entry(
          k, v, [&](uint64_t seq, uint64_t prefix) { new_level.insert(prefix, seq); });
  }
  /// Index entries in the log as of `t` (a scan of its values, a few thousand at most).
  uint64_t log_entries(const lmdb::txn& t) const {
    uint64_t n = 0;
    lmdb::cursor c(t, keys_log);
    std::string_view k, v;
    for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT))
      n += v.size() == 8 ? 1 : v.size() / 16;
    return n;
  }
  /// The current write transaction's new-level entries (sequence, prefix) not in the log yet, in
  /// sequence order: `flush_log` appends them before the transaction commits.
  std::vector<std::pair<uint64_t, uint64_t>> log_pending;
  /// Appends the pending entries to the log in chunks (sequences only grow, so each chunk's key
  /// is the log's last: MDB_APPEND).
  void flush_log(const lmdb::txn& t) {
    std::string value;
    for (std::size_t from = 0; from < log_pending.size(); from += ledger_detail::log_chunk_entries) {
      const std::size_t to = std::min(log_pending.size(), from + ledger_detail::log_chunk_entries);
      value.clear();
      for (std::size_t i = from; i < to; ++i) {
        value += codec::u64_key(log_pending[i].first);
        value += codec::u64_key(log_pending[i].second);
      }
      lmdb::put(t, keys_log, codec::u64_key(log_pending[from].first), value, MDB_APPEND);
    }
    log_pending.clear();
  }
  /// Removes the entry (seq, prefix) from the log: from the pending entries, or from the log
  /// value holding it (rewritten without it, or deleted when it was the last).
  void log_remove(const lmdb::txn& t, uint64_t seq, uint64_t prefix) {
    // Pending entries are in sequence order (appended as sequences grow): a restatement of a key
    // stored by an earlier transaction, the usual case, does not scan them.
    const auto pending =
        std::lower_bound(log_pending.begin(), log_pending.end(), std::make_pair(seq, prefix));
    if (pending != log_pending.end() && *pending == std::make_pair(seq, prefix)) {
      log_pending.erase(pending);
      return;
    }
    const auto missing = [] {
      return lmdb::error("the key index's log lacks an entry of its new level", MDB_CORRUPTED);
    };
    lmdb::cursor c(t, keys_log);
    const std::string seq_key = codec::u64_key(seq);
    std::string_view k = seq_key, v;
    // The value holding `seq` is the last one whose key (its first sequence) is not above it.
    bool at = c.seek(k, v, MDB_SET_RANGE);
    if (!at || k != seq_key) at = c.get(k, v, at ? MDB_PREV : MDB_LAST);
    if (!at) throw missing();
    std::string kept;
    bool found = false;
    ledger_detail::for_each_log_entry(k, v, [&](uint64_t s, uint64_t p) {
      if (!found && s == seq && p == prefix) {
        found = true;
        return;
      }
      kept += codec::u64_key(s);
      kept += codec::u64_key(p);
    });
    if (!found) throw missing();
    if (kept.empty() || v.size() == 8) {
      c.del();
    } else {
      const std::string key(k);
      lmdb::put(t, keys_log, key, kept);
    }
  }
  /// Entries in `dbi` as of `t` (O(1)).
  static uint64_t entries(const lmdb::txn& t, MDB_dbi dbi) {
    MDB_stat st{};
    lmdb::check(mdb_stat(t.get(), dbi, &st), "mdb_stat");
    return static_cast<uint64_t>(st.ms_entries);
  }

  // The new level's table: prefix -> sequence, as the log holds it plus what the write transaction
  // under way changed. Only write transactions touch it, each holding an `index_scope`, which
  // undoes the transaction's changes unless it committed: the table never holds what the log does
  // not.
  prefix_table new_level;
  /// Loaded by an open for writing; lookups in a read-only open read the log instead.
  bool new_level_loaded = false;
  struct new_level_change {
    enum kind_t : uint8_t { put, erase, clear } kind;
    uint64_t prefix = 0, seq = 0;
  };
  /// The current write transaction's changes to the table, in order.
  std::vector<new_level_change> new_level_changes;
  /// Set when a transaction that emptied the table (a merge) did not commit: the next write
  /// transaction rebuilds the table from the log before anything else (cheaper in memory than
  /// keeping the emptied table for an undo that almost never happens).
  bool new_level_stale = false;
  /// Serialises the write transactions that touch the table. LMDB's own writer lock is not enough:
  /// a commit that fails releases it before the scope has undone the table.
  std::mutex new_level_mutex;
  void new_level_require() const {
    if (!new_level_loaded)
      throw lmdb::error("the key index's new level is not loaded (read-only open)", EINVAL);
    if (new_level_stale)
      throw lmdb::error("the key index's new level was not rebuilt after a failed merge", MDB_BAD_TXN);
  }
  /// Removes the entry (prefix, seq) from the table; false when it is not there.
  bool new_level_erase(uint64_t prefix, uint64_t seq) {
    if (!new_level.erase(prefix, seq)) return false;
    new_level_changes.push_back({new_level_change::erase, prefix, seq});
    return true;
  }
  void rollback_new_level() noexcept {
    const bool merged =
        std::any_of(new_level_changes.begin(), new_level_changes.end(),
                    [](const new_level_change& c) { return c.kind == new_level_change::clear; });
    if (merged) {
      new_level = {};
      new_level_stale = true;  // rebuilt from the log by the next write transaction
    } else {
      for (auto c = new_level_changes.rbegin(); c != new_level_changes.rend(); ++c) {
        if (c->kind == new_level_change::put)
          new_level.erase(c->prefix, c->seq);
        else
          new_level.insert(c->prefix, c->seq);
      }
    }
    new_level_changes.clear();
  }
  /// Held by every write transaction that may touch the key index (declared after the write
  /// transaction `t` begins, before it writes anything, so that it ends first), which commits
  /// through `commit(t)`.
  class index_scope {
   public:
    index_scope(impl& s, const lmdb::txn& t) : s_(s), lock_(s.new_level_mutex) {
      s_.new_level_changes.clear();
      s_.log_pending.clear();
      if (s_.levels_open) {  // a transaction that swapped them may have failed
        s_.read_mid_roles(t);
        s_.read_runs(t);
      }
      if (s_.new_level_stale) s_.load_new_level(t);  // `t` has written nothing: the log as committed
    }
    ~index_scope() {
      s_.log_pending.clear();
      if (!done_) s_.rollback_new_level();
    }
    index_scope(const index_scope&) = delete;
    index_scope& operator=(const index_scope&) = delete;
    /// Appends the transaction's pending log entries and commits `t` (which must be the
    /// transaction the scope was opened with).
    void commit(lmdb::txn& t) {
      if (s_.levels_open) s_.flush_log(t);
      t.commit();
      s_.new_level_changes.clear();
      done_ = true;
    }

   private:
    impl& s_;
    std::lock_guard<std::mutex> lock_;
    bool done_ = false;
  };

  /// Indexes a new latest version: `prefix` (8 bytes) -> `seq_key` (the newest record's sequence:
  /// appended to the log).
  void index_put(const lmdb::txn& t, std::string_view prefix, std::string_view seq_key) {
    if (!levels_open) {
      lmdb::put(t, keys, prefix, seq_key);
      return;
    }
    new_level_require();
    const uint64_t p = codec::reader::decode_u64be(prefix), seq = codec::reader::decode_u64be(seq_key);
    log_pending.emplace_back(seq, p);  // appended to the log by `flush_log`
    new_level.insert(p, seq);
    new_level_changes.push_back({new_level_change::put, p, seq});
  }
  /// Removes the entry `prefix` -> `seq_key` from whichever level holds it.
  void index_del(const lmdb::txn& t, std::string_view prefix, std::string_view seq_key) {
    if (levels_open) {
      new_level_require();
      const uint64_t p = codec::reader::decode_u64be(prefix), seq = codec::reader::decode_u64be(seq_key);
      if (new_level_erase(p, seq)) {
        log_remove(t, seq, p);
        if (copied_by_merge(t, p, seq)) {
          // Copied by the merge pass under way: its copy goes too (the pass swaps no tree).
          if (!lmdb::del(t, mid_active, prefix, &seq_key))
            throw lmdb::error("the key index's merge lost a copied entry", MDB_CORRUPTED);
          const uint64_t copied = meta_u64(t, "index_merge_copied");
          if (copied == 0) throw lmdb::error("the key index's merge count is off", MDB_CORRUPTED);
          lmdb::put(t, meta, "index_merge_copied", codec::u64_key(copied - 1));
        }
        return;
      }
      if (lmdb::del(t, mid_active, prefix, &seq_key)) return;
      if (mid_sweeping != 0 && lmdb::del(t, mid_sweeping, prefix, &seq_key)) {
        // Copied to the main level already (behind the pass's position: into its run, or into
        // `keys` for a sweep begun before the runs), or still to copy.
        const bool copied = sweep_run != 0
                                ? lmdb::del(t, runs_active.dbi, run_key(sweep_run, prefix), &seq_key)
                                : lmdb::del(t, keys, prefix, &seq_key);
        if (!copied) count_down(t, "index_sweep_left", "sweep");
        return;
      }
      for (uint64_t run : runs_active.runs)
        if (lmdb::del(t, runs_active.dbi, run_key(run, prefix), &seq_key)) return;
      for (uint64_t run : runs_folding.runs)
        if (lmdb::del(t, runs_folding.dbi, run_key(run, prefix), &seq_key)) {
          // Copied to `keys` already by the fold pass under way, or still to copy.
          if (!lmdb::del(t, keys, prefix, &seq_key)) count_down(t, "index_fold_left", "fold");
          return;
        }
    }
    lmdb::del(t, keys, prefix, &seq_key);
  }
  /// Takes one off the `meta` count `name` of pass `pass`.
  void count_down(const lmdb::txn& t, const char* name, const char* pass) {
    const uint64_t left = meta_u64(t, name);
    if (left == 0)
      throw lmdb::error((std::string("the key index's ") + pass + " count is off").c_str(), MDB_CORRUPTED);
    lmdb::put(t, meta, name, codec::u64_key(left - 1));
  }
  // --- merge and sweep passes ---
  // Both moves between levels run a slice of the key space per commit, paced by what the commit
  // adds (`pace`): a commit never carries a whole level's move, so no commit stalls the pipeline
  // for the tens to hundreds of milliseconds a move of a quarter million entries takes, and a
  // pass still ends long before the level it empties fills again (2 entries moved per entry added).
  /// One slice of a pass round the key space cut into `slices` equal parts: the slice starting at
  /// `from` is [from, to), or [from, max] when it is the last (it reaches the end of the key space).
  struct key_slice {
    uint64_t to = 0;
    bool last = false;
    key_slice(uint64_t from, uint64_t slices) {
      const uint64_t width = UINT64_MAX / std::max<uint64_t>(1, slices);
      last = from >= UINT64_MAX - width;
      to = last ? UINT64_MAX : from + width;
    }
  };
  /// Slices for a pass copying `entries` entries into the main level: about `pace` entries each,
  /// a tenth of the key space at most, and, when it writes into `keys` (not a new run), at most
  /// `index_step_pages` of its leaf pages each, so no transaction's dirty pages grow with it.
  uint64_t main_level_slices(const lmdb::txn& t, bool into_keys, uint64_t entries, uint64_t pace) const {
    uint64_t pages = 0;  // a run's pages are all new: only `keys` has pages a slice rewrites
    if (into_keys) {
      MDB_stat st{};
      lmdb::check(mdb_stat(t.get(), keys, &st), "mdb_stat");
      pages = st.ms_leaf_pages;
    }
    return std::max({uint64_t{10}, pages / std::max<uint64_t>(1, index_step_pages) + 1,
                     entries / std::max<uint64_t>(1, pace)});
  }
  /// Puts (prefix, sequence) entries that come in key order into a prefix-keyed tree: appended
  /// (MDB_APPEND, MDB_APPENDDUP for a repeated prefix) when the first lies above everything the
  /// tree held, so no entry is searched for from the root; otherwise an ordinary put each.
  class ordered_puts {
   public:
    ordered_puts(const lmdb::txn& t, MDB_dbi dbi, uint64_t first) : w_(t, dbi) {
      std::string_view k, v;
      above_ = !w_.get(k, v, MDB_LAST) || codec::reader::decode_u64be(k) < first;
    }
    void put(uint64_t prefix, uint64_t seq) {
      const unsigned flags = !above_ ? 0u : !first_ && prefix == prev_ ? MDB_APPENDDUP : MDB_APPEND;
      w_.put(codec::u64_key(prefix), codec::u64_key(seq), flags);
      prev_ = prefix;
      first_ = false;
    }

   private:
    lmdb::cursor w_;
    bool above_ = false, first_ = true;
    uint64_t prev_ = 0;
  };
  /// Entries a slice of either pass moves in a commit that added `added` entries to the new level.
  uint64_t pace(std::size_t added) const { return std::max<uint64_t>(index_slice_entries, 2 * added); }
  /// Least entries a slice moves (4,096 by default; tests set fewer to cross slices in a few pages).
  uint64_t index_slice_entries = ledger_store::default_index_slice_entries;
  // The merge pass: when the new level reaches `index_new_limit` entries, those entries (the
  // highest sequence among them is the pass's bound, `meta/index_merge_bound`) are copied into the
  // active middle tree a slice of the key space per commit (the next slice starts at
  // `meta/index_merge`; `meta/index_merge_copied` counts the copies). A copied entry stays in the
  // new level (table and log) until the last slice, so it is found alike in both; a restatement
  // of one removes it from both. The last slice takes every entry up to the bound out of the log
  // and the table; what was added meanwhile (sequences above the bound) stays for the next pass.
  /// The entries the pass under way copies, sorted (prefix, sequence), for the pass whose bound is
  /// `merge_snapshot_bound` (0: none; rebuilt from the table when the stored bound differs, as
  /// after a reopen or a failed commit).
  std::vector<std::pair<uint64_t, uint64_t>> merge_snapshot;
  uint64_t merge_snapshot_bound = 0;
  /// Whether the new-level entry (prefix, seq) has been copied into the middle level by the merge
  /// pass under way (as of the start of the current write transaction's settling).
  bool copied_by_merge(const lmdb::txn& t, uint64_t prefix, uint64_t seq) const {
    const uint64_t bound = meta_u64(t, "index_merge_bound");
    return bound != 0 && seq <= bound && prefix < meta_u64(t, "index_merge");
  }
  /// Starts a merge pass over the new level as it stands in `t`; returns its bound.
  uint64_t start_merge_pass(const lmdb::txn& t) {
    if (log_entries(t) + log_pending.size() != new_level.size())
      throw lmdb::error("the key index's new level and its log disagree", MDB_CORRUPTED);
    merge_snapshot = new_level.sorted();
    uint64_t bound = 0;
    for (const auto& e : merge_snapshot) bound = std::max(bound, e.second);
    merge_snapshot_bound = bound;
    lmdb::put(t, meta, "index_merge_bound", codec::u64_key(bound));
    lmdb::put(t, meta, "index_merge", codec::u64_key(0));
    lmdb::put(t, meta, "index_merge_copied", codec::u64_key(0));
    return bound;
  }
  /// Copies the next slice (of about `pace` entries) of the merge pass under way (bound `bound`)
  /// into the active middle tree; the last one ends the pass. True while the pass goes on.
  bool merge_slice(const lmdb::txn& t, uint64_t bound, uint64_t pace) {
    const uint64_t from = meta_u64(t, "index_merge");
    uint64_t copied = meta_u64(t, "index_merge_copied");
    if (merge_snapshot_bound != bound) {
      merge_snapshot = new_level.sorted();
      merge_snapshot.erase(std::remove_if(merge_snapshot.begin(), merge_snapshot.end(),
                                          [bound](const auto& e) { return e.second > bound; }),
                           merge_snapshot.end());
      merge_snapshot_bound = bound;
    }
    const auto [to, last] = key_slice(from, merge_snapshot.size() / std::max<uint64_t>(1, pace));
    auto at =
        std::lower_bound(merge_snapshot.begin(), merge_snapshot.end(), std::make_pair(from, uint64_t{0}));
    const auto end = last ? merge_snapshot.end()
                          : std::lower_bound(at, merge_snapshot.end(), std::make_pair(to, uint64_t{0}));
    {
      // Keys above everything the tree holds (all of them after a swap emptied it, then each slice
      // after the one before) are appended: no search from the root per entry.
      ordered_puts w(t, mid_active, at != end ? at->first : 0);
      for (; at != end; ++at) {
        // The table is far larger than the caches: ask for the slots of the entries ahead so their
        // misses overlap (one at a time, the check was the ledger's costliest line).
        if (end - at > 16) new_level.prefetch(at[16].first);
        const auto [prefix, seq] = *at;
        // Gone since the pass started (restated): its key's entry is the newer one, in this level.
        if (!new_level.find_if(prefix, [seq = seq](uint64_t s) { return s == seq; })) continue;
        w.put(prefix, seq);
        ++copied;
        if (older_filter) older_filter->add(prefix);
        if (building) building->merged_since.push_back(prefix);
      }
    }
    if (!last) {
      lmdb::put(t, meta, "index_merge", codec::u64_key(to));
      lmdb::put(t, meta, "index_merge_copied", codec::u64_key(copied));
      return true;
    }
    end_merge_pass(t, bound);
    return false;
  }
  /// Takes every entry up to `bound` (all copied) out of the new level's log and table.
  void end_merge_pass(const lmdb::txn& t, uint64_t bound) {
    {
      // A log value's key is its first sequence, and a transaction's values hold only sequences
      // above the bound (it started after the pass) or only ones up to it.
      lmdb::cursor c(t, keys_log);
      std::string_view k, v;
      if (!c.get(k, v, MDB_LAST) || codec::reader::decode_u64be(k) <= bound) {
        lmdb::check(mdb_drop(t.get(), keys_log, 0), "mdb_drop (index merge)");
      } else {
        for (bool more = c.get(k, v, MDB_FIRST); more && codec::reader::decode_u64be(k) <= bound;
             more = c.get(k, v, MDB_NEXT))
          c.del();  // MDB_NEXT then returns the entry after it
      }
    }
    log_pending.erase(std::remove_if(log_pending.begin(), log_pending.end(),
                                     [bound](const auto& e) { return e.first <= bound; }),
                      log_pending.end());
    // The table keeps what was added since the pass started: in the log, or pending.
    new_level.clear();  // keeps its array for the next fill
    insert_log_entries(t);
    for (const auto& [seq, prefix] : log_pending) new_level.insert(prefix, seq);
    new_level_changes.push_back({new_level_change::clear, 0, 0});
    for (const char* name : {"index_merge", "index_merge_bound", "index_merge_copied"})
      lmdb::del(t, meta, name);
    merge_snapshot = {};
    merge_snapshot_bound = 0;
  }
  /// Copies the entries of the middle tree being swept in the slice of the key space starting at
  /// `from` into the pass's run (or, for a sweep begun before the runs, into `keys`), and advances
  /// the sweep past it; the last slice empties that tree, lists the run and puts the position back
  /// at the start. Slices hold about `pace` entries of the tree and cover a tenth of the key space
  /// at most (and, into `keys`, at most `index_step_pages` of its pages). True while the pass goes on.
  bool sweep_slice(const lmdb::txn& t, uint64_t from, uint64_t pace) {
    const auto [to, last] =
        key_slice(from, main_level_slices(t, sweep_run == 0, entries(t, mid_sweeping), pace));
    uint64_t copied = 0;
    {
      lmdb::cursor c(t, mid_sweeping);
      lmdb::cursor w(t, sweep_run != 0 ? runs_active.dbi : keys);
      const std::string start = codec::u64_key(from);
      std::string_view k = start, v;
      uint64_t prev = 0;
      for (bool more = c.seek(k, v, MDB_SET_RANGE); more; more = c.get(k, v, MDB_NEXT)) {
        const uint64_t prefix = codec::reader::decode_u64be(k);
        if (!last && prefix >= to) break;
        if (sweep_run != 0) {
          // The run is the tree's newest and its keys come in order: each goes at the tree's end.
          w.put(run_key(sweep_run, k), v, copied != 0 && prefix == prev ? MDB_APPENDDUP : MDB_APPEND);
          prev = prefix;
        } else {
          w.put(k, v);
        }
        ++copied;
      }
    }
    const uint64_t left = sweep_left(t);
    if (left < copied) throw lmdb::error("the key index's sweep count is off", MDB_CORRUPTED);
    if (!last) {
      lmdb::put(t, meta, "index_sweep_left", codec::u64_key(left - copied));
      lmdb::put(t, meta, "index_sweep", codec::u64_key(to));
      return true;
    }
    lmdb::check(mdb_drop(t.get(), mid_sweeping, 0), "mdb_drop (index sweep)");
    for (const char* name : {"index_sweep", "index_sweep_left", "index_sweep_run"}) lmdb::del(t, meta, name);
    if (sweep_run != 0) {
      runs_active.runs.push_back(sweep_run);
      write_runs_list(t, runs_active);
      sweep_run = 0;
    }
    return false;
  }
  /// The sweep pass's part of a commit: starts one when the middle level is full (and no merge
  /// pass is copying into the tree it would swap out) and moves a slice of the one under way. True
  /// while a pass goes on after this commit.
  bool sweep_step(const lmdb::txn& t, bool merging, uint64_t pace) {
    const uint64_t position = sweep_position(t);
    if (position == 0) {
      if (entries(t, mid_active) < index_mid_limit || merging) return false;
      // The full tree is swept from now on; the other one, emptied by the last pass, takes merges.
      if (mid_sweeping == 0 || entries(t, mid_sweeping) != 0)
        throw lmdb::error("the key index's middle level has no empty tree to take merges", MDB_CORRUPTED);
      std::swap(mid_active, mid_sweeping);
      lmdb::put(t, meta, "index_mid_roles", std::string(1, mid_active == keys_mid ? 0 : 1));
      lmdb::put(t, meta, "index_sweep_left", codec::u64_key(entries(t, mid_sweeping)));
      if (keys_runs != 0 && !sweep_into_keys) {
        sweep_run = meta_u64(t, "index_run_last") + 1;
        lmdb::put(t, meta, "index_run_last", codec::u64_key(sweep_run));
        lmdb::put(t, meta, "index_sweep_run", codec::u64_key(sweep_run));
      }
    }
    return sweep_slice(t, position, pace);
  }
  /// The fold pass's part of a commit: starts one when the active runs tree holds
  /// `index_runs_limit` runs and no sweep is writing one (the trees swap), and copies a slice of
  /// the key space of the folding tree's runs into `keys`, in key order; the last slice empties
  /// that tree. Slices are as wide as a sweep's into `keys` would be.
  void fold_step(const lmdb::txn& t, bool sweeping, uint64_t pace) {
    if (keys_runs == 0) return;
    if (runs_folding.runs.empty()) {
      if (sweeping || runs_active.runs.size() < index_runs_limit) return;
      if (entries(t, runs_folding.dbi) != 0)
        throw lmdb::error("the key index's runs tree to take sweeps is not empty", MDB_CORRUPTED);
      std::swap(runs_active, runs_folding);
      lmdb::put(t, meta, "index_runs_roles", std::string(1, runs_active.dbi == keys_runs_b ? 1 : 0));
      write_runs_list(t, runs_active);
      write_runs_list(t, runs_folding);
      lmdb::put(t, meta, "index_fold_left", codec::u64_key(entries(t, runs_folding.dbi)));
    }
    const uint64_t from = meta_u64(t, "index_fold");
    const auto [to, last] = key_slice(from, main_level_slices(t, true, entries(t, runs_folding.dbi), pace));
    std::vector<std::pair<uint64_t, uint64_t>> moving;  // (prefix, sequence)
    {
      lmdb::cursor c(t, runs_folding.dbi);
      for (uint64_t run : runs_folding.runs) {
        const std::string start = run_key(run, codec::u64_key(from));
        std::string_view k = start, v;
        for (bool more = c.seek(k, v, MDB_SET_RANGE); more; more = c.get(k, v, MDB_NEXT)) {
          if (k.size() != 16 || v.size() != 8) throw lmdb::error("corrupt index run entry", MDB_CORRUPTED);
          if (codec::reader::decode_u64be(k.substr(0, 8)) != run) break;
          const uint64_t prefix = codec::reader::decode_u64be(k.substr(8));
          if (!last && prefix >= to) break;
          moving.emplace_back(prefix, codec::reader::decode_u64be(v));
        }
      }
    }
    std::sort(moving.begin(), moving.end());
    if (!moving.empty()) {
      // Into an empty `keys` (the usual case for a ledger begun with the runs, at the first fold)
      // and then above what the slices before put there, entries are appended.
      ordered_puts w(t, keys, moving.front().first);
      for (const auto& [prefix, seq] : moving) w.put(prefix, seq);
    }
    const uint64_t left = meta_u64(t, "index_fold_left");
    if (left < moving.size()) throw lmdb::error("the key index's fold count is off", MDB_CORRUPTED);
    if (!last) {
      lmdb::put(t, meta, "index_fold_left", codec::u64_key(left - moving.size()));
      lmdb::put(t, meta, "index_fold", codec::u64_key(to));
      return;
    }
    if (left != moving.size()) throw lmdb::error("the key index's fold count is off", MDB_CORRUPTED);
    lmdb::check(mdb_drop(t.get(), runs_folding.dbi, 0), "mdb_drop (index fold)");
    runs_folding.runs.clear();
    write_runs_list(t, runs_folding);
    for (const char* name : {"index_fold", "index_fold_left"}) lmdb::del(t, meta, name);
  }
  /// Moves a slice of each pass under way (starting the passes whose levels reached their limits);
  /// called before a write transaction commits.
  void settle_levels(const lmdb::txn& t) {
    if (!levels_open) return;
    new_level_require();
    const uint64_t step = pace(log_pending.size());
    uint64_t merge_bound = meta_u64(t, "index_merge_bound");
    if (merge_bound == 0 && new_level.size() >= index_new_limit) merge_bound = start_merge_pass(t);
    const bool merging = merge_bound != 0 && merge_slice(t, merge_bound, step);
    const bool sweeping = sweep_step(t, merging, step);
    fold_step(t, sweeping, step);
  }
  int lock_fd = -1;
  /// Record commits' durations (`commit_durations`): written by the committing thread, read by
  /// the console's.
  mutable std::mutex timings_mutex;
  commit_timings timings;
  // Next sequence numbers of what only the ledger actor writes; updated after a successful commit.
  // The audit chain has several writers (ledger, reconciler, settlement, catalog loads, console), so
  // its tail is read inside each write transaction instead (see `audit_tail`).
  uint64_t next_page = 1, next_record = 1, next_attempt = 1;
  std::string scratch;
  // --- lifecycle: reconciliation and settlement --- (opened by open_lifecycle, ledger_lifecycle.cpp)
  MDB_dbi catalog_recordings = 0, catalog_works = 0, catalog_versions = 0, decisions = 0, drift = 0,
          drift_index = 0, settlements = 0, settled_keys = 0, periods = 0, reported_totals = 0;
  /// False only for a read-only open of a ledger written before these databases existed.
  bool lifecycle_open = false;
  /// Opens (with MDB_CREATE when `create` has it) the lifecycle databases inside `t`.
  void open_lifecycle(const lmdb::txn& t, unsigned create);
  // --- webhooks --- (ledger_webhooks.cpp)
  /// `webhook_held`: updates waiting for their base record, keyed by the full record key and an
  /// arrival number (so a key's updates sort in arrival order). `webhook_replays`: accepted
  /// deliveries, keyed by signed time and replay key.
  MDB_dbi webhook_held = 0, webhook_replays = 0;
  /// False only for a read-only open of a ledger written before these databases existed.
  bool webhooks_open = false;
  void open_webhooks(const lmdb::txn& t, unsigned create);
  /// Updates held as of `t` (O(1): the database's entry count).
  uint64_t held_count(const lmdb::txn& t) const;
  /// Holds `kr` (an update of a key with no stored version), delivered by `source` on page `page_seq`.
  void hold_update(const lmdb::txn& t, std::string_view source, uint64_t page_seq, const keyed_record& kr,
                   std::string_view content);
  /// What releasing held updates added to one source's counts.
  struct release_counts {
    uint64_t records = 0, restated = 0, duplicates = 0, pending = 0;
  };
  /// Applies the updates held for `key` (whose base version was just stored in `t`) in arrival
  /// order, as restatements (or duplicates of a known version), and removes them from the buffer.
  /// Returns the counts by the source that delivered them.
  std::map<std::string, release_counts> release_held(const lmdb::txn& t, const record_key& key,
                                                     uint64_t& next_record);
  /// Adds released counts to `source`'s stored checkpoint (records in, restated, duplicates, pending).
  void add_released(const lmdb::txn& t, const std::string& source, const release_counts& c);
  /// The page of the first delivery with the same replay key and signed time, if there was one.
  std::optional<uint64_t> replayed_page(const lmdb::txn& t, const ingest_batch& b) const;
  /// Records an accepted delivery (stored on `page_seq`) and drops the records that expired.
  void remember_delivery(const lmdb::txn& t, const ingest_batch& b, uint64_t page_seq);

  /// What storing one record version did.
  enum class put_outcome { inserted, restated, duplicate };
  /// Stores `kr` (canonical content `content`; `latest` its key's newest stored version, if any) as
  /// version 1, as a restatement, or not at all when the content repeats ANY known version of the key
  /// (a DSP re-sending the original after its restatement must not flip the record back).
  put_outcome put_version(const lmdb::txn& t, const keyed_record& kr, std::string_view content,
                          const std::optional<std::pair<uint64_t, std::string_view>>& latest,
                          uint64_t page_seq, uint64_t& next_record, std::string& scratch);

  ~impl() {
    join_filter_build(/*stop=*/true);  // its read transaction must end before the environment closes
    save_older_filter();
    if (lock_fd >= 0) ::close(lock_fd);
  }

  /// The next audit seq and the chain's head as of `t`. LMDB serialises write transactions, so read
  /// inside one this is exact even when writers on several threads extend the chain, and a
  /// transaction that aborts leaves nothing behind to correct.
  std::pair<uint64_t, record_key> audit_tail(const lmdb::txn& t) const {
    record_key head{};
    std::string_view stored;
    if (lmdb::get(t, meta, "audit_head", stored) && stored.size() == head.size())
      std::memcpy(head.data(), stored.data(), head.size());
    return {ledger_detail::last_seq(t, audit) + 1, head};
  }

  /// Appends one entry at the end of the audit chain inside `t` and moves the stored head to it.
  void append_audit_entry(const lmdb::txn& t, std::string_view kind, std::string_view actor,
                          std::string_view subject, std::string_view details) {
    auto [seq, prev] = audit_tail(t);
    auto head = append_audit(t, seq, kind, actor, subject, details, prev);
    lmdb::put(t, meta, "audit_head", ledger_detail::key_bytes(head));
  }

  /// Appends an audit entry inside `t`; returns its hash (the new head).
  record_key append_audit(const lmdb::txn& t, uint64_t seq, std::string_view kind, std::string_view actor,
                          std::string_view subject, std::string_view details, const record_key& prev) {
    std::string value;
    codec::writer w(value);
    w.u8(1);
    w.svarint(ledger_detail::now_ms());
    w.str(kind);
    w.str(actor);
    w.str(subject);
    w.str(details);
    w.raw(ledger_detail::key_bytes(prev));
    lmdb::put(t, audit, codec::u64_key(seq), value, MDB_APPEND);
    return sha256::digest(value);
  }

  // --- the older levels' filter ---
  // Every prefix in the middle trees or `keys` is in `older_filter` (it may hold more: prefixes since
  // moved, deleted, or added by a transaction that aborted), so a prefix it has not seen is in
  // neither level and the probe skips both B-trees. Entries reach those levels only through
  // `merge_slice`, which adds them. The filter is built on a thread of its own, from a read
  // snapshot of the levels, started by the first write that probes (so neither open nor the first
  // commit waits for a scan of a large index; levels that fit a filter of the smallest capacity are
  // scanned inside that write instead) and again, twice as large as the levels, once more
  // prefixes were added than it was sized for; meanwhile commits probe without it (or with the
  // full one), and the prefixes merged since the build started are kept and added when the next
  // write installs it. Everything but the build thread's scan runs inside write transactions,
  // which LMDB runs one at a time; the data directory's lock keeps other processes from writing
  // the levels behind its back.
  std::optional<prefix_filter> older_filter;
  /// Smallest capacity a filter is built with (prefixes).
  uint64_t filter_min_capacity = ledger_store::default_filter_min_capacity;
  /// Filters installed so far (tests).
  uint64_t filter_builds = 0;
  struct filter_build {
    std::thread thread;
    std::atomic<bool> done{false}, stop{false};
    /// Set by the thread before `done`; empty when the scan failed or was stopped.
    std::optional<prefix_filter> result;
    /// Prefixes merged into the older levels since the build started (write transactions only).
    std::vector<uint64_t> merged_since;
  };
  std::unique_ptr<filter_build> building;

  /// Entries in the older levels as of `t` (those copied by a pass under way counted twice).
  uint64_t older_entries(const lmdb::txn& t) const {
    uint64_t n = entries(t, keys);
    for (MDB_dbi level : {keys_mid, keys_mid_b, keys_runs, keys_runs_b})
      if (level != 0) n += entries(t, level);
    return n;
  }
  /// A filter of the prefixes in the middle trees and `keys` as of `t`, or nothing if `stop` was
  /// raised.
  std::optional<prefix_filter> scan_older_levels(const lmdb::txn& t, const std::atomic<bool>* stop) const {
    prefix_filter f(std::max(filter_min_capacity, 2 * older_entries(t)));
    uint64_t seen = 0;
    for (MDB_dbi level : {keys_mid, keys_mid_b, keys, keys_runs, keys_runs_b}) {
      if (level == 0) continue;
      // A runs tree's keys are (run, prefix); the others' are the prefix.
      const std::size_t at = level == keys_runs || level == keys_runs_b ? 8 : 0;
      lmdb::cursor c(t, level);
      std::string_view k, v;
      for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT_NODUP)) {
        f.add(codec::reader::decode_u64be(k.substr(at)));
        if (stop != nullptr && (++seen & 4095) == 0 && stop->load(std::memory_order_relaxed))
          return std::nullopt;
      }
    }
    return f;
  }
  void start_filter_build() {
    building = std::make_unique<filter_build>();
    filter_build* b = building.get();
    b->thread = std::thread([this, b] {
      try {
        auto t = lmdb::txn::begin(env, true);
        b->result = scan_older_levels(t, &b->stop);
      } catch (const lmdb::error&) {
        b->result.reset();  // the next write builds it in its own transaction instead
      }
      b->done.store(true, std::memory_order_release);
    });
  }
  /// Keeps the filter across a restart: written to `meta/index_filter` when the ledger closes,
  /// stamped with the id of the transaction that writes it, and taken back (and removed) by the
  /// next open only if no transaction committed in between (the open's write transaction then has
  /// the next id). Removed at every open, so a ledger that crashes later never finds an old filter
  /// that a reset transaction id (a compacted copy) could make look current; a filter is never used
  /// for a ledger that changed after it was written. Otherwise it is built again as after any first
  /// commit. Only a ledger open for writing (which holds the lock).
  void save_older_filter() noexcept {
    if (lock_fd < 0 || !levels_open || !older_filter) return;
    try {
      auto t = lmdb::txn::begin(env, false);
      lmdb::put(t, meta, "index_filter", older_filter->serialize(mdb_txn_id(t.get())));
      t.commit();
    } catch (const lmdb::error&) {
      // A full map or a failed write at close: the next open builds the filter instead.
    }
  }
  /// Takes back (and removes) the filter `save_older_filter` wrote, if it is current; inside the
  /// open's write transaction `t`.
  void load_older_filter(const lmdb::txn& t) {
    std::string_view stored;
    if (!levels_open || !lmdb::get(t, meta, "index_filter", stored)) return;
    older_filter = prefix_filter::parse(stored, mdb_txn_id(t.get()) - 1);
    if (older_filter) ++filter_loads;
    lmdb::del(t, meta, "index_filter");
  }
  /// Filters taken back at open (tests).
  uint64_t filter_loads = 0;
  /// Waits for a running build (tests; the destructor).
  void join_filter_build(bool stop) {
    if (!building) return;
    if (stop) building->stop.store(true, std::memory_order_relaxed);
    if (building->thread.joinable()) building->thread.join();
  }
  /// Installs a finished build (or, if its scan failed, builds in `t`), and starts a build when
  /// there is no filter or it is full. Called by every write that probes, inside its transaction.
  void refresh_older_filter(const lmdb::txn& t) {
    if (building && building->done.load(std::memory_order_acquire)) {
      if (building->thread.joinable()) building->thread.join();  // a test may have joined it
      auto f = std::move(building->result);
      if (!f) f = scan_older_levels(t, nullptr);
      for (uint64_t p : building->merged_since) f->add(p);
      older_filter = std::move(f);
      ++filter_builds;
      building.reset();
    }
    if (building || (older_filter && !older_filter->full())) return;
    // Levels small enough for a filter of the smallest capacity (32,768 keys by default, a scan of
    // a millisecond or two) are scanned here, in `t`: the filter is then there from the first
    // commit on, and whether a close saves one does not depend on a thread's timing (simulations
    // replay a seed commit for commit).
    if (2 * older_entries(t) <= filter_min_capacity) {
      older_filter = scan_older_levels(t, nullptr);
      ++filter_builds;
      return;
    }
    start_filter_build();
  }

  /// Key prefixes (as big-endian numbers, sorted) that a commit probed in the older index levels
  /// (the middle trees, `keys`) before storing anything, and found in neither. Within that write
  /// transaction those levels only lose entries until `settle_levels` (new entries go to the new
  /// level), so a prefix absent at the start stays absent: `find_latest` skips the two
  /// lookups that miss the cache most, for the usual case of a key never seen before.
  struct older_levels_probe {
    std::vector<uint64_t> absent;
    bool skips(std::string_view prefix) const {
      return std::binary_search(absent.begin(), absent.end(), codec::reader::decode_u64be(prefix));
    }
  };
  /// Probes `prefixes` (8-byte key prefixes as big-endian numbers) in key order: a prefix the
  /// filter has not seen is absent without a lookup; the others are looked up with one cursor per
  /// level, so neighbouring probes share the B-tree pages already in cache. Empty (nothing is
  /// skipped) unless the levels are open. Only inside a write transaction (it installs the filter).
  older_levels_probe probe_older_levels(const lmdb::txn& t, std::vector<uint64_t> prefixes) {
    older_levels_probe out;
    if (!levels_open) return out;
    refresh_older_filter(t);
    std::sort(prefixes.begin(), prefixes.end());
    prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
    lmdb::cursor mid(t, mid_active);
    std::optional<lmdb::cursor> swept;
    if (mid_sweeping != 0) swept.emplace(t, mid_sweeping);
    lmdb::cursor main(t, keys);
    std::optional<lmdb::cursor> runs, folding;
    if (!runs_active.runs.empty()) runs.emplace(t, runs_active.dbi);
    if (!runs_folding.runs.empty()) folding.emplace(t, runs_folding.dbi);
    const auto in_runs = [](std::optional<lmdb::cursor>& c, const run_tree& tree, const std::string& bytes) {
      for (auto run = tree.runs.rbegin(); c && run != tree.runs.rend(); ++run) {
        const std::string key = run_key(*run, bytes);
        std::string_view k = key, v;
        if (c->seek(k, v, MDB_SET_KEY)) return true;
      }
      return false;
    };
    out.absent.reserve(prefixes.size());
    for (uint64_t p : prefixes) {
      if (older_filter && !older_filter->may_contain(p)) {
        out.absent.push_back(p);
        continue;
      }
      const std::string bytes = codec::u64_key(p);
      std::string_view k = bytes, v;
      if (mid.seek(k, v, MDB_SET_KEY)) continue;
      k = bytes;
      if (swept && swept->seek(k, v, MDB_SET_KEY)) continue;
      if (in_runs(runs, runs_active, bytes) || in_runs(folding, runs_folding, bytes)) continue;
      k = bytes;
      if (!main.seek(k, v, MDB_SET_KEY)) out.absent.push_back(p);
    }
    return out;
  }
  /// The stored record `seq`, if its key is `key` (several keys may share a prefix).
  std::optional<std::pair<uint64_t, std::string_view>> record_if_key(const lmdb::txn& t, uint64_t seq,
                                                                     const record_key& key) const {
    std::string_view rec;
    if (!lmdb::get(t, records, codec::u64_key(seq), rec))
      throw lmdb::error("index points at a missing record", MDB_CORRUPTED);
    if (record_codec::key_of(rec) == ledger_detail::key_bytes(key)) return std::make_pair(seq, rec);
    return std::nullopt;
  }
  /// The latest version of `key` that the B-tree level `level` (prefix -> sequences) indexes, or
  /// its run `run` when it is a runs tree.
  std::optional<std::pair<uint64_t, std::string_view>> find_in_level(const lmdb::txn& t, MDB_dbi level,
                                                                     const record_key& key,
                                                                     std::optional<uint64_t> run = {}) const {
    lmdb::cursor c(t, level);
    const std::string_view prefix = ledger_detail::key_bytes(key).substr(0, 8);
    const std::string in_run = run ? run_key(*run, prefix) : std::string();
    std::string_view k = run ? std::string_view(in_run) : prefix;
    std::string_view v;
    if (!c.seek(k, v, MDB_SET_KEY)) return std::nullopt;
    do {
      if (auto found = record_if_key(t, codec::reader::decode_u64be(v), key)) return found;
    } while (c.get(k, v, MDB_NEXT_DUP));
    return std::nullopt;
  }
  /// Finds the latest stored version of `key`, if any, in every level of the index (skipping the
  /// older levels for a key `probe` found in neither). Inside a write transaction holding an
  /// `index_scope` (it reads the new level's table, which sees the transaction's own writes).
  std::optional<std::pair<uint64_t, std::string_view>> find_latest(
      const lmdb::txn& t, const record_key& key, const older_levels_probe* probe = nullptr) {
    const std::string_view prefix = ledger_detail::key_bytes(key).substr(0, 8);
    if (levels_open) {
      new_level_require();
      std::optional<std::pair<uint64_t, std::string_view>> found;
      if (new_level.find_if(codec::reader::decode_u64be(prefix),
                            [&](uint64_t seq) { return (found = record_if_key(t, seq, key)).has_value(); }))
        return found;
      if (probe != nullptr && probe->skips(prefix)) return std::nullopt;
      if (auto found = find_in_level(t, mid_active, key)) return found;
      if (mid_sweeping != 0)
        if (auto found = find_in_level(t, mid_sweeping, key)) return found;
      if (auto found = find_in_runs(t, runs_active, key)) return found;
      if (auto found = find_in_runs(t, runs_folding, key)) return found;
    }
    return find_in_level(t, keys, key);
  }
  /// The latest version of `key` in the runs of `tree`, newest first.
  std::optional<std::pair<uint64_t, std::string_view>> find_in_runs(const lmdb::txn& t, const run_tree& tree,
                                                                    const record_key& key) const {
    for (auto run = tree.runs.rbegin(); run != tree.runs.rend(); ++run)
      if (auto found = find_in_level(t, tree.dbi, key, *run)) return found;
    return std::nullopt;
  }
  /// The same in any transaction, without the table (a read-only open, or a reader beside the
  /// writer): the new level's log is scanned from its newest entry (at most `index_new_limit`).
  std::optional<std::pair<uint64_t, std::string_view>> find_latest_reading(const lmdb::txn& t,
                                                                           const record_key& key) const {
    const std::string_view prefix = ledger_detail::key_bytes(key).substr(0, 8);
    if (levels_open) {
      if (keys_log != 0) {
        const uint64_t want = codec::reader::decode_u64be(prefix);
        lmdb::cursor c(t, keys_log);
        std::string_view k, v;
        std::vector<uint64_t> seqs;  // of `want` in one log value, newest last
        for (bool more = c.get(k, v, MDB_LAST); more; more = c.get(k, v, MDB_PREV)) {
          seqs.clear();
          ledger_detail::for_each_log_entry(k, v, [&](uint64_t seq, uint64_t p) {
            if (p == want) seqs.push_back(seq);
          });
          for (auto seq = seqs.rbegin(); seq != seqs.rend(); ++seq)
            if (auto found = record_if_key(t, *seq, key)) return found;
        }
      }
      if (keys_new_v1 != 0)
        if (auto found = find_in_level(t, keys_new_v1, key)) return found;
      const auto [active, sweeping] = mid_roles(t);
      if (auto found = find_in_level(t, active, key)) return found;
      if (sweeping != 0)
        if (auto found = find_in_level(t, sweeping, key)) return found;
      const auto [runs, folding] = runs_roles(t);
      if (auto found = find_in_runs(t, runs, key)) return found;
      if (auto found = find_in_runs(t, folding, key)) return found;
    }
    return find_in_level(t, keys, key);
  }
};

}  // namespace dspsync
