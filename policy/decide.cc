// decide.cc: the policy protocol's decisions (see service.h and
// doc/roster-policyd.8): the quota check of a local recipient, after +ext,
// aliases and catch-alls are followed to mailboxes (WalkAlias, the one alias
// walk, which sender_logins' alias members use too), and POP/IMAP-before-SMTP
// for a recipient elsewhere (by the client's network, or by the IPv4 address
// that a client behind a NAT64 translator carries: common/ip.h).
#include <algorithm>
#include <set>

#include "common/ip.h"
#include "common/text.h"
#include "policy/service.h"

namespace roster {

Service::Service(PolicySettings settings, Logger* log)
    : settings_(std::move(settings)),
      pool_(std::make_shared<DbPool>(settings_.db)),
      targets_cache_(settings_.cache_ttl, settings_.cache_entries),
      relay_refused_cache_(settings_.cache_ttl, settings_.cache_entries),
      domain_cache_(settings_.cache_ttl, settings_.cache_entries),
      notifier_(NoticeSettings{settings_.notify_to, settings_.notify_from, settings_.notify_host,
                               settings_.notify_port, settings_.notify_timeout},
                log),
      outbound_(pool_, BreakerRule{settings_.breaker_attempts, settings_.breaker_factor}) {}

PolicyStore Service::StoreOf(std::unique_ptr<DbPool::Lease>* lease) {
  if (!*lease) *lease = std::make_unique<DbPool::Lease>(pool_->Acquire());
  return PolicyStore((*lease)->db());
}

bool Service::OverQuota(const MailboxState& m, uint64_t size) {
  // An unknown size still takes a byte: a mailbox exactly at its limit is full.
  uint64_t need = std::max<uint64_t>(size, 1);
  if (m.max_bytes > 0 && m.bytes) {
    uint64_t used = *m.bytes < 0 ? 0 : static_cast<uint64_t>(*m.bytes);
    if (used >= m.max_bytes || need > m.max_bytes - used) return true;
  }
  if (m.max_messages > 0 && m.messages && *m.messages >= 0 && static_cast<uint64_t>(*m.messages) >= m.max_messages)
    return true;
  return false;
}

bool Service::AllOverQuota(const RecipientTargets& t, uint64_t size) {
  if (t.elsewhere || t.mailboxes.empty()) return false;
  return std::all_of(t.mailboxes.begin(), t.mailboxes.end(),
                     [&](const MailboxState& m) { return OverQuota(m, size); });
}

Result<RecipientTargets> Service::Resolve(PolicyStore& store, const RecipientKeys& keys) {
  RecipientTargets t;
  const std::string& domain = keys.address.domain;
  auto found = store.FindRecipient(domain, keys.keys);
  if (!found) return found.error();
  t.local_domain = found->domain_exists;
  t.domain_active = found->domain_active;
  if (!t.local_domain || !t.domain_active) return t;
  if (found->mailbox && found->mailbox->active && found->mailbox->domain_active) {
    t.mailboxes.push_back(*found->mailbox);
    return t;
  }

  // An alias (or a disabled mailbox): where its subscribers' mail goes.
  auto walk = WalkAlias(store, keys, /*catch_alls=*/true);
  if (!walk) return walk.error();
  t.mailboxes = std::move(walk->mailboxes);
  t.elsewhere = walk->elsewhere || walk->cut;  // past the bounds: not proven full
  return t;
}

Result<AliasWalk> Service::WalkAlias(PolicyStore& store, const RecipientKeys& keys, bool catch_alls) {
  // The address's own subscribers (the +ext form's first), else its domain's
  // catch-all; then each subscriber the same way, level by level, a batch
  // per level.
  AliasWalk w;
  std::set<std::string> seen;
  std::vector<std::string> frontier;
  auto own = store.FindSubscribers(keys.keys, 'I');
  if (!own) return own.error();
  for (const auto& list : *own)
    if (!list.empty()) {
      frontier = list;
      break;
    }
  if (frontier.empty() && catch_alls) {
    auto catch_all = store.FindSubscribers({"@" + keys.address.domain}, 'I');
    if (!catch_all) return catch_all.error();
    frontier = catch_all->front();
  }
  for (const std::string& k : keys.keys) seen.insert(AsciiLower(k));

  for (int depth = 0; !frontier.empty(); ++depth) {
    if (depth >= kMaxAliasDepth) {
      w.cut = true;
      break;
    }
    std::vector<std::string> batch;
    for (const std::string& recipient : frontier) {
      auto parsed = ParseAddress(recipient, settings_.address_options);
      if (!parsed) {
        w.elsewhere = true;
        continue;
      }
      std::string key = parsed->Mailbox();
      if (!seen.insert(AsciiLower(key)).second) continue;
      if (seen.size() > kMaxAliasTargets) {
        w.cut = true;
        break;
      }
      batch.push_back(key);
    }
    frontier.clear();
    if (batch.empty()) break;
    auto states = store.FindMailboxStates(batch);
    if (!states) return states.error();
    std::vector<std::string> pending;
    std::vector<bool> has_row;
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto& s = (*states)[i];
      if (s && s->active && s->domain_active) {
        w.mailboxes.push_back(*s);
      } else if (s && !s->domain_active) {
        // A disabled domain takes no mail: a dead end, as in the aliases table.
      } else {
        pending.push_back(batch[i]);
        has_row.push_back(s.has_value());
      }
    }
    if (pending.empty()) break;
    auto subs = store.FindSubscribers(pending, 'I');
    if (!subs) return subs.error();
    std::vector<std::string> catch_all_keys;
    std::vector<bool> catch_all_has_row;
    for (size_t i = 0; i < pending.size(); ++i) {
      if (!(*subs)[i].empty()) {
        frontier.insert(frontier.end(), (*subs)[i].begin(), (*subs)[i].end());
      } else if (catch_alls) {
        catch_all_keys.push_back("@" + DomainOfKey(pending[i]));
        catch_all_has_row.push_back(has_row[i]);
      } else if (!has_row[i]) {
        w.elsewhere = true;  // not a mailbox here, and catch-alls are not followed
      }
    }
    if (catch_all_keys.empty()) continue;
    auto caught = store.FindSubscribers(catch_all_keys, 'I');
    if (!caught) return caught.error();
    for (size_t i = 0; i < catch_all_keys.size(); ++i) {
      if (!(*caught)[i].empty()) {
        frontier.insert(frontier.end(), (*caught)[i].begin(), (*caught)[i].end());
      } else if (!catch_all_has_row[i]) {
        // Not a mailbox here and nothing catches it: another server's
        // address (or one Postfix will bounce): it can take the mail.
        w.elsewhere = true;
      }
      // A disabled mailbox nothing catches gets nothing: it does not count.
    }
  }
  return w;
}

Result<RecipientTargets> Service::Targets(const RecipientKeys& keys, std::unique_ptr<DbPool::Lease>* lease) {
  std::string cache_key = AsciiLower(keys.full);
  if (auto hit = targets_cache_.Get(cache_key)) return *hit;
  PolicyStore store = StoreOf(lease);
  auto t = Resolve(store, keys);
  if (t) targets_cache_.Put(cache_key, *t);
  return t;
}

namespace {

const PolicyAnswer kDunno{"DUNNO", "", false};

// The relay check without the database: no proof, so no OK; but not a "no"
// either: the reject_unauth_destination that follows becomes a 450, and the
// roaming user's client tries again later.
constexpr char kRelayUnknown[] = "DEFER_IF_REJECT 4.3.0 Temporary lookup failure";

}  // namespace

std::vector<IpRange> Service::RelayRangesOf(const std::string& client_address) const {
  auto packed = PackIp(client_address);
  if (!packed) return {};
  // The login addresses that count for this client: its network, or, for a
  // client behind a NAT64 translator, the IPv4 address it carries.
  return RelayRanges(*packed, settings_.relay_ipv4_prefix, settings_.relay_ipv6_prefix,
                     settings_.relay_nat64_prefixes);
}

PolicyAnswer Service::CheckRelay(const PolicyRequest& request, std::unique_ptr<DbPool::Lease>* lease) {
  // An authenticated client is Postfix's business (permit_sasl_authenticated).
  if (!request.sasl_username.empty()) return kDunno;
  std::vector<IpRange> ranges = RelayRangesOf(request.client_address);
  if (ranges.empty()) return kDunno;
  std::string cache_key;
  for (const IpRange& r : ranges) cache_key += r.low + r.high;
  // Only refusals are cached: every OK is the database's answer of now, so a
  // mailbox or domain disabled, or a database gone, stops relaying at once.
  if (relay_refused_cache_.Get(cache_key)) return kDunno;
  PolicyStore store = StoreOf(lease);
  auto recent = store.LoggedInFrom(ranges, settings_.relay_window);
  if (!recent)
    return {kRelayUnknown, "relay check for " + Shown(request.client_address) + " failed: " + recent.error().message,
            true};
  if (!*recent) {
    relay_refused_cache_.Put(cache_key, true);
    return kDunno;
  }
  return {"OK", "relay permitted: client " + Shown(request.client_address) + " logged in lately, recipient <" +
                    Shown(request.recipient) + ">"};
}

bool Service::IsOutboundCheck(const PolicyRequest& request) const {
  if (request.request != "smtpd_access_policy") return false;
  // At DATA unless the request is for another check; at END-OF-MESSAGE only
  // when asked for by name, so the quota check's END-OF-MESSAGE request
  // never counts a message a second time.
  if (request.protocol_state == "DATA")
    return request.policy_context != "quota" && request.policy_context != "relay";
  return request.protocol_state == "END-OF-MESSAGE" && request.policy_context == "outbound";
}

std::optional<PolicyAnswer> Service::DecideOrQueue(const PolicyRequest& request,
                                                   std::function<void(PolicyAnswer)> later) {
  try {
    if (IsOutboundCheck(request)) return CheckOutbound(request, &later);
  } catch (const std::exception& e) {
    return PolicyAnswer{"DUNNO", std::string("internal error: ") + e.what(), true};
  } catch (...) {
    return PolicyAnswer{"DUNNO", "internal error", true};
  }
  return Decide(request);
}

PolicyAnswer Service::Decide(const PolicyRequest& request) {
  try {
    if (request.request != "smtpd_access_policy") return kDunno;
    bool at_rcpt = request.protocol_state == "RCPT";
    if (IsOutboundCheck(request)) return *CheckOutbound(request);
    if (request.protocol_state == "DATA") return kDunno;
    if (!at_rcpt && request.protocol_state != "END-OF-MESSAGE") return kDunno;
    if (request.policy_context == "outbound") return kDunno;
    if (request.recipient.empty()) return kDunno;  // END-OF-MESSAGE of mail to several recipients
    bool quota_wanted = request.policy_context != "relay";
    bool relay_wanted = at_rcpt && request.policy_context != "quota";
    auto keys = KeysOf(request.recipient, settings_.address_options);
    if (!keys) return kDunno;  // not an address roster could hold; Postfix decides

    std::unique_ptr<DbPool::Lease> lease;
    if (!quota_wanted) {
      // The relay check needs only to know whether the domain is ours.
      if (!relay_wanted) return kDunno;
      std::optional<bool> local = domain_cache_.Get(keys->address.domain);
      if (!local) {
        PolicyStore store = StoreOf(&lease);
        auto domain = store.FindRecipient(keys->address.domain, {});
        if (!domain) return {kRelayUnknown, "relay check: database unavailable: " + domain.error().message, true};
        local = domain->domain_exists;
        domain_cache_.Put(keys->address.domain, *local);
      }
      return *local ? kDunno : CheckRelay(request, &lease);
    }
    auto targets = Targets(*keys, &lease);
    if (!targets)
      return {settings_.db_failure_action,
              "recipient <" + Shown(keys->full) + ">: database unavailable: " + targets.error().message, true};
    if (!targets->local_domain) return relay_wanted ? CheckRelay(request, &lease) : kDunno;
    if (!targets->domain_active) return kDunno;
    if (!AllOverQuota(*targets, request.size)) return kDunno;
    return {settings_.OverQuotaReply(),
            "over quota: recipient <" + Shown(keys->full) + ">, size " + std::to_string(request.size) + ", client " +
                Shown(request.client_address) + ", state " + Shown(request.protocol_state)};
  } catch (const std::exception& e) {
    return {"DUNNO", std::string("internal error: ") + e.what(), true};
  } catch (...) {
    return {"DUNNO", "internal error", true};
  }
}

}  // namespace roster
