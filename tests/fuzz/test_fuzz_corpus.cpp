// Every fuzz target over its seed corpus and its regressions (inputs that once broke a property:
// they must keep passing). The libFuzzer build (`make fuzz`) explores from the same corpora.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/fuzz/fuzz_targets.hpp"

namespace dspsync::fuzz {
namespace {

namespace fs = std::filesystem;

std::size_t run_dir(const target& t, const fs::path& dir) {
  if (!fs::is_directory(dir)) return 0;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    set_current_input(f.string());
    t.run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  set_current_input("");
  return files.size();
}

class fuzz_corpus : public ::testing::TestWithParam<target> {};

}  // namespace

/// GoogleTest prints a parameter with this (instead of its bytes, which hold addresses).
void PrintTo(const target& t, std::ostream* os) { *os << t.name; }

namespace {

TEST_P(fuzz_corpus, every_seed_and_regression_keeps_its_properties) {
  const fs::path root = fs::path(DSPSYNC_SOURCE_DIR) / "tests" / "fuzz";
  const auto seeds = run_dir(GetParam(), root / "corpus" / GetParam().name);
  const auto regressions = run_dir(GetParam(), root / "regressions" / GetParam().name);
  // A target without seeds would test nothing: each one ships a corpus.
  EXPECT_GE(seeds, 3u) << "tests/fuzz/corpus/" << GetParam().name << " has too few seeds";
  std::cout << "[ fuzz_corpus ] " << GetParam().name << ": " << seeds << " seeds, " << regressions
            << " regressions\n";
}

// Inputs no corpus holds: empty, one byte of each value, a long run of one byte.
TEST_P(fuzz_corpus, degenerate_inputs_keep_their_properties) {
  GetParam().run(nullptr, 0);
  for (int b = 0; b < 256; ++b) {
    const auto byte = static_cast<uint8_t>(b);
    GetParam().run(&byte, 1);
  }
  const std::string quotes(10000, '"');
  GetParam().run(reinterpret_cast<const uint8_t*>(quotes.data()), quotes.size());
}

INSTANTIATE_TEST_SUITE_P(targets, fuzz_corpus, ::testing::ValuesIn(all_targets()),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace dspsync::fuzz
