// settings.h: roster-policyd's configuration, read from roster's config file
// (common/config.h) and checked as a whole, so a reload either takes all of
// a new file or keeps all of the old one.
//
// Trusts: the config parser for types; checks what the types cannot
// (listener syntax, reply codes, prefix lengths, NAT64 prefixes).
#ifndef ROSTER_POLICY_SETTINGS_H
#define ROSTER_POLICY_SETTINGS_H

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/address.h"
#include "common/db.h"
#include "common/ip.h"
#include "common/result.h"

namespace roster {

class Config;

struct Listener {
  enum class Protocol { kPolicy, kSocketmap };
  Protocol protocol = Protocol::kPolicy;
  std::string path;  // unix socket; empty for TCP
  std::string host;  // TCP address, numeric
  uint16_t port = 0;
  std::string Display() const;
  bool operator==(const Listener& o) const {
    return protocol == o.protocol && path == o.path && host == o.host && port == o.port;
  }
};
Result<Listener> ParseListener(std::string_view text, Listener::Protocol protocol);

// Whether `address` (text, as common/ip.h's PackIp reads it) is a loopback
// address: 127.0.0.0/8, ::1, or an IPv4-mapped one of 127.0.0.0/8. The
// circuit breaker's notices go to an SMTP server on one, and the outbound
// check never counts a client without SASL on one (policy/outbound.cc).
bool IsLoopbackAddress(std::string_view address);

// Most NAT64 prefixes: each is one more address range in the relay query.
constexpr size_t kMaxNat64Prefixes = 8;

struct PolicySettings {
  // --- fixed at start (a reload that changes them is logged and ignored) ---
  std::vector<Listener> listeners;
  unsigned socket_mode = 0660;
  std::string socket_group = "postfix";  // empty: the daemon's own group
  std::string user;
  bool log_to_syslog = true;
  int threads = 2;
  // --- reloadable ---
  // Lowered at start and at each reload to fit RLIMIT_NOFILE
  // (roster-policyd.cc); the server reads it for every accept.
  size_t max_connections = 1000;
  size_t max_connections_per_peer = 500;
  std::chrono::milliseconds idle_timeout{600000};      // between requests
  std::chrono::milliseconds request_timeout{10000};    // first byte to whole request
  std::chrono::milliseconds write_timeout{10000};      // answers taken by the client
  size_t max_request = 64 * 1024;
  size_t max_attributes = 1000;
  std::string overquota_code;  // "452 4.2.2"
  std::string overquota_text;  // "Mailbox is over quota"
  std::string db_failure_action;
  std::chrono::milliseconds relay_window{30 * 60 * 1000};
  int relay_ipv4_prefix = 32;
  int relay_ipv6_prefix = 64;
  std::vector<Nat64Prefix> relay_nat64_prefixes;  // clients under these are their IPv4 address
  std::chrono::milliseconds cache_ttl{0};
  size_t cache_entries = 100000;
  std::string unit;
  std::string unit_mx_transport;
  // Outbound limits (policy/outbound.cc, doc/postfix.md).
  std::string outbound_db_failure_action;  // "451 4.3.0 Temporary lookup failure"
  std::string outbound_suspended_reply;    // "550 5.7.1 ..."
  uint64_t breaker_attempts = 0;           // 0 = none
  uint64_t breaker_factor = 3;             // times the hourly limit; 0 = none
  bool outbound_relay_clients = true;      // count POP/IMAP-before-SMTP clients
  std::string notify_to;                   // "" = no notice
  std::string notify_from;                 // "" = the null sender
  std::string notify_host;                 // numeric loopback address
  uint16_t notify_port = 25;
  std::chrono::milliseconds notify_timeout{10000};
  AddressOptions address_options;
  // sender_logins: the mailboxes an alias delivers to may send as it.
  bool sender_login_alias_members = false;
  DbSettings db;

  static Result<PolicySettings> FromConfig(const Config& config);
  // "452 4.2.2 Mailbox is over quota". Postfix names the recipient itself:
  // the client reads "452 4.2.2 <bob@example.org>: Recipient address
  // rejected: Mailbox is over quota".
  std::string OverQuotaReply() const;
};

}  // namespace roster

#endif
