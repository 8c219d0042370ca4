// A minimal blocking HTTP/1.1 keep-alive client for load generation (one per thread).
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <string>

namespace tessera::bench {

class HttpClient {
 public:
  HttpClient(const std::string& host, const std::string& port) : host_(host), port_(port) {}

  // Returns the status code, or -1 on a connection error (the next call reconnects).
  int Send(boost::beast::http::verb verb, const std::string& target, const std::string& body,
           const std::string& auth, std::string* response_body = nullptr) {
    namespace http = boost::beast::http;
    try {
      if (!stream_) Connect();
      http::request<http::string_body> req{verb, target, 11};
      req.set(http::field::host, host_);
      req.set(http::field::content_type, "application/json");
      if (!auth.empty()) req.set(http::field::authorization, auth);
      req.keep_alive(true);
      req.body() = body;
      req.prepare_payload();
      http::write(*stream_, req);
      http::response<http::string_body> res;
      http::read(*stream_, buffer_, res);
      if (response_body) *response_body = std::move(res.body());
      if (!res.keep_alive()) stream_.reset();
      return res.result_int();
    } catch (const std::exception&) {
      stream_.reset();
      return -1;
    }
  }

 private:
  void Connect() {
    boost::asio::ip::tcp::resolver resolver(ioc_);
    stream_ = std::make_unique<boost::beast::tcp_stream>(ioc_);
    stream_->connect(resolver.resolve(host_, port_));
    stream_->socket().set_option(boost::asio::ip::tcp::no_delay(true));
  }

  std::string host_, port_;
  boost::asio::io_context ioc_;
  std::unique_ptr<boost::beast::tcp_stream> stream_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace tessera::bench
