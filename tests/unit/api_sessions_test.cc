// api_sessions_test.cc: roster-apid's sign-in sessions (api/sessions.h):
// the token's form, idle and absolute timeouts, the bound on their number
// (the one idle the longest goes), sign-out, and that a session gives back
// the account it was made for; and its settings (api/settings.h): the listen forms and bounds.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "api/sessions.h"
#include "api/settings.h"
#include "common/config.h"

namespace roster {
namespace {

using ops::SessionAccount;

SessionAccount Admin(uint64_t id) { return SessionAccount{SessionAccount::Kind::kAdmin, id, 0}; }
SessionAccount Mailbox(uint64_t id) { return SessionAccount{SessionAccount::Kind::kMailbox, id, 0}; }

TEST(ApiSessions, TokensAreRandomAndLookedUpOnlyAsIssued) {
  SessionStore store(SessionLimits{10, std::chrono::seconds(60), std::chrono::seconds(600)});
  auto a = store.Create(Admin(1), 1000);
  auto b = store.Create(Admin(1), 1000);
  EXPECT_NE(a.token, b.token);
  EXPECT_EQ(a.token.size(), 46u);
  EXPECT_TRUE(SessionStore::LooksLikeToken(a.token));
  EXPECT_EQ(a.expires_at, 1600);
  auto found = store.Use(a.token, 1001);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->account.id, 1u);
  std::string wrong = a.token;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(store.Use(wrong, 1001));
  EXPECT_FALSE(store.Use("rk_abc", 1001));
  EXPECT_FALSE(store.Use(a.token.substr(0, 45), 1001));
  EXPECT_TRUE(store.End(a.token));
  EXPECT_FALSE(store.End(a.token));
  EXPECT_FALSE(store.Use(a.token, 1002));
  EXPECT_TRUE(store.Use(b.token, 1002));
}

// A cookie session has a CSRF token of its own (random, not the session
// token); a bearer session has none. The comparison wants the whole token.
TEST(ApiSessions, CookieSessionsCarryACsrfToken) {
  SessionStore store(SessionLimits{10, std::chrono::seconds(60), std::chrono::seconds(600)});
  auto bearer = store.Create(Admin(1), 1000);
  EXPECT_EQ(bearer.csrf, "");
  auto cookie = store.Create(Mailbox(2), 1000, true);
  auto other = store.Create(Mailbox(2), 1000, true);
  EXPECT_EQ(cookie.csrf.size(), 43u);
  EXPECT_NE(cookie.csrf, other.csrf);
  EXPECT_EQ(cookie.csrf.find(cookie.token.substr(3)), std::string::npos);
  auto found = store.Use(cookie.token, 1001);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->csrf, cookie.csrf);
  EXPECT_EQ(store.Use(bearer.token, 1001)->csrf, "");
  EXPECT_TRUE(SessionStore::CsrfMatches(cookie.csrf, cookie.csrf));
  EXPECT_FALSE(SessionStore::CsrfMatches(cookie.csrf, other.csrf));
  EXPECT_FALSE(SessionStore::CsrfMatches(cookie.csrf, cookie.csrf.substr(0, 42)));
  EXPECT_FALSE(SessionStore::CsrfMatches(cookie.csrf, cookie.csrf + "x"));
  EXPECT_FALSE(SessionStore::CsrfMatches(cookie.csrf, ""));
  EXPECT_FALSE(SessionStore::CsrfMatches("", ""));  // a bearer session has none to match
}

TEST(ApiSessions, IdleAndAbsoluteTimeouts) {
  SessionStore store(SessionLimits{10, std::chrono::seconds(60), std::chrono::seconds(150)});
  auto s = store.Create(Mailbox(7), 0);
  EXPECT_TRUE(store.Use(s.token, 59));   // each use restarts the idle clock
  EXPECT_TRUE(store.Use(s.token, 118));
  EXPECT_FALSE(store.Use(s.token, 150));  // the absolute end, however busy
  auto idle = store.Create(Mailbox(7), 0);
  EXPECT_FALSE(store.Use(idle.token, 60));
  EXPECT_EQ(store.size(), 0u);
}

TEST(ApiSessions, BoundedTheOneIdleTheLongestGoes) {
  SessionStore store(SessionLimits{3, std::chrono::seconds(600), std::chrono::seconds(6000)});
  auto a = store.Create(Admin(1), 0);
  auto b = store.Create(Admin(2), 1);
  auto c = store.Create(Admin(3), 2);
  ASSERT_TRUE(store.Use(a.token, 3));  // b is now the one idle the longest
  auto d = store.Create(Admin(4), 4);
  EXPECT_EQ(store.size(), 3u);
  EXPECT_TRUE(store.Use(a.token, 5));
  EXPECT_FALSE(store.Use(b.token, 5));
  EXPECT_TRUE(store.Use(c.token, 5));
  EXPECT_TRUE(store.Use(d.token, 5));
  store.SetLimits(SessionLimits{1, std::chrono::seconds(600), std::chrono::seconds(6000)});
  store.Create(Admin(5), 6);
  EXPECT_EQ(store.size(), 1u);
}

TEST(ApiSessions, ASessionGivesBackItsAccount) {
  SessionStore store(SessionLimits{10, std::chrono::seconds(600), std::chrono::seconds(6000)});
  auto admin = store.Create(SessionAccount{SessionAccount::Kind::kAdmin, 5, 3}, 0);
  auto user = store.Create(SessionAccount{SessionAccount::Kind::kMailbox, 5, 9}, 0);
  auto a = store.Use(admin.token, 1);
  auto u = store.Use(user.token, 1);
  ASSERT_TRUE(a && u);
  EXPECT_EQ(a->account.kind, SessionAccount::Kind::kAdmin);
  EXPECT_EQ(a->account.version, 3u);
  EXPECT_EQ(u->account.kind, SessionAccount::Kind::kMailbox);
  EXPECT_EQ(u->account.id, 5u);
  EXPECT_EQ(u->account.version, 9u);
}

TEST(ApiSettings, ListenForms) {
  auto u = ParseApiListen("unix:/run/roster-apid/api");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->unix_path, "/run/roster-apid/api");
  auto v4 = ParseApiListen("127.0.0.1:8080");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->address, "127.0.0.1");
  EXPECT_EQ(v4->port, 8080);
  auto v6 = ParseApiListen("[::1]:8443");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->address, "::1");
  EXPECT_EQ(v6->port, 8443);
  for (const char* bad : {"unix:relative", "localhost:80", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "::1:80",
                          "[::1]80", "inet:127.0.0.1:80", ""})
    EXPECT_FALSE(ParseApiListen(bad).ok()) << bad;
}

Result<ApiSettings> Settings(const std::string& text) {
  auto config = Config::ParseText(text, "test.conf", RosterConfigKeys(),
                                  [](const std::string&, std::string*) -> Result<std::string> {
                                    return Error::NotFound("no includes");
                                  });
  if (!config) return config.error();
  return ApiSettings::FromConfig(*config, "test.conf");
}

TEST(ApiSettings, DefaultsAndBounds) {
  auto s = Settings("");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->listen.unix_path, "/run/roster-apid/api");
  EXPECT_EQ(s->listen.unix_mode, 0660u);
  EXPECT_EQ(s->http.threads, 4u);
  EXPECT_EQ(s->http.max_body, 1u << 20);
  EXPECT_EQ(s->db.user, "roster_api");
  EXPECT_TRUE(s->http.tls_cert_file.empty());
  EXPECT_EQ(s->web_root, ROSTER_WEBDIR);  // the installed pages
  EXPECT_TRUE(s->cookie_secure);
  auto w = Settings("api_web_root =\napi_cookie_secure = no\n");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->web_root, "");  // no pages
  EXPECT_FALSE(w->cookie_secure);
  auto p = Settings("api_trusted_proxies = 127.0.0.1 ::1 uid:33 user:root\n");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->http.trusted_proxies.size(), 2u);
  EXPECT_EQ(p->http.trusted_proxy_uids, (std::vector<uid_t>{33, 0}));
  for (const char* bad : {"api_threads = 0\n", "api_threads = 257\n", "api_max_body = 100\n",
                          "api_max_headers = 2\n", "api_request_timeout = 10ms\n", "api_session_idle = 10s\n",
                          "api_tls_cert = /x.pem\n", "api_trusted_proxies = example.org\n",
                          "api_trusted_proxies = user:no-such-user-here\n", "api_socket_mode = 999\n",
                          "api_log = file\n", "api_listen = 10.0.0.1\n", "api_web_root = web\n"}) {
    EXPECT_FALSE(Settings(bad).ok()) << bad;
  }
  // The session's idle time and the per-request limits are reloadable.
  auto a = Settings(""), b = Settings("api_max_body = 2M\napi_session_idle = 1h\napi_max_headers = 10\n"
                                      "api_request_timeout = 5s\napi_threads = 8\n");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(FixedChanges(*a, *b), "api_threads");
}

}  // namespace
}  // namespace roster
