// Tests of outbound limits and the circuit breaker (common/outbound_counter.h, common/outbound_admin.h,
// policy/outbound.cc) against the private MariaDB: two Service objects, as
// two roster-policyd sharing one database, asked at once at the limit; the
// UTC windows; recipients per message and per day; the breaker tripping
// once, notifying once (a small SMTP sink in the test) and lifted by the
// real rosterctl; POP/IMAP-before-SMTP clients counted on the mailbox that
// logged in; the database down; absurd limits refused.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/config.h"
#include "policy/service.h"
#include "tests/db/mariadb_fixture.h"
#include "tests/db/stores.h"

namespace roster::test {
namespace {

const Actor kActor{"tester", "192.0.2.7"};

// A one-connection-at-a-time SMTP server on 127.0.0.1 that keeps each
// message's DATA.
class SmtpSink {
 public:
  SmtpSink() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    listen(fd_, 8);
    thread_ = std::thread([this] { Run(); });
  }
  ~SmtpSink() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  std::vector<std::string> messages() {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }

 private:
  void Run() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      auto say = [&](const std::string& s) { (void)!write(c, s.data(), s.size()); };
      say("220 sink ESMTP\r\n");
      std::string buf, data;
      bool in_data = false;
      char tmp[4096];
      for (;;) {
        ssize_t n = read(c, tmp, sizeof tmp);
        if (n <= 0) break;
        buf.append(tmp, static_cast<size_t>(n));
        size_t nl;
        bool quit = false;
        while ((nl = buf.find("\r\n")) != std::string::npos) {
          std::string line = buf.substr(0, nl);
          buf.erase(0, nl + 2);
          if (in_data) {
            if (line == ".") {
              in_data = false;
              std::lock_guard<std::mutex> lock(mu_);
              messages_.push_back(data);
              say("250 ok\r\n");
            } else {
              data += line + "\n";
            }
          } else if (line.rfind("DATA", 0) == 0) {
            in_data = true;
            data.clear();
            say("354 go\r\n");
          } else if (line.rfind("QUIT", 0) == 0) {
            say("221 bye\r\n");
            quit = true;
            break;
          } else {
            say("250 ok\r\n");
          }
        }
        if (quit) break;
      }
      close(c);
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> messages_;  // GUARDED_BY(mu_)
};

class OutboundTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MariaDb::Get().Truncate();
    admin_ = MariaDb::Get().Connect(DbRole::kAdmin);
    auto settings = PolicySettings::FromConfig(MariaDb::Get().config());
    ASSERT_TRUE(settings.ok()) << settings.error().message;
    settings_ = *settings;
    settings_.breaker_factor = 0;  // each test sets the breaker it wants
    settings_.threads = 1;
    Domain d;
    d.name = "here.test";
    ASSERT_TRUE(AdminStore(*admin_).AddDomain(d, kActor).ok());
    AddMailbox("user@here.test");
  }
  void AddMailbox(const std::string& address) {
    NewMailbox m;
    m.address = address;
    m.password_hash = "{PLAIN}x";
    ASSERT_TRUE(AdminStore(*admin_).AddMailbox(m, kActor).ok()) << address;
  }
  OutboundStores admin() { return OutboundStores(*admin_); }
  void SetLimits(const std::string& address, std::optional<uint64_t> hour, std::optional<uint64_t> day = {},
                 std::optional<uint64_t> per_message = {}, std::optional<uint64_t> rcpt_day = {}) {
    OutboundLimitChange c;
    if (hour) c.per_hour = std::optional<uint64_t>(*hour);
    if (day) c.per_day = std::optional<uint64_t>(*day);
    if (per_message) c.rcpt_per_message = std::optional<uint64_t>(*per_message);
    if (rcpt_day) c.rcpt_per_day = std::optional<uint64_t>(*rcpt_day);
    Status s = admin().SetMailboxLimits(address, c, kActor);
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  void Sql(const std::string& sql) { ASSERT_TRUE(admin_->Execute(sql).ok()) << sql; }

  std::unique_ptr<Service> NewService() { return std::make_unique<Service>(settings_); }
  Service& service() {
    if (!service_) service_ = NewService();
    return *service_;
  }
  static PolicyRequest Data(const std::string& sasl, uint64_t recipients = 1, const std::string& client = "192.0.2.99",
                            const std::string& state = "DATA", const std::string& context = "") {
    PolicyRequest r;
    r.request = "smtpd_access_policy";
    r.protocol_state = state;
    r.client_address = client;
    r.sasl_username = sasl;
    r.recipient_count = recipients;
    r.policy_context = context;
    return r;
  }
  std::string Send(const std::string& sasl, uint64_t recipients = 1) {
    return service().Decide(Data(sasl, recipients)).action;
  }
  OutboundStatus Show(const std::string& address) {
    auto s = admin().Show(address);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? *s : OutboundStatus{};
  }
  uint64_t ChangeLogRows(const std::string& action) {
    auto rows = admin_->Query("SELECT COUNT(*) FROM change_log WHERE action = ?", {action});
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? rows->front().Uint(0) : 0;
  }

  std::unique_ptr<Db> admin_;
  PolicySettings settings_;
  std::unique_ptr<Service> service_;
};

const char kHourly[] =
    "451 4.7.1 Sending limit reached: this account may send at most 10 messages per hour (UTC clock hour); try "
    "again later";

TEST_F(OutboundTest, TwoDaemonsAtOnceAdmitExactlyTheHourlyLimit) {
  SetLimits("user@here.test", 10);
  // The counter row exists from the first message on; start with none.
  auto a = NewService(), b = NewService();
  std::atomic<int> admitted{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      Service& s = t % 2 ? *a : *b;
      for (int i = 0; i < 4; ++i) {
        std::string action = s.Decide(Data("User@Here.test")).action;
        if (action == "DUNNO") ++admitted;
        else if (action == kHourly) ++refused;
        else ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 10);
  EXPECT_EQ(refused.load(), 54);
  EXPECT_EQ(other.load(), 0);
  OutboundStatus s = Show("user@here.test");
  EXPECT_EQ(s.hour_messages, 10u);  // refused messages are not counted as sent
  EXPECT_EQ(s.hour_attempts, 64u);  // but as attempts
  EXPECT_EQ(s.day_messages, 10u);
  EXPECT_EQ(s.day_recipients, 10u);
}

// Under load roster-policyd counts many messages in one transaction
// (OutboundCounter::CountBatch): the same decisions, in order, as one by one.
TEST_F(OutboundTest, ABatchDecidesInOrderAsOneByOne) {
  SetLimits("user@here.test", 3);
  AddMailbox("other@here.test");  // no counter row yet
  AddMailbox("held@here.test");
  ASSERT_TRUE(admin().Suspend("held@here.test", "by hand", kActor).ok());
  auto db = MariaDb::Get().Connect(DbRole::kPolicy);
  std::vector<OutboundCheck> checks;
  for (int i = 0; i < 7; ++i) checks.push_back({i % 2 ? "User@Here.test" : "user@here.test", 1, kActor});
  checks.push_back({"other@here.test", 2, kActor});
  checks.push_back({"nobody@here.test", 1, kActor});
  checks.push_back({"held@here.test", 1, kActor});
  checks.push_back({"other@here.test", 3, kActor});
  auto d = OutboundCounter(*db).CountBatch(checks, BreakerRule{5, 0});
  ASSERT_EQ(d.size(), checks.size());
  for (const auto& r : d) ASSERT_TRUE(r.ok()) << r.error().message;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(d[i]->verdict, OutboundVerdict::kAdmitted) << i;
  EXPECT_EQ(d[3]->verdict, OutboundVerdict::kMessagesPerHour);
  EXPECT_EQ(d[3]->limit, 3u);
  EXPECT_EQ(d[3]->attempts, 4u);
  EXPECT_EQ(d[4]->attempts, 5u);
  EXPECT_FALSE(d[4]->tripped);
  // The sixth attempt is past the breaker's 5: it trips, once; the seventh
  // finds it tripped.
  EXPECT_TRUE(d[5]->tripped);
  EXPECT_EQ(d[5]->address, "user@here.test");
  EXPECT_EQ(d[6]->verdict, OutboundVerdict::kSuspended);
  EXPECT_FALSE(d[6]->tripped);
  EXPECT_EQ(d[7]->verdict, OutboundVerdict::kAdmitted);
  EXPECT_EQ(d[8]->verdict, OutboundVerdict::kUnknownSender);
  EXPECT_EQ(d[9]->verdict, OutboundVerdict::kSuspended);
  EXPECT_EQ(d[9]->suspended_reason, "by hand");
  EXPECT_EQ(d[10]->verdict, OutboundVerdict::kAdmitted);
  EXPECT_EQ(ChangeLogRows("send-suspend"), 2u);  // by hand, and the breaker once
  OutboundStatus u = Show("user@here.test");
  EXPECT_EQ(u.hour_messages, 3u);
  EXPECT_EQ(u.hour_attempts, 7u);
  EXPECT_EQ(u.day_recipients, 3u);
  OutboundStatus o = Show("other@here.test");
  EXPECT_EQ(o.hour_messages, 2u);
  EXPECT_EQ(o.day_recipients, 5u);
  EXPECT_EQ(Show("held@here.test").hour_attempts, 0u);  // a suspended mailbox's messages are not counted
  // A batch of the next hour starts the hour's counts afresh, not the day's.
  Sql("UPDATE outbound_counter SET hour_start = hour_start - INTERVAL 1 HOUR");
  d = OutboundCounter(*db).CountBatch({{"other@here.test", 1, kActor}, {"other@here.test", 1, kActor}}, BreakerRule{});
  ASSERT_TRUE(d[1].ok());
  EXPECT_EQ(d[1]->verdict, OutboundVerdict::kAdmitted);
  o = Show("other@here.test");
  EXPECT_EQ(o.hour_messages, 2u);
  EXPECT_EQ(o.day_messages, 4u);
}

// The policy server's way: DecideOrQueue hands DATA to the outbound thread,
// which batches; two daemons at once still admit exactly the limit.
TEST_F(OutboundTest, TwoDaemonsQueueingAtOnceAdmitExactlyTheHourlyLimit) {
  SetLimits("user@here.test", 10);
  AddMailbox("other@here.test");
  auto a = NewService(), b = NewService();
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0, admitted = 0, refused = 0, other = 0, now = 0;
  const int kRequests = 96;
  for (int i = 0; i < kRequests; ++i) {
    Service& s = i % 2 ? *a : *b;
    std::string sender = i % 3 == 2 ? "other@here.test" : "user@here.test";
    auto tally = [&](const PolicyAnswer& answer) {
      std::lock_guard<std::mutex> lock(mu);
      if (answer.action == "DUNNO") ++admitted;
      else if (answer.action == kHourly) ++refused;
      else ++other;
      ++answered;
      cv.notify_all();
    };
    auto answer = s.DecideOrQueue(Data(sender), tally);
    if (answer) {
      ++now;
      tally(*answer);
    }
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return answered == kRequests; }));
  }
  EXPECT_EQ(now, 0);  // every one counted on an outbound thread
  EXPECT_EQ(admitted, 10 + 32);
  EXPECT_EQ(refused, 64 - 10);
  EXPECT_EQ(other, 0);
  EXPECT_EQ(Show("user@here.test").hour_messages, 10u);
  EXPECT_EQ(Show("user@here.test").hour_attempts, 64u);
  EXPECT_EQ(Show("other@here.test").hour_messages, 32u);
  // Anything but a count is answered at once.
  PolicyRequest rcpt = Data("user@here.test", 1, "192.0.2.99", "RCPT");
  auto answer = a->DecideOrQueue(rcpt, [](PolicyAnswer) { ADD_FAILURE() << "an RCPT request was queued"; });
  ASSERT_TRUE(answer.has_value());
}

TEST_F(OutboundTest, CountsSurviveARestartOfTheDaemon) {
  SetLimits("user@here.test", 3);
  EXPECT_EQ(Send("user@here.test"), "DUNNO");
  EXPECT_EQ(Send("user@here.test"), "DUNNO");
  service_.reset();  // a new daemon
  EXPECT_EQ(Send("user@here.test"), "DUNNO");
  EXPECT_NE(Send("user@here.test"), "DUNNO");
}

TEST_F(OutboundTest, HourAndDayAreUtcClockWindows) {
  SetLimits("user@here.test", 2, 3);
  EXPECT_EQ(Send("user@here.test"), "DUNNO");
  EXPECT_EQ(Send("user@here.test"), "DUNNO");
  EXPECT_NE(Send("user@here.test").find("2 messages per hour"), std::string::npos);
  // The counts were of the previous hour: the hour starts afresh, the day not.
  Sql("UPDATE outbound_counter SET hour_start = hour_start - INTERVAL 1 HOUR");
  EXPECT_EQ(Send("user@here.test"), "DUNNO");
  EXPECT_NE(Send("user@here.test").find("3 messages per day (UTC day)"), std::string::npos);
  Sql("UPDATE outbound_counter SET hour_start = hour_start - INTERVAL 1 HOUR, day_start = day_start - INTERVAL 1 DAY");
  EXPECT_EQ(Send("user@here.test"), "DUNNO");
  OutboundStatus s = Show("user@here.test");
  EXPECT_EQ(s.hour_messages, 1u);
  EXPECT_EQ(s.day_messages, 1u);
}

TEST_F(OutboundTest, RecipientsPerMessageAndPerDay) {
  SetLimits("user@here.test", std::nullopt, std::nullopt, 5, 12);
  EXPECT_EQ(Send("user@here.test", 6),
            "452 4.5.3 Too many recipients: this account may send to at most 5 recipients per message");
  EXPECT_EQ(Send("user@here.test", 5), "DUNNO");
  EXPECT_EQ(Send("user@here.test", 5), "DUNNO");
  EXPECT_EQ(Send("user@here.test", 3),
            "451 4.7.1 Sending limit reached: this account may send to at most 12 recipients per day (UTC day); "
            "try again later");
  EXPECT_EQ(Send("user@here.test", 2), "DUNNO");  // exactly 12
  EXPECT_NE(Send("user@here.test", 1), "DUNNO");
  EXPECT_EQ(Show("user@here.test").day_recipients, 12u);
}

TEST_F(OutboundTest, DomainDefaultsApplyUnlessTheMailboxHasItsOwn) {
  AddMailbox("own@here.test");
  OutboundLimitChange d;
  d.per_hour = std::optional<uint64_t>(1);
  ASSERT_TRUE(admin().SetDomainDefaults("here.test", d, kActor).ok());
  SetLimits("own@here.test", 0);  // unlimited, whatever the domain says
  EXPECT_EQ(Send("user@here.test"), "DUNNO");
  EXPECT_NE(Send("user@here.test"), "DUNNO");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Send("own@here.test"), "DUNNO");
  // Back to the domain's default.
  OutboundLimitChange back;
  back.per_hour = std::optional<uint64_t>();
  ASSERT_TRUE(admin().SetMailboxLimits("own@here.test", back, kActor).ok());
  EXPECT_NE(Send("own@here.test"), "DUNNO");
  EXPECT_EQ(ChangeLogRows("outbound-defaults"), 1u);
  EXPECT_EQ(ChangeLogRows("outbound-limits"), 2u);
}

TEST_F(OutboundTest, UnknownSendersAndOtherStatesAreNotCounted) {
  SetLimits("user@here.test", 1);
  EXPECT_EQ(Send("nobody@here.test"), "DUNNO");
  EXPECT_EQ(service().Decide(Data("user@here.test", 1, "192.0.2.99", "RCPT")).action, "DUNNO");
  // The quota check's END-OF-MESSAGE request never counts...
  EXPECT_EQ(service().Decide(Data("user@here.test", 1, "192.0.2.99", "END-OF-MESSAGE", "quota")).action, "DUNNO");
  EXPECT_EQ(service().Decide(Data("user@here.test", 1, "192.0.2.99", "DATA", "relay")).action, "DUNNO");
  EXPECT_EQ(Show("user@here.test").hour_attempts, 0u);
  // ... one asking for the outbound check does.
  EXPECT_EQ(service().Decide(Data("user@here.test", 1, "192.0.2.99", "END-OF-MESSAGE", "outbound")).action, "DUNNO");
  EXPECT_NE(Send("user@here.test"), "DUNNO");
}

TEST_F(OutboundTest, ImapBeforeSmtpClientsCountOnTheMailboxThatLoggedIn) {
  AddMailbox("roamer@here.test");
  SetLimits("roamer@here.test", 1);
  auto dict = MariaDb::Get().Connect(DbRole::kDict);
  ASSERT_TRUE(UsageStore(*dict).RecordLastLogin("roamer@here.test", "imap", "192.0.2.50").ok());
  EXPECT_EQ(service().Decide(Data("", 2, "192.0.2.50")).action, "DUNNO");
  EXPECT_NE(service().Decide(Data("", 1, "192.0.2.50")).action.find("1 messages per hour"), std::string::npos);
  OutboundStatus s = Show("roamer@here.test");
  EXPECT_EQ(s.hour_messages, 1u);
  EXPECT_EQ(s.day_recipients, 2u);
  // A client that logged in nowhere is not counted (mail from the Internet).
  EXPECT_EQ(service().Decide(Data("", 1, "198.51.100.1")).action, "DUNNO");
  // Unless the daemon is told to count SASL senders only.
  settings_.outbound_relay_clients = false;
  service_.reset();
  EXPECT_EQ(service().Decide(Data("", 1, "192.0.2.50")).action, "DUNNO");
}

// A login from the loopback is a webmail or a proxy on this host: it says
// nothing about who sends from there (cron, monitoring, the breaker's own
// notices), so a loopback client without SASL is counted on nobody.
TEST_F(OutboundTest, LoopbackClientsWithoutSaslAreNeverCounted) {
  AddMailbox("webmail@here.test");
  SetLimits("webmail@here.test", 1);
  auto dict = MariaDb::Get().Connect(DbRole::kDict);
  ASSERT_TRUE(UsageStore(*dict).RecordLastLogin("webmail@here.test", "imap", "127.0.0.1").ok());
  ASSERT_TRUE(UsageStore(*dict).RecordLastLogin("webmail@here.test", "pop3", "::1").ok());
  for (const char* client : {"127.0.0.1", "127.0.0.1", "127.9.8.7", "::1", "::ffff:127.0.0.1"})
    EXPECT_EQ(service().Decide(Data("", 1, client)).action, "DUNNO") << client;
  EXPECT_EQ(Show("webmail@here.test").hour_attempts, 0u);
  // The same through the outbound thread.
  std::optional<PolicyAnswer> now = service().DecideOrQueue(Data("", 1, "127.0.0.1"), [](PolicyAnswer) {});
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->action, "DUNNO");
  // A SASL login from the loopback (a webmail sending for its user) is counted.
  EXPECT_EQ(service().Decide(Data("webmail@here.test", 1, "127.0.0.1")).action, "DUNNO");
  EXPECT_NE(service().Decide(Data("webmail@here.test", 1, "::1")).action.find("1 messages per hour"),
            std::string::npos);
  EXPECT_EQ(Show("webmail@here.test").hour_attempts, 2u);
  // An address next to the loopback is an ordinary client.
  ASSERT_TRUE(UsageStore(*dict).RecordLastLogin("webmail@here.test", "imap", "128.0.0.1").ok());
  EXPECT_NE(service().Decide(Data("", 1, "128.0.0.1")).action.find("1 messages per hour"), std::string::npos);
  EXPECT_EQ(Show("webmail@here.test").hour_attempts, 3u);
}

TEST_F(OutboundTest, BreakerTripsOnceNotifiesOnceAndRosterctlLiftsIt) {
  SmtpSink sink;
  settings_.notify_to = "postmaster@here.test";
  settings_.notify_host = "127.0.0.1";
  settings_.notify_port = sink.port();
  settings_.breaker_factor = 3;  // 2 per hour: the 7th attempt in the hour trips
  SetLimits("user@here.test", 2);
  std::string suspended;
  {
    auto a = NewService(), b = NewService();
    std::atomic<int> admitted{0}, alerts{0};
    std::vector<std::thread> threads;
    std::mutex mu;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 5; ++i) {
          PolicyAnswer answer = (t % 2 ? *a : *b).Decide(Data("user@here.test"));
          if (answer.action == "DUNNO") ++admitted;
          if (answer.alert) {
            ++alerts;
            std::lock_guard<std::mutex> lock(mu);
            suspended = answer.action;
            EXPECT_NE(answer.log.find("circuit breaker: suspended the sending of <user@here.test>"),
                      std::string::npos)
                << answer.log;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(admitted.load(), 2);
    EXPECT_EQ(alerts.load(), 1);
  }  // the services' notifiers finish their notices
  EXPECT_EQ(suspended, settings_.outbound_suspended_reply);
  ASSERT_EQ(sink.messages().size(), 1u);
  EXPECT_NE(sink.messages()[0].find("Subject: roster: sending suspended for user@here.test"), std::string::npos);
  EXPECT_NE(sink.messages()[0].find("rosterctl outbound lift user@here.test"), std::string::npos);
  EXPECT_EQ(ChangeLogRows("send-suspend"), 1u);
  auto log = admin_->Query("SELECT actor, object FROM change_log WHERE action = 'send-suspend'");
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->front().String(0), "roster-policyd");
  EXPECT_EQ(log->front().String(1), "user@here.test");

  // Suspended: refused, whatever the window; logins are not affected.
  Sql("UPDATE outbound_counter SET hour_start = hour_start - INTERVAL 1 HOUR");
  EXPECT_EQ(Send("user@here.test"), settings_.outbound_suspended_reply);
  auto auth = MariaDb::Get().Connect(DbRole::kAuth);
  auto login = LoginStore(*auth).FindMailboxForLogin("user@here.test");
  ASSERT_TRUE(login.ok());
  EXPECT_TRUE(login->mailbox_active);

  auto shown = MariaDb::Get().Rosterctl({"outbound", "show", "user@here.test"});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("SUSPENDED since"), std::string::npos) << shown.out;
  // 7 or more: attempts refused at the same moment may count before the trip.
  EXPECT_NE(shown.out.find(" messages tried in this UTC hour, threshold 6"), std::string::npos) << shown.out;
  auto listed = MariaDb::Get().Rosterctl({"--json", "outbound", "suspended"});
  EXPECT_NE(listed.out.find("\"address\":\"user@here.test\""), std::string::npos) << listed.out;

  auto lifted = MariaDb::Get().Rosterctl({"outbound", "lift", "user@here.test"});
  EXPECT_EQ(lifted.exit_code, 0) << lifted.err;
  EXPECT_EQ(ChangeLogRows("send-lift"), 1u);
  EXPECT_EQ(MariaDb::Get().Rosterctl({"outbound", "lift", "user@here.test"}).exit_code, EX_DATAERR);
  EXPECT_EQ(Send("user@here.test"), "DUNNO");
  EXPECT_EQ(Show("user@here.test").suspended_at, "");
}

TEST_F(OutboundTest, ExplicitBreakerThresholdWithoutLimits) {
  settings_.breaker_attempts = 3;
  EXPECT_EQ(Send("user@here.test"), "DUNNO");
  EXPECT_EQ(Send("user@here.test"), "DUNNO");
  EXPECT_EQ(Send("user@here.test"), "DUNNO");
  PolicyAnswer a = service().Decide(Data("user@here.test"));
  EXPECT_TRUE(a.alert);
  EXPECT_EQ(a.action, settings_.outbound_suspended_reply);
  EXPECT_EQ(Send("user@here.test"), settings_.outbound_suspended_reply);
  EXPECT_EQ(ChangeLogRows("send-suspend"), 1u);
}

TEST_F(OutboundTest, DatabaseDownIsATemporaryRefusalNeverASilentOk) {
  SetLimits("user@here.test", 10);
  EXPECT_EQ(Send("user@here.test"), "DUNNO");
  MariaDb::Get().Stop();
  service_.reset();
  PolicyAnswer a = service().Decide(Data("user@here.test"));
  EXPECT_EQ(a.action, "451 4.3.0 Temporary lookup failure");
  EXPECT_TRUE(a.warning);
  // A POP/IMAP-before-SMTP client cannot be told from any other: no OK either.
  EXPECT_EQ(service().Decide(Data("", 1, "192.0.2.50")).action, "451 4.3.0 Temporary lookup failure");
  MariaDb::Get().Start();
  EXPECT_EQ(Send("user@here.test"), "DUNNO");
  EXPECT_EQ(Show("user@here.test").hour_messages, 2u);
}

TEST_F(OutboundTest, AbsurdLimitsAreRefused) {
  OutboundLimitChange c;
  c.per_hour = std::optional<uint64_t>(kMaxOutboundLimit + 1);
  EXPECT_EQ(admin().SetMailboxLimits("user@here.test", c, kActor).error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(admin().SetMailboxLimits("user@here.test", OutboundLimitChange{}, kActor).error().kind,
            ErrorKind::kInvalid);
  OutboundLimitChange to_default;
  to_default.per_day = std::optional<uint64_t>();
  EXPECT_EQ(admin().SetDomainDefaults("here.test", to_default, kActor).error().kind, ErrorKind::kInvalid);
  for (const char* bad : {"-1", "100000001", "1e9", "ten", "18446744073709551616", ""}) {
    auto r = MariaDb::Get().Rosterctl({"outbound", "set", "user@here.test", "--per-hour", bad});
    EXPECT_NE(r.exit_code, 0) << bad;
  }
  EXPECT_NE(MariaDb::Get().Rosterctl({"outbound", "defaults", "here.test", "--per-day", "default"}).exit_code, 0);
  EXPECT_NE(MariaDb::Get().Rosterctl({"outbound", "set", "nobody@here.test", "--per-day", "5"}).exit_code, 0);
  // The server refuses them too, whoever writes them.
  EXPECT_FALSE(admin_->Execute("UPDATE mailbox SET send_per_hour = 100000001").ok());
  EXPECT_FALSE(admin_->Execute("UPDATE domain SET default_rcpt_per_day = 100000001").ok());
  // A good one works, and shows.
  auto ok = MariaDb::Get().Rosterctl({"outbound", "set", "user@here.test", "--per-hour", "100000000", "--per-day",
                                      "default"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  auto shown = MariaDb::Get().Rosterctl({"--json", "outbound", "show", "user@here.test"});
  EXPECT_NE(shown.out.find("\"own\":{\"per_hour\":100000000,\"per_day\":null"), std::string::npos) << shown.out;
  auto d = MariaDb::Get().Rosterctl({"outbound", "defaults", "here.test", "--rcpt-per-message", "50"});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(d.out.find("recipients per message: 50"), std::string::npos) << d.out;
}

Result<PolicySettings> SettingsFrom(const std::string& text) {
  auto config = Config::ParseText(text, "test.conf", RosterConfigKeys(),
                                  [](const std::string&, std::string*) -> Result<std::string> {
                                    return Error::NotFound("no includes here");
                                  });
  if (!config) return config.error();
  return PolicySettings::FromConfig(*config);
}

TEST(OutboundSettingsTest, DefaultsAndBounds) {
  auto base = SettingsFrom("");
  ASSERT_TRUE(base.ok()) << base.error().message;
  EXPECT_EQ(base->breaker_factor, 3u);
  EXPECT_EQ(base->breaker_attempts, 0u);
  EXPECT_EQ(base->outbound_db_failure_action, "451 4.3.0 Temporary lookup failure");
  EXPECT_EQ(base->notify_host, "127.0.0.1");
  EXPECT_EQ(base->notify_port, 25);
  // The notice goes to the local MTA only.
  for (const char* host : {"192.0.2.1:25", "example.org:25", "[2001:db8::1]:25", "127.0.0.1:0", "127.0.0.1",
                           "[::2]:25", "128.0.0.1:25", "[::ffff:192.0.2.1]:25"})
    EXPECT_FALSE(SettingsFrom(std::string("policy_outbound_notify_smtp = ") + host + "\n").ok()) << host;
  for (const char* host : {"127.0.0.1:2525", "[::1]:25", "127.0.0.2:25", "127.255.255.254:25", "[::ffff:127.0.0.1]:25"})
    EXPECT_TRUE(SettingsFrom(std::string("policy_outbound_notify_smtp = ") + host + "\n").ok()) << host;
  EXPECT_FALSE(SettingsFrom("policy_outbound_breaker_factor = 1001\n").ok());
  EXPECT_FALSE(SettingsFrom("policy_outbound_breaker_attempts = 100000001\n").ok());
  EXPECT_FALSE(SettingsFrom("policy_outbound_notify = not an address\n").ok());
  EXPECT_FALSE(SettingsFrom("policy_outbound_suspended_reply = sorry\n").ok());
  EXPECT_TRUE(SettingsFrom("policy_outbound_suspended_reply = 450 4.7.1 Suspended\n").ok());
}

TEST(NotifierTest, DeliversDotStuffedAndFailsBoundedWhenNobodyListens) {
  SmtpSink sink;
  NoticeSettings s{"postmaster@here.test", "", "127.0.0.1", sink.port(), std::chrono::milliseconds(5000)};
  Status sent = Notifier::Deliver(s, "subject", "line\n.dot line\n");
  EXPECT_TRUE(sent.ok()) << sent.error().message;
  ASSERT_EQ(sink.messages().size(), 1u);
  EXPECT_NE(sink.messages()[0].find("\n..dot line\n"), std::string::npos);  // dot-stuffed
  // A port nobody listens on: an error, not a hang.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  s.port = ntohs(a.sin_port);
  EXPECT_FALSE(Notifier::Deliver(s, "subject", "body").ok());
}

}  // namespace
}  // namespace roster::test
