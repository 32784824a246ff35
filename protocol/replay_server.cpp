#include "protocol/replay_server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "domain/timefmt.hpp"
#include "protocol/pagination.hpp"

namespace dspsync {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

/// How long a connection may take to send a request, and to take a response, before it is closed.
constexpr std::chrono::seconds io_timeout{30};

/// A response ready to serve: headers prepared once at start, the body shared by every request.
struct recorded_response {
  http::response_header<> header;
  std::string body;
};

/// Everything recorded for one (method, path, query multiset), and how much of it was served.
struct recorded_exchange {
  std::vector<recorded_response> responses;
  std::size_t served = 0;
};

/// The recordings and the request log, shared by all sessions. The map is fixed after start; the
/// counters, the fault plan's state and the log change under `mutex`.
struct replay_book {
  std::unordered_map<std::string, recorded_exchange> exchanges;
  std::mutex mutex;
  /// Signalled whenever a request is logged (`wait_for_requests`).
  std::condition_variable logged;
  std::vector<replay_request_log_entry> log;
  std::optional<fault_plan> faults;
  /// The last recorded response served per method and path (query ignored), for `repeat_previous`.
  std::unordered_map<std::string, const recorded_response*> last_served;
};

/// The matching key of a request: method, decoded path and the sorted decoded query parameters.
/// nullopt when the URL or target does not parse.
std::optional<std::string> match_key(std::string_view method, std::string_view url) {
  auto parsed = boost::urls::parse_uri_reference(url);
  if (!parsed) return std::nullopt;
  std::string key(method);
  key += ' ';
  key += parsed->path();
  if (parsed->path().empty()) key += '/';
  std::vector<std::pair<std::string, std::string>> params;
  for (auto param : parsed->params()) params.emplace_back(param.key, param.value);
  std::sort(params.begin(), params.end());
  for (const auto& [name, value] : params) {
    key += '\0';
    key += name;
    key += '\x01';
    key += value;
  }
  return key;
}

/// Method and decoded path, the query left out: requests for successive pages of one endpoint
/// share it. nullopt when the target does not parse.
std::optional<std::string> page_key(std::string_view method, std::string_view url) {
  auto parsed = boost::urls::parse_uri_reference(url);
  if (!parsed) return std::nullopt;
  std::string key(method);
  key += ' ';
  key += parsed->path();
  return key;
}

/// A body cut in the middle with trailing garbage: no JSON parser accepts it, and a careless one
/// that stops at the first complete value would see half the records.
std::string corrupt_json(std::string_view body) {
  std::string out(body.substr(0, body.size() / 2));
  out += "}}garbage";
  return out;
}

/// The status a request is logged with.
int logged_status(const std::optional<fault>& f, const recorded_response* found) {
  if (f && f->kind == fault_kind::status) return f->status;
  if (f && f->kind == fault_kind::reset) return 0;
  if (f && f->kind == fault_kind::malformed_json) return 200;
  return found ? static_cast<int>(found->header.result_int()) : 404;
}

/// True for characters that may continue a host or port, so that `https://api.example` is not
/// taken as the start of `https://api.example.org` or `https://api.example:8443`.
bool continues_authority(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_' || c == '~' ||
         c == ':' || c == '@';
}

/// Replaces every recorded origin in `text` by the server's own.
struct origin_rewriter {
  /// (recorded, replacement) pairs, longest recorded first.
  std::vector<std::pair<std::string, std::string>> rules;

  void add(const std::string& recorded, const std::string& own) {
    auto escaped = [](std::string s) {  // JSON writers may escape '/' as "\/"
      std::string out;
      for (char c : s) {
        if (c == '/') out += '\\';
        out += c;
      }
      return out;
    };
    for (auto rule : {std::make_pair(recorded, own), std::make_pair(escaped(recorded), escaped(own))}) {
      if (std::find(rules.begin(), rules.end(), rule) == rules.end()) rules.push_back(std::move(rule));
    }
  }

  void finish() {
    std::stable_sort(rules.begin(), rules.end(),
                     [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  }

  std::string apply(std::string text) const {
    for (const auto& [from, to] : rules) {
      if (from == to) continue;
      std::size_t pos = text.find(from);
      if (pos == std::string::npos) continue;
      std::string out;
      out.reserve(text.size());
      std::size_t done = 0;
      for (; pos != std::string::npos; pos = text.find(from, pos)) {
        const std::size_t end = pos + from.size();
        if (end < text.size() && continues_authority(text[end])) {
          pos = end;
          continue;
        }
        out.append(text, done, pos - done);
        out += to;
        done = pos = end;
      }
      out.append(text, done, std::string::npos);
      text = std::move(out);
    }
    return text;
  }
};

bool is_token_char(unsigned char c) {
  return std::isalnum(c) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

/// Whether a recorded response header is replayed. Framing and connection headers are Beast's to
/// set (the recorded body is already decoded); HTTP/2 pseudo-headers and malformed lines are dropped.
bool replayable_header(const har_header& h) {
  if (h.name.empty() || h.name[0] == ':') return false;
  if (!std::all_of(h.name.begin(), h.name.end(),
                   [](char c) { return is_token_char(static_cast<unsigned char>(c)); }))
    return false;
  if (h.value.find_first_of("\r\n") != std::string::npos) return false;
  for (http::field f : {http::field::content_length, http::field::transfer_encoding,
                        http::field::content_encoding, http::field::connection, http::field::keep_alive}) {
    if (beast::iequals(h.name, http::to_string(f))) return false;
  }
  return true;
}

recorded_response prepare_response(const har_entry& e, const origin_rewriter& rewriter) {
  recorded_response r;
  // A HAR status of 0 marks a request that got no response, 1xx an upgrade: neither can be replayed.
  const bool replayable = e.status >= 200 && e.status <= 999;
  r.header.result(replayable ? static_cast<unsigned>(e.status) : 502U);
  if (replayable && !e.status_text.empty() && e.status_text.find_first_of("\r\n") == std::string::npos) {
    r.header.reason(e.status_text);
  }
  for (const auto& h : e.response_headers) {
    if (!replayable_header(h)) continue;
    r.header.insert(h.name, beast::iequals(h.name, "Location") ? rewriter.apply(h.value) : h.value);
  }
  const auto status = r.header.result();
  if (status != http::status::no_content && status != http::status::not_modified) {
    r.body = rewriter.apply(e.response_body);
  }
  return r;
}

/// Per-connection errors end that connection only; the client sees them on its side.
void fail(beast::error_code, const char*) {
  // nop
}

/// One HTTP/1.1 connection: read a request, answer it, repeat while the client keeps it alive.
class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket&& socket, std::shared_ptr<replay_book> book)
      : stream_(std::move(socket)), timer_(stream_.get_executor()), book_(std::move(book)) {}

  void run() {
    // Start on the session's strand: every handler of this connection runs there.
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&session::do_read, shared_from_this()));
  }

 private:
  void do_read() {
    req_ = {};
    stream_.expires_after(io_timeout);
    http::async_read(stream_, buffer_, req_,
                     beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return do_close();
    if (ec) return fail(ec, "read");
    const std::optional<fault> f = respond();
    if (!f) return do_write(false);
    switch (f->kind) {
      case fault_kind::delay:
        timer_.expires_after(f->delay);
        return timer_.async_wait(beast::bind_front_handler(&session::on_delay, shared_from_this()));
      case fault_kind::reset:
        return do_reset();
      case fault_kind::truncate:
        return do_write(true);
      default:
        return do_write(false);
    }
  }

  void on_delay(beast::error_code ec) {
    if (ec) return fail(ec, "delay");
    do_write(false);
  }

  /// Writes `res_`; `close_after` ends the connection once it is written (a truncated body is
  /// only seen as such when no more bytes come).
  void do_write(bool close_after) {
    const bool keep_alive = !close_after && res_.keep_alive();
    stream_.expires_after(io_timeout);
    http::async_write(stream_, res_,
                      beast::bind_front_handler(&session::on_write, shared_from_this(), keep_alive));
  }

  void do_reset() {
    beast::error_code ec;
    // Lingering 0 s makes close() send an RST, not a FIN: what a crashed or overloaded DSP does.
    stream_.socket().set_option(net::socket_base::linger(true, 0), ec);
    stream_.socket().close(ec);
  }

  void on_write(bool keep_alive, beast::error_code ec, std::size_t) {
    if (ec) return fail(ec, "write");
    if (!keep_alive) return do_close();
    do_read();
  }

  void do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  /// Picks the response for `req_` (and the fault to apply, if any) into `res_` and logs the
  /// request.
  std::optional<fault> respond() {
    const auto received = std::chrono::system_clock::now();
    const std::string method(req_.method_string());
    const std::string target(req_.target());
    const auto key = match_key(method, target);
    const auto page = page_key(method, target);
    const recorded_response* found = nullptr;
    std::optional<fault> f;
    {
      std::lock_guard<std::mutex> lock(book_->mutex);
      bool over_quota = false;
      if (book_->faults) {
        f = book_->faults->decide(book_->log.size() + 1, target);
        const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now().time_since_epoch())
                                .count();
        if (auto q = book_->faults->enforce_quotas(target, now_ns)) {
          f = std::move(q);
          over_quota = true;
        }
      }
      if (f && f->kind == fault_kind::repeat_previous) {
        auto it = page ? book_->last_served.find(*page) : book_->last_served.end();
        if (it != book_->last_served.end()) {
          found = it->second;
        } else {
          f.reset();  // nothing served on that path yet: nothing to repeat
        }
      }
      if (found == nullptr && key) {
        auto it = book_->exchanges.find(*key);
        if (it != book_->exchanges.end()) {
          recorded_exchange& ex = it->second;
          found = &ex.responses[std::min(ex.served, ex.responses.size() - 1)];
          // Only a real answer uses the recording up; a faulty one leaves it for the retry.
          if (!f || f->kind == fault_kind::delay) {
            ++ex.served;
            if (page) book_->last_served[*page] = found;
          }
        }
      }
      book_->log.push_back({received, method, target, logged_status(f, found),
                            over_quota ? std::string("quota")
                            : f        ? to_string(f->kind)
                                       : std::string()});
    }
    book_->logged.notify_all();
    build_response(f, found, method, target, received);
    return f;
  }

  void build_response(const std::optional<fault>& f, const recorded_response* found,
                      const std::string& method, const std::string& target,
                      std::chrono::system_clock::time_point received) {
    res_ = {};
    const bool head = req_.method() == http::verb::head;
    if (f && f->kind == fault_kind::status) {
      scratch_ = boost::json::serialize(
          boost::json::object{{"error", "injected fault: status " + std::to_string(f->status)}});
      res_.result(static_cast<unsigned>(f->status));
      res_.set(http::field::content_type, "application/json");
      for (const auto& [name, value] : f->headers) res_.set(name, value);
      if (f->retry_after_date_s) {
        const auto now_s =
            std::chrono::duration_cast<std::chrono::seconds>(received.time_since_epoch()).count();
        res_.set(http::field::retry_after, format_http_date(now_s + *f->retry_after_date_s));
      }
      res_.body() = {scratch_.data(), head ? 0 : scratch_.size()};
    } else if (found != nullptr) {
      res_.base() = found->header;
      res_.body() = {found->body.data(), head ? 0 : found->body.size()};
    } else {
      scratch_ = boost::json::serialize(
          boost::json::object{{"error", "no recorded response for " + method + " " + target}});
      res_.result(http::status::not_found);
      res_.set(http::field::content_type, "application/json");
      res_.body() = {scratch_.data(), scratch_.size()};
    }
    if (f && f->kind == fault_kind::malformed_json) {
      std::string corrupted = corrupt_json({res_.body().data(), res_.body().size()});
      scratch_ = std::move(corrupted);
      res_.result(http::status::ok);
      res_.body() = {scratch_.data(), scratch_.size()};
    }
    res_.version(req_.version());
    res_.keep_alive(req_.keep_alive());
    res_.prepare_payload();
    if (f && f->kind == fault_kind::truncate) {
      // Declare the whole body, send part of it: the client must notice the short read. When the
      // kept part is the whole body, one byte more is declared so that it is still short.
      const std::size_t full = res_.body().size();
      const std::size_t keep = std::min(f->keep_bytes.value_or(full / 2), full);
      res_.body() = {res_.body().data(), keep};
      res_.content_length(std::max(full, keep + 1));
    }
  }

  beast::tcp_stream stream_;
  /// Holds a `delay` fault's response back without blocking the I/O thread.
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::shared_ptr<replay_book> book_;
  http::request<http::string_body> req_;
  http::response<http::span_body<const char>> res_;
  std::string scratch_;
};

/// Accepts connections and starts a session for each.
class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(net::io_context& ioc, std::shared_ptr<replay_book> book)
      : ioc_(ioc), acceptor_(net::make_strand(ioc)), book_(std::move(book)) {}

  beast::error_code listen(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    if (acceptor_.open(endpoint.protocol(), ec)) return ec;
    if (acceptor_.set_option(net::socket_base::reuse_address(true), ec)) return ec;
    if (acceptor_.bind(endpoint, ec)) return ec;
    if (acceptor_.listen(net::socket_base::max_listen_connections, ec)) return ec;
    return ec;
  }

  uint16_t port() const {
    beast::error_code ec;
    return acceptor_.local_endpoint(ec).port();
  }

  void run() { do_accept(); }

 private:
  void do_accept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (ec) {
      fail(ec, "accept");
    } else {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);  // responses are written in pieces
      std::make_shared<session>(std::move(socket), book_)->run();
    }
    do_accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  std::shared_ptr<replay_book> book_;
};

}  // namespace

struct replay_server::impl {
  std::shared_ptr<replay_book> book = std::make_shared<replay_book>();
  std::unique_ptr<net::io_context> ioc;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  std::string origin;
  std::atomic<bool> stopped{false};
};

replay_server::replay_server(std::unique_ptr<impl> self) : impl_(std::move(self)) {}

replay_server::~replay_server() { stop(); }

expected<std::unique_ptr<replay_server>> replay_server::start(std::vector<har_archive> recordings,
                                                              replay_options opts) {
  beast::error_code err;
  const auto address = net::ip::make_address(opts.address, err);
  if (err) return failure{ec::bad_argument, "replay server: bad listen address \"" + opts.address + "\""};
  const int threads = std::max(opts.threads, 1);

  auto self = std::make_unique<impl>();
  self->book->faults = std::move(opts.faults);
  self->ioc = std::make_unique<net::io_context>(threads);
  auto acceptor = std::make_shared<listener>(*self->ioc, self->book);
  if (auto err = acceptor->listen(tcp::endpoint(address, opts.port))) {
    return failure{ec::transport_failure, "replay server: cannot listen on " + opts.address + ":" +
                                              std::to_string(opts.port) + ": " + err.message()};
  }
  self->port = acceptor->port();
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  self->origin = "http://" + host + ":" + std::to_string(self->port);

  // The origins the recordings were made against, both normalised and as written.
  origin_rewriter rewriter;
  for (const auto& archive : recordings) {
    for (const auto& e : archive.entries) {
      auto url = boost::urls::parse_uri(e.url);
      if (!url || !url->has_authority()) continue;
      rewriter.add(url_origin(e.url), self->origin);
      rewriter.add(std::string(url->scheme()) + "://" + std::string(url->encoded_host_and_port()),
                   self->origin);
    }
  }
  rewriter.finish();

  for (std::size_t a = 0; a < recordings.size(); ++a) {
    for (std::size_t i = 0; i < recordings[a].entries.size(); ++i) {
      const har_entry& e = recordings[a].entries[i];
      auto key = match_key(e.method, e.url);
      if (!key) {
        return failure{ec::bad_har, "replay server: recording " + std::to_string(a) + ": log.entries[" +
                                        std::to_string(i) + "].request.url: not a URL: \"" + e.url + "\""};
      }
      self->book->exchanges[*key].responses.push_back(prepare_response(e, rewriter));
    }
  }
  recordings.clear();

  acceptor->run();
  for (int i = 0; i < threads; ++i) self->threads.emplace_back([ioc = self->ioc.get()] { ioc->run(); });
  return std::unique_ptr<replay_server>(new replay_server(std::move(self)));
}

uint16_t replay_server::port() const { return impl_->port; }

std::string replay_server::origin() const { return impl_->origin; }

void replay_server::stop() {
  if (impl_->stopped.exchange(true)) return;
  impl_->ioc->stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  // Destroying the context destroys the pending handlers, which own the listener and the sessions:
  // that closes the acceptor and every connection.
  impl_->ioc.reset();
}

std::vector<replay_request_log_entry> replay_server::request_log() const {
  std::lock_guard<std::mutex> lock(impl_->book->mutex);
  return impl_->book->log;
}

bool replay_server::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->book->mutex);
  return impl_->book->logged.wait_for(lock, timeout, [&] { return impl_->book->log.size() >= n; });
}

std::size_t replay_server::requests_served() const {
  std::lock_guard<std::mutex> lock(impl_->book->mutex);
  return impl_->book->log.size();
}

}  // namespace dspsync
