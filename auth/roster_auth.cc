// roster_auth.cc: the C API of auth/roster_auth.h over the C++ core
// (auth/auth_core.h): the one core per configuration file and process
// (reference counted), and the conversion of requests and answers between C
// and C++. Every exception is caught here: none reaches Dovecot.
//
// Trusts: the glue to pass NUL-terminated strings (or NULL where allowed).
#include "auth/roster_auth.h"

#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/auth_core.h"

using roster::auth::Answer;
using roster::auth::AuthCore;
using roster::auth::FieldDialect;
using roster::auth::LogLevel;
using roster::auth::Outcome;

struct roster_auth {
  std::string path;
  unsigned refs = 1;  // GUARDED_BY(Registry().mu)
  roster_auth_host host{};
  std::unique_ptr<AuthCore> core;
  void* watch = nullptr;  // the host's, once started
};

struct roster_user_iter {
  roster_auth* auth;
  std::vector<std::pair<std::string, std::string>> page;  // (address, lookup key)
  size_t next = 0;
  bool exhausted = false;
  std::string current;
};

namespace {

// The cores of this process, by configuration path.
struct Cores {
  std::mutex mu;
  std::map<std::string, roster_auth*> by_path;  // GUARDED_BY(mu)
};
Cores& Registry() {
  static Cores cores;
  return cores;
}

void Write(char* buffer, unsigned int size, const std::string& text) {
  if (buffer != nullptr && size > 0) std::snprintf(buffer, size, "%s", text.c_str());
}

roster_log_level LevelOf(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return ROSTER_LOG_DEBUG;
    case LogLevel::kInfo: return ROSTER_LOG_INFO;
    case LogLevel::kWarning: return ROSTER_LOG_WARNING;
    case LogLevel::kError: break;
  }
  return ROSTER_LOG_ERROR;
}

roster_auth_result ResultOf(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk: return ROSTER_AUTH_OK;
    case Outcome::kMismatch: return ROSTER_AUTH_MISMATCH;
    case Outcome::kUnknown: return ROSTER_AUTH_UNKNOWN;
    case Outcome::kDisabled: return ROSTER_AUTH_DISABLED;
    case Outcome::kNoScheme: return ROSTER_AUTH_NO_SCHEME;
    case Outcome::kTempFail: break;
  }
  return ROSTER_AUTH_TEMPFAIL;
}

const char* const kNoFields[] = {nullptr};

void AnswerTempFail(roster_done_fn* done, void* context, const char* why) {
  roster_log_line line{ROSTER_LOG_ERROR, why};
  roster_job_result r{ROSTER_AUTH_TEMPFAIL, kNoFields, &line, 1};
  done(context, &r);
}

// The core's answer as C: runs `done` once, whatever happens.
void Deliver(roster_done_fn* done, void* context, const Answer& answer) noexcept {
  std::vector<const char*> fields;
  std::vector<roster_log_line> logs;
  try {
    fields.reserve(answer.fields.size() * 2 + 1);
    for (const auto& [name, value] : answer.fields) {
      fields.push_back(name.c_str());
      fields.push_back(value.c_str());
    }
    fields.push_back(nullptr);
    logs.reserve(answer.logs.size());
    for (const auto& line : answer.logs) logs.push_back(roster_log_line{LevelOf(line.level), line.message.c_str()});
  } catch (...) {
    AnswerTempFail(done, context, "internal error: out of memory");
    return;
  }
  roster_job_result r{ResultOf(answer.outcome), fields.data(), logs.data(), static_cast<unsigned>(logs.size())};
  done(context, &r);
}

}  // namespace

extern "C" {

struct roster_auth* roster_auth_acquire(const char* config_path, const struct roster_auth_host* host, char* error,
                                        unsigned int size) {
  try {
    Cores& cores = Registry();
    std::lock_guard<std::mutex> lock(cores.mu);
    auto found = cores.by_path.find(config_path);
    if (found != cores.by_path.end()) {
      ++found->second->refs;
      return found->second;
    }
    auto handle = std::make_unique<roster_auth>();
    handle->path = config_path;
    if (host != nullptr) handle->host = *host;
    roster_log_fn* log = handle->host.log;
    FieldDialect dialect = handle->host.dialect == ROSTER_FIELDS_DOVECOT24 ? FieldDialect::kDovecot24
                                                                          : FieldDialect::kDovecot23;
    auto core = AuthCore::Create(config_path, dialect, [log](LogLevel level, const std::string& message) {
      if (log) log(nullptr, LevelOf(level), message.c_str());
    });
    if (!core) {
      Write(error, size, core.error().message);
      return nullptr;
    }
    handle->core = std::move(*core);
    cores.by_path[handle->path] = handle.get();
    return handle.release();  // owned by the registry until its last release
  } catch (const std::exception& e) {
    Write(error, size, std::string("internal error: ") + e.what());
  } catch (...) {
    Write(error, size, "internal error");
  }
  return nullptr;
}

void roster_auth_release(struct roster_auth* auth) {
  if (auth == nullptr) return;
  try {
    {
      Cores& cores = Registry();
      std::lock_guard<std::mutex> lock(cores.mu);
      if (--auth->refs > 0) return;
      cores.by_path.erase(auth->path);
    }
    // Not under the lock: the callbacks that run now may call in again.
    std::unique_ptr<roster_auth> owned(auth);
    if (owned->watch != nullptr && owned->host.unwatch != nullptr) owned->host.unwatch(owned->watch);
    owned->watch = nullptr;
    owned->core->Stop();
  } catch (...) {
  }
}

unsigned int roster_auth_threads(const struct roster_auth* auth) { return auth->core->threads(); }

int roster_auth_start(struct roster_auth* auth, char* error, unsigned int size) {
  try {
    if (auth->core->started()) return 0;
    roster::Status started = auth->core->Start();
    if (!started.ok()) {
      Write(error, size, started.error().message);
      return -1;
    }
    if (auth->host.watch != nullptr) auth->watch = auth->host.watch(auth->core->fd(), auth);
    return 0;
  } catch (const std::exception& e) {
    Write(error, size, std::string("cannot start threads: ") + e.what());
  } catch (...) {
    Write(error, size, "cannot start threads");
  }
  return -1;
}

void roster_auth_submit(struct roster_auth* auth, const struct roster_auth_request* request, roster_done_fn* done,
                        void* context) {
  try {
    roster::auth::Request r;
    switch (request->kind) {
      case ROSTER_AUTH_VERIFY: r.kind = roster::auth::Request::kVerify; break;
      case ROSTER_AUTH_LOOKUP: r.kind = roster::auth::Request::kLookup; break;
      case ROSTER_AUTH_USERDB: r.kind = roster::auth::Request::kUserdb; break;
      default: AnswerTempFail(done, context, "unknown request kind"); return;
    }
    if (request->user != nullptr) r.user = request->user;
    if (request->password != nullptr) r.password = request->password;
    if (request->service != nullptr) r.service = request->service;
    if (request->remote_ip != nullptr) r.remote_ip = request->remote_ip;
    // If Submit throws, the callback has not run and will not (auth_core.h).
    auth->core->Submit(std::move(r), [done, context](const Answer& answer) { Deliver(done, context, answer); });
    return;
  } catch (...) {
  }
  AnswerTempFail(done, context, "internal error: out of memory");
}

void roster_auth_drain(struct roster_auth* auth) {
  try {
    auth->core->Drain();
  } catch (...) {
  }
}

int roster_auth_cache_key_needs_address(const struct roster_auth* auth) {
  return auth->core->answers_depend_on_address() ? 1 : 0;
}

unsigned long long roster_auth_verifications(const struct roster_auth* auth) {
  return auth->core->verifications();
}

unsigned long long roster_auth_dummy_verifications(const struct roster_auth* auth) {
  return auth->core->dummy_verifications();
}

struct roster_user_iter* roster_userdb_iter_init(struct roster_auth* auth) {
  try {
    auto iter = std::make_unique<roster_user_iter>();
    iter->auth = auth;
    return iter.release();  // owned by the glue until roster_userdb_iter_deinit
  } catch (...) {
    return nullptr;
  }
}

const char* roster_userdb_iter_next(struct roster_user_iter* iter, int* failed, roster_log_fn* log, void* context) {
  *failed = 1;  // until the body says otherwise: an exception leaves it set
  if (iter == nullptr) return nullptr;
  try {
    if (iter->next == iter->page.size()) {
      if (iter->exhausted) {
        *failed = 0;
        return nullptr;
      }
      std::string after = iter->page.empty() ? "" : iter->page.back().second;
      auto page = iter->auth->core->UserPage(after);
      if (!page) {
        if (log) log(context, ROSTER_LOG_ERROR, ("user iteration: " + page.error().message).c_str());
        return nullptr;
      }
      iter->exhausted = page->size() < AuthCore::kUserPage;
      iter->page = std::move(*page);
      iter->next = 0;
      if (iter->page.empty()) {
        *failed = 0;
        return nullptr;
      }
    }
    *failed = 0;
    iter->current = iter->page[iter->next++].first;
    return iter->current.c_str();
  } catch (const std::exception& e) {
    if (log) log(context, ROSTER_LOG_ERROR, (std::string("internal error: ") + e.what()).c_str());
  } catch (...) {
    if (log) log(context, ROSTER_LOG_ERROR, "internal error");
  }
  *failed = 1;
  return nullptr;
}

void roster_userdb_iter_deinit(struct roster_user_iter* iter) { std::unique_ptr<roster_user_iter> owned(iter); }

}  // extern "C"
