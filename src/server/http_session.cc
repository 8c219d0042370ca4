// Session: one connection's read / write / close state machine (see http_session.h). Request
// dispatch and response building live in http_dispatch.cc.
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "server/http_session.h"

namespace tessera::server::internal {
namespace {

constexpr size_t kFirstReadBytes = 4096;
// After an error response to a request we did not read fully, keep reading (and discarding) for
// a moment before closing: closing with unread input makes the kernel send RST, which can
// destroy our response before the client reads it.
constexpr std::chrono::seconds kLingerTime{1};
const std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

std::string FormatRemote(const asio::ip::tcp::socket& socket) {
  beast::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return "?";
  std::string addr = ep.address().to_string();
  if (ep.address().is_v6()) addr = "[" + addr + "]";
  return addr + ":" + std::to_string(ep.port());
}

bool IsHttpError(const beast::error_code& ec) {
  return ec.category() == beast::error_code(http::error::bad_method).category();
}

}  // namespace

Session::Session(ServerCore* core, asio::ip::tcp::socket socket)
    : core_(core),
      executor_(socket.get_executor()),
      remote_(FormatRemote(socket)),
      stream_(std::move(socket)) {
  core_->connections_gauge()->Add(1);
}

Session::~Session() { core_->connections_gauge()->Sub(1); }

void Session::Start() {
  asio::post(executor_, [self = shared_from_this()] {
    if (self->core_->stopping()) {
      self->Finish();
      return;
    }
    self->WaitForRequest();
  });
}

void Session::OnServerStop() {
  asio::post(executor_, [self = shared_from_this()] {
    // kReading finishes its request (bounded by read_timeout); kHandling/kWriting answer with
    // Connection: close because Send checks stopping().
    if (self->state_ == State::kIdle) self->Finish();
  });
}

void Session::CloseNow() {
  state_ = State::kClosed;
  stream_.close();
}

void Session::WaitForRequest() {
  state_ = State::kIdle;
  if (core_->stopping()) return Finish();
  if (buffer_.size() > 0) return ReadHeader();  // a pipelined request is already here
  // Wait for the first byte under the idle timeout; the read timeout starts with it.
  stream_.expires_after(core_->options().idle_timeout);
  stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                          [self = shared_from_this()](beast::error_code ec, size_t n) {
                            self->OnFirstBytes(ec, n);
                          });
}

void Session::OnFirstBytes(beast::error_code ec, size_t n) {
  if (state_ == State::kClosed) return;
  if (ec) {
    // EOF, idle timeout, reset, or closed by Stop: nothing is owed to the client.
    HttpLog().trace("{}: closing idle connection: {}", remote_, ec.message());
    return Finish();
  }
  buffer_.commit(n);
  ReadHeader();
}

void Session::ReadHeader() {
  state_ = State::kReading;
  current_ = Current{};
  parser_.emplace();
  parser_->body_limit(core_->options().max_body_bytes);
  parser_->header_limit(static_cast<uint32_t>(core_->options().max_header_bytes));
  // One deadline for the whole request, headers and body: a client trickling bytes cannot keep
  // the connection alive by sending a little before each per-read timeout.
  stream_.expires_after(core_->options().read_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                            self->OnHeader(ec);
                          });
}

void Session::NoteHeader() {
  const auto& header = parser_->get();
  current_.method = std::string(header.method_string());
  current_.target = std::string(header.target());
  current_.version = header.version();
  current_.keep_alive = header.keep_alive();
  current_.head = header.method() == http::verb::head;
}

void Session::OnHeader(beast::error_code ec) {
  if (state_ == State::kClosed) return;
  if (ec) return OnReadError(ec);
  NoteHeader();
  const auto& header = parser_->get();
  if (header.version() >= 11 && !parser_->is_done() &&
      beast::iequals(header[http::field::expect], "100-continue")) {
    // The client waits for this before sending its body (curl does for large bodies).
    asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (self->state_ == State::kClosed) return;
                        if (ec) return self->Finish();
                        self->ReadBody();
                      });
    return;
  }
  ReadBody();
}

void Session::ReadBody() {
  if (parser_->is_done()) return Dispatch();
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
}

void Session::OnBody(beast::error_code ec) {
  if (state_ == State::kClosed) return;
  if (ec) return OnReadError(ec);
  Dispatch();
}

void Session::OnReadError(beast::error_code ec) {
  if (parser_ && parser_->is_header_done()) NoteHeader();
  current_.keep_alive = false;
  current_.received = std::chrono::steady_clock::now();
  if (ec == http::error::body_limit) {
    return Send(ErrorResponse(413, "too_large",
                              "request body exceeds " +
                                  std::to_string(core_->options().max_body_bytes) + " bytes"),
                /*close=*/true, /*linger=*/true);
  }
  if (ec == http::error::header_limit) {
    return Send(ErrorResponse(431, "too_large", "request header too large"), true, true);
  }
  if (IsHttpError(ec) && ec != http::error::end_of_stream && ec != http::error::partial_message) {
    HttpLog().warn("{}: malformed request: {}", remote_, ec.message());
    return Send(ErrorResponse(400, "bad_request", "malformed HTTP request: " + ec.message()), true,
                true);
  }
  // The client went away or was too slow (beast::error::timeout: the stream already closed the
  // socket). Nobody is left to answer.
  if (ec == beast::error::timeout) {
    HttpLog().warn("{}: request not received within {}s, closing", remote_,
                   core_->options().read_timeout.count());
  } else {
    HttpLog().debug("{}: connection lost while reading: {}", remote_, ec.message());
  }
  Finish();
}

void Session::OnWrite(beast::error_code ec, bool close, bool linger) {
  response_.reset();
  if (state_ == State::kClosed) return;
  if (ec) {
    HttpLog().debug("{}: write failed: {}", remote_, ec.message());
    return Finish();
  }
  if (!close) return WaitForRequest();
  beast::error_code ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  if (!linger) return Finish();
  stream_.expires_after(kLingerTime);  // once: a client that keeps sending is cut off anyway
  Linger();
}

void Session::Linger() {
  stream_.async_read_some(asio::buffer(discard_),
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                            if (self->state_ == State::kClosed) return;
                            if (ec) return self->Finish();  // EOF, timeout or reset: done
                            self->Linger();
                          });
}

void Session::Finish() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  stream_.close();  // completes any pending operation with operation_aborted
  core_->RemoveSession(this);
}

}  // namespace tessera::server::internal
