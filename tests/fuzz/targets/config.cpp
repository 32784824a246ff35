// The config loader, on any document: it either loads or fails with a non-empty reason (never a
// crash, an exception or a partial config); loading is deterministic; and a config that loads can
// always be described (`check-config` prints that plan).

#include "config/config.hpp"
#include "tests/fuzz/fuzz_targets.hpp"

namespace dspsync::fuzz {

int fuzz_config(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cfg = parse_config(text, "fuzz.json");
  auto again = parse_config(text, "fuzz.json");
  FUZZ_CHECK("config", static_cast<bool>(cfg) == static_cast<bool>(again), "loading is not deterministic");
  if (!cfg) {
    FUZZ_CHECK("config", !cfg.error().message.empty(), "a refusal without a reason");
    FUZZ_CHECK("config", cfg.error().message == again.error().message, "the reason is not deterministic");
    return 0;
  }
  const auto plan = describe_plan(*cfg);
  FUZZ_CHECK("config", !plan.empty(), "an empty plan");
  FUZZ_CHECK("config", plan == describe_plan(*again), "the plan is not deterministic");
  return 0;
}

}  // namespace dspsync::fuzz

DSPSYNC_FUZZ_ENTRY(fuzz_config)
