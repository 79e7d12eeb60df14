// ttl_cache.h: a small thread-safe cache whose entries expire, for
// roster-policyd's recipient states, domains and relay refusals (never a
// relay permission: service.h). A TTL of 0 turns it off (nothing is stored).
// Bounded: when full, expired entries go first, then everything (a burst of
// distinct keys costs queries, never memory).
//
// Trusts: its callers for keys and values.
#ifndef ROSTER_POLICY_TTL_CACHE_H
#define ROSTER_POLICY_TTL_CACHE_H

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace roster {

template <typename Value>
class TtlCache {
 public:
  using Clock = std::chrono::steady_clock;

  TtlCache(std::chrono::milliseconds ttl, size_t max_entries) : ttl_(ttl), max_entries_(max_entries) {}

  bool enabled() const { return ttl_.count() > 0 && max_entries_ > 0; }

  std::optional<Value> Get(const std::string& key) {
    if (!enabled()) return std::nullopt;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    if (it->second.first <= Clock::now()) {
      entries_.erase(it);
      return std::nullopt;
    }
    return it->second.second;
  }

  // Stored for the TTL, or until `not_after` if that comes first.
  void Put(const std::string& key, Value value, std::optional<Clock::time_point> not_after = std::nullopt) {
    if (!enabled()) return;
    Clock::time_point now = Clock::now();
    Clock::time_point expires = now + ttl_;
    if (not_after && *not_after < expires) expires = *not_after;
    if (expires <= now) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.size() >= max_entries_ && entries_.find(key) == entries_.end()) {
      for (auto it = entries_.begin(); it != entries_.end();) it = it->second.first <= now ? entries_.erase(it) : ++it;
      if (entries_.size() >= max_entries_) entries_.clear();
    }
    entries_[key] = {expires, std::move(value)};
  }

 private:
  const std::chrono::milliseconds ttl_;
  const size_t max_entries_;
  std::mutex mu_;
  std::unordered_map<std::string, std::pair<Clock::time_point, Value>> entries_;
};

}  // namespace roster

#endif
