#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace dspsync {

/// Severity of a log line. `alert` is for events that need a person now whatever the level
/// configured: a security or integrity event such as a forged webhook delivery.
enum class log_level { debug, info, warn, error, alert };

/// Where log lines go. One JSON object per line: time, level, event, then the given fields.
/// Default: standard error at `info`. Thread-safe.
struct log_settings {
  log_level min_level = log_level::info;
  /// Empty: standard error; otherwise a file appended to.
  std::string path;
  /// Drop everything (commands whose output is for people, such as `demo`, log to a file instead).
  bool quiet = false;
};

/// Replaces the process-wide log settings.
void configure_log(const log_settings& settings);

/// Writes one JSON line, e.g. `{"time":"2026-11-23T17:01:02.345Z","level":"warn","event":"http.retry",
/// "endpoint":"spotify","correlation_id":"...","status":"429"}`. Values are JSON-escaped strings.
/// Callers never pass secrets: tokens live only in request headers, which are never logged.
void log_event(log_level level, std::string_view event,
               std::initializer_list<std::pair<std::string_view, std::string_view>> fields);

}  // namespace dspsync
