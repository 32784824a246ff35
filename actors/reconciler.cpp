#include "actors/reconciler.hpp"

#include "protocol/log.hpp"
#include "storage/catalog_store.hpp"

namespace dspsync {

namespace {

/// The catalog index for the current version, reusing the cached one when it is still current.
expected<std::shared_ptr<const catalog_index>> current_index(reconciler_state& st) {
  catalog_store catalog(*st.store);
  auto version = catalog.version();
  if (!version) return version.error();
  if (st.index && st.index->version() == *version) return st.index;
  auto data = catalog.current();
  if (!data) return data.error();
  st.index =
      std::make_shared<const catalog_index>(std::move(data->recordings), std::move(data->works), *version);
  return st.index;
}

}  // namespace

std::string error_text(const caf::error& e) {
  const auto& ctx = e.context();
  if (ctx.match_elements<std::string>()) return ctx.get_as<std::string>(0);
  return caf::to_string(e);
}

reconciler_actor::behavior_type reconciler(reconciler_actor::stateful_pointer<reconciler_state> self,
                                           std::shared_ptr<ledger_store> store, settlement_config config) {
  self->state.store = std::move(store);
  self->state.config = std::move(config);
  return {
      [=](reconcile_atom) -> caf::result<reconcile_report> {
        auto& st = self->state;
        auto index = current_index(st);
        if (!index) return caf::make_error(caf::sec::runtime_error, index.error().message);
        const auto opts = st.config.reconcile();
        const catalog_index& catalog = **index;
        auto summary = st.store->reconcile(
            [&](const stored_record& r) { return dspsync::reconcile(r.record, catalog, opts); },
            catalog.version());
        if (!summary) return caf::make_error(caf::sec::runtime_error, summary.error().message);
        auto outliers = st.store->detect_revenue_outliers(st.config.outliers);
        if (!outliers) return caf::make_error(caf::sec::runtime_error, outliers.error().message);
        reconcile_report report;
        report.summary = std::move(*summary);
        report.outliers = *outliers;
        report.catalog_recordings = catalog.recordings();
        report.catalog_works = catalog.works();
        log_event(log_level::info, "reconcile.done",
                  {{"catalog_version", std::to_string(report.summary.catalog_version)},
                   {"decided", std::to_string(report.summary.decided)},
                   {"reconciled", std::to_string(report.summary.reconciled)},
                   {"pending", std::to_string(report.summary.pending)},
                   {"drift", std::to_string(report.summary.drift_events + report.outliers)}});
        return report;
      },
  };
}

namespace {
using tick_atom = caf::atom_constant<caf::atom("rectick")>;
}  // namespace

caf::behavior reconcile_scheduler(caf::event_based_actor* self, reconciler_actor target,
                                  std::shared_ptr<ledger_store> store, caf::timespan every) {
  auto said_no_catalog = std::make_shared<bool>(false);
  self->delayed_send(self, every, tick_atom::value);
  return {
      [=](tick_atom) {
        auto version = catalog_store(*store).version();
        if (!version || *version == 0) {
          if (!*said_no_catalog) {
            *said_no_catalog = true;
            log_event(log_level::info, "reconcile.waiting",
                      {{"reason", version ? "no catalog loaded (dspsync catalog load --config F FILE)"
                                          : version.error().message}});
          }
          self->delayed_send(self, every, tick_atom::value);
          return;
        }
        self->request(target, caf::infinite, reconcile_atom::value)
            .then([=](const reconcile_report&) { self->delayed_send(self, every, tick_atom::value); },
                  [=](caf::error& e) {
                    log_event(log_level::error, "reconcile.failed", {{"error", error_text(e)}});
                    self->delayed_send(self, every, tick_atom::value);
                  });
      },
  };
}

expected<reconcile_report> reconcile_once(std::shared_ptr<ledger_store> store,
                                          const settlement_config& config) {
  caf::actor_system_config cfg;
  caf::actor_system system{cfg};
  // Detached: its LMDB write transactions block on fsync.
  auto actor = system.spawn<caf::detached>(reconciler, std::move(store), config);
  expected<reconcile_report> out = failure{ec::storage_failure, "the reconciler did not answer"};
  caf::scoped_actor self{system};
  self->request(actor, caf::infinite, reconcile_atom::value)
      .receive([&](reconcile_report& r) { out = std::move(r); },
               [&](caf::error& e) {
                 out = failure{ec::storage_failure, error_text(e)};
               });
  self->send_exit(actor, caf::exit_reason::user_shutdown);
  return out;
}

}  // namespace dspsync
