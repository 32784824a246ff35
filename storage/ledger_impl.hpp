#pragma once

// Internals of ledger_store shared by its implementation files (ledger_store.cpp and the
// lifecycle code that extends it). Not part of the storage interface.

#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "domain/idempotency.hpp"
#include "storage/codec.hpp"
#include "storage/ledger_store.hpp"
#include "storage/lmdb.hpp"
#include "storage/record_codec.hpp"

namespace dspsync {

namespace ledger_detail {

inline constexpr std::string_view format_tag = "dspsync-ledger/1";

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
    for (int c = 0; c <= static_cast<int>(ec::bad_argument); ++c)
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
  int lock_fd = -1;
  // Next sequence numbers; only the writer touches them, and only after a successful commit.
  uint64_t next_page = 1, next_record = 1, next_audit = 1, next_attempt = 1;
  record_key audit_head{};
  std::string scratch;

  ~impl() {
    if (lock_fd >= 0) ::close(lock_fd);
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

  /// Finds the latest stored version of `key`, if any.
  std::optional<std::pair<uint64_t, std::string_view>> find_latest(const lmdb::txn& t,
                                                                   const record_key& key) {
    lmdb::cursor c(t, keys);
    std::string_view k = ledger_detail::key_bytes(key).substr(0, 8);
    std::string_view v;
    if (!c.seek(k, v, MDB_SET_KEY)) return std::nullopt;
    do {
      uint64_t seq = codec::reader::decode_u64be(v);
      std::string_view rec;
      if (!lmdb::get(t, records, codec::u64_key(seq), rec))
        throw lmdb::error("index points at a missing record", MDB_CORRUPTED);
      if (record_codec::key_of(rec) == ledger_detail::key_bytes(key)) return std::make_pair(seq, rec);
    } while (c.get(k, v, MDB_NEXT_DUP));
    return std::nullopt;
  }
};

}  // namespace dspsync
