// web_root.cc: see web_root.h.
#include "api/web_root.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "common/text.h"

namespace roster {
namespace {

struct Type {
  const char* extension;
  const char* content_type;
};
constexpr Type kTypes[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
};

// A descriptor closed when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};

class Loader {
 public:
  Loader(std::map<std::string, WebFile, std::less<>>* files, size_t* bytes, std::vector<std::string>* skipped)
      : files_(files), bytes_(bytes), skipped_(skipped) {}

  // Reads the directory open at `fd` (taken over), whose files are named
  // `prefix` + their name.
  Status Walk(int fd, const std::string& prefix, size_t depth) {
    std::unique_ptr<DIR, DirCloser> dir(fdopendir(fd));
    if (!dir) {
      close(fd);
      return Error::Invalid(Where(prefix) + ": cannot be read: " + strerror(errno));
    }
    const int dfd = dirfd(dir.get());
    errno = 0;
    while (struct dirent* e = readdir(dir.get())) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      const std::string path = prefix + name;
      if (!WebRoot::GoodName(name)) {
        Skip(Shown(path, 200) + ": a name other than [A-Za-z0-9._-], or starting with '.'");
        continue;
      }
      struct stat st;
      if (fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        Skip(path + ": " + strerror(errno));
        continue;
      }
      if (S_ISLNK(st.st_mode)) {
        Skip(path + ": a symbolic link (never followed)");
      } else if (S_ISDIR(st.st_mode)) {
        if (depth + 1 >= WebRoot::kMaxDepth) {
          Skip(path + "/: deeper than " + std::to_string(WebRoot::kMaxDepth) + " levels");
          continue;
        }
        int sub = openat(dfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) {
          Skip(path + "/: " + strerror(errno));
          continue;
        }
        ROSTER_TRY(Walk(sub, path + "/", depth + 1));
      } else if (S_ISREG(st.st_mode)) {
        ROSTER_TRY(ReadFile(dfd, name, path));
      } else {
        Skip(path + ": not a regular file");
      }
      errno = 0;
    }
    if (errno != 0) return Error::Invalid(Where(prefix) + ": cannot be read: " + strerror(errno));
    return Status::Ok();
  }

 private:
  static std::string Where(const std::string& prefix) { return prefix.empty() ? "the web root" : prefix; }
  void Skip(std::string line) {
    if (skipped_) skipped_->push_back(std::move(line));
  }

  Status ReadFile(int dfd, const std::string& name, const std::string& path) {
    const char* type = WebRoot::ContentTypeOf(name);
    if (type == nullptr) {
      Skip(path + ": not a type served (.html .js .css .json .svg .png .ico .txt)");
      return Status::Ok();
    }
    // O_NOFOLLOW: a link put in its place since the fstatat is not followed;
    // O_NONBLOCK: a FIFO put there cannot block the open.
    Fd fd(openat(dfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() < 0) {
      Skip(path + ": " + strerror(errno));
      return Status::Ok();
    }
    struct stat st;
    if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      Skip(path + ": not a regular file");
      return Status::Ok();
    }
    if (files_->size() >= WebRoot::kMaxFiles)
      return Error::Invalid("more than " + std::to_string(WebRoot::kMaxFiles) + " files");
    if (static_cast<uint64_t>(st.st_size) > WebRoot::kMaxFileBytes)
      return Error::Invalid(path + ": larger than " + std::to_string(WebRoot::kMaxFileBytes) + " bytes");
    WebFile f;
    f.content_type = type;
    char buffer[16384];
    for (;;) {
      ssize_t n = read(fd.get(), buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Error::Invalid(path + ": " + strerror(errno));
      if (n == 0) break;
      f.body.append(buffer, static_cast<size_t>(n));
      // It may grow while being read: the bounds hold for what was read.
      if (f.body.size() > WebRoot::kMaxFileBytes)
        return Error::Invalid(path + ": larger than " + std::to_string(WebRoot::kMaxFileBytes) + " bytes");
    }
    *bytes_ += f.body.size();
    if (*bytes_ > WebRoot::kMaxTotalBytes)
      return Error::Invalid("more than " + std::to_string(WebRoot::kMaxTotalBytes) + " bytes in all");
    f.etag = ETagFor(f.body);
    (*files_)[path] = std::move(f);
    return Status::Ok();
  }

  std::map<std::string, WebFile, std::less<>>* files_;
  size_t* bytes_;
  std::vector<std::string>* skipped_;
};

}  // namespace

const char* WebRoot::ContentTypeOf(std::string_view name) {
  for (const Type& t : kTypes) {
    std::string_view ext = t.extension;
    if (name.size() > ext.size() && name.substr(name.size() - ext.size()) == ext) return t.content_type;
  }
  return nullptr;
}

bool WebRoot::GoodName(std::string_view name) {
  if (name.empty() || name.size() > kMaxName || name[0] == '.') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<WebRoot> WebRoot::Load(const std::string& dir, std::vector<std::string>* skipped) {
  if (dir.empty() || dir[0] != '/') return Error::Invalid("api_web_root must be an absolute path: " + Shown(dir));
  WebRoot root;
  root.dir_ = dir;
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error::Invalid("api_web_root " + Shown(dir) + ": " + strerror(errno));
  Loader loader(&root.files_, &root.bytes_, skipped);
  Status walked = loader.Walk(fd, "", 0);
  if (!walked) return Error::Invalid("api_web_root " + Shown(dir) + ": " + walked.error().message);
  if (root.files_.count("index.html") == 0)
    return Error::Invalid("api_web_root " + Shown(dir) + ": no index.html (a regular file, not a link)");
  return root;
}

const WebFile* WebRoot::Find(const std::vector<std::string>& segments) const {
  if (segments.empty()) return Find({"index.html"});
  if (segments.size() > kMaxDepth) return nullptr;
  std::string key;
  for (const std::string& s : segments) {
    // The request target's decoder refuses "..", "/" and NUL already; the
    // table's own rule is checked again so the key can only be one it holds.
    if (!GoodName(s)) return nullptr;
    key += (key.empty() ? "" : "/") + s;
  }
  auto it = files_.find(key);
  return it == files_.end() ? nullptr : &it->second;
}

HttpResponse WebRoot::Answer(const HttpRequest& request) const {
  const WebFile* f = Find(request.segments);
  if (f == nullptr) return HttpResponse{404, "not found\n", "text/plain; charset=utf-8", {}};
  // Revalidated at each use (cheap with the ETag): a reload's new pages are
  // seen at once.
  if (IfNoneMatchHits(request, f->etag))
    return HttpResponse{304, "", "", {{"ETag", f->etag}, {"Cache-Control", "no-cache"}}};
  return HttpResponse{200, f->body, f->content_type, {{"ETag", f->etag}, {"Cache-Control", "no-cache"}}};
}

}  // namespace roster
