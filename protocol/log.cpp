#include "protocol/log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace dspsync {

namespace {

std::mutex log_mutex;
log_settings settings;
std::FILE* sink = stderr;

void append_escaped(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += hex[(c >> 4) & 0xF];
          out += hex[c & 0xF];
        } else {
          out += c;
        }
    }
  }
}

const char* level_name(log_level l) {
  switch (l) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warn:
      return "warn";
    case log_level::error:
      return "error";
    case log_level::alert:
      return "alert";
  }
  return "info";
}

}  // namespace

void configure_log(const log_settings& s) {
  std::lock_guard<std::mutex> guard(log_mutex);
  if (sink != stderr && sink != nullptr) std::fclose(sink);
  settings = s;
  sink = stderr;
  if (!s.path.empty()) {
    sink = std::fopen(s.path.c_str(), "a");
    if (sink == nullptr) sink = stderr;
  }
}

void log_event(log_level level, std::string_view event,
               std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  std::string line;
  line.reserve(160);
  line += "{\"time\":\"";
  line += stamp;
  line += "\",\"level\":\"";
  line += level_name(level);
  line += "\",\"event\":\"";
  append_escaped(line, event);
  line += '"';
  for (const auto& [k, v] : fields) {
    line += ",\"";
    append_escaped(line, k);
    line += "\":\"";
    append_escaped(line, v);
    line += '"';
  }
  line += "}\n";
  std::lock_guard<std::mutex> guard(log_mutex);
  if (settings.quiet || level < settings.min_level) return;
  std::fwrite(line.data(), 1, line.size(), sink);
  std::fflush(sink);
}

}  // namespace dspsync
