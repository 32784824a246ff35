#include "actors/engine.hpp"

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "actors/webhooks.hpp"

#include "protocol/console_protocol.hpp"
#include "protocol/prometheus.hpp"
#include "storage/catalog_store.hpp"

namespace dspsync {

namespace {

/// The console token from its environment variable; a failure when the console would be unsafe
/// (reachable from other hosts without a token) or the variable is missing. The config loader
/// refuses the first already; an engine started from code is checked here again.
expected<std::string> console_token(const console_config& c) {
  std::string token;
  if (!c.token_env.empty()) {
    const char* v = std::getenv(c.token_env.c_str());
    if (v == nullptr || *v == '\0')
      return failure{ec::bad_config,
                     "console.token_env: environment variable " + c.token_env +
                         " is not set (or empty): refusing to start the console without its token"};
    token = v;
  }
  if (token.empty() && !is_loopback_address(c.listen))
    return failure{ec::bad_config, "console.listen is \"" + c.listen +
                                       "\", not loopback: a console reachable from other hosts requires "
                                       "console.token_env"};
  return token;
}

}  // namespace

std::size_t worker_count(std::size_t requested, int configured, unsigned cores) {
  if (requested > 0) return requested;
  if (configured > 0) return static_cast<std::size_t>(configured);
  return std::max<std::size_t>(2, cores);
}

expected<std::unique_ptr<engine>> engine::start(engine_config cfg, engine_options opts) {
  const bool want_console = cfg.console.port != 0 || opts.ephemeral_ports;
  const bool want_http = cfg.http.port != 0 || opts.ephemeral_ports;
  std::string token;
  if (want_console) {
    auto t = console_token(cfg.console);
    if (!t) return t.error();
    token = std::move(*t);
  }
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
  // CAF's default is at least 4 workers whatever the cores; on a 2-core host the extra two only
  // add context switches (measured: 166k -> 188k records/s end to end with 2).
  e->system_config_->set("scheduler.max-threads", worker_count(opts.workers, e->config_->pipeline.workers,
                                                               std::thread::hardware_concurrency()));
  // Pages arrive from the network thread, and CAF 0.17 does not wake a sleeping worker: one idle
  // for ~10 ms (its moderate phase, 20 us sleeps) then sleeps 10 ms by default between looks,
  // which a page arriving then would wait. 2 ms keeps that wait short and an idle engine at ~2 % of
  // a core; 200 us (measured) cost an idle engine 17 % of a core and, on 2 cores, slowed ingestion
  // (~7 %) by taking CPU from the busy threads.
  e->system_config_->set("work-stealing.relaxed-sleep-duration",
                         caf::timespan{std::chrono::microseconds{2000}});
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
  // Records move on from `validated` while the pollers run. Detached: its write transactions wait
  // on fsync and on the ledger's, never on a CAF worker.
  e->reconciler_ = e->system_->spawn<caf::detached>(reconciler, e->store_, e->config_->settlement);
  if (e->config_->settlement.reconcile_interval_s > 0)
    e->reconcile_scheduler_ =
        e->system_->spawn(reconcile_scheduler, e->reconciler_, e->store_,
                          caf::timespan{std::chrono::seconds(e->config_->settlement.reconcile_interval_s)});
  // --- operator console and metrics ---
  if (want_console || want_http) {
    console_context ctx;
    ctx.system = e->system_.get();
    ctx.supervisor = e->supervisor_;
    ctx.store = e->store_;
    ctx.config = e->config_;
    caf::scoped_actor self{*e->system_};
    self->request(e->supervisor_, std::chrono::seconds(5), ledger_atom::value)
        .receive([&](ledger_actor& l) { ctx.ledger = std::move(l); }, [](caf::error&) {});
    if (want_console) {
      console_options co;
      co.address = e->config_->console.listen;
      co.port = e->config_->console.port;
      co.token = std::move(token);
      co.idle_timeout = e->config_->console.idle_timeout;
      co.max_sessions = e->config_->console.max_sessions;
      auto c = console_server::start(std::move(co), ctx);
      if (!c) return c.error();
      e->console_ = std::move(*c);
    }
    if (want_http) {
      service_options so;
      so.address = e->config_->http.listen;
      so.port = e->config_->http.port;
      // --- webhooks --- (a missing secret stops the start, like a missing console token)
      webhook_setup ws;
      ws.system = ctx.system;
      ws.ledger = ctx.ledger;
      ws.store = e->store_;
      ws.config = e->config_;
      auto hooks = webhook_receiver::create(std::move(ws));
      if (!hooks) return hooks.error();
      std::shared_ptr<webhook_receiver> receiver = std::move(*hooks);
      service_routes routes;
      routes.metrics = [ctx, receiver] {
        service_response r;
        r.content_type = std::string(prometheus_content_type);
        r.body = collect_metrics(ctx) + receiver->metrics();
        return r;
      };
      routes.webhook = [receiver](const std::string& endpoint, const service_request& req) {
        return receiver->handle(endpoint, req);
      };
      auto h = service_server::start(std::move(so), std::move(routes));
      if (!h) return h.error();
      e->service_ = std::move(*h);
    }
  }
  return expected<std::unique_ptr<engine>>(std::move(e));
}

uint16_t engine::console_port() const { return console_ ? console_->port() : 0; }

std::string engine::console_address() const { return console_ ? console_->address() : std::string(); }

uint16_t engine::http_port() const { return service_ ? service_->port() : 0; }

std::string engine::metrics_url() const { return service_ ? service_->origin() + "/metrics" : std::string(); }

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

expected<reconcile_report> engine::reconcile_now() {
  if (stopped_) return failure{ec::storage_failure, "the engine is stopped"};
  auto version = catalog_store(*store_).version();
  if (!version) return version.error();
  if (*version == 0)
    return failure{ec::bad_argument,
                   "no catalog loaded: nothing to reconcile against (dspsync catalog load)"};
  expected<reconcile_report> out = failure{ec::storage_failure, "the reconciler did not answer"};
  caf::scoped_actor self{*system_};
  self->request(reconciler_, caf::infinite, reconcile_atom::value)
      .receive([&](reconcile_report& r) { out = std::move(r); },
               [&](caf::error& e) {
                 out = failure{ec::storage_failure, error_text(e)};
               });
  return out;
}

void engine::stop() {
  if (stopped_ || !system_) return;
  stopped_ = true;
  // The console and the HTTP port ask the actors: they go first, and with them their handles (a
  // handle kept alive would keep the detached ledger's thread waiting for ever).
  console_.reset();
  service_.reset();
  caf::anon_send(supervisor_, stop_atom::value);
  supervisor_ = nullptr;
  if (reconcile_scheduler_) caf::anon_send_exit(reconcile_scheduler_, caf::exit_reason::user_shutdown);
  reconcile_scheduler_ = nullptr;
  caf::anon_send_exit(reconciler_, caf::exit_reason::user_shutdown);
  reconciler_ = nullptr;
  system_->await_all_actors_done();
  // Network callbacks may still be posted for abandoned exchanges; they only message dead actors.
  network_->stop();
  system_.reset();
}

}  // namespace dspsync
