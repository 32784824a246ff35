#include "actors/supervisor.hpp"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "actors/ledger.hpp"
#include "actors/poller.hpp"
#include "actors/validator.hpp"
#include "protocol/log.hpp"

namespace dspsync {

namespace {

using self_ptr = supervisor_actor::stateful_pointer<supervisor_state>;

const endpoint_config* find_endpoint(self_ptr self, const std::string& name) {
  for (const auto& ep : self->state.setup.config->endpoints)
    if (ep.name == name) return &ep;
  return nullptr;
}

caf::error unknown_endpoint(const std::string& name) {
  return caf::make_error(caf::sec::runtime_error, "no endpoint named '" + name + "'");
}

bool terminal(const std::string& state, bool once) {
  if (state == "failed" || state == "stopped") return true;
  return once && (state == "caught_up" || state == "parked");
}

/// In run-to-completion mode, answers the waiters once every endpoint is done.
void check_completion(self_ptr self) {
  auto& st = self->state;
  if (st.waiting.empty()) return;
  for (const auto& [name, s] : st.status)
    if (!terminal(s.state, st.setup.once)) return;
  for (auto& w : st.waiting) w.deliver(true);
  st.waiting.clear();
}

void start_poller(self_ptr self, const endpoint_config& ep) {
  auto& st = self->state;
  auto& status = st.status[ep.name];
  status.name = ep.name;
  status.dsp = ep.dsp;
  status.style = to_string(ep.pagination.style);
  auto transport = st.setup.make_transport(ep);
  if (!transport) {
    status.state = "failed";
    status.reason = transport.error().message;
    log_event(log_level::error, "endpoint.failed", {{"endpoint", ep.name}, {"reason", status.reason}});
    return;
  }
  poller_setup ps;
  // Points into the engine's config and keeps it alive: no per-poller copy.
  ps.endpoint = std::shared_ptr<const endpoint_config>(st.setup.config, &ep);
  ps.transport = std::move(*transport);
  ps.store = st.setup.store;
  ps.ledger = st.ledger;
  ps.validators = st.validators;
  ps.supervisor = caf::actor_cast<supervisor_actor>(self);
  ps.max_pages_in_flight = st.setup.config->pipeline.max_pages_in_flight;
  ps.once = st.setup.once;
  ps.paused = st.paused.count(ep.name) != 0;
  auto budget_key = ep.rate.group.empty() ? "endpoint:" + ep.name : "group:" + ep.rate.group;
  auto& budget = st.budgets[budget_key];
  if (!budget) {
    auto now =
        std::chrono::duration_cast<std::chrono::nanoseconds>(self->clock().now().time_since_epoch()).count();
    budget = std::make_shared<shared_budget>(ep.rate.requests_per_second, ep.rate.burst, now);
  }
  ps.budget = budget;
  auto& not_before = st.not_before[ep.name];
  if (!not_before) not_before = std::make_shared<std::atomic<int64_t>>(0);
  ps.not_before_ns = not_before;
  ps.restarts = st.restarts[ep.name];
  ps.seed = st.setup.seed + ps.restarts;
  auto p = self->spawn(poller, std::move(ps));
  self->monitor(p);
  st.pollers[ep.name] = p;
  st.endpoint_of[p.address()] = ep.name;
}

void maybe_quit(self_ptr self) {
  auto& st = self->state;
  if (!st.stopping || !st.pollers.empty()) return;
  // Every poller has drained: the ledger commits what it still holds, then everyone leaves.
  self->send(st.ledger, stop_atom::value);
  for (auto& v : st.validators) self->send_exit(v, caf::exit_reason::user_shutdown);
  for (auto& w : st.waiting) w.deliver(false);
  st.waiting.clear();
  self->quit();
}

void on_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto it = st.endpoint_of.find(dm.source);
  if (it == st.endpoint_of.end()) return;
  auto name = it->second;
  st.endpoint_of.erase(it);
  st.pollers.erase(name);
  auto& status = st.status[name];
  if (st.operator_restarts.erase(name) != 0 && !st.stopping) {
    // An operator asked for this restart: it is not a failure and does not count.
    log_event(log_level::info, "endpoint.restarted", {{"endpoint", name}, {"by", "operator"}});
    if (const auto* ep = find_endpoint(self, name)) start_poller(self, *ep);
    return;
  }
  if (st.stopping || !dm.reason) {
    if (status.state != "failed") status.state = "stopped";
    maybe_quit(self);
    check_completion(self);
    return;
  }
  auto reason = caf::to_string(dm.reason);
  log_event(log_level::error, "poller.died", {{"endpoint", name}, {"reason", reason}});
  // Restart intensity: at most max_restarts within the window, as in Erlang/OTP. Counted on the
  // actor clock (steady in production, virtual on the test coordinator), so that a simulated run
  // decides when an endpoint fails from its seed alone and replays identically.
  auto now = self->clock().now();
  auto& times = st.restart_times[name];
  while (!times.empty() && now - times.front() > st.setup.restart_window) times.pop_front();
  if (static_cast<int>(times.size()) >= st.setup.max_restarts) {
    status.state = "failed";
    status.reason = "restarted " + std::to_string(times.size()) + " times within " +
                    std::to_string(st.setup.restart_window.count()) + " s; last error: " + reason;
    log_event(log_level::error, "endpoint.failed", {{"endpoint", name}, {"reason", status.reason}});
    check_completion(self);
    return;
  }
  times.push_back(now);
  auto n = ++st.restarts[name];
  status.restarts = n;
  status.state = "restarting";
  status.reason = reason;
  auto delay = st.setup.restart_delay * (1LL << std::min<uint64_t>(times.size() - 1, 16));
  if (delay > st.setup.restart_delay_cap) delay = st.setup.restart_delay_cap;
  self->delayed_send(self, delay, restart_atom::value, name);
}

}  // namespace

supervisor_actor::behavior_type supervisor(supervisor_actor::stateful_pointer<supervisor_state> self,
                                           supervisor_setup setup) {
  auto& st = self->state;
  st.setup = std::move(setup);
  // The ledger does blocking disk I/O (fsync): it gets a thread of its own.
  auto per_commit = st.setup.config->pipeline.max_pages_per_commit;
  if (st.setup.detach_ledger)
    st.ledger = self->spawn<caf::detached>(ledger, st.setup.store, per_commit);
  else
    st.ledger = self->spawn(ledger, st.setup.store, per_commit);
  for (int i = 0; i < st.setup.config->pipeline.validators; ++i)
    st.validators.push_back(self->spawn(validator, st.setup.config));
  self->set_down_handler([=](caf::down_msg& dm) { on_down(self, dm); });
  for (const auto& ep : st.setup.config->endpoints) start_poller(self, ep);
  return {
      [=](progress_atom, endpoint_status s) {
        auto& st = self->state;
        const bool idle = s.state == "caught_up" || s.state == "parked" || s.state == "failed";
        auto& cur = st.status[s.name];
        s.restarts = cur.restarts;
        cur = std::move(s);
        if (idle && !st.trim_scheduled && !st.stopping) {
          st.trim_scheduled = true;
          self->delayed_send(self, idle_memory_release, trim_atom::value);
        }
        check_completion(self);
      },
      [=](trim_atom) {
        self->state.trim_scheduled = false;
#ifdef __GLIBC__
        ::malloc_trim(0);
#endif
      },
      [=](status_atom) -> std::vector<endpoint_status> {
        std::vector<endpoint_status> out;
        for (const auto& [name, s] : self->state.status) out.push_back(s);
        return out;
      },
      [=](wait_atom) -> caf::result<bool> {
        auto promise = self->make_response_promise<bool>();
        self->state.waiting.push_back(promise);
        check_completion(self);
        return promise;
      },
      [=](stop_atom) {
        auto& s = self->state;
        s.stopping = true;
        for (auto& [name, p] : s.pollers) self->send(p, stop_atom::value);
        maybe_quit(self);
      },
      [=](restart_atom, const std::string& name) {
        if (self->state.stopping) return;
        if (const auto* ep = find_endpoint(self, name)) start_poller(self, *ep);
      },
      [=](pause_atom, const std::string& name) -> caf::result<std::string> {
        auto& s = self->state;
        if (find_endpoint(self, name) == nullptr) return unknown_endpoint(name);
        s.paused.insert(name);
        if (auto it = s.pollers.find(name); it != s.pollers.end()) self->send(it->second, pause_atom::value);
        return "paused " + name;
      },
      [=](resume_atom, const std::string& name) -> caf::result<std::string> {
        auto& s = self->state;
        if (find_endpoint(self, name) == nullptr) return unknown_endpoint(name);
        if (s.paused.erase(name) == 0)
          return caf::make_error(caf::sec::runtime_error, name + " is not paused");
        if (auto it = s.pollers.find(name); it != s.pollers.end()) self->send(it->second, resume_atom::value);
        return "resumed " + name;
      },
      [=](restart_atom, const std::string& name, const std::string& actor) -> caf::result<std::string> {
        auto& s = self->state;
        const auto* ep = find_endpoint(self, name);
        if (ep == nullptr) return unknown_endpoint(name);
        if (s.stopping) return caf::make_error(caf::sec::runtime_error, "the engine is stopping");
        log_event(log_level::info, "endpoint.restart_requested", {{"endpoint", name}, {"by", actor}});
        s.restart_times[name].clear();
        if (auto it = s.pollers.find(name); it != s.pollers.end()) {
          s.operator_restarts.insert(name);
          self->send_exit(it->second, caf::exit_reason::user_shutdown);
        } else {
          start_poller(self, *ep);  // failed or never started: bring it back
        }
        return "restarting " + name;
      },
      [=](cursor_atom, const std::string& name, const std::string& value) -> caf::result<std::string> {
        auto& s = self->state;
        if (find_endpoint(self, name) == nullptr) return unknown_endpoint(name);
        auto st_it = s.status.find(name);
        bool idle = st_it == s.status.end() || st_it->second.in_flight == 0;
        if (s.paused.count(name) == 0 || !idle)
          return caf::make_error(caf::sec::runtime_error,
                                 name + " is running: pause it first (and let its pages in flight commit)");
        auto rp = self->make_response_promise<std::string>();
        self->request(s.ledger, caf::infinite, cursor_atom::value, name, value, std::string("console"))
            .then(
                [=](bool) mutable {
                  rp.deliver("cursor of " + name + " set to \"" + value + "\"; resume to use it");
                },
                [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
      // --- operator console: audits and releases go through the ledger, the only writer ---
      [=](ledger_atom) -> ledger_actor { return self->state.ledger; },
  };
}

}  // namespace dspsync
