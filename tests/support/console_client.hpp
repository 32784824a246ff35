#pragma once

// A blocking client for the operator console and the service HTTP port, as a script (or nc) would
// use them: every wait has a deadline (poll), nothing sleeps.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dspsync::test {

/// One answer of the console: its body lines and the closing `OK` / `ERR <reason>` line.
struct console_answer {
  std::vector<std::string> body;
  /// `OK`, `ERR ...`, or empty when the deadline passed or the server closed first.
  std::string status;
  bool ok() const { return status == "OK"; }
  std::string text() const {
    std::string out;
    for (const auto& l : body) out += l + "\n";
    return out + status + "\n";
  }
};

/// A TCP connection to 127.0.0.1:port.
class tcp_client {
 public:
  explicit tcp_client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~tcp_client() {
    if (fd_ >= 0) ::close(fd_);
  }
  tcp_client(const tcp_client&) = delete;
  tcp_client& operator=(const tcp_client&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  bool send(const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      auto n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

  /// The next line (without its newline), or nullopt at the deadline or when the server closed.
  std::optional<std::string> read_line(std::chrono::steady_clock::time_point deadline) {
    while (true) {
      auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      if (!fill(deadline)) return std::nullopt;
    }
  }

  /// Everything until the server closes (or the deadline); true when it closed.
  bool read_to_close(std::string& out, std::chrono::steady_clock::time_point deadline) {
    while (fill(deadline)) {
    }
    out += buffer_;
    buffer_.clear();
    return closed_;
  }

  /// True once the server has closed the connection.
  bool closed() const { return closed_; }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline) {
    if (closed_) return false;
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[65536];
    auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string buffer_;
};

/// A console session.
class console_client {
 public:
  explicit console_client(uint16_t port) : tcp_(port) {}
  bool connected() const { return tcp_.connected(); }

  /// Sends one line and reads its answer (up to `timeout`).
  console_answer ask(const std::string& line, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    tcp_.send(line + "\n");
    return read_answer(timeout);
  }

  /// Reads one answer: lines until `OK` or `ERR ...`.
  console_answer read_answer(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    console_answer a;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (auto line = tcp_.read_line(deadline)) {
      if (*line == "OK" || line->rfind("ERR ", 0) == 0) {
        a.status = *line;
        break;
      }
      a.body.push_back(*line);
    }
    transcript_ += a.text();
    return a;
  }

  tcp_client& raw() { return tcp_; }
  /// Every answer read so far.
  const std::string& transcript() const { return transcript_; }

 private:
  tcp_client tcp_;
  std::string transcript_;
};

/// `GET target` on 127.0.0.1:port (HTTP/1.1, Connection: close): status code and body.
inline std::pair<int, std::string> http_get(uint16_t port, const std::string& target,
                                            std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  tcp_client c(port);
  if (!c.connected()) return {0, ""};
  c.send("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  std::string raw;
  c.read_to_close(raw, std::chrono::steady_clock::now() + timeout);
  auto head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) return {0, raw};
  return {std::stoi(raw.substr(9, 3)), raw.substr(head_end + 4)};
}

/// `POST target` with `body` and extra headers on 127.0.0.1:port (HTTP/1.1, Connection: close):
/// status code and body.
inline std::pair<int, std::string> http_post(
    uint16_t port, const std::string& target, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers = {},
    std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  tcp_client c(port);
  if (!c.connected()) return {0, ""};
  std::string req = "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                    "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n";
  for (const auto& [name, value] : headers) req += name + ": " + value + "\r\n";
  c.send(req + "\r\n" + body);
  std::string raw;
  c.read_to_close(raw, std::chrono::steady_clock::now() + timeout);
  auto head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) return {0, raw};
  return {std::stoi(raw.substr(9, 3)), raw.substr(head_end + 4)};
}

}  // namespace dspsync::test
