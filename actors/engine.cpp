#include "actors/engine.hpp"

namespace dspsync {

expected<std::unique_ptr<engine>> engine::start(engine_config cfg, engine_options opts) {
  std::unique_ptr<engine> e(new engine());
  ledger_options lo;
  lo.dir = cfg.data_dir;
  lo.map_size_mib = cfg.map_size_mib;
  auto store = ledger_store::open(lo);
  if (!store) return store.error();
  e->store_ = std::move(*store);
  e->config_ = std::make_shared<const engine_config>(std::move(cfg));
  e->network_ = std::make_unique<network>();
  if (!opts.make_transport) {
    auto* net = e->network_.get();
    opts.make_transport = [net](const endpoint_config& ep) {
      tls_options tls;
      tls.ca_file = ep.ca_file;
      return make_http_client(*net, ep.base_url, tls);
    };
  }
  e->system_config_ = std::make_unique<caf::actor_system_config>();
  if (opts.workers > 0) e->system_config_->set("scheduler.max-threads", opts.workers);
  // Pages arrive from the network thread; an idle CAF worker in its relaxed phase sleeps 10 ms by
  // default before looking again, which would add that to every page's path. Poll more eagerly.
  e->system_config_->set("work-stealing.relaxed-sleep-duration",
                         caf::timespan{std::chrono::microseconds{200}});
  e->system_config_->set("work-stealing.moderate-sleep-duration",
                         caf::timespan{std::chrono::microseconds{20}});
  e->system_ = std::make_unique<caf::actor_system>(*e->system_config_);
  supervisor_setup ss;
  ss.config = e->config_;
  ss.store = e->store_;
  ss.make_transport = std::move(opts.make_transport);
  ss.once = opts.once;
  ss.seed = opts.seed;
  const auto& sv = e->config_->supervision;
  ss.max_restarts = sv.max_restarts;
  ss.restart_window = sv.window;
  ss.restart_delay = sv.restart_delay;
  ss.restart_delay_cap = sv.restart_delay_cap;
  e->supervisor_ = e->system_->spawn(supervisor, std::move(ss));
  return expected<std::unique_ptr<engine>>(std::move(e));
}

engine::~engine() { stop(); }

std::vector<endpoint_status> engine::status() {
  std::vector<endpoint_status> out;
  if (stopped_) return out;
  caf::scoped_actor self{*system_};
  self->request(supervisor_, std::chrono::seconds(5), status_atom::value)
      .receive([&](std::vector<endpoint_status>& s) { out = std::move(s); }, [](caf::error&) {});
  return out;
}

bool engine::wait_done(std::chrono::milliseconds timeout) {
  if (stopped_) return true;
  bool done = false;
  caf::scoped_actor self{*system_};
  self->request(supervisor_, timeout, wait_atom::value)
      .receive([&](bool finished) { done = finished; }, [](caf::error&) {});
  return done;
}

void engine::stop() {
  if (stopped_ || !system_) return;
  stopped_ = true;
  caf::anon_send(supervisor_, stop_atom::value);
  supervisor_ = nullptr;
  system_->await_all_actors_done();
  // Network callbacks may still be posted for abandoned exchanges; they only message dead actors.
  network_->stop();
  system_.reset();
}

}  // namespace dspsync
