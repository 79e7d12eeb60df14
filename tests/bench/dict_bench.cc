// dict_bench: drives a Dovecot dict server through its socket
// ($base_dir/dict or $base_dir/dict-async) the way a dict proxy client does
// (2.3: proxy::NAME; 2.4: `dict proxy { name = NAME }`): N connections, each
// keeping one request in flight, over random users user0..user{M-1}@<domain>.
// An update is a transaction of two increments (storage +10, messages +1) and
// its commit; a lookup reads the storage key. The requests are the same in
// both protocol versions; only the opening line differs: Dovecot 2.3 speaks
// dict protocol 3.2 ("H3\t2\t0\t\tNAME"), 2.4 speaks 4.0 ("H4\t0\t0\t\tNAME") and
// hangs up on the other. -p 3|4 chooses; the default is the protocol of the
// Dovecot this was built against (DICT_BENCH_PROTOCOL, set by Makefile.am).
// Prints: ops/s, p50 and p99 latency in ms, the number of failures, and the
// first failure's reply. Trusts its arguments (a benchmark, not a service).
//   dict_bench [-p 3|4] SOCKET DICT_NAME CONNECTIONS OPS MAILBOXES DOMAIN update|lookup
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

#ifndef DICT_BENCH_PROTOCOL
#define DICT_BENCH_PROTOCOL 3
#endif

namespace {

// The opening line of dict protocol major version `major` for dict `name`.
std::string Hello(int major, const std::string& name) {
  return major >= 4 ? "H4\t0\t0\t\t" + name + "\n" : "H3\t2\t0\t\t" + name + "\n";
}

class Connection {
 public:
  explicit Connection(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
      std::perror(path.c_str());
      std::exit(1);
    }
  }
  ~Connection() { close(fd_); }

  bool Send(const std::string& text) {
    size_t sent = 0;
    while (sent < text.size()) {
      ssize_t n = write(fd_, text.data() + sent, text.size() - sent);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  // One line without its newline; false at end of stream.
  bool ReadLine(std::string* line) {
    for (;;) {
      size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        line->assign(buffer_, 0, nl);
        buffer_.erase(0, nl + 1);
        return true;
      }
      char chunk[4096];
      ssize_t n = read(fd_, chunk, sizeof chunk);
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  // The command's answer: at once, or announced as "*ID" and sent as "+ID\tANSWER".
  bool Reply(std::string* answer) {
    if (!ReadLine(answer)) return false;
    if (answer->empty() || (*answer)[0] != '*') return true;
    std::string tag = "+" + answer->substr(1) + "\t";
    for (;;) {
      if (!ReadLine(answer)) return false;
      if (answer->compare(0, tag.size(), tag) == 0) {
        answer->erase(0, tag.size());
        return true;
      }
    }
  }

 private:
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace

int main(int argc, char** argv) {
  int protocol = DICT_BENCH_PROTOCOL;
  if (argc > 2 && std::strcmp(argv[1], "-p") == 0) {
    protocol = std::atoi(argv[2]);
    argc -= 2;
    argv += 2;
  }
  if (argc != 8 || (protocol != 3 && protocol != 4)) {
    std::fprintf(stderr,
                 "usage: dict_bench [-p 3|4] SOCKET DICT_NAME CONNECTIONS OPS MAILBOXES DOMAIN update|lookup\n");
    return 2;
  }
  const std::string path = argv[1], name = argv[2], domain = argv[6], kind = argv[7];
  const int connections = std::atoi(argv[3]);
  const long ops = std::atol(argv[4]);
  const int mailboxes = std::atoi(argv[5]);
  const bool update = kind == "update";
  const long per_connection = ops / connections;

  std::mutex mu;
  std::vector<double> latencies;
  std::atomic<long> failures{0};
  std::string first_failure;
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      Connection conn(path);
      conn.Send(Hello(protocol, name));
      std::mt19937 rng(c);
      std::vector<double> mine;
      mine.reserve(per_connection);
      for (long i = 0; i < per_connection; ++i) {
        std::string user = "user" + std::to_string(rng() % mailboxes) + "@" + domain;
        std::string request;
        if (update) {
          std::string id = std::to_string(i + 1);
          request = "B" + id + "\t" + user + "\nA" + id + "\tpriv/quota/storage\t10\nA" + id +
                    "\tpriv/quota/messages\t1\nC" + id + "\n";
        } else {
          request = "Lpriv/quota/storage\t" + user + "\n";
        }
        auto sent = std::chrono::steady_clock::now();
        std::string answer;
        if (!conn.Send(request) || !conn.Reply(&answer)) {
          std::fprintf(stderr, "dict_bench: connection closed\n");
          std::exit(1);
        }
        mine.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent).count());
        if (answer.empty() || answer[0] != 'O') {
          ++failures;
          std::lock_guard<std::mutex> lock(mu);
          if (first_failure.empty()) first_failure = answer;
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(latencies.begin(), latencies.end());
  auto at = [&](double q) { return latencies.empty() ? 0.0 : latencies[static_cast<size_t>(q * (latencies.size() - 1))]; };
  std::printf("%.1f %.3f %.3f %ld %s\n", static_cast<double>(latencies.size()) / seconds, at(0.5), at(0.99),
              failures.load(), first_failure.empty() ? "-" : first_failure.c_str());
  return 0;
}
