#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace dspsync::test {

/// A child process running the dspsync binary, its output going to a file. The exit is collected
/// by a thread blocked in waitpid, so waiting with a deadline needs no polling.
class child_process {
 public:
  child_process(const std::vector<std::string>& args, const std::string& output_file) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output_file.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    ok_ = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) == 0;
    posix_spawn_file_actions_destroy(&actions);
    if (ok_) {
      pid_t pid = pid_;
      exit_ = std::async(std::launch::async, [pid] {
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        return status;
      });
    }
  }
  ~child_process() {
    if (ok_ && !exited()) {
      kill(SIGKILL);
      wait(std::chrono::seconds(30));
    }
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  bool started() const { return ok_; }
  void kill(int sig) { ::kill(pid_, sig); }
  bool exited() {
    return exit_.valid() && exit_.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  }

  /// Waits for the exit; the raw waitpid status, or -1 on timeout.
  int wait(std::chrono::milliseconds timeout) {
    if (!exit_.valid()) return status_;
    if (exit_.wait_for(timeout) != std::future_status::ready) return -1;
    status_ = exit_.get();
    return status_;
  }

 private:
  pid_t pid_ = -1;
  bool ok_ = false;
  std::future<int> exit_;
  int status_ = -1;
};

/// Runs the binary to completion and returns (exit code, output).
inline std::pair<int, std::string> run_command(const std::vector<std::string>& args,
                                               const std::string& scratch,
                                               std::chrono::seconds timeout = std::chrono::seconds(120)) {
  ::unlink(scratch.c_str());
  child_process p(args, scratch);
  int status = p.wait(timeout);
  std::ifstream in(scratch);
  std::stringstream ss;
  ss << in.rdbuf();
  int code = status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return {code, ss.str()};
}

}  // namespace dspsync::test
