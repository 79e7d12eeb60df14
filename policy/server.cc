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

#include "common/text.h"
#include "policy/netstring.h"
#include "policy/policy_request.h"

namespace roster {

using GenericSocket = asio::generic::stream_protocol::socket;
using Clock = std::chrono::steady_clock;

namespace {

// accept() failures that say the process or the system is short of
// descriptors or memory: the waiting connection stays queued, so trying
// again at once fails again at once.
bool IsShortage(const std::error_code& ec) {
  if (ec.category() != asio::error::get_system_category() && ec.category() != std::generic_category()) return false;
  int v = ec.value();
  return v == EMFILE || v == ENFILE || v == ENOBUFS || v == ENOMEM;
}

}  // namespace

// One client: reads requests, answers them in order, closes on error, idle
// timeout or drain.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server& server, uint64_t id, GenericSocket socket, Listener::Protocol protocol,
             const PolicySettings& settings)
      : server_(server),
        id_(id),
        protocol_(protocol),
        strand_(asio::make_strand(socket.get_executor())),
        socket_(std::move(socket)),
        timer_(strand_),
        idle_timeout_(settings.idle_timeout),
        policy_reader_(PolicyLimits{settings.max_request, settings.max_attributes}),
        netstring_reader_(settings.max_request) {}

  ~Connection() { server_.Forget(id_); }

  void Start() {
    asio::post(strand_, [self = shared_from_this()] { self->Continue(); });
  }

  // From Drain(): finish the answer being written, then close.
  void Close() {
    asio::dispatch(strand_, [self = shared_from_this()] {
      self->closing_ = true;
      if (!self->writing_) self->Shut();
    });
  }

 private:
  void Read() {
    if (closing_) return Shut();
    timer_.expires_after(idle_timeout_);
    timer_.async_wait(asio::bind_executor(strand_, [self = shared_from_this()](const std::error_code& ec) {
      if (ec != asio::error::operation_aborted) self->Shut();
    }));
    socket_.async_read_some(asio::buffer(buffer_),
                            asio::bind_executor(strand_, [self = shared_from_this()](const std::error_code& ec,
                                                                                     size_t n) {
                              self->OnRead(ec, n);
                            }));
  }

  void OnRead(const std::error_code& ec, size_t n) {
    timer_.cancel();
    if (ec) return Shut();
    std::string_view bytes(buffer_.data(), n);
    if (protocol_ == Listener::Protocol::kPolicy) {
      policy_reader_.Feed(bytes);
    } else {
      netstring_reader_.Feed(bytes);
    }
    Continue();
  }

  // Answers the requests already read until kMaxPendingOutput bytes of
  // answers are pending, then writes them or, when nothing is pending and
  // no whole request is left, reads. So no more is read while answers
  // wait, and what one connection holds is one read, one unfinished
  // request and about kMaxPendingOutput of answers, whatever the client
  // sends.
  void Continue() {
    if (!closing_) Answer();
    if (!out_.empty()) return Write();
    if (closing_) return Shut();
    Read();
  }

  void Answer() {
    std::shared_ptr<Service> service;
    std::string problem;
    bool failed = false;
    while (out_.size() < Server::kMaxPendingOutput) {
      if (protocol_ == Listener::Protocol::kPolicy) {
        PolicyRequest request;
        auto status = policy_reader_.Next(&request, &problem);
        if (status == PolicyRequestReader::Status::kNeedMore) break;
        if (status != PolicyRequestReader::Status::kRequest) {
          failed = true;
          break;
        }
        if (!service) service = server_.service();
        PolicyAnswer answer = service->Decide(request);
        if (!answer.log.empty()) answer.warning ? server_.log().Warning(answer.log) : server_.log().Info(answer.log);
        out_ += "action=" + answer.action + "\n\n";
      } else {
        std::string query;
        auto status = netstring_reader_.Next(&query, &problem);
        if (status == NetstringReader::Status::kNeedMore) break;
        if (status != NetstringReader::Status::kNetstring) {
          failed = true;
          break;
        }
        if (!service) service = server_.service();
        std::string log;
        out_ += EncodeNetstring(service->AnswerSocketmap(query, &log));
        if (!log.empty()) server_.log().Warning(log);
      }
    }
    if (failed) {
      // Answers to whole requests before the bad one still go out.
      server_.log().Warning("closing " + Peer() + ": " + problem);
      closing_ = true;
    }
  }

  void Write() {
    writing_ = true;
    asio::async_write(socket_, asio::buffer(out_),
                      asio::bind_executor(strand_, [self = shared_from_this()](const std::error_code& ec, size_t) {
                        self->writing_ = false;
                        self->out_.clear();
                        // Keep a small buffer for the next reply; give back a large one.
                        if (self->out_.capacity() > 4096) self->out_.shrink_to_fit();
                        if (ec) return self->Shut();
                        self->Continue();
                      }));
  }

  void Shut() {
    std::error_code ignored;
    timer_.cancel();
    socket_.shutdown(asio::socket_base::shutdown_both, ignored);
    socket_.close(ignored);
  }

  std::string Peer() {
    std::error_code ec;
    auto endpoint = socket_.remote_endpoint(ec);
    const char* kind = protocol_ == Listener::Protocol::kPolicy ? "policy client" : "socketmap client";
    if (ec || endpoint.protocol().family() == AF_UNIX) return std::string(kind) + " on a unix socket";
    char host[64] = "?";
    const sockaddr* sa = endpoint.data();
    if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
      getnameinfo(sa, static_cast<socklen_t>(endpoint.size()), host, sizeof host, nullptr, 0, NI_NUMERICHOST);
    }
    return std::string(kind) + " " + host;
  }

  Server& server_;
  const uint64_t id_;
  const Listener::Protocol protocol_;
  asio::strand<asio::any_io_executor> strand_;
  GenericSocket socket_;
  asio::steady_timer timer_;
  const std::chrono::milliseconds idle_timeout_;
  PolicyRequestReader policy_reader_;
  NetstringReader netstring_reader_;
  std::array<char, 4096> buffer_;
  std::string out_;
  bool writing_ = false;
  bool closing_ = false;
};

Server::Server(asio::io_context& io, Logger& log, std::shared_ptr<Service> service)
    : io_(io), log_(log), service_(std::move(service)), backoff_timer_(io) {}

Server::~Server() = default;

std::shared_ptr<Service> Server::service() {
  std::lock_guard<std::mutex> lock(mu_);
  return service_;
}

void Server::Replace(std::shared_ptr<Service> service) {
  std::lock_guard<std::mutex> lock(mu_);
  service_ = std::move(service);
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

// Called with mu_ held.
void Server::Accept(size_t index) {
  Acceptor& a = acceptors_[index];
  if (a.waiting || draining_ || paused_ || connections_.size() >= service_->settings().max_connections) return;
  a.waiting = true;
  a.socket->async_accept(asio::make_strand(io_), [this, index](const std::error_code& ec, GenericSocket socket) {
    // Started, and let go, only after mu_ is released: a connection that
    // ends at once is destroyed here, and its destructor takes mu_.
    std::shared_ptr<Connection> connection;
    {
      std::lock_guard<std::mutex> lock(mu_);
      Acceptor& a = acceptors_[index];
      a.waiting = false;
      if (draining_) return;
      if (!ec) {
        backoff_ = std::chrono::milliseconds(0);
        if (in_episode_) EndEpisode();
        connection = Adopt(std::move(socket), a.listener.protocol);
      } else if (IsShortage(ec)) {
        OnAcceptError(a, ec);
      }
      if (ec != asio::error::operation_aborted) Accept(index);
    }
    if (connection) connection->Start();
  });
}

// Called with mu_ held: pauses every listener (the shortage is the
// process's or the system's, not one listener's) for the backoff time or
// until a connection closes.
void Server::OnAcceptError(const Acceptor& a, const std::error_code& ec) {
  ++episode_failures_;
  if (!in_episode_) {
    in_episode_ = true;
    episode_start_ = Clock::now();
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

// Called with mu_ held, at the first accept that works again.
void Server::EndEpisode() {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - episode_start_).count();
  log_.Info("accepting again: " + std::to_string(episode_failures_) + " accept(s) failed over " +
            std::to_string(ms) + " ms for want of descriptors or memory");
  in_episode_ = false;
  episode_failures_ = 0;
}

// Called with mu_ held; the caller starts the connection after releasing it.
std::shared_ptr<Connection> Server::Adopt(GenericSocket socket, Listener::Protocol protocol) {
  uint64_t id = next_id_++;
  // The kernel's send buffer is answers the client has not taken, too: a
  // fixed size (instead of TCP's autotuning, up to megabytes) keeps what a
  // client that does not read can get to a few answers.
  int size = static_cast<int>(kSocketSendBuffer);
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  auto connection = std::make_shared<Connection>(*this, id, std::move(socket), protocol, service_->settings());
  connections_[id] = connection;
  return connection;
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
  std::shared_ptr<Connection> connection;
  {
    std::lock_guard<std::mutex> lock(mu_);
    connection = Adopt(std::move(socket), protocol);
  }
  connection->Start();
  return Status::Ok();
}

void Server::Forget(uint64_t id) {
  std::function<void()> drained;
  {
    std::lock_guard<std::mutex> lock(mu_);
    connections_.erase(id);
    // A descriptor is free: a listener paused for want of them tries now.
    if (paused_) {
      paused_ = false;
      ++backoff_generation_;
      backoff_timer_.cancel();
    }
    // A slot is free again: resume listeners paused at the cap.
    AcceptAll();
    if (draining_ && connections_.empty()) drained = std::move(drained_);
  }
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
    for (auto& [id, weak] : connections_)
      if (auto c = weak.lock()) open.push_back(c);
  }
  log_.Info("draining: " + std::to_string(open.size()) + " connection(s) open");
  for (auto& c : open) c->Close();
}

}  // namespace roster
