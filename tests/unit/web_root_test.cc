// web_root_test.cc: the pages' in-memory table (api/web_root.h) on a real
// directory: what is read (regular files of known types under good names)
// and what never is (symbolic links to files and directories, hidden files,
// other names, unknown types, FIFOs, deep trees), the bounds, lookups by
// segments only (no path is made from them), content types, ETags and 304.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "api/web_root.h"

namespace roster {
namespace {

class WebRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/roster-web-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    outside_ = dir_ + "-outside";
    ASSERT_EQ(mkdir(outside_.c_str(), 0755), 0);
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "' '" + outside_ + "'";
    ASSERT_EQ(system(cmd.c_str()), 0);
  }
  void Write(const std::string& rel, const std::string& text, const std::string& base = "") {
    std::ofstream out((base.empty() ? dir_ : base) + "/" + rel, std::ios::binary);
    out << text;
  }
  void Mkdir(const std::string& rel) { ASSERT_EQ(mkdir((dir_ + "/" + rel).c_str(), 0755), 0); }

  static HttpRequest Get(std::vector<std::string> segments, const std::string& if_none_match = "") {
    HttpRequest r;
    r.method = "GET";
    r.segments = std::move(segments);
    if (!if_none_match.empty()) r.headers.emplace_back("if-none-match", if_none_match);
    return r;
  }

  std::string dir_, outside_;
};

TEST_F(WebRootTest, ReadsRegularFilesOfKnownTypesOnly) {
  Write("index.html", "<!doctype html>");
  Write("app.css", "body{}");
  Write("favicon.ico", "ico");
  Write("notes.md", "not served");
  Write(".hidden.js", "hidden");
  Write("we ird.js", "space");
  Mkdir("app");
  Write("app/main.js", "export {}");
  Mkdir("i18n");
  Write("i18n/zh-CN.json", "{}");
  Write("secret.txt", "outside", outside_);
  ASSERT_EQ(symlink((outside_ + "/secret.txt").c_str(), (dir_ + "/link.txt").c_str()), 0);
  ASSERT_EQ(symlink(outside_.c_str(), (dir_ + "/linkdir").c_str()), 0);
  ASSERT_EQ(symlink((dir_ + "/index.html").c_str(), (dir_ + "/app/index.html").c_str()), 0);
  ASSERT_EQ(mkfifo((dir_ + "/fifo.js").c_str(), 0644), 0);
  Mkdir("a");
  Mkdir("a/b");
  Mkdir("a/b/c");
  Mkdir("a/b/c/d");
  Write("a/b/c/ok.js", "3 deep");
  Write("a/b/c/d/deep.js", "4 deep");

  std::vector<std::string> skipped;
  auto root = WebRoot::Load(dir_, &skipped);
  ASSERT_TRUE(root.ok()) << root.error().message;
  EXPECT_EQ(root->files(), 6u);  // index.html app.css favicon.ico app/main.js i18n/zh-CN.json a/b/c/ok.js
  ASSERT_NE(root->Find({}), nullptr);
  EXPECT_EQ(root->Find({})->body, "<!doctype html>");
  EXPECT_STREQ(root->Find({"index.html"})->content_type, "text/html; charset=utf-8");
  EXPECT_STREQ(root->Find({"app", "main.js"})->content_type, "text/javascript; charset=utf-8");
  EXPECT_STREQ(root->Find({"app.css"})->content_type, "text/css; charset=utf-8");
  EXPECT_STREQ(root->Find({"i18n", "zh-CN.json"})->content_type, "application/json; charset=utf-8");
  EXPECT_STREQ(root->Find({"favicon.ico"})->content_type, "image/x-icon");
  EXPECT_NE(root->Find({"a", "b", "c", "ok.js"}), nullptr);
  for (const std::vector<std::string>& never :
       std::vector<std::vector<std::string>>{{"notes.md"}, {".hidden.js"}, {"we ird.js"}, {"link.txt"},
                                             {"linkdir", "secret.txt"}, {"app", "index.html"}, {"fifo.js"},
                                             {"a", "b", "c", "d", "deep.js"}, {"app"}, {"..", "index.html"},
                                             {"app", "..", "index.html"}, {"app/main.js"}, {"app\\main.js"},
                                             {std::string("index.html\0x", 12)}, {std::string(200, 'a') + ".js"}}) {
    EXPECT_EQ(root->Find(never), nullptr) << never.back();
  }
  std::string all;
  for (const std::string& s : skipped) all += s + "\n";
  for (const char* why : {"link.txt: a symbolic link", "linkdir: a symbolic link", "app/index.html: a symbolic link",
                          "fifo.js: not a regular file", "notes.md: not a type served", "a/b/c/d/: deeper"}) {
    EXPECT_NE(all.find(why), std::string::npos) << why << " in\n" << all;
  }
}

TEST_F(WebRootTest, ETagAnd304AndPlain404) {
  Write("index.html", "hello");
  auto root = WebRoot::Load(dir_);
  ASSERT_TRUE(root.ok()) << root.error().message;
  HttpResponse r = root->Answer(Get({}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
  std::string etag;
  for (const auto& [name, value] : r.headers)
    if (name == "ETag") etag = value;
  EXPECT_EQ(etag, ETagFor("hello"));
  HttpResponse again = root->Answer(Get({"index.html"}, etag));
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(again.body, "");
  EXPECT_EQ(root->Answer(Get({"index.html"}, "\"other\"")).status, 200);
  HttpResponse missing = root->Answer(Get({"nothing.js"}));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(missing.body, "not found\n");
}

TEST_F(WebRootTest, RefusedRoots) {
  EXPECT_FALSE(WebRoot::Load("relative/web").ok());
  EXPECT_FALSE(WebRoot::Load(dir_ + "/none").ok());
  EXPECT_FALSE(WebRoot::Load(dir_).ok());  // no index.html
  ASSERT_EQ(symlink((outside_ + "/index.html").c_str(), (dir_ + "/index.html").c_str()), 0);
  Write("index.html", "x", outside_);
  EXPECT_FALSE(WebRoot::Load(dir_).ok());  // index.html only as a link
  // The root itself may be a link (an administrator's choice of directory).
  ASSERT_EQ(symlink(outside_.c_str(), (dir_ + "/root").c_str()), 0);
  EXPECT_TRUE(WebRoot::Load(dir_ + "/root").ok());
  // Bounds: one file past its bound fails the whole load.
  Write("big.js", std::string(WebRoot::kMaxFileBytes + 1, 'x'), outside_);
  auto big = WebRoot::Load(outside_);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("big.js: larger than"), std::string::npos) << big.error().message;
}

}  // namespace
}  // namespace roster
