#include "actors/console.hpp"

#include <array>
#include <atomic>
#include <deque>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>

#include "protocol/log.hpp"

namespace dspsync {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace {

class session;

/// What every session shares: the options, the engine, and the workers that run commands.
struct console_core {
  console_options opts;
  console_context ctx;
  net::thread_pool workers;
  std::mutex mutex;
  std::set<std::shared_ptr<session>> sessions;

  console_core(console_options o, console_context c)
      : opts(std::move(o)), ctx(std::move(c)), workers(static_cast<std::size_t>(std::max(opts.workers, 1))) {}
};

/// One operator connection. Every handler runs on the console's I/O thread; a command runs on a
/// worker and its answer is posted back. Lines are taken one at a time: the next is read only when
/// the previous one is answered and written, so a client that does not read cannot grow memory.
class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, std::shared_ptr<console_core> core)
      : socket_(std::move(socket)),
        core_(std::move(core)),
        idle_timer_(socket_.get_executor()),
        auth_timer_(socket_.get_executor()),
        authenticated_(core_->opts.token.empty()) {
    error_code ec;
    auto peer = socket_.remote_endpoint(ec);
    peer_ = ec ? std::string("unknown") : peer.address().to_string() + ":" + std::to_string(peer.port());
  }

  void start() {
    log_event(log_level::info, "console.connected", {{"peer", peer_}});
    touch();
    arm_idle(core_->opts.idle_timeout);
    process();
  }

  /// Tells a connection beyond the session limit why, then closes it (nothing is read from it).
  void refuse(const std::string& reason) {
    log_event(log_level::warn, "console.refused", {{"peer", peer_}, {"reason", reason}});
    reply(frame_err(reason), true);
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    error_code ec;
    idle_timer_.cancel();
    auth_timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    log_event(log_level::info, "console.closed", {{"peer", peer_}});
    std::lock_guard<std::mutex> guard(core_->mutex);
    core_->sessions.erase(shared_from_this());
  }

 private:
  void touch() { last_activity_ = std::chrono::steady_clock::now(); }

  /// Answers the lines already read, then reads more when everything is answered.
  void process() {
    while (!closed_ && !busy_ && !closing_) {
      auto l = lines_.next();
      if (!l) break;
      handle(std::move(*l));
    }
    if (!closed_ && !busy_ && !closing_ && !writing_ && !reading_ && !lines_.ready()) do_read();
  }

  void do_read() {
    reading_ = true;
    socket_.async_read_some(net::buffer(buf_), [self = shared_from_this()](error_code ec, std::size_t n) {
      self->reading_ = false;
      if (ec) return self->close();  // the client left (or the console is stopping)
      self->touch();
      self->lines_.feed(std::string_view(self->buf_.data(), n));
      self->process();
    });
  }

  void handle(line_reader::line l) {
    if (l.too_long) return reply(frame_err("line too long"));
    auto cmd = parse_command(l.text);
    if (!cmd) return;  // a blank line
    if (cmd->name == "auth") return authenticate(*cmd);
    if (!authenticated_ && cmd->name != "help" && cmd->name != "quit")
      return reply(frame_err("authentication required: auth TOKEN"));
    if (!is_console_command(cmd->name)) return reply(unknown_command_reply(cmd->name));
    if (cmd->name == "help") return reply(frame_ok(console_help()));
    if (cmd->name == "quit") return reply(frame_ok("bye"), true);
    // Only the command's name is logged: arguments may be anything an operator typed.
    log_event(log_level::info, "console.command", {{"peer", peer_}, {"command", cmd->name}});
    busy_ = true;
    net::post(core_->workers, [self = shared_from_this(), cmd = std::move(*cmd)] {
      auto r = run_console_command(self->core_->ctx, cmd, "console@" + self->peer_);
      net::post(self->socket_.get_executor(), [self, r = std::move(r)]() mutable {
        self->busy_ = false;
        if (self->closed_) return;
        self->reply(std::move(r.text), r.close);
        self->process();
      });
    });
  }

  void authenticate(const console_command& cmd) {
    if (core_->opts.token.empty())
      return reply(frame_ok("this console has no token: nothing to authenticate"));
    if (authenticated_) return reply(frame_ok("already authenticated"));
    if (token_matches(cmd.rest_after(0), core_->opts.token)) {
      authenticated_ = true;
      log_event(log_level::info, "console.authenticated", {{"peer", peer_}});
      return reply(frame_ok("authenticated"));
    }
    ++failures_;
    log_event(log_level::warn, "console.auth_failed",
              {{"peer", peer_}, {"failures", std::to_string(failures_)}});
    // Slow down guessing: the answer comes later with every failure, on a timer (no thread waits),
    // and nothing else is read from this session meanwhile.
    busy_ = true;
    auth_timer_.expires_after(auth_failure_delay(failures_));
    auth_timer_.async_wait([self = shared_from_this()](error_code ec) {
      self->busy_ = false;
      if (ec || self->closed_) return;
      const bool last = self->failures_ >= self->core_->opts.max_auth_failures;
      self->reply(frame_err(last ? "authentication failed; closing after " + std::to_string(self->failures_) +
                                       " failures"
                                 : std::string("authentication failed")),
                  last);
      self->process();
    });
  }

  void reply(std::string text, bool close_after = false) {
    if (closed_) return;
    out_.push_back(std::move(text));
    if (close_after) closing_ = true;
    if (!writing_) do_write();
  }

  void do_write() {
    writing_ = true;
    net::async_write(socket_, net::buffer(out_.front()),
                     [self = shared_from_this()](error_code ec, std::size_t) {
                       self->writing_ = false;
                       if (ec) return self->close();
                       self->touch();
                       self->out_.pop_front();
                       if (!self->out_.empty()) return self->do_write();
                       if (self->closing_) return self->close();
                       self->process();
                     });
  }

  /// Closes the session once it has been idle for the timeout; a running command is not idleness.
  void arm_idle(std::chrono::steady_clock::duration after) {
    idle_timer_.expires_after(after);
    idle_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->closed_) return;
      const auto timeout = self->core_->opts.idle_timeout;
      const auto idle = std::chrono::steady_clock::now() - self->last_activity_;
      if (self->busy_ || self->writing_ || idle < timeout)
        return self->arm_idle(self->busy_ ? timeout : timeout - idle);
      log_event(log_level::info, "console.idle_timeout", {{"peer", self->peer_}});
      self->lines_ = line_reader();
      self->reply(
          frame_err("idle for " +
                    std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) +
                    " s: closing the session"),
          true);
    });
  }

  tcp::socket socket_;
  std::shared_ptr<console_core> core_;
  net::steady_timer idle_timer_;
  net::steady_timer auth_timer_;
  std::array<char, 4096> buf_{};
  line_reader lines_;
  std::deque<std::string> out_;
  std::string peer_;
  std::chrono::steady_clock::time_point last_activity_;
  bool authenticated_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool busy_ = false;
  bool closing_ = false;
  bool closed_ = false;
  int failures_ = 0;
};

class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(net::io_context& ioc, std::shared_ptr<console_core> core)
      : acceptor_(ioc), core_(std::move(core)) {}

  error_code listen(const tcp::endpoint& ep) {
    error_code ec;
    if (acceptor_.open(ep.protocol(), ec)) return ec;
    if (acceptor_.set_option(net::socket_base::reuse_address(true), ec)) return ec;
    if (acceptor_.bind(ep, ec)) return ec;
    if (acceptor_.listen(net::socket_base::max_listen_connections, ec)) return ec;
    return ec;
  }

  tcp::endpoint local() const {
    error_code ec;
    return acceptor_.local_endpoint(ec);
  }

  void run() {
    acceptor_.async_accept([self = shared_from_this()](error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted) return;
      if (!ec) {
        auto s = std::make_shared<session>(std::move(socket), self->core_);
        bool admitted = false;
        {
          std::lock_guard<std::mutex> guard(self->core_->mutex);
          admitted = self->core_->sessions.size() < static_cast<std::size_t>(self->core_->opts.max_sessions);
          if (admitted) self->core_->sessions.insert(s);
        }
        if (admitted)
          s->start();
        else
          s->refuse("too many console sessions (" + std::to_string(self->core_->opts.max_sessions) +
                    " open); try again later");
      }
      self->run();
    });
  }

  void close() {
    error_code ec;
    acceptor_.close(ec);
  }

 private:
  tcp::acceptor acceptor_;
  std::shared_ptr<console_core> core_;
};

}  // namespace

struct console_server::impl {
  std::shared_ptr<console_core> core;
  std::unique_ptr<net::io_context> ioc;
  std::shared_ptr<listener> accept;
  std::thread thread;
  tcp::endpoint bound;
  std::atomic<bool> stopped{false};
};

console_server::console_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

console_server::~console_server() { stop(); }

expected<std::unique_ptr<console_server>> console_server::start(console_options opts, console_context ctx) {
  // Safe by default: a console reachable from other hosts must ask for a token.
  if (!is_loopback_address(opts.address) && opts.token.empty())
    return failure{ec::bad_config, "console.listen is \"" + opts.address +
                                       "\", not loopback: refusing to start the console without a token "
                                       "(set console.token_env to a variable that holds one)"};
  std::string host = opts.address == "localhost" ? "127.0.0.1" : opts.address;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) return failure{ec::bad_config, "console.listen: not an IP address: \"" + opts.address + "\""};
  auto p = std::make_unique<impl>();
  const auto port = opts.port;
  p->core = std::make_shared<console_core>(std::move(opts), std::move(ctx));
  p->ioc = std::make_unique<net::io_context>(1);
  p->accept = std::make_shared<listener>(*p->ioc, p->core);
  if (auto e = p->accept->listen(tcp::endpoint(address, port)))
    return failure{ec::transport_failure,
                   "console: cannot listen on " + host + ":" + std::to_string(port) + ": " + e.message()};
  p->bound = p->accept->local();
  p->accept->run();
  p->thread = std::thread([ioc = p->ioc.get()] { ioc->run(); });
  return std::unique_ptr<console_server>(new console_server(std::move(p)));
}

uint16_t console_server::port() const { return impl_->bound.port(); }

std::string console_server::address() const {
  auto a = impl_->bound.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(impl_->bound.port());
}

void console_server::stop() {
  if (!impl_ || impl_->stopped.exchange(true)) return;
  // Close the listener and every session on the I/O thread, stop the loop, then let running
  // commands finish (each waits at most for its asks). Sessions go before the loop they live on.
  std::promise<void> closed;
  net::post(*impl_->ioc, [l = impl_->accept, core = impl_->core, &closed] {
    l->close();
    std::set<std::shared_ptr<session>> all;
    {
      std::lock_guard<std::mutex> guard(core->mutex);
      all = core->sessions;
    }
    for (const auto& s : all) s->close();
    closed.set_value();
  });
  closed.get_future().wait();
  impl_->ioc->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->core->workers.join();  // nothing new reaches the workers once the loop has stopped
  {
    std::lock_guard<std::mutex> guard(impl_->core->mutex);
    impl_->core->sessions.clear();
  }
  impl_->accept.reset();
  impl_->ioc.reset();
}

}  // namespace dspsync
