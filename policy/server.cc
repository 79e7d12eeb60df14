// server.cc: see server.h.
#include "policy/server.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>

#include "common/text.h"
#include "policy/netstring.h"
#include "policy/policy_request.h"

namespace roster {

using GenericSocket = asio::generic::stream_protocol::socket;
using Clock = std::chrono::steady_clock;

void LimitedLog::Warning(const char* kind, const std::string& line) {
  size_t left_out = 0;
  bool write = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Budget& b = budgets_[kind];
    Clock::time_point now = Clock::now();
    if (now - b.window_start >= window_) {
      left_out = b.left_out;
      b.window_start = now;
      b.logged = 0;
      b.left_out = 0;
    }
    if (b.logged < burst_) {
      ++b.logged;
    } else {
      ++b.left_out;
      write = false;
    }
  }
  if (left_out > 0)
    log_.Warning(std::to_string(left_out) + " more line(s) of this kind (" + kind + ") were not logged");
  if (write) log_.Warning(line);
}

namespace {

// Who is at the other end, for the per-peer cap and the log: "uid N" on a
// unix socket (SO_PEERCRED: the client's credentials when it connected),
// the numeric address over TCP.
std::string PeerOf(GenericSocket& socket) {
  int fd = socket.native_handle();
  sockaddr_storage address;
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0 && address.ss_family == AF_UNIX) {
    ucred cred;
    socklen_t cred_length = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_length) != 0) return "uid ?";
    return "uid " + std::to_string(cred.uid);
  }
  length = sizeof address;
  char host[NI_MAXHOST] = "?";
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0 &&
      (address.ss_family == AF_INET || address.ss_family == AF_INET6))
    getnameinfo(reinterpret_cast<sockaddr*>(&address), length, host, sizeof host, nullptr, 0, NI_NUMERICHOST);
  return host;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// accept() failures that say the process or the system is short of
// descriptors or memory: the waiting connection stays queued, so trying
// again at once fails again at once.
bool IsShortage(const std::error_code& ec) {
  if (ec.category() != asio::error::get_system_category() && ec.category() != std::generic_category()) return false;
  int v = ec.value();
  return v == EMFILE || v == ENFILE || v == ENOBUFS || v == ENOMEM;
}

std::string Seconds(std::chrono::milliseconds ms) {
  if (ms.count() % 1000 == 0) return std::to_string(ms.count() / 1000) + " s";
  return std::to_string(ms.count()) + " ms";
}

}  // namespace

// One client: reads requests, answers them in order, closes on error,
// timeout, eviction or drain.
//
// The loop, on the connection's strand: Continue() answers the requests
// already read until kMaxPendingOutput bytes of answers are pending, then
// writes them (Write) or, when nothing is pending and no whole request is
// left, reads (Read). So no more is read while answers wait, and what one
// connection holds is one read, one unfinished request and about
// kMaxPendingOutput of answers, whatever the client sends.
//
// One timer, for what the connection waits for: the next request
// (idle_timeout), the rest of a request (request_timeout from the read that
// brought its first byte; later reads do not move it), or the client
// taking its answers (write_timeout for all that is pending).
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server& server, uint64_t id, GenericSocket socket, Listener::Protocol protocol, std::string peer,
             const PolicySettings& settings)
      : server_(server),
        id_(id),
        protocol_(protocol),
        peer_(std::move(peer)),
        strand_(asio::make_strand(socket.get_executor())),
        socket_(std::move(socket)),
        timer_(strand_),
        idle_timeout_(settings.idle_timeout),
        request_timeout_(settings.request_timeout),
        write_timeout_(settings.write_timeout),
        max_connections_(settings.max_connections),
        policy_reader_(PolicyLimits{settings.max_request, settings.max_attributes}),
        netstring_reader_(settings.max_request) {}

  ~Connection() { server_.Forget(id_); }

  void Start() {
    asio::post(strand_, [self = shared_from_this()] { self->Continue(); });
  }

  // From Drain(): finish the answer being written (or counted), then close.
  void Close() {
    asio::dispatch(strand_, [self = shared_from_this()] {
      self->closing_ = true;
      if (!self->writing_ && !self->waiting_) self->Shut();
    });
  }

  // Since when (steady clock, ns) it waits for a request with nothing
  // read; 0 while it has work; -1 once shut or claimed for eviction. Read
  // by the server with its mutex held.
  int64_t idle_since() const { return idle_since_.load(); }
  // The server takes an idle connection to close it for a new client;
  // false if it has had work since `seen`.
  bool Claim(int64_t seen) { return seen > 0 && idle_since_.compare_exchange_strong(seen, -1); }
  // Closes a connection Claim()ed, unless it is already closing.
  void Evict() {
    asio::dispatch(strand_, [self = shared_from_this()] {
      if (self->shut_) return;
      self->server_.client_log().Warning("eviction", "closing the idle connection of " + self->Peer() + ": " +
                                         std::to_string(self->max_connections_) +
                                         " connections open (policy_max_connections)");
      self->Shut();
    });
  }

 private:
  enum class Wait { kRequest, kRestOfRequest, kWrite };

  size_t Buffered() const {
    return protocol_ == Listener::Protocol::kPolicy ? policy_reader_.buffered() : netstring_reader_.buffered();
  }

  void Continue() {
    if (shut_ || waiting_) return;
    if (!closing_) Answer();
    if (waiting_) return;  // the answer's arrival continues
    if (!out_.empty()) return Write();
    if (closing_) return Shut();
    Read();
  }

  void Deliver(const PolicyAnswer& answer) {
    if (!answer.log.empty()) {
      if (answer.alert) server_.log().Warning(answer.log);
      else if (answer.warning) server_.client_log().Warning("failed policy lookup", answer.log);
      else server_.log().Info(answer.log);
    }
    out_ += "action=" + answer.action + "\n\n";
  }

  // Answers whole requests already read, until enough answers are pending
  // or one is to come later (waiting_).
  void Answer() {
    std::shared_ptr<Service> service;
    std::string problem;
    const char* failed = nullptr;
    while (out_.size() < Server::kMaxPendingOutput) {
      if (protocol_ == Listener::Protocol::kPolicy) {
        PolicyRequest request;
        auto status = policy_reader_.Next(&request, &problem);
        if (status == PolicyRequestReader::Status::kNeedMore) break;
        if (status != PolicyRequestReader::Status::kRequest) {
          failed = status == PolicyRequestReader::Status::kTooLarge ? "request too large" : "malformed request";
          break;
        }
        if (!service) service = server_.service();
        auto answer = service->DecideOrQueue(request, [self = shared_from_this()](PolicyAnswer later) {
          asio::dispatch(self->strand_, [self, later = std::move(later)] {
            self->waiting_ = false;
            self->Deliver(later);
            self->request_started_ = false;
            self->Continue();
          });
        });
        if (!answer) {
          // Counted on the outbound thread: nothing more is read, answered
          // or written until its answer is here (answers go out in order).
          waiting_ = true;
          break;
        }
        Deliver(*answer);
      } else {
        std::string query;
        auto status = netstring_reader_.Next(&query, &problem);
        if (status == NetstringReader::Status::kNeedMore) break;
        if (status != NetstringReader::Status::kNetstring) {
          failed = status == NetstringReader::Status::kTooLarge ? "request too large" : "malformed request";
          break;
        }
        if (!service) service = server_.service();
        std::string log;
        out_ += EncodeNetstring(service->AnswerSocketmap(query, &log));
        if (!log.empty()) server_.client_log().Warning("failed table lookup", log);
      }
      // The next request's deadline starts with its own first byte.
      request_started_ = false;
    }
    if (failed) {
      // Answers to whole requests before the bad one still go out.
      server_.client_log().Warning(failed, "closing " + Peer() + ": " + problem);
      closing_ = true;
    }
  }

  void Read() {
    if (Buffered() == 0) {
      request_started_ = false;
      int64_t busy = 0;
      if (!idle_since_.compare_exchange_strong(busy, NowNs())) return Shut();  // claimed
      Arm(Clock::now() + idle_timeout_, Wait::kRequest);
      server_.BecameIdle();
    } else {
      if (!request_started_) {
        request_started_ = true;
        request_deadline_ = Clock::now() + request_timeout_;
      }
      Arm(request_deadline_, Wait::kRestOfRequest);
    }
    socket_.async_read_some(asio::buffer(buffer_),
                            asio::bind_executor(strand_, [self = shared_from_this()](const std::error_code& ec,
                                                                                     size_t n) {
                              self->OnRead(ec, n);
                            }));
  }

  void OnRead(const std::error_code& ec, size_t n) {
    Disarm();
    // Leaves the idle state, unless the server claimed it for a new client.
    int64_t since = idle_since_.load();
    while (since > 0 && !idle_since_.compare_exchange_weak(since, 0)) {
    }
    if (since < 0 || ec) return Shut();
    std::string_view bytes(buffer_.data(), n);
    if (protocol_ == Listener::Protocol::kPolicy) {
      policy_reader_.Feed(bytes);
    } else {
      netstring_reader_.Feed(bytes);
    }
    Continue();
  }

  void Write() {
    writing_ = true;
    Arm(Clock::now() + write_timeout_, Wait::kWrite);
    asio::async_write(socket_, asio::buffer(out_),
                      asio::bind_executor(strand_, [self = shared_from_this()](const std::error_code& ec, size_t) {
                        self->Disarm();
                        self->writing_ = false;
                        self->out_.clear();
                        // Keep a small buffer for the next reply; give back a large one.
                        if (self->out_.capacity() > 4096) self->out_.shrink_to_fit();
                        if (ec) return self->Shut();
                        self->Continue();
                      }));
  }

  // A generation per arming: a wait that fired just before it was
  // re-armed or cancelled is ignored.
  void Arm(Clock::time_point at, Wait what) {
    uint64_t generation = ++timer_generation_;
    timer_.expires_at(at);
    timer_.async_wait(asio::bind_executor(
        strand_, [self = shared_from_this(), generation, what](const std::error_code& ec) {
          if (ec || generation != self->timer_generation_ || self->shut_) return;
          self->Expired(what);
        }));
  }

  void Disarm() {
    ++timer_generation_;
    timer_.cancel();
  }

  void Expired(Wait what) {
    if (what == Wait::kRestOfRequest) {
      server_.client_log().Warning("request timeout", "closing " + Peer() + ": request not complete " +
                                                          Seconds(request_timeout_) +
                                                          " after its first byte (policy_request_timeout)");
    } else if (what == Wait::kWrite) {
      server_.client_log().Warning("write timeout", "closing " + Peer() + ": answers not taken within " +
                                                        Seconds(write_timeout_) + " (policy_write_timeout)");
    }
    Shut();
  }

  void Shut() {
    if (shut_) return;
    shut_ = true;
    idle_since_.store(-1);
    Disarm();
    std::error_code ignored;
    socket_.shutdown(asio::socket_base::shutdown_both, ignored);
    socket_.close(ignored);
  }

  std::string Peer() const {
    const char* kind = protocol_ == Listener::Protocol::kPolicy ? "policy client" : "socketmap client";
    if (StartsWith(peer_, "uid ")) return std::string(kind) + " on a unix socket (" + peer_ + ")";
    return std::string(kind) + " " + peer_;
  }

  Server& server_;
  const uint64_t id_;
  const Listener::Protocol protocol_;
  const std::string peer_;
  asio::strand<asio::any_io_executor> strand_;
  GenericSocket socket_;
  asio::steady_timer timer_;
  uint64_t timer_generation_ = 0;
  const std::chrono::milliseconds idle_timeout_;
  const std::chrono::milliseconds request_timeout_;
  const std::chrono::milliseconds write_timeout_;
  const size_t max_connections_;
  bool request_started_ = false;
  Clock::time_point request_deadline_;
  PolicyRequestReader policy_reader_;
  NetstringReader netstring_reader_;
  std::array<char, 4096> buffer_;
  std::string out_;
  bool writing_ = false;
  bool waiting_ = false;  // an answer comes from the outbound thread
  bool closing_ = false;
  bool shut_ = false;
  std::atomic<int64_t> idle_since_{0};
};

Server::Server(asio::io_context& io, Logger& log, std::shared_ptr<Service> service)
    : io_(io),
      log_(log),
      client_log_(log, 20, std::chrono::seconds(10)),
      service_(std::move(service)),
      backoff_timer_(io),
      quiet_timer_(io) {}

Server::~Server() = default;

std::shared_ptr<Service> Server::service() {
  std::lock_guard<std::mutex> lock(mu_);
  return service_;
}

void Server::Replace(std::shared_ptr<Service> service) {
  Launches launches;
  {
    std::lock_guard<std::mutex> lock(mu_);
    service_ = std::move(service);
    // A larger cap may admit clients waiting now.
    Unpark(&launches);
    AcceptAll();
  }
  Launch(launches);
}

void Server::Launch(Launches& launches) {
  for (auto& [connection, victim] : launches) {
    if (victim) victim->Evict();
    connection->Start();
  }
  launches.clear();
}

Status Server::Bind(const std::vector<Listener>& listeners, unsigned socket_mode, gid_t socket_group) {
  for (const Listener& l : listeners) {
    auto acceptor = std::make_unique<asio::basic_socket_acceptor<asio::generic::stream_protocol>>(io_);
    std::error_code ec;
    if (!l.path.empty()) {
      // A socket left by a previous run is replaced; any other file is not.
      struct stat st;
      if (lstat(l.path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) return Error::Invalid(l.Display() + ": exists and is not a socket");
        unlink(l.path.c_str());
      }
      asio::local::stream_protocol::endpoint endpoint(l.path);
      asio::generic::stream_protocol::endpoint generic(endpoint);
      acceptor->open(generic.protocol(), ec);
      if (!ec) {
        // Nobody may connect before mode and group are set.
        mode_t old_umask = umask(0177);
        acceptor->bind(generic, ec);
        umask(old_umask);
      }
      if (!ec && socket_group != static_cast<gid_t>(-1) &&
          chown(l.path.c_str(), static_cast<uid_t>(-1), socket_group) != 0) {
        return Error::Permanent("cannot give " + l.Display() + " to group " + std::to_string(socket_group) +
                                " (policy_socket_group; the daemon must be in that group): " + strerror(errno));
      }
      if (!ec && chmod(l.path.c_str(), socket_mode) != 0) ec = std::error_code(errno, std::generic_category());
    } else {
      std::error_code parse;
      asio::ip::tcp::endpoint endpoint(asio::ip::make_address(l.host, parse), l.port);
      if (parse) return Error::Invalid(l.Display() + ": " + parse.message());
      asio::generic::stream_protocol::endpoint generic(endpoint);
      acceptor->open(generic.protocol(), ec);
      if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) acceptor->bind(generic, ec);
    }
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error::Permanent("cannot listen on " + l.Display() + ": " + ec.message());
    acceptors_.push_back(Acceptor{l, std::move(acceptor), false});
    log_.Info("listening on " + l.Display() + " (" +
              (l.protocol == Listener::Protocol::kPolicy ? "policy" : "socketmap") + ")");
  }
  return Status::Ok();
}

void Server::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  AcceptAll();
}

// Called with mu_ held.
void Server::AcceptAll() {
  for (size_t i = 0; i < acceptors_.size(); ++i) Accept(i);
}

// Called with mu_ held. Below the cap, yes; at the cap only while some
// connection is idle (a new client then takes its place) and no client is
// parked.
bool Server::MayAccept() {
  if (draining_ || paused_) return false;
  if (!parked_.empty()) {
    waiting_for_idle_ = true;
    return false;
  }
  if (connections_.size() < service_->settings().max_connections) {
    waiting_for_idle_ = false;
    return true;
  }
  for (const auto& [id, entry] : connections_) {
    if (entry.raw->idle_since() > 0) {
      waiting_for_idle_ = false;
      return true;
    }
  }
  waiting_for_idle_ = true;
  return false;
}

// Called with mu_ held.
void Server::Accept(size_t index) {
  Acceptor& a = acceptors_[index];
  if (a.waiting || !MayAccept()) return;
  a.waiting = true;
  a.socket->async_accept(asio::make_strand(io_), [this, index](const std::error_code& ec, GenericSocket socket) {
    // Started, and let go, only after mu_ is released: a connection that
    // ends at once is destroyed here, and its destructor takes mu_.
    Launches launches;
    {
      std::lock_guard<std::mutex> lock(mu_);
      Acceptor& a = acceptors_[index];
      a.waiting = false;
      if (draining_) return;
      if (!ec) {
        backoff_ = std::chrono::milliseconds(0);
        if (in_episode_ && !ending_) EndEpisodeWhenQuiet();
        Admit(std::move(socket), a.listener.protocol, &launches);
      } else if (IsShortage(ec)) {
        OnAcceptError(a, ec);
      }
      if (ec != asio::error::operation_aborted) Accept(index);
    }
    Launch(launches);
  });
}

// Called with mu_ held: pauses every listener (the shortage is the
// process's or the system's, not one listener's) for the backoff time or
// until a connection closes.
void Server::OnAcceptError(const Acceptor& a, const std::error_code& ec) {
  ++episode_failures_;
  last_failure_ = Clock::now();
  ending_ = false;
  ++quiet_generation_;
  if (!in_episode_) {
    in_episode_ = true;
    episode_start_ = last_failure_;
    episode_failures_ = 1;
    log_.Warning("accept on " + a.listener.Display() + ": " + ec.message() + " (" +
                 std::to_string(connections_.size()) +
                 " connections open); accepting again when a connection closes, or after a pause of 100 ms "
                 "growing to 1 s; clients wait in the listen queue meanwhile");
  }
  backoff_ = backoff_.count() == 0 ? std::chrono::milliseconds(100)
                                   : std::min(backoff_ * 2, std::chrono::milliseconds(1000));
  paused_ = true;
  uint64_t generation = ++backoff_generation_;
  backoff_timer_.expires_after(backoff_);
  backoff_timer_.async_wait([this, generation](const std::error_code& e) {
    if (e) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (generation != backoff_generation_ || !paused_) return;
    paused_ = false;
    AcceptAll();
  });
}

// Called with mu_ held, at the first accept that works again: the episode
// ends unless an accept fails again within kEpisodeQuiet.
void Server::EndEpisodeWhenQuiet() {
  ending_ = true;
  uint64_t generation = ++quiet_generation_;
  quiet_timer_.expires_after(kEpisodeQuiet);
  quiet_timer_.async_wait([this, generation](const std::error_code& e) {
    if (e) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (generation == quiet_generation_ && ending_) EndEpisode();
  });
}

// Called with mu_ held.
void Server::EndEpisode() {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(last_failure_ - episode_start_).count();
  log_.Info("accepting again: " + std::to_string(episode_failures_) + " accept(s) failed over " +
            std::to_string(ms) + " ms for want of descriptors or memory");
  in_episode_ = false;
  ending_ = false;
  episode_failures_ = 0;
}

// Called with mu_ held: refuses the client over the per-peer cap, parks it
// at the cap when no connection is idle, or registers it (with the idle
// connection it replaces at the cap) for Launch().
void Server::Admit(GenericSocket socket, Listener::Protocol protocol, Launches* launches) {
  const PolicySettings& settings = service_->settings();
  std::string peer = PeerOf(socket);
  auto count = peers_.find(peer);
  if (count != peers_.end() && count->second >= settings.max_connections_per_peer) {
    client_log_.Warning("per-peer limit", "refusing a connection of " + peer + ": it has " +
                                              std::to_string(count->second) +
                                              " open (policy_max_connections_per_peer)");
    return;  // the socket closes as it goes
  }
  ++peers_[peer];
  std::shared_ptr<Connection> victim;
  if (connections_.size() >= settings.max_connections) {
    victim = OldestIdle();
    if (!victim) {
      parked_.push_back(Parked{std::move(socket), protocol, peer});
      waiting_for_idle_ = true;
      return;
    }
  }
  launches->emplace_back(Register(std::move(socket), protocol, peer), std::move(victim));
}

// Called with mu_ held.
std::shared_ptr<Connection> Server::Register(GenericSocket socket, Listener::Protocol protocol,
                                             const std::string& peer) {
  // The kernel's send buffer is answers the client has not taken, too: a
  // fixed size (instead of TCP's autotuning, up to megabytes) keeps what a
  // client that does not read can get, and makes write_timeout apply, after
  // a few answers rather than after thousands.
  int size = static_cast<int>(kSocketSendBuffer);
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  uint64_t id = next_id_++;
  auto connection = std::make_shared<Connection>(*this, id, std::move(socket), protocol, peer, service_->settings());
  connections_[id] = Entry{connection, connection.get(), peer};
  return connection;
}

// Called with mu_ held: parked clients take free slots, or idle ones' places.
void Server::Unpark(Launches* launches) {
  while (!parked_.empty() && !draining_) {
    std::shared_ptr<Connection> victim;
    if (connections_.size() >= service_->settings().max_connections) {
      victim = OldestIdle();
      if (!victim) return;
    }
    Parked& p = parked_.front();
    launches->emplace_back(Register(std::move(p.socket), p.protocol, p.peer), std::move(victim));
    parked_.pop_front();
  }
}

// Called with mu_ held: claims the connection idle the longest. It is
// claimed through the registry's pointer before a reference is taken, and
// the reference goes to the caller, so none is dropped here with mu_ held.
std::shared_ptr<Connection> Server::OldestIdle() {
  for (int attempt = 0; attempt < 3; ++attempt) {
    Entry* best = nullptr;
    int64_t best_since = std::numeric_limits<int64_t>::max();
    for (auto& [id, entry] : connections_) {
      int64_t since = entry.raw->idle_since();
      if (since > 0 && since < best_since) {
        best_since = since;
        best = &entry;
      }
    }
    if (best == nullptr) return nullptr;
    // Once claimed it stays so; it may still go away by itself meanwhile.
    if (best->raw->Claim(best_since)) {
      auto victim = best->connection.lock();
      if (victim) return victim;
    }
  }
  return nullptr;
}

Status Server::ServeDescriptor(int fd, Listener::Protocol protocol) {
  sockaddr_storage address;
  socklen_t length = sizeof address;
  int type = 0;
  socklen_t type_length = sizeof type;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length) != 0 || type != SOCK_STREAM)
    return Error::Invalid("standard input is not a stream socket");
  int copy = dup(fd);
  if (copy < 0) return Error::Permanent("dup: " + std::string(strerror(errno)));
  GenericSocket socket(asio::make_strand(io_));
  std::error_code ec;
  socket.assign(asio::generic::stream_protocol(address.ss_family, SOCK_STREAM), copy, ec);
  if (ec) {
    close(copy);
    return Error::Permanent("cannot use standard input: " + ec.message());
  }
  std::string peer = PeerOf(socket);
  Launches launches;
  {
    std::lock_guard<std::mutex> lock(mu_);
    launches.emplace_back(Register(std::move(socket), protocol, peer), nullptr);
  }
  Launch(launches);
  return Status::Ok();
}

void Server::BecameIdle() {
  if (!waiting_for_idle_.load()) return;
  Launches launches;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Unpark(&launches);
    AcceptAll();
  }
  Launch(launches);
}

void Server::Forget(uint64_t id) {
  std::function<void()> drained;
  Launches launches;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = connections_.find(id);
    if (it != connections_.end()) {
      auto peer = peers_.find(it->second.peer);
      if (peer != peers_.end() && --peer->second == 0) peers_.erase(peer);
      connections_.erase(it);
    }
    // A descriptor is free: a listener paused for want of them tries now.
    if (paused_) {
      paused_ = false;
      ++backoff_generation_;
      backoff_timer_.cancel();
    }
    // A slot is free again: a parked client takes it, or listeners paused
    // at the cap resume.
    Unpark(&launches);
    AcceptAll();
    if (draining_ && connections_.empty()) drained = std::move(drained_);
  }
  Launch(launches);
  if (drained) drained();
}

void Server::Drain(std::function<void()> drained) {
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (draining_.exchange(true)) return;
    backoff_timer_.cancel();
    if (connections_.empty()) {
      asio::post(io_, std::move(drained));
    } else {
      drained_ = std::move(drained);
    }
    for (Acceptor& a : acceptors_) {
      std::error_code ignored;
      a.socket->close(ignored);
      if (!a.listener.path.empty()) unlink(a.listener.path.c_str());
    }
    for (auto& [id, entry] : connections_)
      if (auto c = entry.connection.lock()) open.push_back(c);
    parked_.clear();  // their sockets close
  }
  log_.Info("draining: " + std::to_string(open.size()) + " connection(s) open");
  for (auto& c : open) c->Close();
}

}  // namespace roster
