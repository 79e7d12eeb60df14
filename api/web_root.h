// web_root.h: the web pages roster-apid serves (doc/web.md), read once from
// the directory `api_web_root` into memory at start and on SIGHUP, and looked
// up by a request's decoded path segments in that table. No path is ever made
// from a URL: a request names a key of the table or nothing.
//
// What is read: regular files only (a symbolic link, whether to a file or a
// directory, a device, a socket or a FIFO is skipped, and so is anything not
// reached by walking real directories from the root, each opened with
// O_NOFOLLOW), whose every path component is [A-Za-z0-9._-]+ and does not start
// with '.', with a known extension that fixes its content type (.html .js
// .css .json .svg .png .ico .txt), at most kMaxDepth directories deep; at most
// kMaxFiles files, kMaxFileBytes each and kMaxTotalBytes in all (past a bound
// the load fails as a whole). What is skipped is reported, for the log.
//
// Thread-safe once made: the table is immutable (roster-apid swaps a whole
// new one in on reload).
//
// Trusts: the directory's owner (its files are served to anyone who asks);
// nothing in a request.
#ifndef ROSTER_API_WEB_ROOT_H
#define ROSTER_API_WEB_ROOT_H

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_server.h"
#include "common/result.h"

namespace roster {

struct WebFile {
  std::string body;
  const char* content_type = "";
  std::string etag;  // ETagFor(body)
};

class WebRoot {
 public:
  static constexpr size_t kMaxDepth = 4;
  static constexpr size_t kMaxFiles = 1000;
  static constexpr size_t kMaxFileBytes = 4u << 20;
  static constexpr size_t kMaxTotalBytes = 32u << 20;
  static constexpr size_t kMaxName = 128;

  // An empty table (no pages).
  WebRoot() = default;

  // Reads `dir` (absolute). kInvalid: not an absolute path, not a directory
  // (a symbolic link to one included), unreadable, past a bound, or without
  // index.html. `skipped` (if given) gets one line per entry left out and why.
  static Result<WebRoot> Load(const std::string& dir, std::vector<std::string>* skipped = nullptr);

  // The file for a request's path segments ({} is "/", which is index.html),
  // or nullptr.
  const WebFile* Find(const std::vector<std::string>& segments) const;

  // The content type of a file name by its extension, or nullptr if it is
  // not one served.
  static const char* ContentTypeOf(std::string_view name);
  // Whether `name` is a path component the table may hold.
  static bool GoodName(std::string_view name);

  size_t files() const { return files_.size(); }
  size_t bytes() const { return bytes_; }
  const std::string& dir() const { return dir_; }

  // The answer to GET/HEAD `request` (a 200 with the file and its ETag, a
  // 304 to a matching If-None-Match, or a plain-text 404).
  HttpResponse Answer(const HttpRequest& request) const;

 private:
  std::string dir_;
  std::map<std::string, WebFile, std::less<>> files_;  // "index.html", "app/main.js"
  size_t bytes_ = 0;
};

}  // namespace roster

#endif  // ROSTER_API_WEB_ROOT_H
