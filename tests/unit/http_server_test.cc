// Tests of api/http_server over real sockets: a server on loopback TCP or a
// unix socket, and a raw client written here (no HTTP library between the
// test and the bytes, so malformed and hostile requests are sent as they are).
#include <algorithm>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "api/http_server.h"

namespace roster {
namespace {

// ------------------------------------------------------------------ the client

int ConnectTcp(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int ConnectUnix(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

struct Reply {
  int status = 0;  // 0: the connection closed (or failed) without a whole answer
  std::map<std::string, std::string> headers;  // names lower-case
  std::string body;
};

// Waits up to timeout_ms for the fd to turn readable (data or EOF).
bool Readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) > 0;
}

// Reads one answer (headers and a Content-Length body). A server that never
// answers fails the test after 10 s instead of hanging it.
// `head_request`: the answer to a HEAD request (headers only, whatever Content-Length says).
Reply ReadReply(int fd, bool head_request = false) {
  Reply r;
  std::string in;
  size_t head_end;
  char buffer[4096];
  while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
    if (!Readable(fd, 10000)) return r;
    ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return r;
    in.append(buffer, static_cast<size_t>(n));
  }
  std::string head = in.substr(0, head_end);
  std::string rest = in.substr(head_end + 4);
  size_t line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  if (status_line.compare(0, 9, "HTTP/1.1 ") != 0 && status_line.compare(0, 9, "HTTP/1.0 ") != 0) return r;
  size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    std::string line = head.substr(pos, end - pos);
    size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
    while (!value.empty() && value[0] == ' ') value.erase(0, 1);
    r.headers[name] = value;
    pos = end + 2;
  }
  size_t length = !head_request && r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
  while (rest.size() < length) {
    if (!Readable(fd, 10000)) return r;
    ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return r;
    rest.append(buffer, static_cast<size_t>(n));
  }
  r.body = rest.substr(0, length);
  r.status = std::stoi(status_line.substr(9, 3));
  return r;
}

Reply Exchange(int fd, const std::string& request) {
  if (fd < 0 || !SendAll(fd, request)) return Reply{};
  return ReadReply(fd, request.compare(0, 5, "HEAD ") == 0);
}

std::string Get(const std::string& target, const std::string& extra_headers = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra_headers + "Connection: close\r\n\r\n";
}

std::string Post(const std::string& target, const std::string& content_type, const std::string& body,
                 const std::string& method = "POST") {
  return method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

Json ErrorOf(const Reply& r) {
  auto j = ParseJson(r.body);
  return j.ok() && j->contains("error") ? (*j)["error"] : Json();
}

// ------------------------------------------------------------------ the server under test

class HttpServerTest : public ::testing::Test {
 protected:
  std::vector<Route> Routes() {
    std::vector<Route> routes;
    routes.push_back({"GET", "/domains", [](const HttpRequest&) {
                        return HttpResponse::WithJson(200, Json::array({"a.test", "b.test"}));
                      }});
    routes.push_back({"GET", "/domains/{domain}/mailboxes/{address}", [](const HttpRequest& r) {
                        Json j = Json::object();
                        j["domain"] = r.Param("domain");
                        j["address"] = r.Param("address");
                        j["limit"] = r.Query("limit") ? *r.Query("limit") : "";
                        return HttpResponse::WithJson(200, j);
                      }});
    routes.push_back({"GET", "/domains/_count", [](const HttpRequest&) {
                        return HttpResponse::WithJson(200, Json::object({{"count", 2}}));
                      }});
    routes.push_back({"DELETE", "/domains/{domain}", [](const HttpRequest&) { return HttpResponse::NoContent(); }});
    routes.push_back({"PUT", "/domains/{domain}",
                      [](const HttpRequest& r) {
                        Json j = Json::object();
                        j["got"] = r.json;
                        j["bytes"] = r.body.size();
                        return HttpResponse::WithJson(200, j);
                      },
                      HttpBody::kJson});
    routes.push_back({"GET", "/whoami", [](const HttpRequest& r) {
                        return HttpResponse::WithJson(200, Json::object({{"client", r.client}}));
                      }});
    routes.push_back({"GET", "/throw", [](const HttpRequest&) -> HttpResponse {
                        throw std::runtime_error("secret internals");
                      }});
    // Answers once the test lets it (Release), or after 10 s.
    routes.push_back({"GET", "/slow", [this](const HttpRequest&) {
                        std::unique_lock<std::mutex> lock(slow_mu_);
                        ++slow_entered_;
                        slow_cv_.notify_all();
                        slow_cv_.wait_for(lock, std::chrono::seconds(10), [this] { return slow_released_; });
                        return HttpResponse::WithJson(200, Json::object({{"slow", true}}));
                      }});
    return routes;
  }

  void AwaitSlowHandlers(int n) {
    std::unique_lock<std::mutex> lock(slow_mu_);
    ASSERT_TRUE(slow_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return slow_entered_ >= n; }));
  }
  void ReleaseSlowHandlers() {
    std::lock_guard<std::mutex> lock(slow_mu_);
    slow_released_ = true;
    slow_cv_.notify_all();
  }
  // Waits (at most 10 s) until the server's log holds `text`.
  bool AwaitLog(const std::string& text) {
    for (int i = 0; i < 1000; ++i) {
      if (Log().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  HttpServerOptions Options() {
    HttpServerOptions o;
    o.threads = 2;
    o.max_body = 1000;
    o.max_headers = 20;
    o.max_header_bytes = 4096;
    o.log = [this](std::string_view line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      log_ += std::string(line) + "\n";
    };
    return o;
  }

  void Start(HttpServerOptions o, HttpListen where = {}) {
    auto router = Router::Make(Routes());
    ASSERT_TRUE(router.ok()) << router.error().message;
    auto listener = HttpListener::Open(where, false);
    ASSERT_TRUE(listener.ok()) << listener.error().message;
    auto server = HttpServer::Start(std::move(o), std::move(*router), std::move(*listener));
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(*server);
  }

  Reply Ask(const std::string& request) {
    int fd = ConnectTcp(server_->port());
    Reply r = Exchange(fd, request);
    if (fd >= 0) close(fd);
    return r;
  }

  std::string Log() {
    std::lock_guard<std::mutex> lock(log_mu_);
    return log_;
  }

  std::unique_ptr<HttpServer> server_;
  std::mutex log_mu_;
  std::string log_;
  std::mutex slow_mu_;
  std::condition_variable slow_cv_;
  int slow_entered_ = 0;       // GUARDED_BY(slow_mu_)
  bool slow_released_ = false;  // GUARDED_BY(slow_mu_)
};

TEST_F(HttpServerTest, RoutesAndParameters) {
  Start(Options());
  Reply r = Ask(Get("/domains"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"(["a.test","b.test"])");
  EXPECT_EQ(r.headers["content-type"], "application/json");
  r = Ask(Get("/domains/example.test/mailboxes/al%C3%AFce%40example.test?limit=5"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"domain":"example.test","address":"alïce@example.test","limit":"5"})");
  // A literal segment beats a {name} at the same place.
  EXPECT_EQ(Ask(Get("/domains/_count")).body, R"({"count":2})");
  r = Ask("DELETE /domains/x.test HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.body, "");
}

TEST_F(HttpServerTest, SecurityHeadersOnEveryAnswer) {
  Start(Options());
  for (const Reply& r : {Ask(Get("/domains")), Ask(Get("/nowhere"))}) {
    EXPECT_EQ(r.headers.at("x-content-type-options"), "nosniff");
    EXPECT_EQ(r.headers.at("cache-control"), "no-store");
    EXPECT_EQ(r.headers.at("x-frame-options"), "DENY");
    EXPECT_NE(r.headers.at("content-security-policy").find("default-src 'none'"), std::string::npos);
    EXPECT_EQ(r.headers.at("referrer-policy"), "no-referrer");
    EXPECT_EQ(r.headers.count("strict-transport-security"), 0u);  // plain HTTP
  }
}

TEST_F(HttpServerTest, TheStrictContentSecurityPolicy) {
  Start(Options());
  EXPECT_EQ(Ask(Get("/domains")).headers.at("content-security-policy"),
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
}

// The fallback answers the GET and HEAD requests no route takes (roster-apid's
// pages); other methods, and the routes' own paths, are the router's. An
// answer's own Cache-Control replaces the default no-store; the other security
// headers stay.
TEST_F(HttpServerTest, FallbackForGetAndHeadOnly) {
  HttpServerOptions o = Options();
  o.fallback = [](const HttpRequest& r) {
    HttpResponse page{200, "page:" + std::to_string(r.segments.size()), "text/html; charset=utf-8", {}};
    page.AddHeader("Cache-Control", "no-cache");
    return page;
  };
  Start(std::move(o));
  Reply r = Ask(Get("/index.html"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "page:1");
  EXPECT_EQ(r.headers.at("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.headers.at("cache-control"), "no-cache");
  EXPECT_EQ(r.headers.at("x-frame-options"), "DENY");
  EXPECT_EQ(r.headers.at("x-content-type-options"), "nosniff");
  EXPECT_EQ(Ask(Get("/")).body, "page:0");
  EXPECT_EQ(Ask(Get("/domains")).body, R"(["a.test","b.test"])");  // a route's path stays the route's
  EXPECT_EQ(Ask(Get("/domains")).headers.at("cache-control"), "no-store");
  r = Ask(Post("/index.html", "application/json", "{}"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ErrorOf(r)["code"], "not_found");
  EXPECT_EQ(Ask(Get("/a/../index.html")).status, 400);  // the target's checks come first
}

TEST_F(HttpServerTest, NotFoundAndMethodNotAllowed) {
  Start(Options());
  Reply r = Ask(Get("/nowhere"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"error":{"code":"not_found","message":"no such resource","field":null}})");
  EXPECT_EQ(Ask(Get("/domains/x.test/mailboxes")).status, 404);
  r = Ask(Get("/domains/x.test"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(ErrorOf(r)["code"], "method_not_allowed");
  EXPECT_EQ(r.headers["allow"], "DELETE, PUT");
  EXPECT_EQ(Ask(Post("/domains", "application/json", "{}")).status, 405);
  EXPECT_EQ(Ask(Post("/domains", "application/json", "{}", "DELETE")).headers["allow"], "GET, HEAD");
}

// HEAD is answered wherever GET is: the same status and headers, no body
// (curl -I, monitoring checks, caches).
TEST_F(HttpServerTest, HeadIsAnsweredWhereGetIs) {
  Start(Options());
  Reply get = Ask(Get("/domains"));
  Reply head = Ask("HEAD /domains HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.headers["content-type"], get.headers["content-type"]);
  EXPECT_EQ(head.headers["etag"], get.headers["etag"]);
  EXPECT_EQ(Ask("HEAD /domains/x.test HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").status, 405);
}

TEST_F(HttpServerTest, PathTricksAndBadEscapesAre400) {
  Start(Options());
  for (const char* target : {"/domains/%zz", "/domains/..", "/domains/%2e%2e", "/domains/a%2Fb/mailboxes/x",
                             "/domains/a%00b", "//domains", "/domains/", "/domains/%ff", "/domains?a=1&a=2",
                             "/domains/a\\b"}) {
    Reply r = Ask(Get(target));
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(ErrorOf(r)["code"], "bad_target") << target << " " << r.body;
  }
}

TEST_F(HttpServerTest, JsonBodies) {
  Start(Options());
  Reply r = Ask(Post("/domains/x.test", "application/json; charset=UTF-8", R"({"active":true,"n":[1,2]})", "PUT"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"got":{"active":true,"n":[1,2]},"bytes":25})");
  r = Ask(Post("/domains/x.test", "application/json", R"({"active":tru})", "PUT"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorOf(r)["code"], "malformed_json");
  EXPECT_EQ(ErrorOf(r)["message"], "malformed JSON at byte 14");
  r = Ask(Post("/domains/x.test", "application/json", "", "PUT"));
  EXPECT_EQ(ErrorOf(r)["code"], "malformed_json");
  r = Ask(Post("/domains/x.test", "application/json", std::string(40, '[') + std::string(40, ']'), "PUT"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(ErrorOf(r)["message"].get<std::string>().find("nested deeper"), std::string::npos);
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1",
                           "application/jsonx"}) {
    r = Ask(Post("/domains/x.test", type, "{}", "PUT"));
    EXPECT_EQ(r.status, 415) << type;
    EXPECT_EQ(ErrorOf(r)["code"], "unsupported_media_type");
    EXPECT_EQ(ErrorOf(r)["field"], "Content-Type");
  }
  r = Ask("PUT /domains/x.test HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
  EXPECT_EQ(r.status, 415);  // no Content-Type at all
}

TEST_F(HttpServerTest, BodyTooLargeIs413) {
  Start(Options());
  // Announced: refused before it is read.
  Reply r = Ask(Post("/domains/x.test", "application/json", "[" + std::string(1200, ' ') + "]", "PUT"));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(ErrorOf(r)["code"], "body_too_large");
  // Chunked: read up to the limit, the rest dropped, then refused.
  std::string chunked =
      "PUT /domains/x.test HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  for (int i = 0; i < 30; ++i) chunked += "64\r\n" + std::string(100, ' ') + "\r\n";
  chunked += "0\r\n\r\n";
  r = Ask(chunked);
  EXPECT_EQ(r.status, 413);
  // Within the limit, chunked is fine.
  r = Ask("PUT /domains/x.test HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
          "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
  EXPECT_EQ(r.status, 200);
}

TEST_F(HttpServerTest, HeaderFloodIs431) {
  Start(Options());
  std::string many;
  for (int i = 0; i < 25; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  Reply r = Ask(Get("/domains", many));
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(ErrorOf(r)["code"], "headers_too_large");
  // Past the header buffer: libmicrohttpd answers 431 itself.
  std::string huge;
  for (int i = 0; i < 10; ++i) huge += "X-Big" + std::to_string(i) + ": " + std::string(1000, 'v') + "\r\n";
  EXPECT_EQ(Ask(Get("/domains", huge)).status, 431);
  // The server is still up.
  EXPECT_EQ(Ask(Get("/domains")).status, 200);
}

TEST_F(HttpServerTest, HandlerExceptionIs500WithoutDetails) {
  Start(Options());
  Reply r = Ask(Get("/throw"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, R"({"error":{"code":"internal","message":"internal error","field":null}})");
  EXPECT_NE(Log().find("secret internals"), std::string::npos);
  EXPECT_EQ(Ask(Get("/domains")).status, 200);
}

TEST_F(HttpServerTest, SlowClientIsCutAtTheDeadline) {
  HttpServerOptions o = Options();
  o.request_timeout = std::chrono::milliseconds(300);
  o.idle_timeout = std::chrono::seconds(30);
  Start(o);
  int fd = ConnectTcp(server_->port());
  ASSERT_GE(fd, 0);
  // Headers one byte at a time, each well within the idle timeout: 200 bytes
  // would take 10 s; the server cuts the connection long before.
  std::string request = Get("/domains", "X-Slow: " + std::string(150, 'z') + "\r\n");
  bool cut = false;
  for (char c : request) {
    if (!SendAll(fd, std::string(1, c))) {
      cut = true;
      break;
    }
    if (Readable(fd, 50)) {
      char b;
      cut = recv(fd, &b, 1, 0) <= 0;  // EOF or reset; an answer (it cannot be whole) is a failure
      break;
    }
  }
  EXPECT_TRUE(cut);
  close(fd);
  EXPECT_NE(Log().find("did not arrive within 300 ms"), std::string::npos) << Log();
  // A client that asks at normal speed on a kept-alive connection is served, twice.
  fd = ConnectTcp(server_->port());
  std::string keep = "GET /domains HTTP/1.1\r\nHost: h\r\n\r\n";
  EXPECT_EQ(Exchange(fd, keep).status, 200);
  EXPECT_EQ(Exchange(fd, keep).status, 200);
  close(fd);
}

// Stop with a drain time: a request under way still gets its answer (and
// its connection ends with it); afterwards nothing listens.
TEST_F(HttpServerTest, StopDrainsTheRequestsUnderWay) {
  Start(Options());
  const uint16_t port = server_->port();
  int fd = ConnectTcp(port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n"));
  AwaitSlowHandlers(1);
  std::thread stopper([this] { server_->Stop(std::chrono::seconds(20)); });
  // Stop is waiting for the handler (it says so) when the handler answers.
  EXPECT_TRUE(AwaitLog("http: stopping: 1 request(s) under way")) << Log();
  ReleaseSlowHandlers();
  Reply r = ReadReply(fd);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"slow":true})");
  EXPECT_EQ(r.headers["connection"], "close");
  close(fd);
  stopper.join();
  EXPECT_LT(ConnectTcp(port), 0);
  EXPECT_EQ(Log().find("still under way"), std::string::npos) << Log();
}

// The drain is bounded: a handler that outlasts it is left to finish alone.
TEST_F(HttpServerTest, StopDrainsForAtMostItsTime) {
  Start(Options());
  int fd = ConnectTcp(server_->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, Get("/slow")));
  AwaitSlowHandlers(1);
  std::thread stopper([this] { server_->Stop(std::chrono::milliseconds(50)); });
  EXPECT_TRUE(AwaitLog("request(s) still under way after 50 ms")) << Log();
  ReleaseSlowHandlers();  // MHD_stop_daemon joins the handler's thread
  stopper.join();
  close(fd);
}

// The per-request limits change while the server runs.
TEST_F(HttpServerTest, RequestLimitsChangeAtRunTime) {
  Start(Options());
  const std::string body = "[" + std::string(100, ' ') + "]";
  EXPECT_EQ(Ask(Post("/domains/x.test", "application/json", body, "PUT")).status, 200);
  std::string headers;
  for (int i = 0; i < 10; ++i) headers += "X-H" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(Ask(Get("/domains", headers)).status, 200);
  HttpServerOptions tighter = Options();
  tighter.max_body = 50;
  tighter.max_headers = 5;
  ASSERT_TRUE(server_->SetRequestLimits(tighter).ok());
  Reply r = Ask(Post("/domains/x.test", "application/json", body, "PUT"));
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(ErrorOf(r)["message"].get<std::string>().find("50 bytes"), std::string::npos);
  EXPECT_EQ(Ask(Get("/domains", headers)).status, 431);
  tighter.request_timeout = std::chrono::milliseconds(0);
  EXPECT_FALSE(server_->SetRequestLimits(tighter).ok());
}

TEST(HttpRequestTest, WipeZeroesTheBodyAndTheParsedStrings) {
  HttpRequest r;
  r.body = R"({"password":"hunter2-hunter2","n":[{"x":"deep-secret"}]})";
  r.json = *ParseJson(r.body);
  const char* body = r.body.data();
  const size_t size = r.body.size();
  const std::string& password = r.json["password"].get_ref<const std::string&>();
  const std::string& deep = r.json["n"][0]["x"].get_ref<const std::string&>();
  r.Wipe();
  EXPECT_EQ(std::string(body, size), std::string(size, '\0'));
  EXPECT_EQ(password, std::string(15, '\0'));
  EXPECT_EQ(deep, std::string(11, '\0'));
}

TEST_F(HttpServerTest, ConnectionCapPerClient) {
  HttpServerOptions o = Options();
  o.max_connections_per_client = 2;
  Start(o);
  int a = ConnectTcp(server_->port()), b = ConnectTcp(server_->port());
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  // The first two are served (and kept open); a third from the same address is closed at once.
  std::string keep = "GET /domains HTTP/1.1\r\nHost: h\r\n\r\n";
  EXPECT_EQ(Exchange(a, keep).status, 200);
  EXPECT_EQ(Exchange(b, keep).status, 200);
  int c = ConnectTcp(server_->port());
  ASSERT_GE(c, 0);
  Reply refused = ReadReply(c);  // a 503 or a bare close, nothing else
  EXPECT_TRUE(refused.status == 0 || refused.status == 503) << refused.status;
  if (refused.status == 503) {
    EXPECT_EQ(ErrorOf(refused)["code"], "too_many_connections");
  }
  close(c);
  close(a);
  // Once one has gone, a new one is served (the server notices the close asynchronously).
  Reply served;
  for (int attempt = 0; attempt < 500 && served.status != 200; ++attempt) {
    int d = ConnectTcp(server_->port());
    served = Exchange(d, Get("/domains"));
    close(d);
    if (served.status != 200) usleep(20000);
  }
  EXPECT_EQ(served.status, 200);
  close(b);
}

TEST_F(HttpServerTest, ConnectionCapInAll) {
  HttpServerOptions o = Options();
  o.threads = 1;
  o.max_connections = 3;
  Start(o);
  std::vector<int> open;
  std::string keep = "GET /domains HTTP/1.1\r\nHost: h\r\n\r\n";
  for (int i = 0; i < 3; ++i) {
    open.push_back(ConnectTcp(server_->port()));
    EXPECT_EQ(Exchange(open.back(), keep).status, 200);
  }
  // The fourth waits in the listen queue, unserved while the three stay open ...
  int waiting = ConnectTcp(server_->port());
  ASSERT_GE(waiting, 0);
  ASSERT_TRUE(SendAll(waiting, Get("/domains")));
  EXPECT_FALSE(Readable(waiting, 300));
  // ... and is served once one of them closes.
  close(open[0]);
  EXPECT_EQ(ReadReply(waiting).status, 200);
  close(waiting);
  close(open[1]);
  close(open[2]);
}

TEST_F(HttpServerTest, UnixSocketAndTrustedProxy) {
  char dir_template[] = "/tmp/roster-http-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  std::string path = std::string(dir_template) + "/api.sock";
  HttpListen where;
  where.unix_path = path;
  where.unix_mode = 0660;
  HttpServerOptions o = Options();
  Start(o, where);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  auto ask = [&](const std::string& request) {
    int fd = ConnectUnix(path);
    Reply r = Exchange(fd, request);
    if (fd >= 0) close(fd);
    return r;
  };
  std::string me = "unix:uid=" + std::to_string(getuid());
  // Not a trusted proxy: its X-Forwarded-For is ignored.
  EXPECT_EQ(ask(Get("/whoami", "X-Forwarded-For: 192.0.2.9\r\n")).body, R"({"client":")" + me + R"("})");
  server_.reset();
  EXPECT_NE(stat(path.c_str(), &st), 0);  // the socket is removed when the server stops

  o = Options();
  o.trusted_proxy_uids = {getuid()};
  Start(o, where);
  EXPECT_EQ(ask(Get("/whoami")).body, R"({"client":")" + me + R"("})");
  // The proxy's own entry is the last one; what the client put before it is not believed.
  EXPECT_EQ(ask(Get("/whoami", "X-Forwarded-For: 10.0.0.1, 2001:DB8::7\r\n")).body,
            R"({"client":"2001:db8::7"})");
  Reply bad = ask(Get("/whoami", "X-Forwarded-For: 10.0.0.1, nonsense\r\n"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(ErrorOf(bad)["code"], "bad_forwarded_for");
  server_.reset();
  rmdir(dir_template);
}

TEST_F(HttpServerTest, TrustedProxyOverTcp) {
  HttpServerOptions o = Options();
  Start(o);
  EXPECT_EQ(Ask(Get("/whoami", "X-Forwarded-For: 192.0.2.9\r\n")).body, R"({"client":"127.0.0.1"})");
  server_.reset();
  o = Options();
  o.trusted_proxies = {"127.0.0.1"};
  Start(o);
  EXPECT_EQ(Ask(Get("/whoami", "X-Forwarded-For: 192.0.2.9\r\n")).body, R"({"client":"192.0.2.9"})");
}

TEST(HttpListenerTest, OnlyLoopbackWithoutTls) {
  for (const char* address : {"0.0.0.0", "192.0.2.1", "::", "2001:db8::1"}) {
    HttpListen where;
    where.address = address;
    auto l = HttpListener::Open(where, false);
    ASSERT_FALSE(l.ok()) << address;
    EXPECT_EQ(l.error().kind, ErrorKind::kInvalid);
    EXPECT_NE(l.error().message.find("not loopback"), std::string::npos);
  }
  HttpListen where;
  where.address = "not-an-address";
  EXPECT_FALSE(HttpListener::Open(where, false).ok());
  where.address = "::1";
  auto v6 = HttpListener::Open(where, false);
  if (v6.ok()) {
    EXPECT_NE(v6->port(), 0);  // (a host without IPv6 cannot bind it)
  }
  where.address = "127.0.0.2";
  EXPECT_TRUE(HttpListener::Open(where, false).ok());
  // A path that is not a socket is never replaced.
  where = HttpListen{};
  where.unix_path = "/tmp/roster-http-notasocket";
  FILE* f = fopen(where.unix_path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  EXPECT_FALSE(HttpListener::Open(where, false).ok());
  unlink(where.unix_path.c_str());
}

TEST(RouterTest, RefusesBadTables) {
  auto h = [](const HttpRequest&) { return HttpResponse::NoContent(); };
  EXPECT_FALSE(Router::Make({{"GET", "/a/{x}", h}, {"GET", "/a/{y}", h}}).ok());  // same shape
  EXPECT_FALSE(Router::Make({{"GET", "/a/{x}/{x}", h}}).ok());
  EXPECT_FALSE(Router::Make({{"GET", "a", h}}).ok());
  EXPECT_FALSE(Router::Make({{"GET", "/a//b", h}}).ok());
  EXPECT_FALSE(Router::Make({{"GET", "/a/x{y}", h}}).ok());
  EXPECT_FALSE(Router::Make({{"GET", "/a", nullptr}}).ok());
  EXPECT_TRUE(Router::Make({{"GET", "/a/{x}", h}, {"PUT", "/a/{y}", h}, {"GET", "/", h}}).ok());
}

TEST(ETagTest, IfMatch) {
  std::string tag = ETagFor("{\"a\":1}");
  EXPECT_EQ(tag.size(), 34u);
  EXPECT_EQ(tag.front(), '"');
  EXPECT_NE(tag, ETagFor("{\"a\":2}"));
  HttpRequest r;
  EXPECT_EQ(CheckIfMatch(r, tag, false), Precondition::kMet);
  EXPECT_EQ(CheckIfMatch(r, tag, true), Precondition::kRequired);
  r.headers = {{"if-match", "\"other\", " + tag}};
  EXPECT_EQ(CheckIfMatch(r, tag, true), Precondition::kMet);
  r.headers = {{"if-match", "\"other\""}};
  EXPECT_EQ(CheckIfMatch(r, tag, true), Precondition::kFailed);
  r.headers = {{"if-match", "W/" + tag}};  // weak never matches strongly
  EXPECT_EQ(CheckIfMatch(r, tag, true), Precondition::kFailed);
  r.headers = {{"if-match", "*"}};
  EXPECT_EQ(CheckIfMatch(r, tag, true), Precondition::kMet);
  EXPECT_EQ(PreconditionResponse(Precondition::kFailed).status, 412);
  EXPECT_EQ(PreconditionResponse(Precondition::kRequired).status, 428);
  r.headers = {{"if-none-match", "W/" + tag}};
  EXPECT_TRUE(IfNoneMatchHits(r, tag));
  r.headers = {};
  EXPECT_FALSE(IfNoneMatchHits(r, tag));
}

TEST(HttpResponseTest, ErrorsByKind) {
  EXPECT_EQ(HttpResponse::FromError(Error::NotFound("no such mailbox")).status, 404);
  HttpResponse invalid = HttpResponse::FromError(Error::Invalid("bad quota"), "quota");
  EXPECT_EQ(invalid.status, 400);
  EXPECT_EQ(invalid.body, R"({"error":{"code":"invalid","message":"bad quota","field":"quota"}})");
  EXPECT_EQ(HttpResponse::FromError(Error::Conflict("exists")).status, 409);
  HttpResponse temporary = HttpResponse::FromError(Error::Temporary("db down: host x"));
  EXPECT_EQ(temporary.status, 503);
  EXPECT_EQ(temporary.body.find("host x"), std::string::npos);
  HttpResponse fault = HttpResponse::FromError(Error::Permanent("SQL syntax near 'secret'"));
  EXPECT_EQ(fault.status, 500);
  EXPECT_EQ(fault.body.find("secret"), std::string::npos);
  // The ops layer's refusal (never saying whether the object exists) is a 403.
  HttpResponse forbidden = HttpResponse::FromError(Error::Forbidden("not allowed"));
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(forbidden.body, R"({"error":{"code":"forbidden","message":"not allowed","field":null}})");
  // The field an error names comes through when the caller names none.
  Error bad = Error::Invalid("too long");
  bad.field = "label";
  EXPECT_NE(HttpResponse::FromError(bad).body.find(R"("field":"label")"), std::string::npos);
  // Refused credentials: 401 with the scheme to use; too many attempts: 429 saying when to retry.
  HttpResponse refused = HttpResponse::FromError(Error::Unauthenticated("wrong credentials"));
  EXPECT_EQ(refused.status, 401);
  EXPECT_NE(std::find(refused.headers.begin(), refused.headers.end(),
                      std::pair<std::string, std::string>("WWW-Authenticate", "Bearer")),
            refused.headers.end());
  HttpResponse throttled = HttpResponse::FromError(Error::Throttled("too many attempts", 42));
  EXPECT_EQ(throttled.status, 429);
  EXPECT_NE(throttled.body.find(R"("code":"too_many_attempts")"), std::string::npos);
  EXPECT_NE(std::find(throttled.headers.begin(), throttled.headers.end(),
                      std::pair<std::string, std::string>("Retry-After", "42")),
            throttled.headers.end());
}

}  // namespace
}  // namespace roster
