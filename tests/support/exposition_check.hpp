#pragma once

// A checker for the Prometheus text exposition format 0.0.4, for tests: what `promtool check
// metrics` would reject, so the format is checked where promtool is not installed; and a runner for
// promtool where it is.

#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace dspsync::test {

/// One parsed sample.
struct exposition_sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

/// The parsed exposition and every problem found (empty when it is valid).
struct exposition {
  std::vector<exposition_sample> samples;
  std::map<std::string, std::string> types;
  std::vector<std::string> problems;

  /// The value of the first sample with this name whose labels include `labels`.
  std::optional<double> value(const std::string& name,
                              const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& s : samples) {
      if (s.name != name) continue;
      bool match = true;
      for (const auto& [k, v] : labels) {
        auto it = s.labels.find(k);
        if (it == s.labels.end() || it->second != v) match = false;
      }
      if (match) return s.value;
    }
    return std::nullopt;
  }
};

inline std::optional<double> parse_prom_value(const std::string& text) {
  if (text == "+Inf") return INFINITY;
  if (text == "-Inf") return -INFINITY;
  if (text == "NaN") return NAN;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0') return std::nullopt;
  return v;
}

/// The family a sample belongs to (histogram series end in _bucket, _sum, _count).
inline std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s(suffix);
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      auto base = name.substr(0, name.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() && it->second == "histogram") return base;
    }
  }
  return name;
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*` for metric names, without the colon for label names.
inline bool valid_prom_name(const std::string& name, bool colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

inline exposition check_exposition(const std::string& text) {
  exposition out;
  std::set<std::string> finished;  // families whose samples are over
  std::set<std::string> helped;
  std::string current;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  auto problem = [&](const std::string& what) {
    out.problems.push_back("line " + std::to_string(n) + ": " + what);
  };
  if (!text.empty() && text.back() != '\n') out.problems.push_back("the text does not end with a newline");
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream c(line);
      std::string hash, kind, name, rest;
      c >> hash >> kind >> name;
      if (kind == "HELP") {
        if (!helped.insert(name).second) problem("second HELP for " + name);
      } else if (kind == "TYPE") {
        c >> rest;
        static const std::set<std::string> kinds{"counter", "gauge", "histogram", "summary", "untyped"};
        if (!kinds.count(rest)) problem("unknown type " + rest);
        if (out.types.count(name)) problem("second TYPE for " + name);
        out.types[name] = rest;
        if (rest == "counter" && (name.size() < 6 || name.substr(name.size() - 6) != "_total"))
          problem("counter " + name + " does not end in _total");
      }
      continue;
    }
    exposition_sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (!valid_prom_name(s.name, true)) problem("bad metric name \"" + s.name + "\"");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::size_t eq = line.find('=', i);
        if (eq == std::string::npos) {
          problem("label without =");
          break;
        }
        std::string lname = line.substr(i, eq - i);
        if (!valid_prom_name(lname, false)) problem("bad label name \"" + lname + "\"");
        if (eq + 1 >= line.size() || line[eq + 1] != '"') {
          problem("label value not quoted");
          break;
        }
        std::string value;
        std::size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            if (line[j] == 'n')
              value += '\n';
            else if (line[j] == '\\' || line[j] == '"')
              value += line[j];
            else
              problem("bad escape in a label value");
          } else {
            value += line[j];
          }
        }
        if (j >= line.size()) {
          problem("unterminated label value");
          break;
        }
        if (s.labels.count(lname)) problem("label " + lname + " twice");
        s.labels[lname] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size() || line[i] != '}') {
        problem("labels not closed");
        continue;
      }
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') {
      problem("no value");
      continue;
    }
    auto v = parse_prom_value(line.substr(i + 1));
    if (!v) {
      problem("bad value \"" + line.substr(i + 1) + "\"");
      continue;
    }
    s.value = *v;
    auto fam = family_of(s.name, out.types);
    if (!out.types.count(fam)) problem("sample " + s.name + " before (or without) its TYPE");
    if (fam != current) {
      if (finished.count(fam)) problem("samples of " + fam + " are not together");
      if (!current.empty()) finished.insert(current);
      current = fam;
    }
    out.samples.push_back(std::move(s));
  }
  // Histograms: buckets cumulative, le ascending, +Inf equal to _count, _sum present.
  std::map<std::string, std::vector<std::pair<double, double>>> buckets;  // series -> (le, count)
  std::map<std::string, double> counts;
  std::set<std::string> sums;
  auto series_key = [](const exposition_sample& s, const std::string& fam) {
    std::string key = fam + "{";
    for (const auto& [k, v] : s.labels)
      if (k != "le") key += k + "=" + v + ",";
    return key + "}";
  };
  for (const auto& s : out.samples) {
    auto fam = family_of(s.name, out.types);
    if (out.types[fam] != "histogram") continue;
    auto key = series_key(s, fam);
    if (s.name == fam + "_bucket") {
      auto le = s.labels.find("le");
      if (le == s.labels.end()) {
        out.problems.push_back(key + ": bucket without le");
        continue;
      }
      auto bound = parse_prom_value(le->second);
      if (!bound) out.problems.push_back(key + ": bad le " + le->second);
      buckets[key].push_back({bound.value_or(0), s.value});
    } else if (s.name == fam + "_count") {
      counts[key] = s.value;
    } else if (s.name == fam + "_sum") {
      sums.insert(key);
    }
  }
  for (const auto& [key, bs] : buckets) {
    for (std::size_t i = 1; i < bs.size(); ++i) {
      if (!(bs[i].first > bs[i - 1].first)) out.problems.push_back(key + ": le not ascending");
      if (bs[i].second < bs[i - 1].second) out.problems.push_back(key + ": buckets not cumulative");
    }
    if (bs.empty() || !std::isinf(bs.back().first)) {
      out.problems.push_back(key + ": no le=\"+Inf\" bucket");
      continue;
    }
    if (!counts.count(key) || counts[key] != bs.back().second)
      out.problems.push_back(key + ": _count differs from the +Inf bucket");
    if (!sums.count(key)) out.problems.push_back(key + ": no _sum");
  }
  return out;
}

/// Runs `promtool check metrics` on `text` when promtool is installed: nullopt when it is not,
/// otherwise its exit code and output.
inline std::optional<std::pair<int, std::string>> promtool_check(const std::string& text,
                                                                 const std::string& dir) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) return std::nullopt;
  const std::string in = dir + "/metrics.txt", out = dir + "/promtool.out";
  std::ofstream(in) << text;
  int rc = std::system(("promtool check metrics < " + in + " > " + out + " 2>&1").c_str());
  std::ifstream f(out);
  std::stringstream ss;
  ss << f.rdbuf();
  return std::make_pair(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, ss.str());
}

}  // namespace dspsync::test
