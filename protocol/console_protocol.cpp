#include "protocol/console_protocol.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>

#include <boost/asio/ip/address.hpp>

#include "domain/idempotency.hpp"

namespace dspsync {

void line_reader::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    const auto nl = bytes.find('\n');
    const auto chunk = bytes.substr(0, nl);
    if (!discarding_) {
      partial_.append(chunk.data(), chunk.size());
      // A CR before the LF belongs to the line ending, not to the line: one byte more may wait.
      const bool over =
          partial_.size() > max_line_ + 1 || (partial_.size() == max_line_ + 1 && partial_.back() != '\r');
      if (over) {
        discarding_ = true;
        partial_.clear();
        partial_.shrink_to_fit();
      }
    }
    if (nl == std::string_view::npos) return;
    bytes.remove_prefix(nl + 1);
    if (discarding_) {
      lines_.push_back({std::string(), true});
      discarding_ = false;
      continue;
    }
    if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
    lines_.push_back({std::move(partial_), false});
    partial_.clear();
  }
}

std::optional<line_reader::line> line_reader::next() {
  if (lines_.empty()) return std::nullopt;
  auto l = std::move(lines_.front());
  lines_.pop_front();
  return l;
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && (is_space(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

/// Control bytes shown as \xNN, so a body line or reason can never break the framing.
std::string printable(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\t') {
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 0xF];
    } else if (u == 0x7f) {
      out += "\\x7f";
    } else {
      out += c;
    }
  }
  return out;
}

/// A body line that would read as a terminator is indented.
bool looks_like_terminator(std::string_view line) {
  auto starts = [&](std::string_view p) {
    return line.substr(0, p.size()) == p && (line.size() == p.size() || line[p.size()] == ' ');
  };
  return starts("OK") || starts("ERR");
}

void append_body(std::string& out, std::string_view body) {
  while (!body.empty()) {
    auto nl = body.find('\n');
    auto line = body.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (looks_like_terminator(line)) out += "  ";
    out += printable(line);
    out += '\n';
    if (nl == std::string_view::npos) break;
    body.remove_prefix(nl + 1);
  }
}

}  // namespace

std::string console_command::rest_after(std::size_t n) const {
  std::string_view s = trim(line);
  for (std::size_t skip = 0; skip <= n && !s.empty(); ++skip) {
    auto end = std::find_if(s.begin(), s.end(), is_space);
    s.remove_prefix(static_cast<std::size_t>(end - s.begin()));
    s = trim(s);
  }
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return std::string(s);
}

std::optional<console_command> parse_command(std::string_view line) {
  console_command cmd;
  cmd.line = std::string(line);
  std::string_view s = trim(line);
  while (!s.empty()) {
    auto end = std::find_if(s.begin(), s.end(), is_space);
    auto len = static_cast<std::size_t>(end - s.begin());
    cmd.args.emplace_back(s.substr(0, len));
    s = trim(s.substr(len));
  }
  if (cmd.args.empty()) return std::nullopt;
  cmd.name = std::move(cmd.args.front());
  cmd.args.erase(cmd.args.begin());
  std::transform(cmd.name.begin(), cmd.name.end(), cmd.name.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  return cmd;
}

const std::vector<console_command_info>& console_commands() {
  static const std::vector<console_command_info> table = {
      {"help", "help", "this list"},
      {"auth", "auth TOKEN", "authenticate (first, when the console has a token)"},
      {"status", "status", "engine summary and one line per endpoint"},
      {"endpoints", "endpoints", "the endpoints with their state"},
      {"endpoint", "endpoint NAME", "everything about one endpoint"},
      {"pause", "pause NAME", "stop fetching (pages in flight still commit); audited"},
      {"resume", "resume NAME", "fetch again from the committed cursor; audited"},
      {"restart", "restart NAME", "restart the endpoint's poller; audited"},
      {"cursor", "cursor NAME [set VALUE]", "show the committed cursor, or set it (paused endpoints only)"},
      {"quarantine", "quarantine list|show KEY|release KEY",
       "quarantined items; release re-validates one with the current config and commits it"},
      {"pending", "pending", "records pending reconciliation, by reason"},
      {"drift", "drift", "drift events (title, UPC, ISRC, rights, revenue outliers)"},
      {"metrics", "metrics", "the Prometheus metrics, as /metrics serves them"},
      {"audit", "audit verify", "recompute the audit hash chain"},
      {"triage", "triage", "what needs attention: cursor lag, rejections, duplicates, circuit, backlog"},
      {"lineage", "lineage KEY", "a record's versions, raw page, request, correlation id and audit entries"},
      {"quit", "quit", "close the session"},
  };
  return table;
}

bool is_console_command(std::string_view name) {
  const auto& t = console_commands();
  return std::any_of(t.begin(), t.end(), [&](const auto& c) { return c.name == name; });
}

std::string console_help() {
  std::size_t width = 0;
  for (const auto& c : console_commands()) width = std::max(width, c.usage.size());
  std::string out;
  for (const auto& c : console_commands())
    out += c.usage + std::string(width - c.usage.size() + 2, ' ') + c.summary + "\n";
  out += "Every answer ends with a line OK or ERR <reason>.\n";
  return out;
}

std::string frame_ok(std::string_view body) {
  std::string out;
  append_body(out, body);
  out += "OK\n";
  return out;
}

std::string frame_err(std::string_view reason, std::string_view body) {
  std::string out;
  append_body(out, body);
  std::string one_line;
  for (char c : trim(reason)) one_line += (c == '\n' || c == '\r') ? ' ' : c;
  out +=
      "ERR " + printable(one_line.empty() ? std::string_view("failed") : std::string_view(one_line)) + "\n";
  return out;
}

std::string unknown_command_reply(std::string_view name) {
  std::string shown(name.substr(0, 64));
  if (name.size() > 64) shown += "...";
  return frame_err("unknown command '" + shown + "' (try help)");
}

bool token_matches(std::string_view presented, std::string_view expected) {
  const auto a = sha256::digest(presented);
  const auto b = sha256::digest(expected);
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0 && !expected.empty();
}

std::chrono::milliseconds auth_failure_delay(int failures) {
  if (failures <= 0) return std::chrono::milliseconds(0);
  const int shift = std::min(failures - 1, 5);
  return std::chrono::milliseconds(250LL << shift);
}

std::optional<record_key> parse_record_key(std::string_view hex) { return key_from_hex(hex); }

bool is_loopback_address(std::string_view address) {
  std::string a(address);
  std::transform(a.begin(), a.end(), a.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  if (a == "localhost") return true;
  if (a.size() > 2 && a.front() == '[' && a.back() == ']') a = a.substr(1, a.size() - 2);
  boost::system::error_code ec;
  auto ip = boost::asio::ip::make_address(a, ec);
  if (ec) return false;
  if (ip.is_v6() && ip.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, ip.to_v6()).is_loopback();
  return ip.is_loopback();
}

}  // namespace dspsync
