#include "storage/lmdb.hpp"

#include <algorithm>

namespace dspsync::lmdb {

error::error(const char* what, int code)
    : std::runtime_error(std::string(what) + ": " + mdb_strerror(code)), code_(code) {}

void check(int rc, const char* what) {
  if (rc != MDB_SUCCESS) throw error(what, rc);
}

env env::open(const std::string& dir, uint64_t map_size, unsigned max_dbs, unsigned flags) {
  env e;
  check(mdb_env_create(&e.handle_), "mdb_env_create");
  check(mdb_env_set_maxdbs(e.handle_, max_dbs), "mdb_env_set_maxdbs");
  check(mdb_env_set_mapsize(e.handle_, map_size), "mdb_env_set_mapsize");
  // 0600: the ledger holds money and raw DSP data.
  check(mdb_env_open(e.handle_, dir.c_str(), flags | MDB_NOTLS, 0600), "mdb_env_open");
  return e;
}

env& env::operator=(env&& o) noexcept {
  if (this != &o) {
    if (handle_ != nullptr) mdb_env_close(handle_);
    handle_ = std::exchange(o.handle_, nullptr);
    fault_ = std::move(o.fault_);
  }
  return *this;
}

void env::set_commit_fault(commit_fault fault) {
  if (!fault) {
    fault_.reset();
    return;
  }
  fault_ = std::make_unique<commit_fault>(std::move(fault));
}

env::~env() {
  if (handle_ != nullptr) mdb_env_close(handle_);
}

txn txn::begin(const env& e, bool read_only) {
  txn t;
  t.cursors_ = std::make_unique<open_cursors>();
  check(mdb_txn_begin(e.get(), nullptr, read_only ? MDB_RDONLY : 0, &t.handle_), "mdb_txn_begin");
  if (!read_only) t.fault_ = e.fault_.get();
  return t;
}

txn& txn::operator=(txn&& o) noexcept {
  if (this != &o) {
    abort();
    handle_ = std::exchange(o.handle_, nullptr);
    cursors_ = std::move(o.cursors_);
    fault_ = std::exchange(o.fault_, nullptr);
  }
  return *this;
}

void txn::close_cursors() noexcept {
  if (!cursors_) return;
  for (cursor* c : cursors_->list) {
    mdb_cursor_close(c->handle_);
    c->handle_ = nullptr;
    c->owner_ = nullptr;
  }
  cursors_->list.clear();
}

void txn::commit() {
  close_cursors();
  auto* h = std::exchange(handle_, nullptr);
  if (fault_ != nullptr) {
    if (int rc = (*fault_)(); rc != MDB_SUCCESS) {
      // What LMDB does when its commit fails: the transaction is freed and nothing of it is kept.
      mdb_txn_abort(h);
      throw error("mdb_txn_commit", rc);
    }
  }
  check(mdb_txn_commit(h), "mdb_txn_commit");
}

void txn::abort() noexcept {
  close_cursors();
  if (handle_ != nullptr) mdb_txn_abort(std::exchange(handle_, nullptr));
}

MDB_dbi open_db(const txn& t, const char* name, unsigned flags) {
  MDB_dbi dbi = 0;
  check(mdb_dbi_open(t.get(), name, flags, &dbi), name != nullptr ? name : "main database");
  return dbi;
}

bool get(const txn& t, MDB_dbi dbi, std::string_view key, std::string_view& out) {
  MDB_val k = val(key);
  MDB_val v{};
  int rc = mdb_get(t.get(), dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return false;
  check(rc, "mdb_get");
  out = view(v);
  return true;
}

void put(const txn& t, MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags) {
  MDB_val k = val(key);
  MDB_val v = val(value);
  check(mdb_put(t.get(), dbi, &k, &v, flags), "mdb_put");
}

bool del(const txn& t, MDB_dbi dbi, std::string_view key, const std::string_view* value) {
  MDB_val k = val(key);
  MDB_val v{};
  if (value != nullptr) v = val(*value);
  int rc = mdb_del(t.get(), dbi, &k, value != nullptr ? &v : nullptr);
  if (rc == MDB_NOTFOUND) return false;
  check(rc, "mdb_del");
  return true;
}

cursor::cursor(const txn& t, MDB_dbi dbi) {
  check(mdb_cursor_open(t.get(), dbi, &handle_), "mdb_cursor_open");
  owner_ = t.cursors_.get();
  if (owner_ != nullptr) owner_->list.push_back(this);
}

cursor::cursor(cursor&& o) noexcept
    : handle_(std::exchange(o.handle_, nullptr)), owner_(std::exchange(o.owner_, nullptr)) {
  if (owner_ != nullptr) std::replace(owner_->list.begin(), owner_->list.end(), &o, this);
}

cursor::~cursor() {
  if (handle_ == nullptr) return;  // closed with its transaction, or moved from
  mdb_cursor_close(handle_);
  if (owner_ == nullptr) return;
  auto it = std::find(owner_->list.begin(), owner_->list.end(), this);
  if (it != owner_->list.end()) owner_->list.erase(it);
}

bool cursor::get(std::string_view& key, std::string_view& value, MDB_cursor_op op) {
  MDB_val k{};
  MDB_val v{};
  int rc = mdb_cursor_get(handle_, &k, &v, op);
  if (rc == MDB_NOTFOUND) return false;
  check(rc, "mdb_cursor_get");
  key = view(k);
  value = view(v);
  return true;
}

bool cursor::seek(std::string_view& key, std::string_view& value, MDB_cursor_op op) {
  MDB_val k = val(key);
  MDB_val v = val(value);
  int rc = mdb_cursor_get(handle_, &k, &v, op);
  if (rc == MDB_NOTFOUND) return false;
  check(rc, "mdb_cursor_get");
  key = view(k);
  value = view(v);
  return true;
}

void cursor::put(std::string_view key, std::string_view value, unsigned flags) {
  MDB_val k = val(key);
  MDB_val v = val(value);
  check(mdb_cursor_put(handle_, &k, &v, flags), "mdb_cursor_put");
}

void cursor::del() { check(mdb_cursor_del(handle_, 0), "mdb_cursor_del"); }

}  // namespace dspsync::lmdb
