#include "protocol/statements.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "domain/idempotency.hpp"
#include "domain/identifiers.hpp"
#include "protocol/catalog_file.hpp"

namespace dspsync {

namespace {

/// A text cell that a spreadsheet would otherwise run as a formula (`=`, `+`, `-`, `@` first) gets
/// a leading apostrophe; numbers are written as numbers and never pass through here.
std::string text_cell(const std::string& text) {
  if (!text.empty() && (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@'))
    return csv_cell("'" + text);
  return csv_cell(text);
}

money add(money a, money b) {
  auto sum = a.checked_add(b);
  return sum ? *sum : a;  // beyond 92 billion per currency: not reachable from int64 records
}

status write_file(const std::filesystem::path& dir, const std::string& name, const std::string& content,
                  std::vector<std::string>& files) {
  // Names are built here, but check anyway: one path component, never hidden, never a parent.
  if (name.empty() || name.find('/') != std::string::npos || name[0] == '.')
    return failure{ec::bad_argument, "statements: refusing the file name \"" + name + "\""};
  const auto path = dir / name;
  // Written whole or not at all: into a hidden temporary beside it, synced, then renamed over the
  // name. A run killed midway leaves the previous file (or none), never a truncated statement that
  // a royalty manager could send; running `statements` again writes it.
  const auto tmp = dir / ("." + name + ".tmp");
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return failure{ec::io_failure, tmp.string() + ": cannot create: " + std::strerror(errno)};
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return failure{ec::io_failure, tmp.string() + ": cannot write: " + why};
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return failure{ec::io_failure, tmp.string() + ": cannot write: " + why};
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return failure{ec::io_failure, path.string() + ": cannot replace: " + why};
  }
  files.push_back(path.string());
  return ok;
}

std::string hex8(const std::string& text) { return to_hex(sha256::digest(text)).substr(0, 8); }

}  // namespace

std::string statement_file_name(const std::string& holder) {
  std::string safe;
  for (char c : holder) {
    const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
    const char out = keep ? c : '_';
    if (out == '_' && !safe.empty() && safe.back() == '_') continue;
    safe += out;
  }
  while (!safe.empty() && (safe.front() == '.' || safe.front() == '_' || safe.front() == '-'))
    safe.erase(0, 1);
  if (safe.size() > 60) safe.resize(60);
  while (!safe.empty() && (safe.back() == '.' || safe.back() == '_' || safe.back() == '-')) safe.pop_back();
  if (safe.empty()) safe = "holder";
  return "statement-" + safe + "-" + hex8(holder) + ".csv";
}

std::vector<std::string> discrepancies(const ledger_figures& f, const std::string& period) {
  std::vector<std::string> out;
  const std::string cur = " " + f.currency;
  if (f.pending > 0) {
    std::string reasons;
    for (const auto& [reason, n] : f.pending_reasons)
      reasons += (reasons.empty() ? "" : ", ") + reason + " x" + std::to_string(n);
    out.push_back(std::to_string(f.pending) + " records (" + f.pending_revenue.to_string() + cur +
                  ") wait in pending_reconciliation: " + (reasons.empty() ? "validation faults" : reasons));
  }
  if (f.unreconciled > 0)
    out.push_back(std::to_string(f.unreconciled) + " records (" + f.unreconciled_revenue.to_string() + cur +
                  ") are validated but not reconciled (run dspsync reconcile)");
  if (f.awaiting > 0)
    out.push_back(std::to_string(f.awaiting) + " records (" + f.awaiting_revenue.to_string() + cur +
                  ") are reconciled but not settled in " + period + "; they settle in the next open period");
  // The identity: every unit of the period's money is settled, adjusted later, or named above.
  money accounted =
      add(add(add(add(f.settled_revenue, f.adjusted_later), f.pending_revenue), f.unreconciled_revenue),
          f.awaiting_revenue);
  if (accounted != f.revenue)
    out.push_back("the ledger holds " + f.revenue.to_string() + cur +
                  " but settled, pending and waiting amounts add to " + accounted.to_string() + cur +
                  " (difference " + money::from_units(f.revenue.units() - accounted.units()).to_string() +
                  ")");
  if (f.reported) {
    if (f.reported->revenue != f.revenue)
      out.push_back(f.dsp + " reported " + f.reported->revenue.to_string() + cur + " (" + f.reported->origin +
                    ") but the ledger holds " + f.revenue.to_string() + cur + " (difference " +
                    money::from_units(f.reported->revenue.units() - f.revenue.units()).to_string() + ")");
    if (f.reported->records != f.records)
      out.push_back(f.dsp + " reported " + std::to_string(f.reported->records) +
                    " records but the ledger holds " + std::to_string(f.records));
  }
  return out;
}

expected<statements_written> write_statements(const std::string& out_dir, const std::string& period,
                                              const std::vector<settled_entry>& entries,
                                              const std::vector<ledger_figures>& figures,
                                              const std::map<std::string, uint64_t>& quarantined) {
  statements_written result;
  std::error_code fs_error;
  const std::filesystem::path dir(out_dir);
  std::filesystem::create_directories(dir, fs_error);
  if (fs_error || !std::filesystem::is_directory(dir))
    return failure{ec::io_failure, out_dir + ": cannot create the output directory: " + fs_error.message()};

  struct holder_acc {
    std::string text;
    uint64_t lines = 0;
    std::string payee_currency;
    money payee_total;
  };
  std::map<std::string, holder_acc> holders;
  for (const auto& e : entries) {
    result.settled_by_currency[e.currency] = add(result.settled_by_currency[e.currency], e.gross);
    for (const auto& l : e.lines) {
      auto& h = holders[l.holder];
      if (h.text.empty())
        h.text =
            "period,entry,original_period,dsp,territory,isrc,title,right_type,role,units,gross,currency,"
            "share,net,"
            "payee_currency,fx_rate,payee_net\n";
      h.text += period + "," + to_string(e.kind) + "," + e.original_period + "," + text_cell(e.dsp) + "," +
                e.territory + "," + e.isrc + "," + text_cell(e.title) + "," + to_string(l.right) + "," +
                text_cell(l.role) + "," + std::to_string(e.units) + "," + e.gross.to_string() + "," +
                e.currency + "," + combined_share(l) + "," + l.net.to_string() + "," + l.payee_currency +
                "," + money::from_units(l.fx_rate).to_string() + "," + l.payee_net.to_string() + "\n";
      ++h.lines;
      // A holder has one payee currency; should the config have changed between entries, the
      // summary says "mixed" rather than add two currencies.
      if (h.payee_currency.empty()) h.payee_currency = l.payee_currency;
      if (h.payee_currency != l.payee_currency) h.payee_currency = "mixed";
      h.payee_total = add(h.payee_total, l.payee_net);
      result.statements_by_currency[e.currency] = add(result.statements_by_currency[e.currency], l.net);
    }
  }

  std::string summary = "holder,statement,lines,payee_currency,payee_total,payable,rounding\n";
  for (const auto& [holder, h] : holders) {
    const std::string file = statement_file_name(holder);
    if (auto w = write_file(dir, file, h.text, result.files); !w) return w.error();
    const auto* info = find_currency(h.payee_currency);
    const money payable = info ? round_half_even(h.payee_total, info->minor_units) : h.payee_total;
    summary += text_cell(holder) + "," + file + "," + std::to_string(h.lines) + "," + h.payee_currency + "," +
               h.payee_total.to_string() + "," + payable.to_string() + "," +
               money::from_units(payable.units() - h.payee_total.units()).to_string() + "\n";
    result.holders.push_back({holder, file, h.lines, h.payee_currency, h.payee_total, payable});
  }
  if (auto w = write_file(dir, "summary.csv", summary, result.files); !w) return w.error();

  std::string totals = "currency,settled_revenue,statement_total,difference\n";
  for (const auto& [cur, settled] : result.settled_by_currency) {
    const money stated = result.statements_by_currency[cur];
    totals += cur + "," + settled.to_string() + "," + stated.to_string() + "," +
              money::from_units(settled.units() - stated.units()).to_string() + "\n";
  }
  if (auto w = write_file(dir, "totals.csv", totals, result.files); !w) return w.error();

  std::string report =
      "dsp,currency,records,ledger_revenue,settled_records,settled_revenue,adjusted_later,pending_records,"
      "pending_revenue,unreconciled_records,unreconciled_revenue,awaiting_records,awaiting_revenue,"
      "adjustments_in_records,adjustments_in_revenue,reported_records,reported_revenue,status,"
      "discrepancies\n";
  for (const auto& f : figures) {
    const auto found = discrepancies(f, period);
    if (!found.empty()) ++result.discrepancies;
    std::string joined;
    for (const auto& d : found) joined += (joined.empty() ? "" : "; ") + d;
    report +=
        text_cell(f.dsp) + "," + f.currency + "," + std::to_string(f.records) + "," + f.revenue.to_string() +
        "," + std::to_string(f.settled) + "," + f.settled_revenue.to_string() + "," +
        f.adjusted_later.to_string() + "," + std::to_string(f.pending) + "," + f.pending_revenue.to_string() +
        "," + std::to_string(f.unreconciled) + "," + f.unreconciled_revenue.to_string() + "," +
        std::to_string(f.awaiting) + "," + f.awaiting_revenue.to_string() + "," +
        std::to_string(f.adjustments_in) + "," + f.adjustments_in_revenue.to_string() + "," +
        (f.reported ? std::to_string(f.reported->records) : "") + "," +
        (f.reported ? f.reported->revenue.to_string() : "") + "," + (found.empty() ? "ok" : "discrepancy") +
        "," + text_cell(f.reported || !found.empty() ? joined : "no DSP-reported total in the source") + "\n";
  }
  for (const auto& [source, n] : quarantined) {
    if (n == 0) continue;
    ++result.discrepancies;
    report +=
        text_cell(source) + ",,,,,,,,,,,,,,,,,quarantine," +
        text_cell(std::to_string(n) + " rows of source " + source +
                  " are in quarantine (corrupt: no amount is known); see dspsync dump and the audit log") +
        "\n";
  }
  if (auto w = write_file(dir, "reconciliation.csv", report, result.files); !w) return w.error();
  return result;
}

}  // namespace dspsync
