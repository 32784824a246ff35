#include "app/cli.hpp"

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <iomanip>
#include <sstream>

namespace dspsync::cli {

std::optional<std::string> args::get(const std::string& name) const {
  auto it = options.find(name);
  if (it == options.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> args::all(const std::string& name) const {
  auto it = options.find(name);
  return it == options.end() ? std::vector<std::string>{} : it->second;
}

expected<args> parse(const std::string& command, int argc, char** argv, int first,
                     const std::vector<std::string>& valued, const std::vector<std::string>& flags) {
  args out;
  out.command = command;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      out.positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
      out.options[name];
      continue;
    }
    if (std::find(valued.begin(), valued.end(), name) == valued.end())
      return failure{ec::bad_argument,
                     "dspsync " + command + ": unknown option --" + name + " (see dspsync help)"};
    auto& values = out.options[name];
    if (inline_value) {
      values.push_back(*inline_value);
      continue;
    }
    int taken = 0;
    while (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      values.push_back(argv[++i]);
      ++taken;
    }
    if (taken == 0) return failure{ec::bad_argument, "dspsync " + command + ": --" + name + " needs a value"};
  }
  return out;
}

expected<uint64_t> to_uint(const std::string& text, const std::string& field) {
  if (text.empty() || text.size() > 19 || !std::all_of(text.begin(), text.end(), ::isdigit))
    return failure{ec::bad_argument, field + ": expected a whole number, got \"" + text + "\""};
  return std::stoull(text);
}

bool print_summary(std::ostream& out, const std::vector<std::pair<std::string, source_checkpoint>>& rows) {
  bool all_ok = true;
  auto col = [&](const std::string& s, int w) { out << std::setw(w) << s; };
  out << std::left << std::setw(20) << "endpoint" << std::right;
  for (const char* h : {"pages", "in", "new", "restated", "duplicates", "quarantined", "pending"}) col(h, 12);
  out << "  identity\n";
  source_checkpoint total;
  for (const auto& [name, c] : rows) {
    bool ok = c.records_in == c.inserted + c.restatements + c.duplicates + c.quarantined;
    all_ok = all_ok && ok;
    out << std::left << std::setw(20) << name << std::right;
    for (auto v : {c.pages, c.records_in, c.inserted, c.restatements, c.duplicates, c.quarantined, c.pending})
      col(std::to_string(v), 12);
    out << "  " << (ok ? "ok" : "BROKEN") << "\n";
    total.pages += c.pages;
    total.records_in += c.records_in;
    total.inserted += c.inserted;
    total.restatements += c.restatements;
    total.duplicates += c.duplicates;
    total.quarantined += c.quarantined;
    total.pending += c.pending;
    total.page_faults += c.page_faults;
  }
  out << std::left << std::setw(20) << "total" << std::right;
  for (auto v : {total.pages, total.records_in, total.inserted, total.restatements, total.duplicates,
                 total.quarantined, total.pending})
    col(std::to_string(v), 12);
  out << "  " << (all_ok ? "ok" : "BROKEN") << "\n";
  out << "identity: in = new + restated + duplicates + quarantined: " << total.records_in << " = "
      << total.inserted << " + " << total.restatements << " + " << total.duplicates << " + "
      << total.quarantined << (all_ok ? "  (holds)" : "  (DOES NOT HOLD)") << "\n";
  if (total.page_faults > 0)
    out << "corrupt pages kept in quarantine and fetched again: " << total.page_faults << "\n";
  return all_ok;
}

double peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

void block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

bool wait_for_signal(std::chrono::milliseconds timeout) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  ts.tv_nsec = static_cast<long>((timeout.count() % 1000) * 1'000'000);
  return sigtimedwait(&set, nullptr, &ts) > 0;
}

}  // namespace dspsync::cli
