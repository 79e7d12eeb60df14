// policy_bench: drives a Postfix SMTP access policy server (roster-policyd,
// Dovecot's quota-status, tests/bench/policy_noop) the way smtpd's policy
// client does (postfix/README_FILES/SMTPD_POLICY_README): CONNECTIONS
// persistent connections, each in a thread of its own keeping one request in
// flight. Every request is an RCPT-state request with the attributes Postfix
// 3.7 sends, its recipient drawn at random from the lines of RECIPIENTS_FILE
// (the same sequence in every run); every reply must be "action=...\n\n".
// It trusts nothing the server says beyond that: a reply that is cut off, late
// (10 s) or has no action= line is a failure, and the connection is opened
// again as Postfix would.
// Prints one line:
//   requests/s  p50_ms  p99_ms  failures  actions
// where actions counts the first word of each action, most frequent first
// (e.g. DUNNO:9000,452:1000; "-" when there was no reply at all).
// Mode idle opens CONNECTIONS connections, prints "open N" (N = connections
// the kernel completed), sends nothing for SECONDS, prints "still open M"
// (connections the server has not closed) and exits; for memory measurements.
//   policy_bench HOST:PORT|[V6]:PORT|/unix/path CONNECTIONS REQUESTS RECIPIENTS_FILE [idle SECONDS]
// POLICY_BENCH_MODE (environment) chooses the requests: "rcpt" (default);
// "data": DATA-state requests of one-recipient messages whose sender is
// logged in by SASL as a line of RECIPIENTS_FILE (the outbound check), with
// policy_context=POLICY_BENCH_DATA_CONTEXT (default "outbound"); "mix": RCPT
// and DATA requests in turn, as for messages of one recipient (each counts as
// one request).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

// Where the server listens: a unix socket path, or a numeric IPv4/IPv6 address and port.
struct Target {
  sockaddr_storage addr{};
  socklen_t len = 0;
  bool inet = false;
};

bool ParseTarget(const std::string& text, Target* t) {
  if (!text.empty() && text[0] == '/') {
    auto* un = reinterpret_cast<sockaddr_un*>(&t->addr);
    if (text.size() >= sizeof un->sun_path) return false;
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, text.c_str(), text.size() + 1);
    t->len = sizeof(sockaddr_un);
    return true;
  }
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string host = text.substr(0, colon);
  int port = std::atoi(text.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return false;
  t->inet = true;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&t->addr);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    t->len = sizeof(sockaddr_in6);
    return inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &in6->sin6_addr) == 1;
  }
  auto* in4 = reinterpret_cast<sockaddr_in*>(&t->addr);
  in4->sin_family = AF_INET;
  in4->sin_port = htons(static_cast<uint16_t>(port));
  t->len = sizeof(sockaddr_in);
  return inet_pton(AF_INET, host.c_str(), &in4->sin_addr) == 1;
}

int Connect(const Target& t) {
  int fd = socket(t.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&t.addr), t.len) != 0) {
    close(fd);
    return -1;
  }
  if (t.inet) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  return fd;
}

bool SendAll(int fd, const std::string& text) {
  size_t sent = 0;
  while (sent < text.size()) {
    ssize_t n = send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// One reply (up to and without its empty line) from fd; false when the
// connection ends, times out, or sends more than a reply can be.
bool ReadReply(int fd, std::string* buffer, std::string* reply) {
  for (;;) {
    size_t end = buffer->find("\n\n");
    if (end != std::string::npos) {
      reply->assign(*buffer, 0, end + 1);
      buffer->erase(0, end + 2);
      return true;
    }
    if (buffer->size() > 100000) return false;
    char chunk[4096];
    ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer->append(chunk, static_cast<size_t>(n));
  }
}

// The first word of the reply's action= line ("DUNNO", "452", "DEFER_IF_PERMIT"), or "" if none.
std::string ActionWord(const std::string& reply) {
  size_t pos = 0;
  while (pos < reply.size()) {
    size_t nl = reply.find('\n', pos);
    if (nl == std::string::npos) nl = reply.size();
    if (reply.compare(pos, 7, "action=") == 0) {
      size_t start = pos + 7;
      size_t stop = reply.find_first_of(" \t\n", start);
      if (stop == std::string::npos || stop > nl) stop = nl;
      return reply.substr(start, stop - start);
    }
    pos = nl + 1;
  }
  return "";
}

// An RCPT-state request as Postfix 3.7's smtpd sends it for one recipient of
// a message from 127.0.0.2 without SASL or TLS: every attribute, in the order
// SMTPD_POLICY_README lists them, empty when it does not apply.
std::string Request(const std::string& recipient, long serial, int connection, bool data = false,
                    const std::string& data_context = "") {
  char instance[48];
  std::snprintf(instance, sizeof instance, "%x.%lx.%x.0", 4242 + connection, serial, connection);
  std::string r;
  r.reserve(800);
  r += "request=smtpd_access_policy\n";
  r += data ? "protocol_state=DATA\n" : "protocol_state=RCPT\n";
  r += "protocol_name=ESMTP\n";
  r += "helo_name=sender.example.net\n";
  r += "queue_id=\n";  // smtpd_delay_open_until_valid_rcpt: no queue file before the first RCPT
  r += "sender=bench-sender@example.net\n";
  r += "recipient=" + recipient + "\n";
  r += data ? "recipient_count=1\n" : "recipient_count=0\n";
  r += "client_address=127.0.0.2\n";
  r += "client_name=unknown\n";
  r += "reverse_client_name=unknown\n";
  r += std::string("instance=") + instance + "\n";
  r += data ? "sasl_method=PLAIN\n" : "sasl_method=\n";
  r += data ? "sasl_username=" + recipient + "\n" : "sasl_username=\n";
  r += "sasl_sender=\n";
  r += "size=0\n";
  r += "ccert_subject=\n";
  r += "ccert_issuer=\n";
  r += "ccert_fingerprint=\n";
  r += "ccert_pubkey_fingerprint=\n";
  r += "encryption_protocol=\n";
  r += "encryption_cipher=\n";
  r += "encryption_keysize=0\n";
  r += "etrn_domain=\n";
  r += "stress=\n";
  r += "client_port=" + std::to_string(40000 + connection) + "\n";
  r += "policy_context=" + (data ? data_context : std::string()) + "\n";
  r += "server_address=127.0.0.1\n";
  r += "server_port=25\n";
  r += "compatibility_level=3.6\n";
  r += "mail_version=3.7.11\n";
  r += "\n";
  return r;
}

void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int Idle(const Target& target, int connections, int seconds) {
  RaiseFileLimit();
  std::vector<int> fds;
  for (int i = 0; i < connections; ++i) {
    int fd = Connect(target);
    if (fd < 0) {
      std::perror("policy_bench: connect");
      break;
    }
    fds.push_back(fd);
  }
  std::printf("open %zu\n", fds.size());
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  size_t alive = 0;
  for (int fd : fds) {
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ++alive;
  }
  std::printf("still open %zu\n", alive);
  for (int fd : fds) close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 && !(argc == 7 && std::strcmp(argv[5], "idle") == 0)) {
    std::fprintf(stderr,
                 "usage: policy_bench HOST:PORT|/unix/path CONNECTIONS REQUESTS RECIPIENTS_FILE [idle SECONDS]\n");
    return 2;
  }
  Target target;
  if (!ParseTarget(argv[1], &target)) {
    std::fprintf(stderr, "policy_bench: bad address %s\n", argv[1]);
    return 2;
  }
  const int connections = std::atoi(argv[2]);
  const long requests = std::atol(argv[3]);
  if (connections <= 0) {
    std::fprintf(stderr, "policy_bench: CONNECTIONS must be > 0\n");
    return 2;
  }
  if (argc == 7) return Idle(target, connections, std::atoi(argv[6]));

  std::vector<std::string> recipients;
  {
    std::ifstream in(argv[4]);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) recipients.push_back(line);
    }
  }
  if (recipients.empty()) {
    std::fprintf(stderr, "policy_bench: no recipients in %s\n", argv[4]);
    return 2;
  }

  const char* mode_env = std::getenv("POLICY_BENCH_MODE");
  const char* context_env = std::getenv("POLICY_BENCH_DATA_CONTEXT");
  const std::string mode = mode_env ? mode_env : "rcpt";
  const std::string data_context = context_env ? context_env : "outbound";
  if (mode != "rcpt" && mode != "data" && mode != "mix") {
    std::fprintf(stderr, "policy_bench: POLICY_BENCH_MODE must be rcpt, data or mix\n");
    return 2;
  }

  // Every connection is open before the clock starts.
  std::mutex mu;
  std::condition_variable cv;
  int ready = 0;
  bool go = false;
  std::vector<float> latencies;
  std::map<std::string, long> actions;
  std::atomic<long> failures{0};
  std::chrono::steady_clock::time_point start;
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    const long mine = requests / connections + (c < requests % connections ? 1 : 0);
    threads.emplace_back([&, c, mine] {
      int fd = Connect(target);
      {
        std::unique_lock<std::mutex> lock(mu);
        ++ready;
        cv.notify_all();
        cv.wait(lock, [&] { return go; });
      }
      std::mt19937 rng(static_cast<unsigned>(c) + 1);
      std::uniform_int_distribution<size_t> pick(0, recipients.size() - 1);
      std::vector<float> times;
      times.reserve(static_cast<size_t>(mine));
      std::map<std::string, long> counted;
      long failed = 0;
      std::string buffer, reply;
      for (long i = 0; i < mine; ++i) {
        bool data = mode == "data" || (mode == "mix" && i % 2 == 1);
        std::string request = Request(recipients[pick(rng)], i, c, data, data_context);
        if (fd < 0 && (fd = Connect(target)) < 0) {  // the server is gone: the rest fail
          failed += mine - i;
          break;
        }
        auto sent = std::chrono::steady_clock::now();
        if (!SendAll(fd, request) || !ReadReply(fd, &buffer, &reply)) {
          ++failed;
          close(fd);
          fd = -1;
          buffer.clear();
          continue;
        }
        times.push_back(std::chrono::duration<float, std::milli>(std::chrono::steady_clock::now() - sent).count());
        std::string word = ActionWord(reply);
        if (word.empty()) {
          ++failed;
          continue;
        }
        ++counted[word];
      }
      if (fd >= 0) close(fd);
      failures += failed;
      std::lock_guard<std::mutex> lock(mu);
      latencies.insert(latencies.end(), times.begin(), times.end());
      for (auto& [word, n] : counted) actions[word] += n;
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return ready == connections; });
    go = true;
    start = std::chrono::steady_clock::now();
    cv.notify_all();
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::sort(latencies.begin(), latencies.end());
  auto at = [&](double q) {
    return latencies.empty() ? 0.0 : static_cast<double>(latencies[static_cast<size_t>(q * (latencies.size() - 1))]);
  };
  std::vector<std::pair<std::string, long>> sorted(actions.begin(), actions.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string list;
  for (auto& [word, n] : sorted) list += (list.empty() ? "" : ",") + word + ":" + std::to_string(n);
  std::printf("%.1f %.3f %.3f %ld %s\n", static_cast<double>(latencies.size()) / seconds, at(0.5), at(0.99),
              failures.load(), list.empty() ? "-" : list.c_str());
  return 0;
}
