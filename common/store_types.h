// store_types.h: the few types and bounds more than one role store uses
// (common/login_store, usage_store, policy_store, admin_store and their
// companions). Plain data, no I/O.
//
// Trusts: nothing.
#ifndef ROSTER_COMMON_STORE_TYPES_H
#define ROSTER_COMMON_STORE_TYPES_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace roster {

// Who makes a change and from where: written to the change log with it.
struct Actor {
  std::string name;
  std::string origin;
};

struct Usage {
  int64_t bytes = 0;
  int64_t messages = 0;
};

enum class UsageCounter { kBytes, kMessages };

// The most logins one sender_logins answer lists (and so the most send-as
// grants one address may have): 300 addresses of at most 254 octets and
// their separators fit Postfix's 100,000-octet socketmap reply.
constexpr size_t kMaxSendAsOwners = 300;

// Largest outbound limit anyone may set (the schema's CHECK says the same); 0 = unlimited.
constexpr uint64_t kMaxOutboundLimit = 100000000;
// Largest breaker factor (a multiple of the hourly limit).
constexpr uint64_t kMaxBreakerFactor = 1000;

}  // namespace roster

#endif
