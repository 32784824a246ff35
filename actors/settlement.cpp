#include "actors/settlement.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "actors/reconciler.hpp"
#include "protocol/log.hpp"

namespace dspsync {

expected<fx_table> load_fx_table(const settlement_config& config, const std::string& period) {
  const std::string path = config.fx_path(period);
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    if (errno == ENOENT) return fx_table::parse_csv("from,to,rate\n", path + " (no such file)");
    return failure{ec::io_failure, path + ": cannot read: " + std::strerror(errno)};
  }
  std::string text;
  char buf[16384];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  std::fclose(f);
  return fx_table::parse_csv(text, path);
}

settlement_actor::behavior_type settlement(settlement_actor::stateful_pointer<settlement_state> self,
                                           std::shared_ptr<ledger_store> store, settlement_config config) {
  self->state.store = std::move(store);
  self->state.config = std::move(config);
  return {
      [=](settle_atom, const std::string& period) -> caf::result<settle_summary> {
        auto& st = self->state;
        auto fx = load_fx_table(st.config, period);
        if (!fx) return caf::make_error(caf::sec::runtime_error, fx.error().message);
        const auto payees = st.config.payees();
        const auto pools = st.config.pools;
        const fx_table& rates = *fx;
        auto done = st.store->settle(period, [&](const settle_input& in) {
          const auto& rec = in.record->record;
          return split_revenue(in.gross, rec.currency, rec.territory, *in.recording, in.work, pools, payees,
                               rates);
        });
        if (!done) return caf::make_error(caf::sec::runtime_error, done.error().message);
        log_event(log_level::info, "settle.done",
                  {{"period", period},
                   {"already_settled", done->already_settled ? "true" : "false"},
                   {"regular", std::to_string(done->info.regular)},
                   {"adjustments", std::to_string(done->info.adjustments)}});
        return std::move(*done);
      },
  };
}

expected<settle_summary> settle_once(std::shared_ptr<ledger_store> store, const settlement_config& config,
                                     const std::string& period) {
  caf::actor_system_config cfg;
  caf::actor_system system{cfg};
  auto actor = system.spawn<caf::detached>(settlement, std::move(store), config);
  expected<settle_summary> out = failure{ec::storage_failure, "the settlement actor did not answer"};
  caf::scoped_actor self{system};
  self->request(actor, caf::infinite, settle_atom::value, period)
      .receive([&](settle_summary& s) { out = std::move(s); },
               [&](caf::error& e) {
                 out = failure{ec::storage_failure, error_text(e)};
               });
  self->send_exit(actor, caf::exit_reason::user_shutdown);
  return out;
}

}  // namespace dspsync
