#include "storage/ledger_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "domain/idempotency.hpp"
#include "storage/codec.hpp"
#include "storage/lmdb.hpp"
#include "storage/record_codec.hpp"

#include "storage/ledger_impl.hpp"

namespace dspsync {

using namespace ledger_detail;

ledger_store::ledger_store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
ledger_store::~ledger_store() = default;

expected<std::unique_ptr<ledger_store>> ledger_store::open(const ledger_options& opts) {
  const auto& dir = opts.dir;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT || !opts.create || opts.read_only)
      return failure{ec::storage_failure, "data_dir \"" + dir + "\": " + std::strerror(errno) +
                                              (opts.read_only ? " (nothing to inspect there)" : "")};
    if (::mkdir(dir.c_str(), 0700) != 0)
      return failure{ec::storage_failure, "data_dir \"" + dir + "\": cannot create: " + std::strerror(errno) +
                                              " (does its parent directory exist?)"};
  } else if (!S_ISDIR(st.st_mode)) {
    return failure{ec::storage_failure, "data_dir \"" + dir + "\": not a directory"};
  }
  auto p = std::make_unique<impl>();
  if (!opts.read_only) {
    if (::access(dir.c_str(), W_OK) != 0)
      return failure{ec::storage_failure, "data_dir \"" + dir + "\": not writable: " + std::strerror(errno)};
    // One engine per data directory: LMDB itself would let a second writer process in.
    auto lock_path = dir + "/dspsync.lock";
    p->lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (p->lock_fd < 0)
      return failure{ec::storage_failure,
                     "data_dir \"" + dir + "\": cannot open lock file: " + std::strerror(errno)};
    if (::flock(p->lock_fd, LOCK_EX | LOCK_NB) != 0)
      return failure{
          ec::storage_failure,
          "data_dir \"" + dir + "\": another dspsync engine is using it (lock held on " + lock_path + ")"};
  }
  try {
    p->env = lmdb::env::open(dir, opts.map_size_mib * 1024 * 1024, 32,
                             (opts.read_only ? MDB_RDONLY : 0) | (opts.durable ? 0 : MDB_NOSYNC));
    auto t = lmdb::txn::begin(p->env, opts.read_only);
    unsigned create = opts.read_only ? 0 : MDB_CREATE;
    p->meta = lmdb::open_db(t, "meta", create);
    std::string_view fmt;
    bool has_format = lmdb::get(t, p->meta, "format", fmt);
    if (has_format && fmt != format_tag && fmt != format_tag_v4 && fmt != format_tag_v3 &&
        fmt != format_tag_v2 && fmt != format_tag_v1)
      return failure{ec::storage_failure, "data_dir \"" + dir + "\": holds \"" + std::string(fmt) +
                                              "\", not a " + std::string(format_tag) + " ledger"};
    // A `dspsync-ledger/1` ledger opened for writing is moved to this format by `open_levels`; a
    // `/2`, `/3` or `/4` one needs nothing moved (its log entries are read as they are, it has no
    // merge pass under way, and a sweep under way goes on into `keys` as it began).
    if (has_format && fmt != format_tag && !opts.read_only) lmdb::put(t, p->meta, "format", format_tag);
    if (!has_format) {
      // A fresh environment must be empty of other databases, or it belongs to someone else.
      lmdb::cursor c(t, lmdb::open_db(t, nullptr, 0));
      std::string_view k, v;
      if (c.get(k, v, MDB_FIRST) && !(k == "meta" && !c.get(k, v, MDB_NEXT)))
        return failure{ec::storage_failure,
                       "data_dir \"" + dir + "\": holds an LMDB environment that is not a dspsync ledger"};
      lmdb::put(t, p->meta, "format", format_tag);
    }
    p->pages = lmdb::open_db(t, "pages", create);
    p->records = lmdb::open_db(t, "records", create);
    p->keys = lmdb::open_db(t, "keys", create | MDB_DUPSORT | MDB_DUPFIXED);
    p->open_levels(t, create);  // the key index's small levels
    if (!opts.read_only) p->load_older_filter(t);
    p->quarantine = lmdb::open_db(t, "quarantine", create);
    p->cursors = lmdb::open_db(t, "cursors", create);
    p->audit = lmdb::open_db(t, "audit", create);
    p->attempts = lmdb::open_db(t, "attempts", create);
    p->next_attempt = last_seq(t, p->attempts) + 1;
    p->open_lifecycle(t, create);  // lifecycle: reconciliation and settlement
    p->open_webhooks(t, create);   // webhooks: holding buffer and replay records
    p->next_page = last_seq(t, p->pages) + 1;
    p->next_record = last_seq(t, p->records) + 1;
    t.commit();
  } catch (const lmdb::error& e) {
    p->older_filter.reset();  // nothing to save at close: the open did not happen
    return failure{ec::storage_failure, "data_dir \"" + dir + "\": " + e.what()};
  }
  std::unique_ptr<ledger_store> store(new ledger_store(std::move(p)));
  store->dir_ = dir;
  return expected<std::unique_ptr<ledger_store>>(std::move(store));
}

void ledger_store::set_commit_fault(std::function<int()> fault) {
  impl_->env.set_commit_fault(std::move(fault));
}

void ledger_store::set_index_limits(uint64_t new_limit, uint64_t mid_limit, uint64_t step_pages,
                                    uint64_t filter_min_capacity) {
  impl_->index_new_limit = std::max<uint64_t>(1, new_limit);
  impl_->index_mid_limit = std::max<uint64_t>(1, mid_limit);
  impl_->index_step_pages = std::max<uint64_t>(1, step_pages);
  impl_->filter_min_capacity = std::max<uint64_t>(1, filter_min_capacity);
}

commit_timings ledger_store::commit_durations() const {
  const std::lock_guard<std::mutex> lock(impl_->timings_mutex);
  return impl_->timings;
}

void ledger_store::set_index_slice_entries(uint64_t entries) {
  impl_->index_slice_entries = std::max<uint64_t>(1, entries);
}

void ledger_store::set_index_runs_limit(uint64_t runs) {
  impl_->index_runs_limit = std::max<uint64_t>(1, runs);
}

void ledger_store::set_index_sweep_into_keys(bool into_keys) { impl_->sweep_into_keys = into_keys; }

uint64_t ledger_store::index_filter_builds() const { return impl_->filter_builds; }

uint64_t ledger_store::index_filter_loads() const { return impl_->filter_loads; }

void ledger_store::wait_index_filter() { impl_->join_filter_build(/*stop=*/false); }

expected<std::vector<batch_outcome>> ledger_store::commit(const std::vector<const ingest_batch*>& batches) {
  auto& s = *impl_;
  std::vector<batch_outcome> outcomes;
  outcomes.reserve(batches.size());
  const auto started = std::chrono::steady_clock::now();
  try {
    auto t = lmdb::txn::begin(s.env, false);
    impl::index_scope scope(s, t);
    uint64_t next_page = s.next_page, next_record = s.next_record;
    auto [next_audit, head] = s.audit_tail(t);
    std::string value, content, qvalue;
    // Held updates wait for a base record; while none are held, no batch looks for them.
    bool holding = s.webhooks_open && s.held_count(t) > 0;
    std::vector<uint64_t> prefixes;
    for (const auto* b : batches) {
      const auto& records = b->records;
      for (std::size_t i = 0; i < records.size(); ++i) {
        // Records come from another thread's cache (or from none): fetch their keys ahead.
        if (i + 16 < records.size()) __builtin_prefetch(&records[i + 16].key);
        prefixes.push_back(codec::reader::decode_u64be(key_bytes(records[i].key).substr(0, 8)));
      }
    }
    const auto probe = s.probe_older_levels(t, std::move(prefixes));
    for (const auto* b : batches) {
      batch_outcome out;
      std::string_view cp_bytes;
      source_checkpoint cp;
      // A source's first page starts from the cursor it was fetched at.
      cp.cursor = b->cursor_before;
      if (lmdb::get(t, s.cursors, b->source, cp_bytes)) {
        cp = decode_checkpoint(cp_bytes);
        if (cp.cursor != b->cursor_before) {
          out.refused = "cursor fence: page fetched at \"" + b->cursor_before +
                        "\" but the committed cursor is \"" + cp.cursor + "\"";
          outcomes.push_back(std::move(out));
          continue;
        }
      } else if (b->after_uncommitted) {
        out.refused = "cursor fence: page fetched at \"" + b->cursor_before +
                      "\" follows a page that was not committed (the source has no checkpoint yet)";
        outcomes.push_back(std::move(out));
        continue;
      }
      if (!b->replay_key.empty() && s.webhooks_open) {
        if (auto first = s.replayed_page(t, *b)) {
          // The same signed delivery again: recorded as such, nothing of it stored a second time.
          out.replayed = true;
          out.page_seq = *first;
          head = s.append_audit(
              t, next_audit++, "webhook.replayed", b->source, "page:" + std::to_string(*first),
              "request=" + b->request + " correlation=" + b->correlation_id +
                  " signed_at=" + std::to_string(b->signed_at_s) + " body_sha256=" + b->body_sha256,
              head);
          outcomes.push_back(std::move(out));
          continue;
        }
      }
      std::string details;
      if (!b->page_errors.empty()) {
        // A corrupt page: keep it whole in quarantine; the cursor stays where it was.
        stored_quarantine q;
        q.key = sha256::digest(b->source + '\x1f' + b->body);
        q.kind = "page";
        q.source = b->source;
        q.request = b->request;
        q.errors = b->page_errors;
        q.raw = b->body;
        lmdb::put(t, s.quarantine, key_bytes(q.key), encode_quarantine(q));
        out.page_quarantined = true;
        cp.page_faults += 1;
        cp.updated_at_ms = now_ms();
        lmdb::put(t, s.cursors, b->source, encode_checkpoint(cp));
        details = "request=" + b->request + " reason=" + b->page_errors.front().message;
        head = s.append_audit(t, next_audit++, "page.quarantined", b->source, to_hex(q.key), details, head);
        outcomes.push_back(std::move(out));
        continue;
      }
      out.page_seq = next_page++;
      lmdb::put(t, s.pages, codec::u64_key(out.page_seq), encode_page(*b), MDB_APPEND);
      if (!b->replay_key.empty() && s.webhooks_open) s.remember_delivery(t, *b, out.page_seq);
      out.records_in = b->records_in;
      ledger_store::impl::release_counts released_here;  // held updates of this source released now
      const auto& records = b->records;
      const bool prepared = b->content_ends.size() == records.size() &&
                            (records.empty() || b->content_ends.back() == b->contents.size());
      for (std::size_t i = 0; i < records.size(); ++i) {
        // The records and the new level's table slots of their keys miss the cache: start the
        // misses ahead, the record's own lines first (its key, and its faults and flags at its end)
        // and its table slot once its key is in.
        if (i + 16 < records.size()) {
          __builtin_prefetch(&records[i + 16].key);
          __builtin_prefetch(&records[i + 16].faults);
        }
        if (i + 8 < records.size())
          s.new_level.prefetch(codec::reader::decode_u64be(key_bytes(records[i + 8].key).substr(0, 8)));
        const auto& kr = records[i];
        std::string_view content_bytes;
        if (prepared) {
          const uint32_t from = i == 0 ? 0 : b->content_ends[i - 1];
          content_bytes = std::string_view(b->contents).substr(from, b->content_ends[i] - from);
        } else {
          content.clear();
          record_codec::encode_content(kr.record, content);
          content_bytes = content;
        }
        auto latest = s.find_latest(t, kr.key, &probe);
        if (kr.update && !latest && s.webhooks_open) {
          // An update of a record not ingested yet: it waits for its base record.
          s.hold_update(t, b->source, out.page_seq, kr, content_bytes);
          ++out.held;
          holding = true;
          continue;
        }
        const auto done = s.put_version(t, kr, content_bytes, latest, out.page_seq, next_record, value);
        if (done == impl::put_outcome::duplicate) {
          ++out.duplicates;
          continue;
        }
        ++(done == impl::put_outcome::restated ? out.restatements : out.inserted);
        if (kr.state == record_state::pending_reconciliation) ++out.pending;
        if (done != impl::put_outcome::inserted || !holding) continue;
        // A new key: updates held for it are applied now, in the same transaction.
        for (const auto& [source, c] : s.release_held(t, kr.key, next_record)) {
          out.released += c.records;
          if (source != b->source) {
            s.add_released(t, source, c);
            continue;
          }
          released_here.records += c.records;
          released_here.restated += c.restated;
          released_here.duplicates += c.duplicates;
          released_here.pending += c.pending;
        }
        holding = s.held_count(t) > 0;
      }
      for (const auto& qi : b->quarantined) {
        std::string_view existing;
        if (lmdb::get(t, s.quarantine, key_bytes(qi.key), existing)) {
          // The same bytes from the same source again: already kept once.
          ++out.duplicates;
          continue;
        }
        stored_quarantine q;
        q.key = qi.key;
        q.kind = "record";
        q.source = b->source;
        q.request = b->request;
        q.position = qi.position;
        q.errors = qi.errors;
        q.raw = qi.raw;
        lmdb::put(t, s.quarantine, key_bytes(q.key), encode_quarantine(q));
        ++out.quarantined;
      }
      cp.cursor = b->cursor_after;
      cp.caught_up = b->caught_up;
      cp.pages += 1;
      // Held updates join the counts when they are released, so the identity holds at every commit.
      cp.records_in += out.records_in - out.held + released_here.records;
      cp.inserted += out.inserted;
      cp.restatements += out.restatements + released_here.restated;
      cp.duplicates += out.duplicates + released_here.duplicates;
      cp.quarantined += out.quarantined;
      cp.pending += out.pending + released_here.pending;
      cp.updated_at_ms = now_ms();
      lmdb::put(t, s.cursors, b->source, encode_checkpoint(cp));
      details = "request=" + b->request + " correlation=" + b->correlation_id +
                " body_sha256=" + b->body_sha256 + " cursor=" + b->cursor_before + " -> " + b->cursor_after +
                " in=" + std::to_string(out.records_in) + " new=" + std::to_string(out.inserted) +
                " restated=" + std::to_string(out.restatements) +
                " duplicates=" + std::to_string(out.duplicates) +
                " quarantined=" + std::to_string(out.quarantined) + " pending=" + std::to_string(out.pending);
      if (out.held > 0 || out.released > 0)
        details += " held=" + std::to_string(out.held) + " released=" + std::to_string(out.released);
      head = s.append_audit(t, next_audit++, "page.committed", b->source,
                            "page:" + std::to_string(out.page_seq), details, head);
      outcomes.push_back(std::move(out));
    }
    lmdb::put(t, s.meta, "audit_head", key_bytes(head));
    s.settle_levels(t);
    const auto durable_from = std::chrono::steady_clock::now();
    scope.commit(t);
    const auto done = std::chrono::steady_clock::now();
    {
      const std::lock_guard<std::mutex> lock(s.timings_mutex);
      s.timings.commit.observe(std::chrono::duration<double>(done - started).count());
      s.timings.durable.observe(std::chrono::duration<double>(done - durable_from).count());
    }
    s.next_page = next_page;
    s.next_record = next_record;
  } catch (const lmdb::error& e) {
    return write_failure(e, "ledger commit in \"" + dir_ + "\"");
  }
  return outcomes;
}

void ledger_store::prepare(ingest_batch& b) {
  b.contents.clear();
  b.content_ends.clear();
  b.content_ends.reserve(b.records.size());
  b.contents.reserve(b.records.size() * 128);  // a usual record's content is about 100 bytes
  for (const auto& kr : b.records) {
    record_codec::encode_content(kr.record, b.contents);
    if (b.contents.size() > UINT32_MAX) {  // beyond what the ends can say: the commit encodes
      b.contents.clear();
      b.content_ends.clear();
      return;
    }
    b.content_ends.push_back(static_cast<uint32_t>(b.contents.size()));
  }
}

ledger_store::impl::put_outcome ledger_store::impl::put_version(
    const lmdb::txn& t, const keyed_record& kr, std::string_view content,
    const std::optional<std::pair<uint64_t, std::string_view>>& latest, uint64_t page_seq,
    uint64_t& next_record, std::string& scratch) {
  uint32_t version = 1;
  uint64_t prev = 0;
  if (latest) {
    std::string_view v = latest->second;
    for (uint64_t at = latest->first;;) {
      if (record_codec::content_of(v) == content) return put_outcome::duplicate;
      at = record_codec::prev_of(v);
      if (at == 0) break;
      if (!lmdb::get(t, records, codec::u64_key(at), v))
        throw lmdb::error("version chain points at a missing record", MDB_CORRUPTED);
    }
    // Same key, changed values: a restatement, stored as a new version.
    version = record_codec::version_of(latest->second) + 1;
    prev = latest->first;
    index_del(t, key_bytes(kr.key).substr(0, 8), codec::u64_key(prev));
  }
  uint64_t seq = next_record++;
  scratch.clear();
  record_codec::encode(kr, version, prev, page_seq, content, scratch);
  auto seq_key = codec::u64_key(seq);
  lmdb::put(t, records, seq_key, scratch, MDB_APPEND);
  index_put(t, key_bytes(kr.key).substr(0, 8), seq_key);
  return version == 1 ? put_outcome::inserted : put_outcome::restated;
}

expected<std::optional<source_checkpoint>> ledger_store::checkpoint(std::string_view source) const {
  try {
    auto t = lmdb::txn::begin(impl_->env, true);
    std::string_view v;
    if (!lmdb::get(t, impl_->cursors, source, v)) return std::optional<source_checkpoint>{};
    return std::optional<source_checkpoint>{decode_checkpoint(v)};
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading checkpoint: ") + e.what()};
  }
}

expected<std::vector<std::pair<std::string, source_checkpoint>>> ledger_store::checkpoints() const {
  std::vector<std::pair<std::string, source_checkpoint>> out;
  try {
    auto t = lmdb::txn::begin(impl_->env, true);
    lmdb::cursor c(t, impl_->cursors);
    std::string_view k, v;
    for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT))
      out.emplace_back(std::string(k), decode_checkpoint(v));
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading checkpoints: ") + e.what()};
  }
  return out;
}

status ledger_store::set_cursor(std::string_view source, std::string_view cursor, std::string_view actor) {
  auto& s = *impl_;
  try {
    auto t = lmdb::txn::begin(s.env, false);
    source_checkpoint cp;
    std::string_view v;
    if (lmdb::get(t, s.cursors, source, v)) cp = decode_checkpoint(v);
    std::string details = "cursor \"" + cp.cursor + "\" -> \"" + std::string(cursor) + "\"";
    cp.cursor = std::string(cursor);
    cp.caught_up = false;
    cp.updated_at_ms = now_ms();
    lmdb::put(t, s.cursors, source, encode_checkpoint(cp));
    s.append_audit_entry(t, "cursor.set", actor, source, details);
    t.commit();
  } catch (const lmdb::error& e) {
    return write_failure(e, "setting cursor");
  }
  return ok;
}

expected<std::vector<stored_record>> ledger_store::versions(const record_key& key) const {
  std::vector<stored_record> out;
  try {
    auto t = lmdb::txn::begin(impl_->env, true);
    auto latest = impl_->find_latest_reading(t, key);
    if (!latest) return out;
    uint64_t seq = latest->first;
    std::string_view v = latest->second;
    while (true) {
      out.push_back(record_codec::decode(seq, v));
      seq = out.back().prev_seq;
      if (seq == 0) break;
      if (!lmdb::get(t, impl_->records, codec::u64_key(seq), v))
        throw lmdb::error("version chain points at a missing record", MDB_CORRUPTED);
    }
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading versions: ") + e.what()};
  }
  std::reverse(out.begin(), out.end());
  return out;
}

status ledger_store::for_each_record(const std::function<void(const stored_record&)>& fn) const {
  try {
    auto t = lmdb::txn::begin(impl_->env, true);
    lmdb::cursor c(t, impl_->records);
    std::string_view k, v;
    for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT))
      fn(record_codec::decode(codec::reader::decode_u64be(k), v));
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading records: ") + e.what()};
  }
  return ok;
}

status ledger_store::for_each_quarantined(const std::function<void(const stored_quarantine&)>& fn) const {
  try {
    auto t = lmdb::txn::begin(impl_->env, true);
    lmdb::cursor c(t, impl_->quarantine);
    std::string_view k, v;
    for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT)) fn(decode_quarantine(v));
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading quarantine: ") + e.what()};
  }
  return ok;
}

expected<std::optional<stored_page>> ledger_store::page(uint64_t seq) const {
  try {
    auto t = lmdb::txn::begin(impl_->env, true);
    std::string_view v;
    if (!lmdb::get(t, impl_->pages, codec::u64_key(seq), v)) return std::optional<stored_page>{};
    return std::optional<stored_page>{decode_page(seq, v)};
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading page: ") + e.what()};
  }
}

status ledger_store::append_attempts(const std::vector<attempt_record>& attempts) {
  auto& s = *impl_;
  if (attempts.empty()) return ok;
  try {
    auto t = lmdb::txn::begin(s.env, false);
    uint64_t seq = s.next_attempt;
    std::string value;
    for (const auto& a : attempts) {
      value.clear();
      codec::writer w(value);
      w.u8(1);
      w.svarint(a.at_ms);
      w.str(a.endpoint);
      w.str(a.request);
      w.svarint(a.status);
      w.str(a.error);
      w.str(a.classification);
      w.svarint(a.attempt);
      w.svarint(a.delay_ms);
      w.str(a.delay_source);
      w.str(a.body_sha256);
      w.str(a.correlation_id);
      lmdb::put(t, s.attempts, codec::u64_key(seq++), value, MDB_APPEND);
    }
    t.commit();
    s.next_attempt = seq;
  } catch (const lmdb::error& e) {
    return write_failure(e, "writing retry ledger");
  }
  return ok;
}

status ledger_store::for_each_attempt(const std::function<void(const attempt_record&)>& fn) const {
  try {
    auto t = lmdb::txn::begin(impl_->env, true);
    lmdb::cursor c(t, impl_->attempts);
    std::string_view k, v;
    for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT)) {
      codec::reader r(v);
      attempt_record a;
      r.u8();
      a.at_ms = r.svarint();
      a.endpoint = std::string(r.str());
      a.request = std::string(r.str());
      a.status = static_cast<int>(r.svarint());
      a.error = std::string(r.str());
      a.classification = std::string(r.str());
      a.attempt = static_cast<int>(r.svarint());
      a.delay_ms = r.svarint();
      a.delay_source = std::string(r.str());
      a.body_sha256 = std::string(r.str());
      a.correlation_id = std::string(r.str());
      if (!r.ok()) throw lmdb::error("corrupt retry ledger entry", MDB_CORRUPTED);
      fn(a);
    }
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading retry ledger: ") + e.what()};
  }
  return ok;
}

status ledger_store::audit(std::string_view kind, std::string_view actor, std::string_view subject,
                           std::string_view details) {
  auto& s = *impl_;
  try {
    auto t = lmdb::txn::begin(s.env, false);
    s.append_audit_entry(t, kind, actor, subject, details);
    t.commit();
  } catch (const lmdb::error& e) {
    return write_failure(e, "writing audit entry");
  }
  return ok;
}

expected<audit_verification> ledger_store::verify_audit() const {
  audit_verification out;
  try {
    auto t = lmdb::txn::begin(impl_->env, true);
    lmdb::cursor c(t, impl_->audit);
    std::string_view k, v;
    record_key expected_prev{};
    uint64_t prev_seq = 0;
    for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT)) {
      uint64_t seq = codec::reader::decode_u64be(k);
      ++out.entries;
      if (v.size() < 33 || v.substr(v.size() - 32) != key_bytes(expected_prev)) {
        // Entry `seq` no longer chains to its predecessor. Either the predecessor's bytes changed, or
        // this entry's own bytes did; in the second case its successor (or the head) no longer
        // chains to it either.
        auto own = sha256::digest(v);
        std::string_view nk, nv, head;
        bool successor_ok;
        if (c.get(nk, nv, MDB_NEXT))
          successor_ok = nv.size() >= 32 && nv.substr(nv.size() - 32) == key_bytes(own);
        else
          successor_ok = lmdb::get(t, impl_->meta, "audit_head", head) && head == key_bytes(own);
        out.first_broken_seq = (successor_ok && prev_seq != 0) ? prev_seq : seq;
        out.detail = "entry " + std::to_string(seq) + " does not chain to entry " + std::to_string(prev_seq);
        return out;
      }
      expected_prev = sha256::digest(v);
      prev_seq = seq;
    }
    std::string_view head;
    if (prev_seq != 0 &&
        (!lmdb::get(t, impl_->meta, "audit_head", head) || head != key_bytes(expected_prev))) {
      out.first_broken_seq = prev_seq;
      out.detail = "the last entry " + std::to_string(prev_seq) + " does not match the stored chain head";
    }
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("verifying audit chain: ") + e.what()};
  }
  return out;
}

expected<ledger_stats> ledger_store::stats() const {
  ledger_stats out;
  try {
    auto t = lmdb::txn::begin(impl_->env, true);
    auto entries = [&](MDB_dbi dbi) { return impl::entries(t, dbi); };
    out.pages = entries(impl_->pages);
    out.record_versions = entries(impl_->records);
    out.quarantined = entries(impl_->quarantine);
    out.audit_entries = entries(impl_->audit);
    out.index_main = entries(impl_->keys);
    if (impl_->levels_open) {
      // The active runs tree, and what a fold pass under way has not copied to `keys` yet.
      if (impl_->keys_runs != 0) {
        const auto [active, folding] = impl_->runs_roles(t);
        out.index_folding = impl_->meta_u64(t, "index_fold_left");
        out.index_main += entries(active.dbi) + out.index_folding;
        out.index_runs = active.runs.size() + folding.runs.size();
      }
      // Entries a merge pass under way copied to the middle level count there only.
      out.index_new = (impl_->keys_log != 0 ? impl_->log_entries(t) : 0) +
                      (impl_->keys_new_v1 != 0 ? entries(impl_->keys_new_v1) : 0) -
                      impl_->meta_u64(t, "index_merge_copied");
      // The tree being swept counts for the entries it has not copied to the main level yet.
      out.index_mid = entries(impl_->mid_roles(t).first) + impl_->sweep_left(t);
    }
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading stats: ") + e.what()};
  }
  return out;
}

}  // namespace dspsync
