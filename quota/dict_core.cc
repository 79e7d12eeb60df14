// dict_core.cc: the dict driver's core (quota/dict_core.h): the jobs, their
// batches, and the threads of the threaded mode.
//
// Trusts: the configuration file; nothing in keys, values or user names,
// which are bounded and checked (quota/dict_keys.h) before any query.
#include "quota/dict_core.h"

#include <algorithm>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "common/config.h"
#include "common/handoff.h"
#include "common/text.h"
#include "common/units.h"
#include "common/usage_store.h"

namespace roster::dict {
namespace {

// The rules of this moment: the configured protocols and this server's clock.
DictRules RulesNow(const std::vector<std::string>& protocols) {
  DictRules rules;
  rules.protocols = protocols;
  rules.now = static_cast<int64_t>(std::time(nullptr));
  return rules;
}

Status Apply(UsageStore& store, const CheckedChange& c) {
  const Target& t = c.target;
  if (t.kind == Target::kLastLogin)
    return store.RecordLastLogin(t.address, c.login.protocol, c.login.ip, c.login.time);
  switch (c.type) {
    case ChangeType::kSet: return store.SetUsageCounter(t.address, t.counter, c.number);
    case ChangeType::kUnset: return store.SetUsageCounter(t.address, t.counter, std::nullopt);
    case ChangeType::kInc: return store.AddToUsageCounter(t.address, t.counter, *c.number);
  }
  return Error::Invalid("unknown change type");
}

// (bytes, messages) to add when every change increments a counter of the
// same mailbox and something changes; nothing otherwise.
std::optional<std::pair<int64_t, int64_t>> IncrementsOfOneMailbox(const std::vector<CheckedChange>& all) {
  if (all.empty()) return std::nullopt;
  std::pair<int64_t, int64_t> sums{0, 0};
  for (const CheckedChange& c : all) {
    if (c.type != ChangeType::kInc || c.target.kind != Target::kCounter ||
        c.target.address != all.front().target.address)
      return std::nullopt;
    int64_t& sum = c.target.counter == UsageCounter::kBytes ? sums.first : sums.second;
    if (__builtin_add_overflow(sum, *c.number, &sum)) return std::nullopt;
  }
  if (sums.first == 0 && sums.second == 0) return std::nullopt;
  return sums;
}

// The counters to set when every change sets a counter of the same mailbox
// (quota_clone's commit: both; a later set of a counter wins); nothing
// otherwise.
std::optional<UsageSet> SetsOfOneMailbox(const std::vector<CheckedChange>& all) {
  if (all.empty()) return std::nullopt;
  UsageSet set;
  set.address = all.front().target.address;
  for (const CheckedChange& c : all) {
    if (c.type != ChangeType::kSet || c.target.kind != Target::kCounter || c.target.address != set.address ||
        !c.number)
      return std::nullopt;
    (c.target.counter == UsageCounter::kBytes ? set.bytes : set.messages) = c.number;
  }
  return set;
}

// A commit that is not the quota plugin's usual one: its changes in one SQL
// transaction. OK, NOTFOUND (an increment found no counter; the rest
// committed) or an error.
Result<Committed> CommitChecked(Db& db, const std::vector<CheckedChange>& checked) {
  if (checked.empty()) return Committed::kOk;
  bool not_found = false;
  auto apply_all = [&]() -> Status {
    not_found = false;  // the body may run again after a deadlock
    UsageStore store(db);
    for (const CheckedChange& c : checked) {
      Status s = Apply(store, c);
      if (!s.ok() && c.type == ChangeType::kInc && s.error().is_not_found()) {
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
      UsageStore store(db);
      for (const CheckedChange& c : checked)
        if (c.type == ChangeType::kInc && c.target.kind == Target::kCounter && *c.number != 0)
          (void)store.ForgetUsage(c.target.address, c.target.counter == UsageCounter::kBytes,
                                     c.target.counter == UsageCounter::kMessages);
    }
    return done.error();
  }
  return not_found ? Committed::kNotFound : Committed::kOk;
}

}  // namespace

// One request and, once run, its answer. A commit's changes are its own
// copies: Dovecot frees its transaction when commit returns.
class DictCore::Job : public Handoff::Item {
 public:
  bool commit = false;
  std::optional<std::string> username;
  std::string key;              // lookup
  std::vector<Change> changes;  // commit
  LookupDone lookup_done;
  CommitDone commit_done;
  unsigned* pending = nullptr;  // queued jobs: the core's count, lowered when answered

  // The answer.
  std::optional<Error> error;
  std::optional<std::string> value;  // lookup: found
  Committed committed = Committed::kOk;

  const char* user() const { return username ? username->c_str() : nullptr; }
  void Fail(Error why) { error = std::move(why); }

  // Moves the answer out: nothing here allocates, so nothing throws.
  void Complete() noexcept override {
    if (pending) --*pending;
    if (commit) {
      commit_done(error ? Result<Committed>(std::move(*error)) : Result<Committed>(committed));
    } else {
      lookup_done(error ? Result<std::optional<std::string>>(std::move(*error))
                        : Result<std::optional<std::string>>(std::move(value)));
    }
  }
};

namespace {

using Job = DictCore::Job;

// Runs a batch of jobs on one connection (inline: a batch of one). Commits
// run first and in the order they came, so a lookup sent after a commit sees
// it; runs of the quota plugin's usual commit (increments of one mailbox) go
// in one UPDATE (UsageStore::AddToUsages), runs of quota_clone's (sets of one
// mailbox) in one upsert (UsageStore::SetUsages), and counter lookups in one
// query.
class DictBatch {
 public:
  static void Run(Db& db, const std::vector<Job*>& jobs, const std::vector<std::string>& protocols) {
    std::vector<std::pair<Job*, UsageIncrement>> increments;
    std::vector<std::pair<Job*, UsageSet>> sets;  // at most one of these two waits at a time
    const DictRules rules = RulesNow(protocols);
    for (Job* job : jobs) {
      if (!job->commit) continue;
      auto checked = CheckAll(job->user(), job->changes, rules);
      if (!checked) {
        job->Fail(checked.error());
        continue;
      }
      if (auto sums = IncrementsOfOneMailbox(*checked)) {
        SetAll(db, &sets);
        increments.emplace_back(job, UsageIncrement{checked->front().target.address, sums->first, sums->second});
        continue;
      }
      if (auto set = SetsOfOneMailbox(*checked)) {
        AddAll(db, &increments);
        sets.emplace_back(job, std::move(*set));
        continue;
      }
      AddAll(db, &increments);
      SetAll(db, &sets);
      Answer(job, CommitChecked(db, *checked));
    }
    AddAll(db, &increments);
    SetAll(db, &sets);
    LookUpAll(db, jobs);
  }

 private:
  static void Answer(Job* job, const Result<Committed>& r) {
    if (r)
      job->committed = *r;
    else
      job->Fail(r.error());
  }
  static void Answer(Job* job, const Status& s) {
    if (s.ok())
      job->committed = Committed::kOk;
    else if (s.error().is_not_found())
      job->committed = Committed::kNotFound;
    else
      job->Fail(s.error());
  }

  static void AddAll(Db& db, std::vector<std::pair<Job*, UsageIncrement>>* increments) {
    if (increments->empty()) return;
    UsageStore store(db);
    if (increments->size() == 1) {  // one statement, atomic by itself
      const UsageIncrement& inc = increments->front().second;
      Answer(increments->front().first, store.AddToUsage(inc.address, inc.bytes, inc.messages));
      increments->clear();
      return;
    }
    std::vector<UsageIncrement> all;
    for (auto& entry : *increments) all.push_back(entry.second);
    std::vector<Status> applied = store.AddToUsages(all);
    for (size_t i = 0; i < increments->size(); ++i) Answer((*increments)[i].first, applied[i]);
    increments->clear();
  }

  // A set that finds no mailbox fails the commit, as in CommitChecked.
  static void SetAll(Db& db, std::vector<std::pair<Job*, UsageSet>>* sets) {
    if (sets->empty()) return;
    UsageStore store(db);
    std::vector<Status> applied;
    if (sets->size() == 1) {  // one statement, atomic by itself
      const UsageSet& set = sets->front().second;
      applied.push_back(store.SetUsage(set.address, set.bytes, set.messages));
    } else {
      std::vector<UsageSet> all;
      for (auto& entry : *sets) all.push_back(entry.second);
      applied = store.SetUsages(all);
    }
    for (size_t i = 0; i < sets->size(); ++i) {
      if (applied[i].ok())
        (*sets)[i].first->committed = Committed::kOk;
      else
        (*sets)[i].first->Fail(applied[i].error());
    }
    sets->clear();
  }

  static void LookUpAll(Db& db, const std::vector<Job*>& jobs) {
    std::vector<std::pair<Job*, UsageCounter>> counters;
    std::vector<std::string> addresses;
    UsageStore store(db);
    for (Job* job : jobs) {
      if (job->commit) continue;
      auto target = ParseKey(job->key, job->user());
      if (!target) {
        job->Fail(target.error());
      } else if (target->kind == Target::kCounter) {
        counters.emplace_back(job, target->counter);
        addresses.push_back(target->address);
      } else {
        auto login = store.NewestLogin(target->address);
        if (login) {
          auto& [protocol, ip, time] = *login;
          job->value = protocol + " " + ip + " " + std::to_string(time);
        } else if (!login.error().is_not_found()) {
          job->Fail(login.error());
        }
      }
    }
    if (counters.size() == 1) {
      auto n = store.GetUsageCounter(addresses.front(), counters.front().second);
      if (n)
        counters.front().first->value = std::to_string(*n);
      else if (!n.error().is_not_found())
        counters.front().first->Fail(n.error());
      return;
    }
    if (counters.empty()) return;
    auto usages = store.GetUsages(addresses);
    for (size_t i = 0; i < counters.size(); ++i) {
      auto [job, counter] = counters[i];
      if (!usages) {
        job->Fail(usages.error());
        continue;
      }
      const std::optional<UsageCounters>& row = (*usages)[i];
      std::optional<int64_t> n;
      if (row) n = counter == UsageCounter::kBytes ? row->bytes : row->messages;
      if (n) job->value = std::to_string(*n);
    }
  }
};

// Runs a batch, turning an exception (out of memory, most likely) into an
// answer for every job of it.
void RunBatch(Db& db, const std::vector<Job*>& batch, const std::vector<std::string>& protocols) {
  try {
    DictBatch::Run(db, batch, protocols);
  } catch (const std::exception& e) {
    for (Job* job : batch) job->Fail(Error::Permanent(std::string("internal error: ") + e.what()));
  }
}

}  // namespace

// The threaded mode's threads, each with its own connection. A thread's
// batch is whatever queued for it while its previous batch ran (up to
// kMaxBatch): under load, one round of statements answers many
// clients of the dict-async service, and while one thread waits for the
// database the others gather and run theirs. A user's requests always go to
// the same thread, so they run in the order they came (a recount's set is
// never overtaken by a later increment). Answers go back through a Handoff.
class DictCore::Workers {
 public:
  Workers(std::unique_ptr<Handoff> handoff, unsigned threads)
      : handoff_(std::move(handoff)), queues_(std::max(1u, threads)), wake_(queues_.size()) {}
  ~Workers() { Stop(); }

  Handoff& handoff() { return *handoff_; }

  void Start(const DbSettings& settings, const std::vector<std::string>& protocols) {
    for (size_t i = 0; i < queues_.size(); ++i)
      threads_.emplace_back([this, settings, protocols, i] { Run(settings, protocols, i); });
  }

  void Submit(std::unique_ptr<Job> job) {
    size_t queue = std::hash<std::string>()(job->username ? *job->username : job->key) % queues_.size();
    {
      std::lock_guard<std::mutex> lock(mu_);
      queues_[queue].push_back(std::move(job));
    }
    wake_[queue].notify_one();
  }

  // Every thread ends its queue, then stops; the answers wait in the handoff.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    for (auto& wake : wake_) wake.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void Run(const DbSettings& settings, const std::vector<std::string>& protocols, size_t index) {
    Db db(settings);  // opened at first use
    auto& queue = queues_[index];
    for (;;) {
      Handoff::Items jobs;  // owns what this thread works on until it is handed back
      std::vector<Job*> batch;
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_[index].wait(lock, [&] { return stopping_ || !queue.empty(); });
        if (queue.empty()) return;  // stopping, and nothing left
        while (!queue.empty() && jobs.size() < kMaxBatch) {
          batch.push_back(queue.front().get());
          jobs.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      RunBatch(db, batch, protocols);
      handoff_->Post(std::move(jobs));
    }
  }

  std::unique_ptr<Handoff> handoff_;
  std::mutex mu_;
  std::vector<std::deque<std::unique_ptr<Job>>> queues_;  // one per thread; GUARDED_BY(mu_)
  std::vector<std::condition_variable> wake_;             // one per thread
  bool stopping_ = false;                                 // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;                      // the host thread's alone
};

DictCore::DictCore(DbSettings settings, unsigned threads, std::vector<std::string> protocols)
    : settings_(std::move(settings)), db_(settings_), threads_(threads), protocols_(std::move(protocols)) {}

DictCore::~DictCore() {
  if (!workers_) return;
  workers_->Stop();
  // Every callback runs once: those of the jobs the threads just finished too.
  while (workers_->handoff().Drain() > 0) {
  }
}

Result<std::unique_ptr<DictCore>> DictCore::Create(const std::string& path) {
  auto config = Config::LoadFile(path);
  if (!config) return config.error();
  auto settings = DbSettings::FromConfig(*config, DbRole::kDict);
  if (!settings) return settings.error();
  int64_t threads = config->GetInt("dict_threads");
  if (threads < 1 || threads > 64) return Error::Invalid(config->Origin("dict_threads") + ": 1 to 64");
  std::vector<std::string> protocols = config->GetList("dict_login_protocols");
  for (const std::string& p : protocols)
    if (!ValidProtocolName(p))
      return Error::Invalid(config->Origin("dict_login_protocols") + ": dict_login_protocols: '" + Shown(p) +
                            "' is not a protocol name (1-16 of a-z, 0-9, -)");
  return std::unique_ptr<DictCore>(
      new DictCore(std::move(*settings), static_cast<unsigned>(threads), std::move(protocols)));
}

Status DictCore::Start() {
  if (workers_) return Error::Invalid("already started");
  auto handoff = Handoff::Create();
  if (!handoff) return handoff.error();
  auto workers = std::make_unique<Workers>(std::move(*handoff), threads_);
  workers->Start(settings_, protocols_);
  workers_ = std::move(workers);
  return Status::Ok();
}

bool DictCore::started() const { return workers_ != nullptr; }
int DictCore::fd() const { return workers_ ? workers_->handoff().fd() : -1; }

void DictCore::Submit(std::unique_ptr<Job> job, bool inline_run) {
  if (inline_run || !workers_) {
    RunBatch(db_, {job.get()}, protocols_);
    job->Complete();  // before the call returns
    return;
  }
  job->pending = &pending_;
  workers_->Submit(std::move(job));
  ++pending_;
}

void DictCore::Lookup(std::optional<std::string> username, std::string key, bool inline_run, LookupDone done) {
  auto job = std::make_unique<Job>();
  job->username = std::move(username);
  job->key = std::move(key);
  job->lookup_done = std::move(done);
  Submit(std::move(job), inline_run);
}

void DictCore::Commit(std::optional<std::string> username, std::vector<Change> changes, bool inline_run,
                      CommitDone done) {
  auto job = std::make_unique<Job>();
  job->commit = true;
  job->username = std::move(username);
  job->changes = std::move(changes);
  job->commit_done = std::move(done);
  Submit(std::move(job), inline_run);
}

void DictCore::Drain() {
  if (workers_) workers_->handoff().Drain();
}

void DictCore::Wait() {
  while (workers_ && pending_ > 0) {
    workers_->handoff().WaitForPost();
    workers_->handoff().Drain();
  }
}

}  // namespace roster::dict
