#include "protocol/prometheus.hpp"

#include <charconv>
#include <cmath>

namespace dspsync {

std::string prom_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

std::string prom_escape_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

namespace {

std::string escape_help(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

}  // namespace

void prometheus_writer::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escape_help(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void prometheus_writer::series(std::string_view name, const prom_labels& labels, std::string_view value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out_ += ',';
      first = false;
      out_ += k;
      out_ += "=\"";
      out_ += prom_escape_label(v);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

void prometheus_writer::sample(std::string_view name, const prom_labels& labels, double value) {
  series(name, labels, prom_number(value));
}

void prometheus_writer::sample_int(std::string_view name, const prom_labels& labels, uint64_t value) {
  series(name, labels, std::to_string(value));
}

void prometheus_writer::histogram(std::string_view name, const prom_labels& labels,
                                  const std::vector<double>& bounds, const std::vector<uint64_t>& counts,
                                  double sum) {
  const std::string base(name);
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    if (i < counts.size()) cumulative += counts[i];
    prom_labels l = labels;
    l.emplace_back("le", i < bounds.size() ? prom_number(bounds[i]) : std::string("+Inf"));
    series(base + "_bucket", l, std::to_string(cumulative));
  }
  series(base + "_sum", labels, prom_number(sum));
  series(base + "_count", labels, std::to_string(cumulative));
}

}  // namespace dspsync
