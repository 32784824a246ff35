#pragma once

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

namespace dspsync::test {

/// Waits for a file in a directory to be written (inotify), so a test can re-check a condition on a
/// ledger that another thread or process commits to each time it changes, instead of sleeping.
/// LMDB writes every commit into `data.mdb`, so watching that name wakes the waiter once per commit.
class file_watch {
 public:
  /// Watches `dir` (which must exist) for writes to, or the creation of, the file `name` in it.
  file_watch(const std::string& dir, std::string name) : name_(std::move(name)) {
    fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ >= 0) ::inotify_add_watch(fd_, dir.c_str(), IN_MODIFY | IN_CREATE | IN_CLOSE_WRITE);
  }
  ~file_watch() {
    if (fd_ >= 0) ::close(fd_);
  }
  file_watch(const file_watch&) = delete;
  file_watch& operator=(const file_watch&) = delete;

  bool ok() const { return fd_ >= 0; }

  /// Blocks until the file changed or `timeout` passed; true when it changed. Events for other
  /// files in the directory are consumed and do not count.
  bool wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (drain()) return true;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 60'000))) <= 0) return false;
    }
  }

 private:
  /// Reads every queued event; true when one named the watched file.
  bool drain() {
    bool hit = false;
    alignas(inotify_event) char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) return hit;
      for (ssize_t at = 0; at < n;) {
        const auto* e = reinterpret_cast<const inotify_event*>(buf + at);
        if (e->len > 0 && name_ == e->name) hit = true;
        at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      }
    }
  }

  int fd_ = -1;
  std::string name_;
};

}  // namespace dspsync::test
