// config.cc: see config.h.
#include "common/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <set>

#include "common/units.h"

namespace roster {
namespace {

const ConfigKey* FindKey(const std::vector<ConfigKey>& keys, std::string_view name) {
  for (const ConfigKey& k : keys)
    if (name == k.name) return &k;
  return nullptr;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsKeyChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

Status CheckValue(const ConfigKey& key, std::string_view value) {
  switch (key.type) {
    case ConfigType::kString:
    case ConfigType::kList: return Status::Ok();
    case ConfigType::kInt: return ParseInt(value).status();
    case ConfigType::kBool: return ParseBool(value).status();
    case ConfigType::kSize: return ParseSize(value).status();
    case ConfigType::kDuration: return ParseDuration(value).status();
  }
  return Status::Ok();
}

std::string DirName(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// People's accounts, as Debian's adduser gives them (FIRST_UID..LAST_UID);
// system accounts (adduser --system) and nobody lie outside.
bool IsPersonUid(uid_t uid) { return uid >= 1000 && uid <= 59999; }

// Why a file, or a directory on its way from "/", lets a user other than
// this process's (or root) read or change it: "" if none does. A directory
// others may write lets them swap the file, unless its sticky bit keeps them
// to their own entries (as /tmp's does). Root may also read what it gave to a
// system account: roster-policyd starts as root and reads its secret again,
// as its own user, at every reload.
std::string Exposure(const struct stat& st, const std::string& what) {
  uid_t me = geteuid();
  bool trusted_owner = st.st_uid == me || st.st_uid == 0 || (me == 0 && !IsPersonUid(st.st_uid));
  if (!trusted_owner)
    return what + " is owned by uid " + std::to_string(st.st_uid) +
           (me == 0 ? ", a person's account" : ", neither root nor this process's user");
  if (S_ISDIR(st.st_mode)) {
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0)
      return what + " may be written by group or other";
    return "";
  }
  if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) return what + " may be read by group or other";
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) return what + " may be written by group or other";
  return "";
}

std::string DirectoriesExposure(const std::string& path) {
  char* real = realpath(path.c_str(), nullptr);
  if (real == nullptr) return "cannot resolve " + path + ": " + std::strerror(errno);
  std::string dir(real);
  free(real);
  for (;;) {
    size_t slash = dir.rfind('/');
    dir = slash == 0 || slash == std::string::npos ? "/" : dir.substr(0, slash);
    struct stat st;
    if (stat(dir.c_str(), &st) != 0) return "cannot stat " + dir + ": " + std::strerror(errno);
    std::string why = Exposure(st, "its directory " + dir);
    if (!why.empty() || dir == "/") return why;
  }
}

Result<std::string> ReadFileBounded(const std::string& path, std::string* exposed) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int e = errno;
    std::string msg = path + ": " + std::strerror(e);
    if (e == ENOENT) return Error::NotFound(msg);
    if (e == EACCES || e == EPERM) return Error::Permanent(msg);
    return Error::Invalid(msg);
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Error::Invalid(path + ": not a regular file");
  }
  *exposed = Exposure(st, "the file");
  if (exposed->empty()) *exposed = DirectoriesExposure(path);
  if (static_cast<uint64_t>(st.st_size) > Config::kMaxFileBytes) {
    close(fd);
    return Error::Invalid(path + ": larger than " + std::to_string(Config::kMaxFileBytes) + " bytes");
  }
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      return Error::Invalid(path + ": " + std::strerror(e));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > Config::kMaxFileBytes) {
      close(fd);
      return Error::Invalid(path + ": larger than " + std::to_string(Config::kMaxFileBytes) + " bytes");
    }
  }
  close(fd);
  return text;
}

struct Parser {
  const std::vector<ConfigKey>& keys;
  const IncludeReader& reader;
  struct Setting {
    std::string value, file;
    int line;
  };
  std::map<std::string, Setting, std::less<>> values;
  std::vector<std::string> include_stack;

  // exposed: why the file is not private to this process ("" if it is).
  Status Parse(std::string_view text, const std::string& name, const std::string& exposed, int depth) {
    if (text.size() > Config::kMaxFileBytes)
      return Error::Invalid(name + ": larger than " + std::to_string(Config::kMaxFileBytes) + " bytes");
    int line_no = 0;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      std::string_view line = text.substr(pos, end - pos);
      pos = end + 1;
      ++line_no;
      std::string where = name + ":" + std::to_string(line_no) + ": ";
      if (line.size() > Config::kMaxLineBytes)
        return Error::Invalid(where + "line longer than " + std::to_string(Config::kMaxLineBytes) + " bytes");
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      for (char c : line) {
        unsigned char u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f) return Error::Invalid(where + "control character in line");
      }
      line = Trim(line);
      if (line.empty() || line[0] == '#') continue;
      if (line[0] == '!') {
        ROSTER_TRY(Include(line, name, where, depth));
        continue;
      }
      auto eq = line.find('=');
      if (eq == std::string_view::npos) return Error::Invalid(where + "expected 'key = value'");
      std::string_view key = Trim(line.substr(0, eq));
      std::string_view value = Trim(line.substr(eq + 1));
      if (key.empty()) return Error::Invalid(where + "missing key before '='");
      for (char c : key)
        if (!IsKeyChar(c)) return Error::Invalid(where + "invalid key name '" + std::string(key.substr(0, 64)) + "'");
      const ConfigKey* k = FindKey(keys, key);
      if (k == nullptr) return Error::Invalid(where + "unknown key '" + std::string(key) + "'");
      if (k->secret && !exposed.empty())
        return Error::Invalid(where + "secret '" + std::string(key) + "' is in a file that is not private (" +
                              exposed + "): keep secrets in a file of their own, mode 0600, owned by the user "
                              "that reads it, in a directory only root can change, and !include that file");
      auto previous = values.find(key);
      if (previous != values.end())
        return Error::Invalid(where + "'" + std::string(key) + "' is already set at " + previous->second.file + ":" +
                              std::to_string(previous->second.line));
      Status valid = CheckValue(*k, value);
      if (!valid.ok()) return Error::Invalid(where + std::string(key) + ": " + valid.error().message);
      values.emplace(std::string(key), Setting{std::string(value), name, line_no});
    }
    return Status::Ok();
  }

  Status Include(std::string_view line, const std::string& name, const std::string& where, int depth) {
    bool optional;
    std::string_view rest;
    if (line.substr(0, 13) == "!include_try " || line.substr(0, 13) == "!include_try\t") {
      optional = true;
      rest = line.substr(13);
    } else if (line.substr(0, 9) == "!include " || line.substr(0, 9) == "!include\t") {
      optional = false;
      rest = line.substr(9);
    } else {
      return Error::Invalid(where + "unknown directive (expected !include or !include_try)");
    }
    std::string path(Trim(rest));
    if (path.empty()) return Error::Invalid(where + "!include needs a path");
    if (path[0] != '/') path = DirName(name) + "/" + path;
    if (depth + 1 > Config::kMaxIncludeDepth) return Error::Invalid(where + "includes nested too deeply");
    for (const std::string& open_file : include_stack)
      if (open_file == path) return Error::Invalid(where + "include loop through " + path);
    std::string exposed;
    auto text = reader(path, &exposed);
    if (!text) {
      // !include_try skips a file that is missing or that this process may not
      // read: one roster.conf serves processes that each read only their own
      // secrets (the dict service's user cannot read root's secrets file).
      if (optional && (text.error().is_not_found() || text.error().kind == ErrorKind::kPermanent))
        return Status::Ok();
      return Error::Invalid(where + "cannot include: " + text.error().message);
    }
    include_stack.push_back(path);
    Status s = Parse(*text, path, exposed, depth + 1);
    include_stack.pop_back();
    return s;
  }
};

}  // namespace

std::vector<std::string> SplitConfigList(std::string_view value) {
  std::vector<std::string> out;
  std::string word;
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == ',') {
      if (!word.empty()) out.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

Result<Config> Config::ParseText(std::string_view text, const std::string& name, const std::vector<ConfigKey>& keys,
                                 const IncludeReader& reader) {
  return LoadWith(text, name, "the main text", keys, reader);
}

Result<Config> Config::LoadFile(const std::string& path) { return LoadFile(path, RosterConfigKeys()); }

Result<Config> Config::LoadFile(const std::string& path, const std::vector<ConfigKey>& keys) {
  std::string exposed;
  auto text = ReadFileBounded(path, &exposed);
  if (!text) return text.error();
  return LoadWith(*text, path, exposed, keys, ReadFileBounded);
}

Result<Config> Config::LoadWith(std::string_view text, const std::string& name, const std::string& exposed,
                                const std::vector<ConfigKey>& keys, const IncludeReader& reader) {
  Parser parser{keys, reader, {}, {name}};
  ROSTER_TRY(parser.Parse(text, name, exposed, 0));
  Config config;
  for (const ConfigKey& k : keys) config.values_[k.name] = Entry{k.default_value ? k.default_value : "", "default", 0};
  for (auto& [key, setting] : parser.values)
    config.values_[key] = Entry{std::move(setting.value), std::move(setting.file), setting.line};
  return config;
}

const Config::Entry& Config::Lookup(std::string_view key) const {
  auto it = values_.find(key);
  assert(it != values_.end() && "config key missing from the key table");
  if (it == values_.end()) {
    static const Entry kEmpty{};
    return kEmpty;
  }
  return it->second;
}

const std::string& Config::GetString(std::string_view key) const { return Lookup(key).value; }

int64_t Config::GetInt(std::string_view key) const {
  auto r = ParseInt(Lookup(key).value);
  return r ? *r : 0;
}

bool Config::GetBool(std::string_view key) const {
  auto r = ParseBool(Lookup(key).value);
  return r ? *r : false;
}

uint64_t Config::GetSize(std::string_view key) const {
  auto r = ParseSize(Lookup(key).value);
  return r ? *r : 0;
}

std::chrono::milliseconds Config::GetDuration(std::string_view key) const {
  auto r = ParseDuration(Lookup(key).value);
  return r ? *r : std::chrono::milliseconds(0);
}

std::vector<std::string> Config::GetList(std::string_view key) const { return SplitConfigList(Lookup(key).value); }

bool Config::IsSet(std::string_view key) const { return Lookup(key).line > 0; }

std::string Config::Origin(std::string_view key) const {
  const Entry& e = Lookup(key);
  if (e.line == 0) return "default";
  return e.file + ":" + std::to_string(e.line);
}

}  // namespace roster
