// auth_bench: drives a Dovecot auth server through its auth-client socket
// ($base_dir/auth-client) the way login processes do (VERSION, CPID, then
// AUTH <id> PLAIN service=imap resp=<base64>), with N connections each keeping
// one request in flight, over random users user0..user{M-1}@<domain>.
// Prints: auths/s, p50 and p99 latency in ms, and the number of failures.
//   auth_bench SOCKET CONNECTIONS REQUESTS MAILBOXES DOMAIN PASSWORD
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

std::string Base64(const std::string& in) {
  static const char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

class Conn {
 public:
  explicit Conn(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      std::perror("connect");
      std::exit(75);
    }
    Send("VERSION\t1\t2\nCPID\t" + std::to_string(getpid()) + "\n");
    for (std::string line; (line = Line()) != "DONE";)
      if (line.empty()) std::exit(75);
  }
  ~Conn() { close(fd_); }
  void Send(const std::string& s) {
    if (write(fd_, s.data(), s.size()) != static_cast<ssize_t>(s.size())) std::exit(75);
  }
  std::string Line() {
    for (;;) {
      auto nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      char tmp[4096];
      ssize_t n = read(fd_, tmp, sizeof tmp);
      if (n <= 0) return "";
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  std::string buf_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: auth_bench SOCKET CONNECTIONS REQUESTS MAILBOXES DOMAIN PASSWORD\n");
    return 64;
  }
  std::string path = argv[1], domain = argv[5], password = argv[6];
  int conns = std::atoi(argv[2]);
  long requests = std::atol(argv[3]);
  int mailboxes = std::atoi(argv[4]);
  std::atomic<long> next{0}, failures{0};
  std::mutex mu;
  std::vector<double> latencies;
  latencies.reserve(static_cast<size_t>(requests));
  std::vector<std::unique_ptr<Conn>> cs;
  for (int c = 0; c < conns; ++c) cs.push_back(std::make_unique<Conn>(path));
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < conns; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937 rng(static_cast<unsigned>(c + 1));
      std::vector<double> mine;
      for (long id; (id = next.fetch_add(1)) < requests;) {
        std::string user = "user" + std::to_string(rng() % mailboxes) + "@" + domain;
        auto s = std::chrono::steady_clock::now();
        cs[c]->Send("AUTH\t" + std::to_string(id + 1) + "\tPLAIN\tservice=imap\tnologin\tresp=" +
                    Base64(std::string("\0", 1) + user + std::string("\0", 1) + password) + "\n");
        std::string reply = cs[c]->Line();
        mine.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count());
        if (reply.compare(0, 3, "OK\t") != 0) ++failures;
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) { return latencies.empty() ? 0.0 : latencies[static_cast<size_t>(p * (latencies.size() - 1))]; };
  std::printf("%.1f %.2f %.2f %ld\n", requests / secs, pct(0.50), pct(0.99), failures.load());
  return failures.load() == 0 ? 0 : 1;
}
