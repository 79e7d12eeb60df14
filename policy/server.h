// server.h: roster-policyd's network side, on standalone Asio: listeners
// (unix and TCP) for the policy protocol and for socketmap, one connection
// object per client, and every limit that keeps clients from holding the
// daemon: an idle timeout between requests, a deadline per request (from
// its first byte, so a byte a second does not extend it), a write timeout
// (a client must take its answers), a bound on the answers pending per
// connection (requests already read wait while it is exceeded), a cap on
// connections (the one idle the longest is closed for a new client), a cap
// per peer (uid on a unix socket, address over TCP), a backoff when accept
// runs out of descriptors or memory, and a drain on shutdown. What to
// answer is the Service's business (service.h); the server only frames
// requests and replies.
//
// Connections run on a strand each, so their handlers never overlap; the
// last reference to a connection is never dropped with mu_ held (its
// destructor takes mu_ to leave the registry); the
// io_context may run on several threads, and a handler that waits for the
// database holds only its own thread.
//
// Trusts: nothing from clients. Every read is bounded (PolicyRequestReader,
// NetstringReader); a protocol error or an oversized request is logged and
// the connection closed without a reply, as Postfix's servers do. Lines a
// client can cause (closes, refusals, failed lookups) are rate-limited.
#ifndef ROSTER_POLICY_SERVER_H
#define ROSTER_POLICY_SERVER_H

#include <sys/types.h>

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/log.h"
#include "policy/service.h"
#include "policy/settings.h"

namespace roster {

class Connection;

// Lets through at most a burst of lines of one kind per window and counts
// the rest, saying how many were left out with the next line of that kind
// in a later window: a client that causes a warning per connection or per
// request cannot flood the log, nor hide the other kinds.
class LimitedLog {
 public:
  LimitedLog(Logger& log, size_t burst, std::chrono::seconds window) : log_(log), burst_(burst), window_(window) {}
  // `kind` is one of a fixed set of names, never client input.
  void Warning(const char* kind, const std::string& line);

 private:
  struct Budget {
    std::chrono::steady_clock::time_point window_start{};
    size_t logged = 0;
    size_t left_out = 0;
  };
  Logger& log_;
  const size_t burst_;
  const std::chrono::seconds window_;
  std::mutex mu_;
  std::map<std::string, Budget> budgets_;
};

class Server {
 public:
  Server(asio::io_context& io, Logger& log, std::shared_ptr<Service> service);
  ~Server();

  // Answers pending on one connection beyond which it reads and answers no
  // more requests until they are written.
  static constexpr size_t kMaxPendingOutput = 64 * 1024;
  // SO_SNDBUF of every client socket (Linux doubles it for its bookkeeping).
  static constexpr size_t kSocketSendBuffer = 64 * 1024;

  // Opens every listener (before privileges are dropped); unix sockets get
  // `socket_mode` and, unless it is (gid_t)-1, the group `socket_group`.
  Status Bind(const std::vector<Listener>& listeners, unsigned socket_mode, gid_t socket_group);
  void Start();
  // Serves one already connected socket (Postfix's spawn(8) hands one on
  // stdin) and nothing else.
  Status ServeDescriptor(int fd, Listener::Protocol protocol);
  // Requests from now on use `service`; those in flight finish on the old one.
  void Replace(std::shared_ptr<Service> service);
  // Stops accepting, removes unix sockets, lets each connection finish the
  // request it is answering, closes the rest; `drained` runs once the last
  // connection is gone.
  void Drain(std::function<void()> drained);

  std::shared_ptr<Service> service();
  Logger& log() { return log_; }
  // For lines a client can cause.
  LimitedLog& client_log() { return client_log_; }

 private:
  friend class Connection;
  struct Acceptor {
    Listener listener;
    std::unique_ptr<asio::basic_socket_acceptor<asio::generic::stream_protocol>> socket;
    bool waiting = false;  // an accept is pending
  };
  struct Entry {
    std::weak_ptr<Connection> connection;
    Connection* raw;  // alive while in the registry and mu_ is held (its destructor waits for mu_)
    std::string peer;
  };
  // A client accepted at the cap while no connection was idle: it waits,
  // unread, for a slot (at most one per listener, as accepting stops).
  struct Parked {
    asio::generic::stream_protocol::socket socket;
    Listener::Protocol protocol;
    std::string peer;
  };
  // Connections to start, each with the idle one it replaces, once mu_ is
  // released.
  using Launches = std::vector<std::pair<std::shared_ptr<Connection>, std::shared_ptr<Connection>>>;
  static void Launch(Launches& launches);

  void Accept(size_t index);
  void AcceptAll();
  bool MayAccept();
  void OnAcceptError(const Acceptor& a, const std::error_code& ec);
  void EndEpisodeWhenQuiet();
  void EndEpisode();
  void Admit(asio::generic::stream_protocol::socket socket, Listener::Protocol protocol, Launches* launches);
  std::shared_ptr<Connection> Register(asio::generic::stream_protocol::socket socket, Listener::Protocol protocol,
                                       const std::string& peer);
  void Unpark(Launches* launches);
  std::shared_ptr<Connection> OldestIdle();
  void Forget(uint64_t id);
  // A connection waits for its next request: at the cap, a parked client
  // takes its place, or accepts resume.
  void BecameIdle();

  asio::io_context& io_;
  Logger& log_;
  LimitedLog client_log_;
  std::mutex mu_;
  std::shared_ptr<Service> service_;
  std::vector<Acceptor> acceptors_;
  std::map<uint64_t, Entry> connections_;
  std::map<std::string, size_t> peers_;  // open (and parked) connections per peer
  std::deque<Parked> parked_;
  uint64_t next_id_ = 1;
  std::atomic<bool> draining_{false};
  std::atomic<bool> waiting_for_idle_{false};  // at the cap with no idle connection, or clients parked
  std::function<void()> drained_;
  // Accepts that fail for want of descriptors or memory pause every
  // listener for backoff_ (100 ms, doubling up to 1 s) or until a
  // connection closes; one line when that starts, one when it ends. It ends
  // once accepts have worked for kEpisodeQuiet: a shortage that comes and
  // goes at the edge of the limit is one episode, not a line per accept.
  static constexpr std::chrono::seconds kEpisodeQuiet{2};
  asio::steady_timer backoff_timer_;
  asio::steady_timer quiet_timer_;
  bool paused_ = false;
  uint64_t backoff_generation_ = 0;
  uint64_t quiet_generation_ = 0;
  std::chrono::milliseconds backoff_{0};
  bool in_episode_ = false;
  bool ending_ = false;  // accepts work again; the episode ends if they keep working
  std::chrono::steady_clock::time_point episode_start_, last_failure_;
  uint64_t episode_failures_ = 0;
};

}  // namespace roster

#endif
