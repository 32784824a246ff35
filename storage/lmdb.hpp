#pragma once

#include <lmdb.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dspsync::lmdb {

// Move-only RAII over the LMDB C API, in the manner of lmdbxx and Monero's src/lmdb: an
// environment, a transaction that aborts in its destructor unless committed, and cursors.
// `MDB_NOTFOUND` is an ordinary answer (false / empty); every other code throws `lmdb::error`,
// which the storage layer turns into an `expected` failure at its public edge.

/// An LMDB failure: the operation and the library's message.
class error : public std::runtime_error {
 public:
  error(const char* what, int code);
  int code() const { return code_; }

 private:
  int code_;
};

/// Throws `error` when `rc` is not MDB_SUCCESS.
void check(int rc, const char* what);

/// Bytes as an MDB_val (LMDB never writes through a key or data pointer we pass in).
inline MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
inline std::string_view view(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

/// A storage fault to inject: asked just before each write transaction commits, it answers
/// MDB_SUCCESS to let the commit go ahead, or an error code (MDB_MAP_FULL, MDB_TXN_FULL, EIO, ...)
/// to fail it exactly as a failing `mdb_txn_commit` would: the transaction is aborted, nothing of
/// it is stored, and `txn::commit` throws `error` with that code. Deterministic simulations use it
/// to run the engine's real error paths on a seeded schedule; production never sets one.
using commit_fault = std::function<int()>;

/// An open environment.
class env {
 public:
  env() = default;
  /// Opens `dir` (which must exist) with MDB_NOTLS (actors hop threads) and durable defaults.
  static env open(const std::string& dir, uint64_t map_size, unsigned max_dbs, unsigned flags = 0);
  env(env&& o) noexcept : handle_(std::exchange(o.handle_, nullptr)), fault_(std::move(o.fault_)) {}
  env& operator=(env&& o) noexcept;
  ~env();
  MDB_env* get() const { return handle_; }
  /// Installs (or, with an empty function, removes) the fault asked before every write commit in
  /// this environment. Not thread-safe: set it while no write transaction is open. Without one, a
  /// commit pays a null check.
  void set_commit_fault(commit_fault fault);

 private:
  friend class txn;
  MDB_env* handle_ = nullptr;
  /// Heap-held so that transactions keep a stable pointer while the env object moves.
  std::unique_ptr<commit_fault> fault_;
};

/// A transaction; aborts in the destructor unless committed.
class cursor;

/// A transaction. It closes the cursors still open in it before it commits or aborts: LMDB frees a
/// write transaction's cursors when the transaction ends, so a cursor closed afterwards (say, one
/// declared in an outer scope) would be freed twice.
class txn {
 public:
  txn() = default;
  static txn begin(const env& e, bool read_only);
  txn(txn&& o) noexcept
      : handle_(std::exchange(o.handle_, nullptr)),
        cursors_(std::move(o.cursors_)),
        fault_(std::exchange(o.fault_, nullptr)) {}
  txn& operator=(txn&& o) noexcept;
  ~txn() { abort(); }
  void commit();
  void abort() noexcept;
  MDB_txn* get() const { return handle_; }

 private:
  friend class cursor;
  /// The cursors open in this transaction (a stable address while the txn object moves).
  struct open_cursors {
    std::vector<cursor*> list;
  };
  void close_cursors() noexcept;
  MDB_txn* handle_ = nullptr;
  std::unique_ptr<open_cursors> cursors_;
  /// The environment's injected commit fault (write transactions only), if one is set.
  const commit_fault* fault_ = nullptr;
};

/// Opens (and with MDB_CREATE, creates) a named database.
MDB_dbi open_db(const txn& t, const char* name, unsigned flags);

/// Reads a value; false when the key is absent.
bool get(const txn& t, MDB_dbi dbi, std::string_view key, std::string_view& out);

/// Writes a value.
void put(const txn& t, MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags = 0);

/// Deletes a key (or one duplicate when `value` is given); false when absent.
bool del(const txn& t, MDB_dbi dbi, std::string_view key, const std::string_view* value = nullptr);

/// A cursor over one database.
class cursor {
 public:
  cursor(const txn& t, MDB_dbi dbi);
  cursor(cursor&& o) noexcept;
  cursor& operator=(cursor&&) = delete;
  ~cursor();
  /// Positions the cursor; false on MDB_NOTFOUND.
  bool get(std::string_view& key, std::string_view& value, MDB_cursor_op op);
  /// Positions at `key` (MDB_SET_KEY / MDB_SET_RANGE style ops take the key in).
  bool seek(std::string_view& key, std::string_view& value, MDB_cursor_op op);
  /// Writes through the cursor (`mdb_cursor_put`; MDB_CURRENT rewrites the entry under it).
  void put(std::string_view key, std::string_view value, unsigned flags = 0);
  /// Deletes the entry under the cursor; a following MDB_NEXT returns the entry after it.
  void del();
  MDB_cursor* get() const { return handle_; }

 private:
  friend class txn;
  MDB_cursor* handle_ = nullptr;
  txn::open_cursors* owner_ = nullptr;
};

}  // namespace dspsync::lmdb
