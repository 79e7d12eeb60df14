// settings.cc: see settings.h.
#include "policy/settings.h"

#include <arpa/inet.h>

#include "common/config.h"
#include "common/store_types.h"
#include "common/text.h"
#include "common/units.h"

namespace roster {

std::string Listener::Display() const {
  if (!path.empty()) return "unix:" + path;
  return "inet:" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<Listener> ParseListener(std::string_view text, Listener::Protocol protocol) {
  Listener l;
  l.protocol = protocol;
  if (StartsWith(text, "unix:")) {
    l.path = std::string(text.substr(5));
    if (l.path.empty() || l.path[0] != '/') return Error::Invalid("unix socket path must be absolute: " + Shown(text));
    if (l.path.size() >= 108) return Error::Invalid("unix socket path too long: " + Shown(text));
    return l;
  }
  if (!StartsWith(text, "inet:")) return Error::Invalid("listener must be unix:/path or inet:host:port: " + Shown(text));
  std::string_view rest = text.substr(5);
  size_t colon;
  if (StartsWith(rest, "[")) {
    size_t close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      return Error::Invalid("bad listener: " + Shown(text));
    l.host = std::string(rest.substr(1, close - 1));
    colon = close + 1;
  } else {
    colon = rest.rfind(':');
    if (colon == std::string_view::npos) return Error::Invalid("listener needs a port: " + Shown(text));
    l.host = std::string(rest.substr(0, colon));
  }
  unsigned char buf[16];
  if (inet_pton(AF_INET, l.host.c_str(), buf) != 1 && inet_pton(AF_INET6, l.host.c_str(), buf) != 1)
    return Error::Invalid("listener address must be numeric: " + Shown(text));
  auto port = ParseCount(rest.substr(colon + 1));
  if (!port || *port == 0 || *port > 65535) return Error::Invalid("bad listener port: " + Shown(text));
  l.port = static_cast<uint16_t>(*port);
  return l;
}

bool IsLoopbackAddress(std::string_view address) {
  static const std::vector<IpPrefix> kLoopback = {*ParseIpPrefix("127.0.0.0/8"), *ParseIpPrefix("::1")};
  auto packed = PackIp(address);  // an IPv4-mapped address comes back as IPv4
  return packed.ok() && InAnyPrefix(*packed, kLoopback);
}

namespace {

// "452 4.2.2 Mailbox is over quota" -> ("452 4.2.2", "Mailbox is over quota").
Status ParseReply(const std::string& reply, std::string* code, std::string* text) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (reply.size() < 3 || (reply[0] != '4' && reply[0] != '5') || !digit(reply[1]) || !digit(reply[2]) ||
      (reply.size() > 3 && reply[3] != ' '))
    return Error::Invalid("policy_overquota_reply must start with a 4xx or 5xx code: " + Shown(reply));
  size_t pos = 3;
  while (pos < reply.size() && reply[pos] == ' ') ++pos;
  size_t word_end = reply.find(' ', pos);
  std::string_view word = std::string_view(reply).substr(pos, word_end == std::string::npos ? std::string::npos
                                                                                             : word_end - pos);
  bool enhanced = word.size() >= 5 && word[0] == reply[0] && word[1] == '.' &&
                  word.find_first_not_of("0123456789.") == std::string_view::npos;
  *code = reply.substr(0, 3);
  if (enhanced) {
    *code += " " + std::string(word);
    pos = word_end == std::string::npos ? reply.size() : word_end;
  }
  while (pos < reply.size() && reply[pos] == ' ') ++pos;
  *text = reply.substr(pos);
  for (char c : reply)
    if (static_cast<unsigned char>(c) < 0x20) return Error::Invalid("policy_overquota_reply has control characters");
  return Status::Ok();
}

// A policy action of our own: printable, one line, not empty.
Status CheckAction(const char* key, const std::string& action) {
  if (action.empty()) return Error::Invalid(std::string(key) + " is empty");
  if (action.size() > 512) return Error::Invalid(std::string(key) + " is longer than 512 bytes");
  for (char c : action)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return Error::Invalid(std::string(key) + " has control characters");
  return Status::Ok();
}

Status OutboundFromConfig(const Config& config, PolicySettings* s) {
  s->outbound_db_failure_action = config.GetString("policy_outbound_db_failure_action");
  ROSTER_TRY(CheckAction("policy_outbound_db_failure_action", s->outbound_db_failure_action));
  s->outbound_suspended_reply = config.GetString("policy_outbound_suspended_reply");
  ROSTER_TRY(CheckAction("policy_outbound_suspended_reply", s->outbound_suspended_reply));
  const std::string& r = s->outbound_suspended_reply;
  if (r.size() < 4 || (r[0] != '4' && r[0] != '5') || r[3] != ' ' ||
      r.substr(1, 2).find_first_not_of("0123456789") != std::string::npos)
    return Error::Invalid("policy_outbound_suspended_reply must start with a 4xx or 5xx code and a text");
  int64_t attempts = config.GetInt("policy_outbound_breaker_attempts");
  if (attempts < 0 || static_cast<uint64_t>(attempts) > kMaxOutboundLimit)
    return Error::Invalid("policy_outbound_breaker_attempts must be 0.." + std::to_string(kMaxOutboundLimit));
  int64_t factor = config.GetInt("policy_outbound_breaker_factor");
  if (factor < 0 || static_cast<uint64_t>(factor) > kMaxBreakerFactor)
    return Error::Invalid("policy_outbound_breaker_factor must be 0.." + std::to_string(kMaxBreakerFactor));
  s->breaker_attempts = static_cast<uint64_t>(attempts);
  s->breaker_factor = static_cast<uint64_t>(factor);
  s->outbound_relay_clients = config.GetBool("policy_outbound_relay_clients");
  s->notify_to = config.GetString("policy_outbound_notify");
  s->notify_from = config.GetString("policy_outbound_notify_from");
  for (const auto* a : {&s->notify_to, &s->notify_from}) {
    if (a->empty()) continue;
    auto parsed = ParseAddress(*a, AddressOptions{});
    if (!parsed || a->find_first_of("<> \t\"") != std::string::npos)
      return Error::Invalid("policy_outbound_notify and policy_outbound_notify_from must be plain addresses: " +
                            Shown(*a));
  }
  auto smtp = ParseListener("inet:" + config.GetString("policy_outbound_notify_smtp"), Listener::Protocol::kPolicy);
  if (!smtp) return Error::Invalid("policy_outbound_notify_smtp: " + smtp.error().message);
  if (!IsLoopbackAddress(smtp->host))
    return Error::Invalid("policy_outbound_notify_smtp must be a loopback address (127.0.0.0/8 or ::1)");
  s->notify_host = smtp->host;
  s->notify_port = smtp->port;
  s->notify_timeout = config.GetDuration("policy_outbound_notify_timeout");
  if (s->notify_timeout.count() < 100 || s->notify_timeout.count() > 60000)
    return Error::Invalid("policy_outbound_notify_timeout must be 100ms..60s");
  return Status::Ok();
}

}  // namespace

Result<PolicySettings> PolicySettings::FromConfig(const Config& config) {
  PolicySettings s;
  for (const std::string& word : config.GetList("policy_listen")) {
    auto l = ParseListener(word, Listener::Protocol::kPolicy);
    if (!l) return Error::Invalid("policy_listen: " + l.error().message);
    s.listeners.push_back(*l);
  }
  for (const std::string& word : config.GetList("socketmap_listen")) {
    auto l = ParseListener(word, Listener::Protocol::kSocketmap);
    if (!l) return Error::Invalid("socketmap_listen: " + l.error().message);
    s.listeners.push_back(*l);
  }
  if (s.listeners.empty()) return Error::Invalid("no listener: set policy_listen and/or socketmap_listen");
  const std::string& mode = config.GetString("policy_socket_mode");
  if (mode.empty() || mode.size() > 4 || mode.find_first_not_of("01234567") != std::string::npos)
    return Error::Invalid("policy_socket_mode must be octal, like 0660: " + Shown(mode));
  s.socket_mode = static_cast<unsigned>(std::stoul(mode, nullptr, 8));
  s.socket_group = config.GetString("policy_socket_group");
  s.user = config.GetString("policy_user");
  const std::string& log = config.GetString("policy_log");
  if (log != "syslog" && log != "stderr") return Error::Invalid("policy_log must be syslog or stderr");
  s.log_to_syslog = log == "syslog";
  auto in_range = [&](const char* key, int64_t low, int64_t high) -> Result<int64_t> {
    int64_t v = config.GetInt(key);
    if (v < low || v > high)
      return Error::Invalid(std::string(key) + " must be " + std::to_string(low) + ".." + std::to_string(high));
    return v;
  };
  auto threads = in_range("policy_threads", 1, 256);
  auto connections = in_range("policy_max_connections", 1, 1000000);
  auto per_peer = in_range("policy_max_connections_per_peer", 1, 1000000);
  auto attributes = in_range("policy_max_attributes", 1, 1000000);
  auto v4 = in_range("policy_relay_ipv4_prefix", 0, 32);
  auto v6 = in_range("policy_relay_ipv6_prefix", 0, 128);
  auto entries = in_range("policy_cache_entries", 0, 100000000);
  for (auto* r : {&threads, &connections, &per_peer, &attributes, &v4, &v6, &entries})
    if (!*r) return r->error();
  s.threads = static_cast<int>(*threads);
  s.max_connections = static_cast<size_t>(*connections);
  s.max_connections_per_peer = static_cast<size_t>(*per_peer);
  s.max_attributes = static_cast<size_t>(*attributes);
  s.relay_ipv4_prefix = static_cast<int>(*v4);
  s.relay_ipv6_prefix = static_cast<int>(*v6);
  s.cache_entries = static_cast<size_t>(*entries);
  for (const std::string& word : config.GetList("policy_relay_nat64_prefixes")) {
    auto prefix = ParseNat64Prefix(word);
    if (!prefix) return Error::Invalid("policy_relay_nat64_prefixes: " + prefix.error().message);
    s.relay_nat64_prefixes.push_back(*prefix);
  }
  if (s.relay_nat64_prefixes.size() > kMaxNat64Prefixes)
    return Error::Invalid("policy_relay_nat64_prefixes: at most " + std::to_string(kMaxNat64Prefixes) + " prefixes");
  s.idle_timeout = config.GetDuration("policy_idle_timeout");
  if (s.idle_timeout.count() <= 0) return Error::Invalid("policy_idle_timeout must be positive");
  auto timeout = [&](const char* key, std::chrono::milliseconds* out) -> Status {
    *out = config.GetDuration(key);
    if (out->count() < 100 || out->count() > 3600 * 1000)
      return Error::Invalid(std::string(key) + " must be 100ms..1h");
    return Status::Ok();
  };
  ROSTER_TRY(timeout("policy_request_timeout", &s.request_timeout));
  ROSTER_TRY(timeout("policy_write_timeout", &s.write_timeout));
  s.max_request = config.GetSize("policy_max_request");
  if (s.max_request < 1024 || s.max_request > (64u << 20)) return Error::Invalid("policy_max_request must be 1k..64M");
  ROSTER_TRY(ParseReply(config.GetString("policy_overquota_reply"), &s.overquota_code, &s.overquota_text));
  s.db_failure_action = config.GetString("policy_db_failure_action");
  if (s.db_failure_action.empty()) return Error::Invalid("policy_db_failure_action is empty");
  for (char c : s.db_failure_action)
    if (static_cast<unsigned char>(c) < 0x20) return Error::Invalid("policy_db_failure_action has control characters");
  s.relay_window = config.GetDuration("policy_relay_window");
  s.cache_ttl = config.GetDuration("policy_cache_ttl");
  ROSTER_TRY(OutboundFromConfig(config, &s));
  s.unit = config.GetString("unit");
  s.unit_mx_transport = config.GetString("unit_mx_transport");
  s.address_options.recipient_delimiter = config.GetString("recipient_delimiter");
  s.sender_login_alias_members = config.GetBool("policy_sender_login_alias_members");
  auto db = DbSettings::FromConfig(config, DbRole::kPolicy);
  if (!db) return db.error();
  s.db = *db;
  return s;
}

std::string PolicySettings::OverQuotaReply() const {
  return overquota_text.empty() ? overquota_code : overquota_code + " " + overquota_text;
}

}  // namespace roster
