// The operator console's part of ledger_store (section "operator console" of ledger_store.hpp): the
// audit log as entries, one quarantined item, state counts, and release from quarantine.

#include <unistd.h>  // ledger_impl.hpp closes the lock file

#include <cstring>

#include "storage/ledger_impl.hpp"

namespace dspsync {

using namespace ledger_detail;

namespace {

/// Where a stored record version keeps its state byte (record_codec: format(1) state(1) ...).
constexpr std::size_t record_state_offset = 1;

audit_entry decode_audit(uint64_t seq, std::string_view v) {
  codec::reader r(v);
  audit_entry a;
  a.seq = seq;
  r.u8();
  a.at_ms = r.svarint();
  a.kind = std::string(r.str());
  a.actor = std::string(r.str());
  a.subject = std::string(r.str());
  a.details = std::string(r.str());
  if (!r.ok()) throw lmdb::error("corrupt audit entry", MDB_CORRUPTED);
  return a;
}

/// The first page of `source` fetched with `request` whose body holds `raw`: where a quarantined
/// record came from (0 when none is found, e.g. a file source whose pages are not kept).
uint64_t find_origin_page(const lmdb::txn& t, MDB_dbi pages, std::string_view source,
                          std::string_view request, std::string_view raw) {
  lmdb::cursor c(t, pages);
  std::string_view k, v;
  for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT)) {
    codec::reader r(v);
    r.u8();
    if (r.str() != source || r.str() != request) continue;
    if (decode_page(0, v).body.find(raw) != std::string::npos) return codec::reader::decode_u64be(k);
  }
  return 0;
}

}  // namespace

status ledger_store::for_each_audit(const std::function<void(const audit_entry&)>& fn) const {
  try {
    auto t = lmdb::txn::begin(impl_->env, true);
    lmdb::cursor c(t, impl_->audit);
    std::string_view k, v;
    for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT))
      fn(decode_audit(codec::reader::decode_u64be(k), v));
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading the audit log: ") + e.what()};
  }
  return ok;
}

expected<std::optional<stored_quarantine>> ledger_store::quarantined(const record_key& key) const {
  try {
    auto t = lmdb::txn::begin(impl_->env, true);
    std::string_view v;
    if (!lmdb::get(t, impl_->quarantine, key_bytes(key), v)) return std::optional<stored_quarantine>{};
    return std::optional<stored_quarantine>{decode_quarantine(v)};
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading quarantine: ") + e.what()};
  }
}

expected<std::map<record_state, uint64_t>> ledger_store::latest_state_counts() const {
  std::map<record_state, uint64_t> out;
  try {
    auto t = lmdb::txn::begin(impl_->env, true);
    lmdb::cursor c(t, impl_->records);
    std::string_view k, v;
    // One pass: a version is superseded by a later one naming it as its previous version, so count
    // every version and take back the ones superseded.
    for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT)) {
      if (v.size() <= record_state_offset) throw lmdb::error("corrupt record value", MDB_CORRUPTED);
      auto state = static_cast<record_state>(static_cast<uint8_t>(v[record_state_offset]));
      ++out[state];
      if (auto prev = record_codec::prev_of(v); prev != 0) {
        std::string_view pv;
        if (lmdb::get(t, impl_->records, codec::u64_key(prev), pv) && pv.size() > record_state_offset) {
          auto& n = out[static_cast<record_state>(static_cast<uint8_t>(pv[record_state_offset]))];
          if (n > 0) --n;
        }
      }
    }
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("counting records: ") + e.what()};
  }
  return out;
}

expected<std::string> ledger_store::release_quarantined(const record_key& quarantine_key,
                                                        const keyed_record& rec, std::string_view actor) {
  auto& s = *impl_;
  std::string answer;
  try {
    auto t = lmdb::txn::begin(s.env, false);
    impl::index_scope scope(s, t);
    std::string_view qv;
    if (!lmdb::get(t, s.quarantine, key_bytes(quarantine_key), qv))
      return failure{ec::bad_argument,
                     "quarantine item " + to_hex(quarantine_key) + " does not exist (released already?)"};
    const stored_quarantine q = decode_quarantine(qv);
    if (q.kind != "record")
      return failure{ec::bad_argument,
                     "quarantine item " + to_hex(quarantine_key) +
                         " is a whole page: it is fetched again by its endpoint, not released"};
    uint64_t next_record = s.next_record;
    std::string content;
    record_codec::encode_content(rec.record, content);
    auto latest = s.find_latest(t, rec.key);
    uint32_t version = 1;
    uint64_t prev = 0;
    bool duplicate = false;
    if (latest) {
      std::string_view v = latest->second;
      for (uint64_t at = latest->first;;) {
        if (record_codec::content_of(v) == content) {
          duplicate = true;
          break;
        }
        at = record_codec::prev_of(v);
        if (at == 0) break;
        if (!lmdb::get(t, s.records, codec::u64_key(at), v))
          throw lmdb::error("version chain points at a missing record", MDB_CORRUPTED);
      }
      if (!duplicate) {
        version = record_codec::version_of(latest->second) + 1;
        prev = latest->first;
        s.index_del(t, key_bytes(rec.key).substr(0, 8), codec::u64_key(prev));
      }
    }
    std::string outcome;
    uint64_t seq = 0;
    if (duplicate) {
      outcome = "duplicate of a stored version";
    } else {
      const uint64_t page_seq = find_origin_page(t, s.pages, q.source, q.request, q.raw);
      seq = next_record++;
      std::string value;
      record_codec::encode(rec, version, prev, page_seq, content, value);
      auto seq_key = codec::u64_key(seq);
      lmdb::put(t, s.records, seq_key, value, MDB_APPEND);
      s.index_put(t, key_bytes(rec.key).substr(0, 8), seq_key);
      outcome = std::string(to_string(rec.state)) + " record " + to_hex(rec.key) + " version " +
                std::to_string(version) + " (seq " + std::to_string(seq) + ", page " +
                std::to_string(page_seq) + ")";
      // Webhook updates held for this key (its base record) are applied now, in this transaction.
      if (version == 1 && s.webhooks_open && s.held_count(t) > 0) {
        uint64_t released = 0;
        for (const auto& [source, c] : s.release_held(t, rec.key, next_record)) {
          s.add_released(t, source, c);
          released += c.records;
        }
        if (released > 0) outcome += "; " + std::to_string(released) + " held updates applied";
      }
    }
    lmdb::del(t, s.quarantine, key_bytes(quarantine_key));
    std::string_view cp_bytes;
    if (lmdb::get(t, s.cursors, q.source, cp_bytes)) {
      auto cp = decode_checkpoint(cp_bytes);
      if (cp.quarantined > 0) --cp.quarantined;
      if (duplicate)
        ++cp.duplicates;
      else if (version > 1)
        ++cp.restatements;
      else
        ++cp.inserted;
      if (!duplicate && rec.state == record_state::pending_reconciliation) ++cp.pending;
      lmdb::put(t, s.cursors, q.source, encode_checkpoint(cp));
    }
    const std::string details = "state quarantined -> " + outcome + "; source=" + q.source +
                                " request=" + q.request + " position=" + std::to_string(q.position) +
                                " errors_before=" + std::to_string(q.errors.size());
    s.append_audit_entry(t, "quarantine.released", actor, "quarantine:" + to_hex(quarantine_key), details);
    scope.commit(t);
    s.next_record = next_record;
    answer = "released " + to_hex(quarantine_key) + ": " + outcome;
  } catch (const lmdb::error& e) {
    return ledger_detail::write_failure(e, "releasing from quarantine");
  }
  return answer;
}

}  // namespace dspsync
