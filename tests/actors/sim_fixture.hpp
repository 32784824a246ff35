#pragma once

// The deterministic actor fixture: CAF's test coordinator drives every actor on one thread, timers
// run on virtual time, and a simulated DSP answers the pollers' requests from a recording.

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "actors/supervisor.hpp"
#include "protocol/http_client.hpp"
#include "protocol/log.hpp"
#include "protocol/recording.hpp"
#include "storage/ledger_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace dspsync::test {

/// A DSP inside the test: answers each request from recorded pages unless a fault script says
/// otherwise, and logs every request with its virtual time.
class sim_dsp : public http_transport {
 public:
  struct logged {
    caf::actor_clock::time_point at;
    std::string target;
    int status = 0;
  };
  using fault_fn = std::function<std::optional<http_response>(const http_request&, std::size_t ordinal)>;

  sim_dsp(caf::scheduler::test_coordinator& sched, std::map<std::string, std::vector<std::string>> pages)
      : sched_(sched), pages_(std::move(pages)) {}

  void fetch(http_request req, std::function<void(http_response)> done) override {
    if (throw_on_fetch > 0) {
      --throw_on_fetch;
      throw std::runtime_error("simulated poller crash");
    }
    pending_.push_back({std::move(req), std::move(done)});
  }
  void close() override { ++closes; }

  /// Answers every waiting request; true when there was one.
  bool answer_all() {
    bool any = !pending_.empty();
    while (!pending_.empty()) {
      auto ex = std::move(pending_.front());
      pending_.pop_front();
      ++ordinal_;
      http_response res;
      if (fault) {
        if (auto f = fault(ex.req, ordinal_)) res = std::move(*f);
      }
      if (res.status == 0 && !res.error) {
        auto& served = served_[ex.req.target];
        auto it = pages_.find(ex.req.target);
        if (it == pages_.end()) {
          res.status = 404;
        } else {
          res.status = 200;
          res.body = it->second[std::min(served, it->second.size() - 1)];
          ++served;
        }
      }
      if (decorate && !res.error) decorate(res);
      log.push_back({sched_.clock().now(), ex.req.target, res.status});
      ex.done(std::move(res));
    }
    return any;
  }

  fault_fn fault;
  /// Adds to every response (rate-limit headers, ...).
  std::function<void(http_response&)> decorate;
  std::vector<logged> log;
  /// Makes the next N fetch calls throw (a poller crash).
  int throw_on_fetch = 0;
  /// Times the poller dropped its connection.
  int closes = 0;

 private:
  struct exchange {
    http_request req;
    std::function<void(http_response)> done;
  };
  caf::scheduler::test_coordinator& sched_;
  std::map<std::string, std::vector<std::string>> pages_;
  std::map<std::string, std::size_t> served_;
  std::deque<exchange> pending_;
  std::size_t ordinal_ = 0;
};

/// Pages of a recording by request target (path and query), in recorded order.
inline std::map<std::string, std::vector<std::string>> pages_of(const recording& rec) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& e : rec.har.entries) {
    auto pos = e.url.find('/', e.url.find("://") + 3);
    out[e.url.substr(pos)].push_back(e.response_body);
  }
  return out;
}

/// Owns an actor system on the test coordinator, a ledger in a temp dir and the simulated DSPs.
class sim_fixture {
 public:
  sim_fixture() {
    log_settings quiet;
    quiet.quiet = true;
    configure_log(quiet);
    cfg_.set("scheduler.policy", caf::atom("testing"));
    cfg_.set("logger.verbosity", caf::atom("quiet"));
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
    open_store(16 * 1024);
  }

  ~sim_fixture() {
    if (sup_) {
      caf::anon_send(sup_, stop_atom::value);
      run_until([] { return false; }, 10'000);
    }
    if (alerts_logged_) {
      log_settings quiet;
      quiet.quiet = true;
      configure_log(quiet);
    }
  }

  caf::scheduler::test_coordinator& sched() { return *sched_; }
  caf::actor_system& system() { return *sys_; }
  ledger_store& store() { return *store_; }
  std::shared_ptr<ledger_store> shared_store() { return store_; }

  /// Registers a simulated DSP for an endpoint.
  sim_dsp& add_dsp(const std::string& endpoint, std::map<std::string, std::vector<std::string>> pages) {
    auto dsp = std::make_shared<sim_dsp>(*sched_, std::move(pages));
    dsps_[endpoint] = dsp;
    return *dsp;
  }

  /// The simulated DSP of an endpoint.
  sim_dsp& dsp(const std::string& endpoint) { return *dsps_.at(endpoint); }

  /// Writes alert lines (and nothing else) to a file of this run, for `alerts`; quiet again after.
  void log_alerts() {
    log_settings ls;
    ls.min_level = log_level::alert;
    ls.path = dir_.sub("alerts.jsonl");
    configure_log(ls);
    alerts_logged_ = true;
  }

  /// How many alert lines with this event were logged since `log_alerts`.
  std::size_t alerts(const std::string& event) {
    std::ifstream in(dir_.sub("alerts.jsonl"));
    std::size_t n = 0;
    const std::string needle = "\"event\":\"" + event + "\"";
    for (std::string line; std::getline(in, line);)
      if (line.find(needle) != std::string::npos) ++n;
    return n;
  }

  /// Stops the engine as an operator would (every poller drains, the ledger commits what it holds)
  /// and runs until the supervisor is gone; the DSPs answer what they were asked meanwhile.
  void stop() {
    if (!sup_) return;
    auto down = std::make_shared<bool>(false);
    caf::actor_cast<caf::actor>(sup_)->attach_functor([down] { *down = true; });
    caf::anon_send(sup_, stop_atom::value);
    if (!run_until([down] { return *down; }))
      throw std::logic_error("sim_fixture: the supervisor did not stop");
    sup_ = supervisor_actor{};
  }

  /// What an operator does when the ledger is full: stop the engine, grow `map_size_mib` (the ledger
  /// is reopened with `map_size_mib`, so its in-memory sequences are read back from disk), wait
  /// `pause` (of virtual time) and start again with the same endpoints and DSPs.
  void restart_with_bigger_map(engine_config cfg, bool once, supervisor_setup tweaks, uint64_t map_size_mib,
                               std::chrono::seconds pause) {
    stop();
    sched_->clock().advance_time(pause);
    sched_->run();
    open_store(map_size_mib);
    start(std::move(cfg), once, std::move(tweaks));
  }

  /// Starts the supervisor with these endpoints (each needs a DSP).
  void start(engine_config cfg, bool once, supervisor_setup tweaks = {}) {
    supervisor_setup ss = std::move(tweaks);
    ss.config = std::make_shared<const engine_config>(std::move(cfg));
    ss.store = store_;
    ss.once = once;
    ss.detach_ledger = false;
    ss.make_transport = [this](const endpoint_config& ep) -> expected<std::shared_ptr<http_transport>> {
      return std::static_pointer_cast<http_transport>(dsps_.at(ep.name));
    };
    sup_ = sys_->spawn(supervisor, std::move(ss));
  }

  /// Runs messages, answers requests and fires timers (jumping virtual time) until `done` holds or
  /// `max_steps` rounds have passed. Returns whether `done` held.
  bool run_until(const std::function<bool()>& done, int max_steps = 100'000) {
    for (int i = 0; i < max_steps; ++i) {
      sched_->run();
      bool answered = false;
      for (auto& [name, d] : dsps_) answered = d->answer_all() || answered;
      if (answered) continue;
      if (done()) return true;
      if (!sched_->trigger_timeout()) return done();
    }
    return done();
  }

  /// Status of every endpoint, asked of the supervisor.
  std::vector<endpoint_status> query_status() {
    std::vector<endpoint_status> out;
    // CAF 0.17.6 dereferences a null argument tuple when a function actor is spawned without
    // arguments (UBSan: reference binding to null pointer), so these helpers take a dummy one.
    sys_->spawn(
        [this, &out](caf::event_based_actor* self, int) {
          self->request(sup_, caf::infinite, status_atom::value)
              .then([&out](std::vector<endpoint_status>& s) { out = std::move(s); });
        },
        0);
    sched_->run();
    return out;
  }

  /// Sends an operator command to the supervisor and runs until it answers: the reply line, or
  /// "ERR <reason>".
  template <class... Ts>
  std::string command(Ts... xs) {
    std::string out = "(no reply)";
    sys_->spawn(
        [this, &out, xs...](caf::event_based_actor* self, int) {
          self->request(sup_, caf::infinite, xs...)
              .then([&out](std::string& line) { out = std::move(line); },
                    [&out](caf::error& err) { out = "ERR " + caf::to_string(err); });
        },
        0);
    sched_->run();
    return out;
  }

  std::optional<endpoint_status> status_of(const std::string& name) {
    for (auto& s : query_status())
      if (s.name == name) return s;
    return std::nullopt;
  }

  caf::actor_clock::time_point now() { return sched_->clock().now(); }

 private:
  /// (Re)opens the ledger in this run's directory; the previous store must no longer be in use.
  void open_store(uint64_t map_size_mib) {
    if (store_ && store_.use_count() != 1)
      throw std::logic_error("sim_fixture: the ledger is still in use; stop the engine first");
    store_.reset();  // closes the environment and releases the engine lock
    ledger_options lo;
    lo.dir = dir_.path();
    lo.map_size_mib = map_size_mib;
    lo.durable = false;  // logic under test, not power cuts: no fsync per commit
    auto opened = ledger_store::open(lo);
    if (!opened) throw std::runtime_error("sim_fixture: " + opened.error().message);
    store_ = std::move(*opened);
  }

  temp_dir dir_;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  std::shared_ptr<ledger_store> store_;
  std::map<std::string, std::shared_ptr<sim_dsp>> dsps_;
  supervisor_actor sup_;
  bool alerts_logged_ = false;
};

}  // namespace dspsync::test
