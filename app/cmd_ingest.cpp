// File ingestion: `ingest-csv` and `ingest-dsr` commit sales-report files straight into the ledger
// (the engine must not run on the same data directory: the store's lock refuses a second writer),
// and `gen-csv` writes a deterministic report for tests and measurements.

#include <unistd.h>
#include <zlib.h>

#include <cctype>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "app/cli.hpp"
#include "protocol/csv_reader.hpp"
#include "protocol/dsr_reader.hpp"
#include "protocol/row_mapper.hpp"

namespace dspsync::cli {

namespace {

using clock_type = std::chrono::steady_clock;

int fail(const std::string& command, const std::string& message, int code = 1) {
  std::cerr << "dspsync " << command << ": " << message << "\n";
  return code;
}

/// Anonymous resident memory (heap, stacks) in KiB from /proc; the LMDB map is file-backed and
/// not in it.
uint64_t rss_anon_kib() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t kib = 0;
  while (std::fgets(line, sizeof line, f) != nullptr)
    if (std::sscanf(line, "RssAnon: %" SCNu64, &kib) == 1) break;
  std::fclose(f);
  return kib;
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

/// Progress on stderr: one updating line on a terminal, a plain line every 2 s otherwise.
class progress_meter {
 public:
  progress_meter() : tty_(::isatty(STDERR_FILENO) == 1), started_(clock_type::now()), last_(started_) {}

  void start_file(const std::string& label, uint64_t size) {
    label_ = label;
    size_ = size;
    file_rows_ = 0;
    last_bytes_ = 0;
    file_started_ = clock_type::now();
  }

  void update(uint64_t bytes, uint64_t rows, bool force = false) {
    file_rows_ = rows;
    last_bytes_ = bytes;
    const auto now = clock_type::now();
    const auto every = tty_ ? std::chrono::milliseconds(250) : std::chrono::milliseconds(2000);
    // Sampled on every call (every 8192 rows), not only when printing, for a fair peak.
    const uint64_t anon = rss_anon_kib();
    peak_anon_kib_ = std::max(peak_anon_kib_, anon);
    if (!force && now - last_ < every) return;
    last_ = now;
    const double secs = std::chrono::duration<double>(now - file_started_).count();
    char line[256];
    std::snprintf(line, sizeof line, "%s: %5.1f%% of %s, %" PRIu64 " rows, %.0f rows/s, anon RSS %.0f MiB",
                  label_.c_str(),
                  size_ > 0 ? 100.0 * static_cast<double>(bytes) / static_cast<double>(size_) : 100.0,
                  human_bytes(static_cast<double>(size_)).c_str(), rows,
                  secs > 0 ? static_cast<double>(rows) / secs : 0.0, static_cast<double>(anon) / 1024.0);
    if (tty_)
      std::cerr << "\r\033[K" << line << std::flush;
    else
      std::cerr << line << "\n";
    dirty_ = tty_;
  }

  void end_file() {
    update(last_bytes_, file_rows_, true);
    total_rows_ += file_rows_;
    if (dirty_) std::cerr << "\n";
    dirty_ = false;
  }

  uint64_t total_rows() const { return total_rows_; }
  double seconds() const { return std::chrono::duration<double>(clock_type::now() - started_).count(); }
  double peak_anon_mib() {
    peak_anon_kib_ = std::max(peak_anon_kib_, rss_anon_kib());
    return static_cast<double>(peak_anon_kib_) / 1024.0;
  }

 private:
  bool tty_;
  clock_type::time_point started_, last_, file_started_;
  std::string label_;
  uint64_t size_ = 0;
  uint64_t file_rows_ = 0;
  uint64_t last_bytes_ = 0;
  uint64_t total_rows_ = 0;
  uint64_t peak_anon_kib_ = 0;
  bool dirty_ = false;
};

/// Commits delivered batches to the ledger, several per write transaction, in delivery order.
/// Without a store (`--dry-run`) it only counts what would be committed.
///
/// The commits run on a thread of their own while the reader maps the next group: reading,
/// mapping and validating take one core, the ledger's writes and fsync the other; the reader also
/// frees the groups committed (at most two wait for it). One group waits to be committed at most
/// (bounded memory: the reader blocks while a group is queued), groups commit strictly in
/// order, and after a failed commit nothing more of that file is committed: the failure is
/// returned by the next `deliver` (which stops the reader) and by `finish_file`, and a rerun
/// resumes the file at its last committed checkpoint.
class ledger_sink : public batch_sink {
 public:
  ledger_sink(ledger_store* store, progress_meter& meter, std::size_t batches_per_commit)
      : store_(store), meter_(meter), per_commit_(std::max<std::size_t>(batches_per_commit, 1)) {
    if (store_ != nullptr) committer_ = std::thread([this] { commit_loop(); });
  }
  ~ledger_sink() override {
    if (!committer_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    committer_.join();
  }
  ledger_sink(const ledger_sink&) = delete;
  ledger_sink& operator=(const ledger_sink&) = delete;

  status deliver(ingest_batch&& batch) override {
    for (const auto& q : batch.quarantined) {
      if (shown_++ >= 5) break;
      std::string why = q.errors.empty() ? "" : q.errors.front().message;
      if (why.size() > 200) why = why.substr(0, 200) + "...";
      report_ << "  quarantined: " << batch.source << " line " << q.position << ": " << why << "\n";
    }
    for (const auto& r : batch.records) ++(r.state == record_state::validated ? valid_ : pending_records_);
    quarantined_ += batch.quarantined.size();
    if (store_ != nullptr) ledger_store::prepare(batch);  // encoded here, not on the committer
    pending_.push_back(std::move(batch));
    if (pending_.size() >= per_commit_) return hand_off();
    return ok;
  }

  void progress(uint64_t file_bytes, uint64_t rows) override { meter_.update(file_bytes, rows); }

  /// Ends a file (or a report) whose reading returned `read`: when it succeeded, commits what
  /// was delivered and waits until it is committed; when it failed, drops the batches not handed
  /// off yet (never committed; a rerun reads them again). Returns the first failure, reading's or
  /// a commit's, and leaves the sink ready for the next file.
  status finish_file(status read) {
    if (read) {
      read = hand_off();
    } else {
      pending_.clear();
    }
    if (store_ == nullptr) return read;
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return queued_.empty() && !committing_; });
    if (read && failed_) read = *failed_;
    failed_.reset();
    return read;
  }

  /// What a dry run would have committed.
  std::string dry_run_summary() const {
    return "dry run, nothing committed: " + std::to_string(valid_ + pending_records_ + quarantined_) +
           " rows = " + std::to_string(valid_) + " valid + " + std::to_string(pending_records_) +
           " pending + " + std::to_string(quarantined_) + " quarantined\n";
  }

  /// Quarantine lines gathered so far (the first few per run), then cleared.
  std::string take_report() {
    auto s = report_.str();
    report_.str("");
    return s;
  }

 private:
  /// Queues the delivered batches for the committer, waiting while an earlier group is queued.
  status hand_off() {
    if (pending_.empty()) return ok;
    if (store_ == nullptr) {
      pending_.clear();
      return ok;
    }
    // Committed groups are freed here, on the reader's thread, while the committer works on the
    // next one: freeing a group (a few heap blocks per record) is a tenth of the committer's time.
    std::vector<std::vector<ingest_batch>> spent;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      spent.swap(spent_);
    }
    spent.clear();
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return queued_.empty() || failed_; });
      if (failed_) {
        pending_.clear();
        return *failed_;
      }
      queued_ = std::move(pending_);
    }
    pending_.clear();
    changed_.notify_all();
    return ok;
  }

  void commit_loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      changed_.wait(lock, [&] { return !queued_.empty() || stopping_; });
      if (queued_.empty()) return;  // stopping with nothing left
      std::vector<ingest_batch> group = std::move(queued_);
      queued_.clear();
      committing_ = true;
      lock.unlock();
      changed_.notify_all();  // the reader may queue the next group while this one commits
      auto st = commit_group(group);
      lock.lock();
      spent_.push_back(std::move(group));  // freed by the reader's next hand_off
      committing_ = false;
      if (!st) {
        failed_ = st.error();  // hand_off queues nothing more until finish_file
        queued_.clear();       // a group queued behind the failed one is not committed either
      }
      changed_.notify_all();
    }
  }

  status commit_group(const std::vector<ingest_batch>& group) {
    std::vector<const ingest_batch*> batches;
    for (const auto& b : group) batches.push_back(&b);
    auto outcomes = store_->commit(batches);
    if (!outcomes) return outcomes.error();
    for (std::size_t i = 0; i < outcomes->size(); ++i) {
      const auto& o = (*outcomes)[i];
      if (!o.refused.empty())
        return failure{ec::storage_failure, group[i].source + ": the ledger refused a batch (" + o.refused +
                                                "); did another process ingest this file meanwhile?"};
    }
    return ok;
  }

  ledger_store* store_;
  progress_meter& meter_;
  std::size_t per_commit_;
  std::vector<ingest_batch> pending_;  // the reader's side: delivered, not handed off yet
  std::ostringstream report_;
  std::size_t shown_ = 0;
  uint64_t valid_ = 0, pending_records_ = 0, quarantined_ = 0;
  // --- shared with the committer, under mutex_ ---
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<ingest_batch> queued_;              // the next group to commit
  std::vector<std::vector<ingest_batch>> spent_;  // committed groups, not freed yet
  bool committing_ = false;
  bool stopping_ = false;
  std::optional<failure> failed_;
  std::thread committer_;
};

struct ingest_setup {
  engine_config cfg;
  source_config source;
  std::unique_ptr<ledger_store> store;
  std::vector<std::string> files;
  /// Batches per ledger write transaction: more amortises LMDB's copy-on-write of the key index,
  /// fewer bounds the dirty pages the transaction holds in anonymous memory.
  std::size_t commit_batches = 4;
  /// `--dry-run`: read, map and validate, commit nothing (no ledger is opened).
  bool dry_run = false;
};

/// Common argument handling of the two ingest commands.
expected<ingest_setup> setup(const std::string& command, int argc, char** argv, source_format want,
                             const std::vector<std::string>& extra_flags, args& parsed) {
  auto a = parse(command, argc, argv, 2, {"config", "source", "batch-rows", "commit-batches"}, extra_flags);
  if (!a) return a.error();
  // `--source NAME FILE...`: a valued option takes values up to the next option, so every value
  // after the first one of a single-valued option is a file.
  for (const char* single : {"config", "source", "batch-rows", "commit-batches"}) {
    auto it = a->options.find(single);
    if (it == a->options.end() || it->second.size() < 2) continue;
    a->positional.insert(a->positional.end(), it->second.begin() + 1, it->second.end());
    it->second.resize(1);
  }
  parsed = *a;
  auto path = a->get("config");
  auto name = a->get("source");
  if (!path || !name || a->positional.empty())
    return failure{ec::bad_argument, "usage: dspsync " + command + " --config FILE --source NAME FILE..."};
  auto cfg = load_config(*path);
  if (!cfg) return cfg.error();
  ingest_setup s;
  s.cfg = std::move(*cfg);
  const source_config* found = nullptr;
  std::string known;
  for (const auto& src : s.cfg.sources) {
    known += (known.empty() ? "" : ", ") + src.name;
    if (src.name == *name) found = &src;
  }
  if (found == nullptr)
    return failure{ec::bad_argument,
                   *path + ": no source named \"" + *name + "\" in \"sources\"" +
                       (known.empty() ? " (the config has none)" : " (it has: " + known + ")")};
  if (found->format != want)
    return failure{ec::bad_argument, "source \"" + *name + "\" has format " + to_string(found->format) +
                                         "; use dspsync ingest-" + to_string(found->format)};
  s.source = *found;
  if (auto v = a->get("batch-rows")) {
    auto n = to_uint(*v, "--batch-rows");
    if (!n || *n < 1 || *n > 1'000'000) return failure{ec::bad_argument, "--batch-rows: expected 1..1000000"};
    s.source.batch_rows = *n;
  }
  if (auto v = a->get("commit-batches")) {
    auto n = to_uint(*v, "--commit-batches");
    if (!n || *n < 1 || *n > 1000) return failure{ec::bad_argument, "--commit-batches: expected 1..1000"};
    s.commit_batches = *n;
  }
  s.files = a->positional;
  s.dry_run = a->has("dry-run");
  if (s.dry_run) return s;
  ledger_options lo;
  lo.dir = s.cfg.data_dir;
  lo.map_size_mib = s.cfg.map_size_mib;
  auto store = ledger_store::open(lo);
  if (!store) return store.error();
  s.store = std::move(*store);
  return s;
}

territory_options territories(const engine_config& cfg) {
  territory_options t;
  t.pseudo = cfg.pseudo_territories;
  return t;
}

/// The throughput and memory line printed at the end of `ingest-csv`.
void finish_measure(progress_meter& meter) {
  const double secs = meter.seconds();
  std::fprintf(stderr,
               "read %" PRIu64
               " rows in %.1f s (%.0f rows/s); peak anonymous RSS %.1f MiB, peak RSS %.1f MiB\n",
               meter.total_rows(), secs, secs > 0 ? static_cast<double>(meter.total_rows()) / secs : 0.0,
               meter.peak_anon_mib(), peak_rss_mib());
}

/// Prints the summary of the given checkpoints; true when the identity holds for each.
bool finish(ledger_store& store, const std::set<std::string>& sources, progress_meter& meter, bool measured) {
  auto all = store.checkpoints();
  if (!all) {
    std::cerr << all.error().message << "\n";
    return false;
  }
  std::vector<std::pair<std::string, source_checkpoint>> rows;
  for (auto& row : *all)
    if (sources.count(row.first)) rows.push_back(row);
  const bool ok = print_summary(std::cout, rows);
  if (measured) finish_measure(meter);
  return ok;
}

/// Where a file's checkpoint says to start: nullopt when it is finished.
expected<std::optional<uint64_t>> start_of(ledger_store& store, const std::string& source,
                                           const file_identity& id) {
  auto cp = store.checkpoint(source);
  if (!cp) return cp.error();
  if (!*cp) return std::optional<uint64_t>(0);
  if ((*cp)->caught_up) return std::optional<uint64_t>();
  auto offset = parse_file_cursor((*cp)->cursor, id);
  if (!offset) return offset.error();
  return std::optional<uint64_t>(*offset);
}

}  // namespace

int cmd_ingest_csv(int argc, char** argv) {
  const std::string command = "ingest-csv";
  args a;
  auto s = setup(command, argc, argv, source_format::csv, {"dry-run"}, a);
  if (!s) return fail(command, s.error().message, s.error().code == ec::bad_argument ? 2 : 1);
  progress_meter meter;
  ledger_sink sink(s->store.get(), meter, s->commit_batches);
  std::set<std::string> sources;
  bool failed = false;
  for (const auto& path : s->files) {
    std::cerr << command << ": hashing " << path << "\n";
    auto id = identify_file(path);
    if (!id) {
      std::cerr << "dspsync " << command << ": " << id.error().message << "\n";
      failed = true;
      continue;
    }
    const std::string source = file_source_name(s->source.name, *id);
    auto start = s->dry_run ? std::optional<uint64_t>(0) : start_of(*s->store, source, *id);
    if (!start) {
      std::cerr << "dspsync " << command << ": " << start.error().message << "\n";
      failed = true;
      continue;
    }
    sources.insert(source);
    if (!*start) {
      std::cerr << command << ": " << path << " (" << source << ") was ingested completely before; skipped\n";
      continue;
    }
    if (**start > 0)
      std::cerr << command << ": " << path << ": resuming at byte " << **start << " (committed checkpoint)\n";
    meter.start_file(source, id->size);
    std::string binding;
    auto st = read_csv_file(s->source, territories(s->cfg), *id, **start, sink, &binding);
    st = sink.finish_file(st);
    meter.end_file();
    if (!binding.empty()) std::cerr << command << ": " << path << ": " << binding << "\n";
    std::cerr << sink.take_report();
    if (!st) {
      std::cerr << "dspsync " << command << ": " << st.error().message << "\n";
      failed = true;
    }
  }
  if (s->dry_run) {
    std::cout << sink.dry_run_summary();
    finish_measure(meter);
    return failed ? 1 : 0;
  }
  const bool identity = finish(*s->store, sources, meter, true);
  return failed || !identity ? 1 : 0;
}

namespace {

/// The DSP's own totals of a committed report, from its summary records, per currency: what the
/// statements' reconciliation report compares the ledger's aggregates with (`dspsync statements`).
status store_reported_totals(ledger_store& store, const source_config& source, const dsr_report& r,
                             const std::string& label) {
  std::map<std::string, reported_total> by_currency;
  for (const auto& [id, sy] : r.summaries) {
    if (!sy.unusable.empty()) continue;
    std::string currency = sy.currency;
    for (auto& c : currency) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto& t = by_currency[currency];
    t.source = source.name;
    t.dsp = source.dsp;
    t.period = r.period;
    t.currency = currency;
    t.records += sy.allocation.rows();
    t.units += static_cast<int64_t>(sy.allocation.weight_sum());
    t.revenue = money::from_units(t.revenue.units() + sy.net_revenue.units());
    t.origin += (t.origin.empty() ? "" : ", ") + sy.type + " " + sy.id;
  }
  for (auto& [currency, t] : by_currency) {
    t.origin += " of " + label;
    auto st = store.put_reported_total(t);
    if (!st) return st;
  }
  return ok;
}

}  // namespace

int cmd_ingest_dsr(int argc, char** argv) {
  const std::string command = "ingest-dsr";
  args a;
  auto s = setup(command, argc, argv, source_format::dsr, {"lenient", "dry-run"}, a);
  if (!s) return fail(command, s.error().message, s.error().code == ec::bad_argument ? 2 : 1);
  if (a.has("lenient")) s->source.lenient_quotes = true;
  std::vector<file_identity> ids;
  for (const auto& path : s->files) {
    auto id = identify_file(path);
    if (!id) return fail(command, id.error().message);
    ids.push_back(std::move(*id));
  }
  dsr_reader reader(s->source, territories(s->cfg));
  auto reports = reader.scan(ids);
  if (!reports) return fail(command, reports.error().message);
  progress_meter meter;
  ledger_sink sink(s->store.get(), meter, s->commit_batches);
  std::set<std::string> sources;
  bool failed = false;
  for (auto& r : *reports) {
    const std::string label = r.message_id.empty() ? r.files.front().id.path : "report " + r.message_id;
    for (const auto& f : r.files) sources.insert(file_source_name(s->source.name, f.id));
    if (!r.problems.empty()) {
      failed = true;
      std::cerr << "dspsync " << command << ": " << label << ": NOT COMMITTED, " << r.problems.size()
                << " problem(s):\n";
      for (const auto& p : r.problems) std::cerr << "  " << p << "\n";
      if (s->dry_run) continue;
      const auto first = file_source_name(s->source.name, r.files.front().id);
      auto cp = s->store->checkpoint(first);
      std::string cursor = cp && *cp ? (*cp)->cursor : "";
      auto batch = reader.problem_batch(r, cursor);
      std::vector<const ingest_batch*> one{&batch};
      auto out = s->store->commit(one);
      if (!out)
        std::cerr << "dspsync " << command << ": " << out.error().message << "\n";
      else
        std::cerr << "  the report is kept in quarantine (kind page, source " << first << ")\n";
      continue;
    }
    std::vector<std::optional<uint64_t>> starts;
    bool any = false;
    for (const auto& f : r.files) {
      auto start = s->dry_run ? std::optional<uint64_t>(0)
                              : start_of(*s->store, file_source_name(s->source.name, f.id), f.id);
      if (!start) return fail(command, start.error().message);
      any = any || start->has_value();
      starts.push_back(*start);
    }
    if (!any) {
      std::cerr << command << ": " << label << " was ingested completely before; skipped\n";
      continue;
    }
    uint64_t size = 0;
    for (const auto& f : r.files) size += f.id.size;
    meter.start_file(label, size);
    auto st = reader.emit(r, starts, sink);
    st = sink.finish_file(st);
    meter.end_file();
    std::cerr << sink.take_report();
    if (!st) {
      std::cerr << "dspsync " << command << ": " << label << ": " << st.error().message << "\n";
      failed = true;
      continue;
    }
    std::cerr << command << ": " << label << ": " << r.files.size() << " file(s), " << r.summaries.size()
              << " summary record(s), " << r.usage_rows() << " usage rows, period " << r.period << "\n";
    if (!s->dry_run) {
      auto st2 = store_reported_totals(*s->store, s->source, r, label);
      if (!st2) {
        std::cerr << "dspsync " << command << ": " << label << ": " << st2.error().message << "\n";
        failed = true;
      }
    }
  }
  if (s->dry_run) {
    std::cout << sink.dry_run_summary();
    return failed ? 1 : 0;
  }
  const bool identity = finish(*s->store, sources, meter, false);
  return failed || !identity ? 1 : 0;
}

namespace {

/// A valid UPC-A for `n`: 11 digits and the mod-10 check digit.
std::string upc_for(uint64_t n) {
  char digits[13];
  std::snprintf(digits, sizeof digits, "%011" PRIu64,
                static_cast<uint64_t>(60000000000ULL + n % 39999999999ULL));
  int sum = 0;
  for (int i = 0; i < 11; ++i) sum += (digits[i] - '0') * (i % 2 == 0 ? 3 : 1);
  digits[11] = static_cast<char>('0' + (10 - sum % 10) % 10);
  digits[12] = 0;
  return digits;
}

}  // namespace

int cmd_gen_csv(int argc, char** argv) {
  const std::string command = "gen-csv";
  auto a = parse(command, argc, argv, 2, {"rows", "out", "seed", "bad-every", "period", "bytes"}, {"gzip"});
  if (!a) return fail(command, a.error().message, 2);
  auto out = a->get("out");
  if (!out || (!a->has("rows") && !a->has("bytes")))
    return fail(
        command,
        "usage: dspsync gen-csv (--rows N | --bytes N) --out FILE [--seed S] [--bad-every N] [--gzip]", 2);
  uint64_t rows = UINT64_MAX, bytes = UINT64_MAX, seed = 1, bad_every = 0;
  for (auto [opt, dst] : {std::pair<const char*, uint64_t*>{"rows", &rows},
                          {"bytes", &bytes},
                          {"seed", &seed},
                          {"bad-every", &bad_every}}) {
    if (auto v = a->get(opt)) {
      auto n = to_uint(*v, std::string("--") + opt);
      if (!n) return fail(command, n.error().message, 2);
      *dst = *n;
    }
  }
  const std::string period = a->get("period").value_or("2026-01");
  const bool gz = a->has("gzip");
  std::FILE* plain = nullptr;
  gzFile zipped = nullptr;
  if (gz)
    zipped = gzopen(out->c_str(), "wb6");
  else
    plain = std::fopen(out->c_str(), "wb");
  if (plain == nullptr && zipped == nullptr) return fail(command, *out + ": cannot write");
  std::string buf;
  buf.reserve(1 << 20);
  uint64_t written = 0;
  auto flush = [&] {
    if (gz)
      gzwrite(zipped, buf.data(), static_cast<unsigned>(buf.size()));
    else
      std::fwrite(buf.data(), 1, buf.size(), plain);
    written += buf.size();
    buf.clear();
  };
  buf += "isrc,upc,territory,period,units,revenue,currency,transaction_id,title,artist\n";
  static const char* territories[] = {"US", "GB", "DE", "FR", "JP",  "BR",
                                      "SE", "MX", "AU", "CA", "USA", "Worldwide"};
  uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 1;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const char* alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  char line[512];
  uint64_t i = 0;
  for (; i < rows && written + buf.size() < bytes; ++i) {
    const uint64_t r = next();
    const uint64_t reg = i / 100000;
    char isrc[13];
    std::snprintf(isrc, sizeof isrc, "QZ%c%c%c26%05" PRIu64, alnum[reg % 36], alnum[(reg / 36) % 36],
                  alnum[(reg / 1296) % 36], i % 100000);
    const bool bad = bad_every > 0 && (i + 1) % bad_every == 0;
    const uint64_t units = 1 + r % 5000;
    const uint64_t micro = units * (300 + (r >> 20) % 400);  // revenue in 10^-8 units per stream
    const char* title_fmt =
        (r >> 40) % 8 == 0 ? "\"Song %" PRIu64 ", Part %" PRIu64 "\"" : "Song %" PRIu64 " Part %" PRIu64;
    char title[64];
    std::snprintf(title, sizeof title, title_fmt, i % 7919, (r >> 44) % 9);
    std::snprintf(line, sizeof line,
                  "%s,%s,%s,%s,%" PRIu64 ",%" PRIu64 ".%08" PRIu64 ",USD,t%" PRIu64 ",%s,Artist %" PRIu64
                  "\n",
                  bad ? "BAD-ISRC" : isrc, upc_for(i / 12).c_str(), territories[(r >> 8) % 12],
                  period.c_str(), units, micro / 100000000, micro % 100000000, i, title, (i / 12) % 1000);
    buf += line;
    if (buf.size() >= (1 << 20) - 512) flush();
  }
  flush();
  if (gz)
    gzclose(zipped);
  else if (std::fclose(plain) != 0)
    return fail(command, *out + ": write error");
  std::cerr << command << ": wrote " << *out << ": " << i << " rows, "
            << human_bytes(static_cast<double>(written)) << (gz ? " before compression" : "") << "\n";
  return 0;
}

}  // namespace dspsync::cli
