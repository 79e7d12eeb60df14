// config.h: the one configuration parser every roster piece uses.
//
// Format (one setting per line):
//   # comment                      full-line comments only: values may hold '#'
//   key = value                    value trimmed; no quoting
//   !include /etc/roster/secrets.conf       relative paths: from the including file
//   !include_try /etc/roster/local.conf     as !include, silently skipped if absent
//
// Every key must be known (a typo is an error naming file:line), every value is
// checked against its type when the file is loaded, and a key marked secret may
// only come from a file that neither group nor other can read.
//
// Trusts: nothing in the files; sizes, line lengths and include depth are bounded.
#ifndef ROSTER_COMMON_CONFIG_H
#define ROSTER_COMMON_CONFIG_H

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace roster {

enum class ConfigType { kString, kInt, kBool, kSize, kDuration, kList };

struct ConfigKey {
  const char* name;
  ConfigType type;
  const char* default_value;
  bool secret;
  const char* help;
};

// Every key any roster piece understands (common/config_keys.cc).
const std::vector<ConfigKey>& RosterConfigKeys();

// Reads an included file: returns its text, or an error (kNotFound: no such
// file; kPermanent: this process may not read it; kInvalid: anything else);
// sets *exposed to why another user could read or change the file ("" if no
// one but this process's user and root can: only then may it hold secrets).
using IncludeReader = std::function<Result<std::string>(const std::string& path, std::string* exposed)>;

class Config {
 public:
  static constexpr size_t kMaxFileBytes = 1 << 20;
  static constexpr size_t kMaxLineBytes = 4096;
  static constexpr int kMaxIncludeDepth = 8;

  // Loads a file from disk with roster's key table.
  static Result<Config> LoadFile(const std::string& path);
  static Result<Config> LoadFile(const std::string& path, const std::vector<ConfigKey>& keys);
  // Parses text as if read from `name`; includes go through `reader` (tests, fuzzing).
  static Result<Config> ParseText(std::string_view text, const std::string& name,
                                  const std::vector<ConfigKey>& keys, const IncludeReader& reader);

  // Typed getters. The key must be in the table (checked by assert); the value was
  // validated when loading, so these cannot fail. Unset keys give the default.
  const std::string& GetString(std::string_view key) const;
  int64_t GetInt(std::string_view key) const;
  bool GetBool(std::string_view key) const;
  uint64_t GetSize(std::string_view key) const;
  std::chrono::milliseconds GetDuration(std::string_view key) const;
  // Whitespace- or comma-separated words.
  std::vector<std::string> GetList(std::string_view key) const;
  // True when a file set the key (not just the default).
  bool IsSet(std::string_view key) const;
  // "file:line" where the key was set, or "default".
  std::string Origin(std::string_view key) const;

 private:
  struct Entry {
    std::string value;
    std::string file;
    int line = 0;
  };
  const Entry& Lookup(std::string_view key) const;
  static Result<Config> LoadWith(std::string_view text, const std::string& name, const std::string& exposed,
                                 const std::vector<ConfigKey>& keys, const IncludeReader& reader);

  std::map<std::string, Entry, std::less<>> values_;
};

// Splits a list value the way Config::GetList does.
std::vector<std::string> SplitConfigList(std::string_view value);

}  // namespace roster

#endif
