#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "tests/fuzz/fuzz_targets.hpp"

namespace dspsync::fuzz {

namespace {
std::string& current_input() {
  static std::string name;
  return name;
}

struct scratch {
  std::string path;
  ~scratch() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};
}  // namespace

void set_current_input(std::string name) { current_input() = std::move(name); }

void fuzz_fail(std::string_view target, const std::string& what) {
  std::fprintf(stderr, "fuzz target %.*s: property broken%s%s: %s\n", static_cast<int>(target.size()),
               target.data(), current_input().empty() ? "" : " on input ", current_input().c_str(),
               what.c_str());
  std::fflush(stderr);
  std::abort();
}

std::vector<std::string_view> split_input(std::string_view data, std::size_t n) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < n) {
    const auto nul = data.find('\0');
    if (nul == std::string_view::npos) break;
    parts.push_back(data.substr(0, nul));
    data.remove_prefix(nul + 1);
  }
  parts.push_back(data);
  while (parts.size() < n) parts.emplace_back();
  return parts;
}

std::string scratch_file(std::string_view bytes, std::string_view suffix) {
  // One file per process and suffix; libFuzzer's -jobs/-workers run separate processes.
  static scratch files[4];
  static std::string suffixes[4];
  std::size_t slot = 0;
  while (slot < 4 && !suffixes[slot].empty() && suffixes[slot] != suffix) ++slot;
  if (slot == 4) slot = 3;
  if (files[slot].path.empty() || suffixes[slot] != suffix) {
    const char* tmp = std::getenv("TMPDIR");
    files[slot].path = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/dspsync-fuzz-" +
                       std::to_string(::getpid()) + "-" + std::to_string(slot) + std::string(suffix);
    suffixes[slot] = std::string(suffix);
  }
  std::ofstream out(files[slot].path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) fuzz_fail("scratch", "cannot write " + files[slot].path);
  return files[slot].path;
}

}  // namespace dspsync::fuzz
