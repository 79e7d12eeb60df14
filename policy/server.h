// server.h: roster-policyd's network side, on standalone Asio: listeners
// (unix and TCP) for the policy protocol and for socketmap, one connection
// object per client, idle timeouts, a bound on the answers pending per
// connection (requests already read wait while it is exceeded), a cap on
// connections, a backoff when accept runs out of descriptors or memory, and
// a drain on shutdown. What to answer is the Service's business (service.h); the server
// only frames requests and replies.
//
// Connections run on a strand each, so their handlers never overlap; the
// last reference to a connection is never dropped with mu_ held (its
// destructor takes mu_ to leave the registry); the
// io_context may run on several threads, and a handler that waits for the
// database holds only its own thread.
//
// Trusts: nothing from clients. Every read is bounded (PolicyRequestReader,
// NetstringReader); a protocol error or an oversized request is logged and
// the connection closed without a reply, as Postfix's servers do.
#ifndef ROSTER_POLICY_SERVER_H
#define ROSTER_POLICY_SERVER_H

#include <sys/types.h>

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "common/result.h"
#include "policy/log.h"
#include "policy/service.h"
#include "policy/settings.h"

namespace roster {

class Connection;

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

 private:
  friend class Connection;
  struct Acceptor {
    Listener listener;
    std::unique_ptr<asio::basic_socket_acceptor<asio::generic::stream_protocol>> socket;
    bool waiting = false;  // an accept is pending
  };
  void Accept(size_t index);
  void AcceptAll();
  void OnAcceptError(const Acceptor& a, const std::error_code& ec);
  void EndEpisode();
  std::shared_ptr<Connection> Adopt(asio::generic::stream_protocol::socket socket, Listener::Protocol protocol);
  void Forget(uint64_t id);

  asio::io_context& io_;
  Logger& log_;
  std::mutex mu_;
  std::shared_ptr<Service> service_;
  std::vector<Acceptor> acceptors_;
  std::map<uint64_t, std::weak_ptr<Connection>> connections_;
  uint64_t next_id_ = 1;
  std::atomic<bool> draining_{false};
  std::function<void()> drained_;
  // Accepts that fail for want of descriptors or memory pause every
  // listener for backoff_ (100 ms, doubling up to 1 s) or until a
  // connection closes; one line when that starts, one when it ends.
  asio::steady_timer backoff_timer_;
  bool paused_ = false;
  uint64_t backoff_generation_ = 0;
  std::chrono::milliseconds backoff_{0};
  bool in_episode_ = false;
  std::chrono::steady_clock::time_point episode_start_;
  uint64_t episode_failures_ = 0;
};

}  // namespace roster

#endif
