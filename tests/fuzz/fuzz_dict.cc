// libFuzzer target: what roster's dict driver accepts from a dict client
// (quota/dict_keys.h), on arbitrary bytes. The input is lines: the first is
// the dict user ("-" for none), each other one a change "<s|u|i><key>\t<value>"
// (set, unset, increment by the value's number). Every change is checked
// alone and the lot as one commit, and every key is looked up. Beyond "no
// crash", it checks the promises: nothing accepted breaks a rule (a last
// login's protocol is a configured one, its time is not ahead of the clock
// by more than the allowed skew, a counter change has a number, keys and
// values within their bounds), and error texts stay short.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "quota/dict_keys.h"

namespace {

constexpr int64_t kNow = 1763683200;

void Verify(const roster::dict::CheckedChange& c, const roster::dict::DictRules& rules,
            const roster::dict::Change& raw) {
  using roster::dict::Target;
  if (!raw.key || raw.key->size() > roster::dict::kMaxKeyBytes) abort();
  if (c.target.address.empty() || c.target.address.size() > roster::dict::kMaxKeyBytes) abort();
  if (c.target.kind == Target::kLastLogin) {
    if (c.type != roster::dict::ChangeType::kSet) abort();
    bool known = false;
    for (const std::string& p : rules.protocols) known = known || p == c.login.protocol;
    if (!known) abort();
    if (c.login.time && (*c.login.time > kNow + roster::dict::kMaxClockAhead ||
                         *c.login.time < roster::dict::kMinLoginTime))
      abort();
  } else if (c.type != roster::dict::ChangeType::kUnset && !c.number) {
    abort();
  }
}

void VerifyError(const roster::Error& e) {
  if (e.message.empty() || e.message.size() > 2048) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines;
  for (size_t at = 0; at <= input.size() && lines.size() < 64;) {
    size_t end = input.find('\n', at);
    if (end == std::string::npos) end = input.size();
    lines.push_back(input.substr(at, end - at));
    at = end + 1;
  }
  if (lines.empty()) return 0;
  const char* user = lines[0] == "-" ? nullptr : lines[0].c_str();
  roster::dict::DictRules rules;
  rules.protocols = {"imap", "pop3", "submission"};
  rules.now = kNow;

  using roster::dict::ChangeType;
  std::vector<roster::dict::Change> changes;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.empty()) continue;
    ChangeType type = line[0] == 'u' ? ChangeType::kUnset : line[0] == 'i' ? ChangeType::kInc : ChangeType::kSet;
    size_t tab = line.find('\t');
    std::string key = line.substr(1, tab == std::string::npos ? std::string::npos : tab - 1);
    std::string value = tab == std::string::npos ? "" : line.substr(tab + 1);
    changes.push_back(roster::dict::Change{type, key, value, std::strtoll(value.c_str(), nullptr, 10)});
  }

  for (const roster::dict::Change& c : changes) {
    auto one = roster::dict::Check(c, user, rules);
    if (one)
      Verify(*one, rules, c);
    else
      VerifyError(one.error());
    auto target = roster::dict::ParseKey(*c.key, user);
    if (!target) VerifyError(target.error());
  }
  auto all = roster::dict::CheckAll(user, changes, rules);
  if (all) {
    if (all->size() != changes.size()) abort();
    for (size_t i = 0; i < changes.size(); ++i) Verify((*all)[i], rules, changes[i]);
  } else {
    VerifyError(all.error());
  }
  return 0;
}
