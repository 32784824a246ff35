#pragma once

// The fuzz targets of tests/fuzz/: one function per input the engine takes from outside (HAR files,
// DSP pages, CSV and DSR reports, console lines, Retry-After and HTTP dates, config files, signed
// webhooks). Each one feeds the bytes to the real parser and then checks properties that must hold
// for ANY input (nothing vanishes, round trips are exact, errors name their input), calling
// fuzz_fail() when one breaks. The same functions run:
//   - under libFuzzer (`make fuzz`, clang, build-fuzz/): each targets/NAME.cpp becomes fuzz_NAME;
//   - in the normal and sanitizer test suites (test_fuzz), over every file in corpus/NAME/ and
//     regressions/NAME/, so a crash found once stays fixed.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dspsync::fuzz {

/// Reports a broken property with the input's name (when known) and aborts: libFuzzer keeps the
/// input as a crash artifact, the corpus test fails naming the file.
[[noreturn]] void fuzz_fail(std::string_view target, const std::string& what);

/// The name of the input being run (a corpus file), for fuzz_fail's message.
void set_current_input(std::string name);

/// Splits an input into up to `n` parts at NUL bytes (the last part takes the rest), so one
/// byte string can carry several fields (a secret, a header, a body...).
std::vector<std::string_view> split_input(std::string_view data, std::size_t n);

/// A scratch file of this process for the readers that take a path (unlinked at exit).
std::string scratch_file(std::string_view bytes, std::string_view suffix);

using target_fn = int (*)(const uint8_t* data, std::size_t size);

struct target {
  const char* name;
  target_fn run;
};

int fuzz_har(const uint8_t* data, std::size_t size);
int fuzz_page(const uint8_t* data, std::size_t size);
int fuzz_csv(const uint8_t* data, std::size_t size);
int fuzz_dsr(const uint8_t* data, std::size_t size);
int fuzz_console(const uint8_t* data, std::size_t size);
int fuzz_http_dates(const uint8_t* data, std::size_t size);
int fuzz_config(const uint8_t* data, std::size_t size);
int fuzz_webhook(const uint8_t* data, std::size_t size);

inline const std::vector<target>& all_targets() {
  static const std::vector<target> targets = {
      {"har", fuzz_har},       {"page", fuzz_page},       {"csv", fuzz_csv},
      {"dsr", fuzz_dsr},       {"console", fuzz_console}, {"http_dates", fuzz_http_dates},
      {"config", fuzz_config}, {"webhook", fuzz_webhook},
  };
  return targets;
}

}  // namespace dspsync::fuzz

/// Each targets/NAME.cpp ends with DSPSYNC_FUZZ_ENTRY(fuzz_NAME): in the libFuzzer build that is
/// the fuzzer's entry point; elsewhere it is nothing.
#ifdef DSPSYNC_LIBFUZZER
#define DSPSYNC_FUZZ_ENTRY(fn)                                                   \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) { \
    return dspsync::fuzz::fn(data, size);                                        \
  }
#else
#define DSPSYNC_FUZZ_ENTRY(fn)
#endif

#define FUZZ_CHECK(target, cond, what)                     \
  do {                                                     \
    if (!(cond)) ::dspsync::fuzz::fuzz_fail(target, what); \
  } while (0)
