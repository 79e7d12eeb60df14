// roster_dict.cc: the C++ core of the Dovecot dict driver "roster". It maps
// the few keys Dovecot's quota and roster's last-login plugin use onto
// common/accounts, one SQL transaction per dict commit. Every exception is
// caught here: none reaches Dovecot.
//
// The counters keep Dovecot's contract: an increment of a counter that is not
// there (no usage row, or unknown after an unset) is NOTFOUND, so Dovecot
// recounts and sets; an unset forgets the value and never deletes a row or an
// account; a commit that fails is reported as failed, never as done.
//
// Trusts: the configuration file (root's, or the dict user's own secrets);
// nothing in keys, values or user names, which are bounded and checked
// before any query (quota/dict_keys.h: only the configured login protocols,
// no login time ahead of this server's clock).
#include "quota/roster_dict.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <algorithm>
#include <ctime>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <tuple>
#include <utility>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/accounts.h"
#include "quota/dict_keys.h"
#include "common/address.h"
#include "common/config.h"
#include "common/db.h"
#include "common/text.h"
#include "common/units.h"

namespace roster {

using dict::CheckedChange;
using dict::DictRules;
using dict::ParseKey;
using dict::Target;

// The rules of this moment: the configured protocols and this server's clock.
static DictRules RulesNow(const std::vector<std::string>& protocols) {
  DictRules rules;
  rules.protocols = protocols;
  rules.now = static_cast<int64_t>(std::time(nullptr));
  return rules;
}

class DictCore {
 public:
  DictCore(const DbSettings& settings, unsigned threads, std::vector<std::string> protocols)
      : settings_(settings), threads_(threads), protocols_(std::move(protocols)), db_(settings) {}

  static Result<std::unique_ptr<DictCore>> Create(const std::string& path) {
    auto config = Config::LoadFile(path);
    if (!config) return config.error();
    auto settings = DbSettings::FromConfig(*config, DbRole::kDict);
    if (!settings) return settings.error();
    int64_t threads = config->GetInt("dict_threads");
    if (threads < 1 || threads > 64) return Error::Invalid(config->Origin("dict_threads") + ": 1 to 64");
    std::vector<std::string> protocols = config->GetList("dict_login_protocols");
    for (const std::string& p : protocols)
      if (!dict::ValidProtocolName(p))
        return Error::Invalid(config->Origin("dict_login_protocols") + ": dict_login_protocols: '" + Shown(p) +
                              "' is not a protocol name (1-16 of a-z, 0-9, -)");
    return std::make_unique<DictCore>(*settings, static_cast<unsigned>(threads), std::move(protocols));
  }

  Db& db() { return db_; }
  const DbSettings& settings() const { return settings_; }
  unsigned threads() const { return threads_; }
  const std::vector<std::string>& protocols() const { return protocols_; }

  // 1 found, 0 not found; an error otherwise.
  static Result<int> Lookup(Db& db, const char* username, const char* key, std::string* value) {
    auto target = ParseKey(key, username);
    if (!target) return target.error();
    Accounts accounts(db);
    if (target->kind == Target::kCounter) {
      auto n = accounts.GetUsageCounter(target->address, target->counter);
      if (!n) return n.error().is_not_found() ? Result<int>(0) : Result<int>(n.error());
      *value = std::to_string(*n);
      return 1;
    }
    auto login = accounts.NewestLogin(target->address);
    if (!login) return login.error().is_not_found() ? Result<int>(0) : Result<int>(login.error());
    auto& [protocol, ip, time] = *login;
    *value = protocol + " " + ip + " " + std::to_string(time);
    return 1;
  }

  // OK, NOTFOUND (an increment found no counter; the rest committed) or an
  // error. Every change is checked first: nothing invalid reaches SQL.
  static Result<roster_dict_commit_result> Commit(Db& db, const char* username, const roster_dict_change* changes,
                                                  unsigned count, const DictRules& rules) {
    auto checked = dict::CheckAll(username, changes, count, rules);
    if (!checked) return checked.error();
    return CommitChecked(db, *checked);
  }

  static Result<roster_dict_commit_result> CommitChecked(Db& db, const std::vector<CheckedChange>& checked) {
    if (checked.empty()) return ROSTER_DICT_COMMIT_OK;
    // The quota plugin's usual commit, increments of one mailbox's counters:
    // one statement, atomic by itself, one round trip instead of four.
    if (auto sums = IncrementsOfOneMailbox(checked)) {
      Accounts accounts(db);
      Status s = accounts.AddToUsage(checked.front().target.address, sums->first, sums->second);
      if (s.ok()) return ROSTER_DICT_COMMIT_OK;
      if (s.error().is_not_found()) return ROSTER_DICT_COMMIT_NOTFOUND;
      return s.error();
    }
    bool not_found = false;
    auto apply_all = [&]() -> Status {
      not_found = false;  // the body may run again after a deadlock
      Accounts accounts(db);
      for (const CheckedChange& c : checked) {
        Status s = Apply(accounts, c);
        if (!s.ok() && c.type == ROSTER_DICT_INC && s.error().is_not_found()) {
          not_found = true;
          continue;
        }
        if (!s.ok()) return s;
      }
      return Status::Ok();
    };
    // One change (a last login, say) writes once: no transaction around it.
    Status done = checked.size() == 1 ? apply_all() : db.Transaction(apply_all);
    if (!done.ok()) {
      // The transaction's increments were rolled back, or (a COMMIT without
      // an answer) may have been applied: their counters become unknown, so
      // Dovecot recounts them (now, or once the server is back).
      if (done.error().is_temporary() && checked.size() > 1) {
        Accounts accounts(db);
        for (const CheckedChange& c : checked)
          if (c.type == ROSTER_DICT_INC && c.target.kind == Target::kCounter && *c.number != 0)
            (void)accounts.ForgetUsage(c.target.address, c.target.counter == UsageCounter::kBytes,
                                       c.target.counter == UsageCounter::kMessages);
      }
      return done.error();
    }
    return not_found ? ROSTER_DICT_COMMIT_NOTFOUND : ROSTER_DICT_COMMIT_OK;
  }

  // (bytes, messages) to add when every change increments a counter of the
  // same mailbox and something changes; nothing otherwise.
  static std::optional<std::pair<int64_t, int64_t>> IncrementsOfOneMailbox(const std::vector<CheckedChange>& all) {
    std::pair<int64_t, int64_t> sums{0, 0};
    for (const CheckedChange& c : all) {
      if (c.type != ROSTER_DICT_INC || c.target.kind != Target::kCounter ||
          c.target.address != all.front().target.address)
        return std::nullopt;
      int64_t& sum = c.target.counter == UsageCounter::kBytes ? sums.first : sums.second;
      if (__builtin_add_overflow(sum, *c.number, &sum)) return std::nullopt;
    }
    if (sums.first == 0 && sums.second == 0) return std::nullopt;
    return sums;
  }

 private:
  static Status Apply(Accounts& accounts, const CheckedChange& c) {
    const Target& t = c.target;
    if (t.kind == Target::kLastLogin)
      return accounts.RecordLastLogin(t.address, c.login.protocol, c.login.ip, c.login.time);
    switch (c.type) {
      case ROSTER_DICT_SET: return accounts.SetUsageCounter(t.address, t.counter, c.number);
      case ROSTER_DICT_UNSET: return accounts.SetUsageCounter(t.address, t.counter, std::nullopt);
      case ROSTER_DICT_INC: return accounts.AddToUsageCounter(t.address, t.counter, *c.number);
    }
    return Error::Invalid("unknown change type");
  }

  DbSettings settings_;
  unsigned threads_;
  std::vector<std::string> protocols_;  // dict_login_protocols
  Db db_;  // the synchronous calls' connection (the worker has its own)
};


// One request of the asynchronous mode and, once run, its answer. A commit's
// changes are copied: Dovecot frees its transaction when commit returns.
struct DictJob {
  bool commit = false;
  std::optional<std::string> username;
  std::string key;                          // lookup
  std::vector<std::string> keys, values;    // commit: owned text
  std::vector<roster_dict_change> changes;  // commit: pointing into keys and values
  roster_dict_done_fn* done = nullptr;
  void* context = nullptr;

  int found = -1;  // lookup: 1, 0 or -1 as roster_dict_lookup
  roster_dict_commit_result result = ROSTER_DICT_COMMIT_FAILED;
  std::string value, error;

  const char* user() const { return username ? username->c_str() : nullptr; }
  void Fail(const std::string& why) {
    found = -1;
    result = ROSTER_DICT_COMMIT_FAILED;
    error = why;
  }
};

// Runs a batch of jobs on the worker's connection. Commits run first and in
// the order they came, so a lookup sent after a commit sees it; runs of the
// quota plugin's usual commit (increments of one mailbox) go in one UPDATE
// (Accounts::AddToUsages), and counter lookups in one query.
class DictBatch {
 public:
  static void Run(Db& db, const std::vector<DictJob*>& jobs, const std::vector<std::string>& protocols) {
    std::vector<std::pair<DictJob*, UsageIncrement>> increments;
    const DictRules rules = RulesNow(protocols);
    for (DictJob* job : jobs) {
      if (!job->commit) continue;
      auto checked = dict::CheckAll(job->user(), job->changes.data(), job->changes.size(), rules);
      if (!checked) {
        job->Fail(checked.error().message);
        continue;
      }
      if (auto sums = DictCore::IncrementsOfOneMailbox(*checked)) {
        increments.emplace_back(job, UsageIncrement{checked->front().target.address, sums->first, sums->second});
        continue;
      }
      AddAll(db, &increments);
      Answer(job, DictCore::CommitChecked(db, *checked));
    }
    AddAll(db, &increments);
    LookUpAll(db, jobs);
  }

 private:
  static void Answer(DictJob* job, const Result<roster_dict_commit_result>& r) {
    if (r)
      job->result = *r;
    else
      job->Fail(r.error().message);
  }

  static void AddAll(Db& db, std::vector<std::pair<DictJob*, UsageIncrement>>* increments) {
    if (increments->empty()) return;
    Accounts accounts(db);
    std::vector<UsageIncrement> all;
    for (auto& entry : *increments) all.push_back(entry.second);
    std::vector<Status> applied = accounts.AddToUsages(all);
    for (size_t i = 0; i < increments->size(); ++i) {
      DictJob* job = (*increments)[i].first;
      const Status& s = applied[i];
      if (s.ok())
        job->result = ROSTER_DICT_COMMIT_OK;
      else if (s.error().is_not_found())
        job->result = ROSTER_DICT_COMMIT_NOTFOUND;
      else
        job->Fail(s.error().message);
    }
    increments->clear();
  }

  static void LookUpAll(Db& db, const std::vector<DictJob*>& jobs) {
    std::vector<std::pair<DictJob*, UsageCounter>> counters;
    std::vector<std::string> addresses;
    for (DictJob* job : jobs) {
      if (job->commit) continue;
      auto target = ParseKey(job->key.c_str(), job->user());
      if (!target) {
        job->Fail(target.error().message);
      } else if (target->kind == Target::kCounter) {
        counters.emplace_back(job, target->counter);
        addresses.push_back(target->address);
      } else {
        auto r = DictCore::Lookup(db, job->user(), job->key.c_str(), &job->value);
        if (r)
          job->found = *r;
        else
          job->Fail(r.error().message);
      }
    }
    if (counters.empty()) return;
    auto usages = Accounts(db).GetUsages(addresses);
    for (size_t i = 0; i < counters.size(); ++i) {
      auto [job, counter] = counters[i];
      if (!usages) {
        job->Fail(usages.error().message);
        continue;
      }
      const std::optional<UsageCounters>& row = (*usages)[i];
      std::optional<int64_t> n;
      if (row) n = counter == UsageCounter::kBytes ? row->bytes : row->messages;
      job->found = n ? 1 : 0;
      if (n) job->value = std::to_string(*n);
    }
  }
};

// The asynchronous mode's threads, each with its own connection. Jobs go in
// on Dovecot's ioloop thread and come back there through Drain(), when the
// eventfd says some are done. A thread's batch is whatever queued for it
// while its previous batch ran (up to Accounts::kMaxBatch): under load, one
// round of statements answers many clients of the dict-async service, and
// while one thread waits for the database the others gather and run theirs.
// A user's requests always go to the same thread, so they run in the order
// they came (a recount's set is never overtaken by a later increment).
class DictWorker {
 public:
  explicit DictWorker(unsigned threads) : queues_(std::max(1u, threads)), wake_(queues_.size()) {}
  ~DictWorker() { Stop(); }

  Result<int> Start(const DbSettings& settings, const std::vector<std::string>& protocols) {
    event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (event_fd_ < 0) return Error::Permanent("eventfd failed");
    for (size_t i = 0; i < queues_.size(); ++i)
      threads_.emplace_back([this, settings, protocols, i] { Run(settings, protocols, i); });
    return event_fd_;
  }

  void Submit(std::unique_ptr<DictJob> job) {
    size_t queue = std::hash<std::string>()(job->username ? *job->username : job->key) % queues_.size();
    {
      std::lock_guard<std::mutex> lock(mu_);
      queues_[queue].push_back(std::move(job));
    }
    ++pending_;
    wake_[queue].notify_one();
  }

  unsigned pending() const { return pending_; }

  void Drain() {
    uint64_t count;
    while (read(event_fd_, &count, sizeof count) > 0) {
    }
    std::vector<std::unique_ptr<DictJob>> finished;
    {
      std::lock_guard<std::mutex> lock(mu_);
      finished.swap(done_);
    }
    pending_ -= finished.size();
    for (auto& job : finished) {
      roster_dict_answer answer{job->found, job->result, job->value.c_str(), job->error.c_str()};
      job->done(job->context, &answer);
    }
  }

  // Until every job submitted (also by the callbacks this runs) is answered.
  void Wait() {
    while (pending_ > 0) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        done_wake_.wait(lock, [this] { return !done_.empty(); });
      }
      Drain();
    }
  }

 private:
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    for (auto& wake : wake_) wake.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    if (event_fd_ >= 0) close(event_fd_);
    event_fd_ = -1;
  }

  void Run(const DbSettings& settings, const std::vector<std::string>& protocols, size_t index) {
    Db db(settings);  // opened at first use
    auto& queue = queues_[index];
    for (;;) {
      std::vector<std::unique_ptr<DictJob>> jobs;
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_[index].wait(lock, [&] { return stopping_ || !queue.empty(); });
        if (queue.empty()) return;  // stopping
        while (!queue.empty() && jobs.size() < Accounts::kMaxBatch) {
          jobs.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      std::vector<DictJob*> batch;
      for (auto& job : jobs) batch.push_back(job.get());
      try {
        DictBatch::Run(db, batch, protocols);
      } catch (const std::exception& e) {
        // Out of memory, most likely: every job taken is answered anyway.
        for (DictJob* job : batch) job->Fail(std::string("internal error: ") + e.what());
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& job : jobs) done_.push_back(std::move(job));
      }
      done_wake_.notify_all();
      uint64_t one = 1;
      if (write(event_fd_, &one, sizeof one) < 0) {
        // The counter is saturated: the ioloop has wakeups pending anyway.
      }
    }
  }

  std::vector<std::deque<std::unique_ptr<DictJob>>> queues_;  // one per thread
  std::vector<std::condition_variable> wake_;                 // one per thread
  int event_fd_ = -1;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable done_wake_;
  std::vector<std::unique_ptr<DictJob>> done_;
  unsigned pending_ = 0;  // submitted and not yet delivered; the ioloop thread's alone
  bool stopping_ = false;
};

}  // namespace roster

struct roster_dict {
  std::unique_ptr<roster::DictCore> core;
  std::unique_ptr<roster::DictWorker> worker;  // started by roster_dict_start
};

namespace {

void Write(char* buffer, unsigned int size, const std::string& text) {
  if (buffer != nullptr && size > 0) std::snprintf(buffer, size, "%s", text.c_str());
}

}  // namespace

extern "C" {

struct roster_dict* roster_dict_create(const char* config_path, char* error, unsigned int size) {
  try {
    auto core = roster::DictCore::Create(config_path);
    if (!core) {
      Write(error, size, core.error().message);
      return nullptr;
    }
    auto handle = std::make_unique<roster_dict>();
    handle->core = std::move(*core);
    return handle.release();  // owned by the glue until roster_dict_destroy
  } catch (const std::exception& e) {
    Write(error, size, std::string("internal error: ") + e.what());
  } catch (...) {
    Write(error, size, "internal error");
  }
  return nullptr;
}

void roster_dict_destroy(struct roster_dict* dict) {
  try {
    std::unique_ptr<roster_dict> owned(dict);
  } catch (...) {
  }
}

int roster_dict_lookup(struct roster_dict* dict, const char* username, const char* key, char* value,
                       unsigned int value_size, char* error, unsigned int error_size) {
  try {
    std::string found;
    auto r = roster::DictCore::Lookup(dict->core->db(), username, key, &found);
    if (!r) {
      Write(error, error_size, r.error().message);
      return -1;
    }
    if (*r == 1) {
      if (found.size() >= value_size) {
        Write(error, error_size, "value too long");
        return -1;
      }
      Write(value, value_size, found);
    }
    return *r;
  } catch (const std::exception& e) {
    Write(error, error_size, std::string("internal error: ") + e.what());
  } catch (...) {
    Write(error, error_size, "internal error");
  }
  return -1;
}

enum roster_dict_commit_result roster_dict_commit(struct roster_dict* dict, const char* username,
                                                  const struct roster_dict_change* changes, unsigned int count,
                                                  char* error, unsigned int error_size) {
  try {
    auto r = roster::DictCore::Commit(dict->core->db(), username, changes, count,
                                      roster::RulesNow(dict->core->protocols()));
    if (r) return *r;
    Write(error, error_size, r.error().message);
  } catch (const std::exception& e) {
    Write(error, error_size, std::string("internal error: ") + e.what());
  } catch (...) {
    Write(error, error_size, "internal error");
  }
  return ROSTER_DICT_COMMIT_FAILED;
}

int roster_dict_start(struct roster_dict* dict, char* error, unsigned int error_size) {
  try {
    if (dict->worker) {
      Write(error, error_size, "already started");
      return -1;
    }
    auto worker = std::make_unique<roster::DictWorker>(dict->core->threads());
    auto fd = worker->Start(dict->core->settings(), dict->core->protocols());
    if (!fd) {
      Write(error, error_size, fd.error().message);
      return -1;
    }
    dict->worker = std::move(worker);
    return *fd;
  } catch (const std::exception& e) {
    Write(error, error_size, std::string("internal error: ") + e.what());
  } catch (...) {
    Write(error, error_size, "internal error");
  }
  return -1;
}

namespace {

// Queues the job, or answers it at once with the reason it could not be.
void SubmitOrFail(struct roster_dict* dict, const std::function<std::unique_ptr<roster::DictJob>()>& make,
                  roster_dict_done_fn* done, void* context) {
  std::string why;
  try {
    if (!dict->worker) {
      why = "asynchronous mode not started";
    } else {
      auto job = make();
      job->done = done;
      job->context = context;
      dict->worker->Submit(std::move(job));
      return;
    }
  } catch (const std::exception& e) {
    why = std::string("internal error: ") + e.what();
  } catch (...) {
    why = "internal error";
  }
  roster_dict_answer answer{-1, ROSTER_DICT_COMMIT_FAILED, "", why.c_str()};
  done(context, &answer);
}

}  // namespace

void roster_dict_lookup_async(struct roster_dict* dict, const char* username, const char* key,
                              roster_dict_done_fn* done, void* context) {
  SubmitOrFail(
      dict,
      [&] {
        auto job = std::make_unique<roster::DictJob>();
        if (username != nullptr) job->username = username;
        job->key = key != nullptr ? key : "";
        return job;
      },
      done, context);
}

void roster_dict_commit_async(struct roster_dict* dict, const char* username,
                              const struct roster_dict_change* changes, unsigned int count,
                              roster_dict_done_fn* done, void* context) {
  SubmitOrFail(
      dict,
      [&] {
        auto job = std::make_unique<roster::DictJob>();
        job->commit = true;
        if (username != nullptr) job->username = username;
        for (unsigned i = 0; i < count; ++i) {
          job->keys.emplace_back(changes[i].key != nullptr ? changes[i].key : "");
          job->values.emplace_back(changes[i].value != nullptr ? changes[i].value : "");
        }
        // Pointers taken once the strings no longer move.
        for (unsigned i = 0; i < count; ++i)
          job->changes.push_back(roster_dict_change{changes[i].type, changes[i].key ? job->keys[i].c_str() : nullptr,
                                                    changes[i].value ? job->values[i].c_str() : nullptr,
                                                    changes[i].diff});
        return job;
      },
      done, context);
}

unsigned int roster_dict_pending(const struct roster_dict* dict) {
  return dict->worker ? dict->worker->pending() : 0;
}

void roster_dict_drain(struct roster_dict* dict) {
  try {
    if (dict->worker) dict->worker->Drain();
  } catch (...) {
    // Only the answers' callbacks run here, and they are C.
  }
}

void roster_dict_wait(struct roster_dict* dict) {
  try {
    if (dict->worker) dict->worker->Wait();
  } catch (...) {
  }
}

}  // extern "C"
