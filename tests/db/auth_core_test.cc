// Tests of the passdb driver's core (auth/roster_auth.h) through its C API,
// against the private MariaDB, as the auth role, in both modes (blocking, and
// threaded with its eventfd): a verify of an unknown user, a refused user name
// or a disabled mailbox or domain checks the password against the dummy
// argon2id hash, like a real one, and still answers "unknown" or "disabled".
#include <gtest/gtest.h>
#include <poll.h>

#include <fstream>
#include <string>
#include <vector>

#include "auth/roster_auth.h"
#include "common/accounts.h"
#include "common/password.h"
#include "tests/db/mariadb_fixture.h"

namespace roster::test {
namespace {

const Actor kActor{"tester", "192.0.2.7"};
const char kPassword[] = "correct horse";

class AuthCoreTest : public ::testing::TestWithParam<unsigned> {
 protected:
  void SetUp() override {
    MariaDb::Get().Truncate();
    admin_ = MariaDb::Get().Connect(DbRole::kAdmin);
    Accounts accounts(*admin_);
    for (const char* name : {"here.test", "off.test"}) {
      Domain d;
      d.name = name;
      ASSERT_TRUE(accounts.AddDomain(d, kActor).ok());
    }
    auto policy = PasswordPolicy::FromConfig(MariaDb::Get().config());
    ASSERT_TRUE(policy.ok());
    auto hash = PasswordHasher(*policy).Hash(kPassword);
    ASSERT_TRUE(hash.ok());
    for (const char* address : {"alice@here.test", "carol@here.test", "dave@off.test"}) {
      NewMailbox m;
      m.address = address;
      m.password_hash = *hash;
      ASSERT_TRUE(accounts.AddMailbox(m, kActor).ok()) << address;
    }
    ASSERT_TRUE(accounts.SetMailboxActive("carol@here.test", false, kActor).ok());
    ASSERT_TRUE(accounts.SetDomainActive("off.test", false, kActor).ok());

    std::string path = MariaDb::Get().dir() + "/auth-core-" + std::to_string(GetParam()) + ".conf";
    {
      std::ofstream c(path);
      c << "!include " << MariaDb::Get().config_path() << "\nauth_uid = 0\nauth_gid = 0\nauth_threads = "
        << GetParam() << "\n";
    }
    char error[512] = "";
    auth_ = roster_auth_create(path.c_str(), error, sizeof error);
    ASSERT_NE(auth_, nullptr) << error;
    if (GetParam() > 0) {
      fd_ = roster_auth_start(auth_, nullptr, error, sizeof error);
      ASSERT_GE(fd_, 0) << error;
    }
  }
  void TearDown() override {
    if (auth_) roster_auth_destroy(auth_);
  }

  // The answers of verifies, asked all at once (one batch in threaded mode).
  std::vector<roster_auth_result> Verify(const std::vector<std::string>& users, const char* password = kPassword) {
    std::vector<roster_auth_result> results(users.size(), ROSTER_AUTH_TEMPFAIL);
    if (GetParam() == 0) {
      auto field = [](void*, const char*, const char*) {};
      for (size_t i = 0; i < users.size(); ++i)
        results[i] = roster_auth_verify(auth_, users[i].c_str(), password, "imap", field, nullptr, nullptr);
      return results;
    }
    struct Slot {
      roster_auth_result* result;
      size_t* left;
    };
    size_t left = users.size();
    std::vector<Slot> slots(users.size());
    auto done = [](void* context, const roster_job_result* r) {
      auto* slot = static_cast<Slot*>(context);
      *slot->result = r->result;
      --*slot->left;
    };
    for (size_t i = 0; i < users.size(); ++i) {
      slots[i] = Slot{&results[i], &left};
      roster_auth_verify_async(auth_, users[i].c_str(), password, "imap", done, &slots[i]);
    }
    // A bounded wait for the answers (not a timing assertion).
    for (int rounds = 0; left > 0 && rounds < 300; ++rounds) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) > 0) roster_auth_drain(auth_);
    }
    EXPECT_EQ(left, 0u) << "answers missing";
    return results;
  }
  unsigned long long Dummies() const { return roster_auth_dummy_verifications(auth_); }

  std::unique_ptr<Db> admin_;
  roster_auth* auth_ = nullptr;
  int fd_ = -1;
};

TEST_P(AuthCoreTest, UnknownUserPasswordIsCheckedAgainstTheDummyHash) {
  EXPECT_EQ(Dummies(), 0u);
  EXPECT_EQ(Verify({"nobody@here.test"}), std::vector<roster_auth_result>{ROSTER_AUTH_UNKNOWN});
  EXPECT_EQ(Dummies(), 1u);
  EXPECT_EQ(Verify({"nobody@nowhere.test"}, "wrong"), std::vector<roster_auth_result>{ROSTER_AUTH_UNKNOWN});
  EXPECT_EQ(Dummies(), 2u);
  // A user name that cannot be an address is unknown too, and costs the same.
  EXPECT_EQ(Verify({"not an address"}), std::vector<roster_auth_result>{ROSTER_AUTH_UNKNOWN});
  EXPECT_EQ(Dummies(), 3u);
}

TEST_P(AuthCoreTest, DisabledMailboxOrDomainIsCheckedAgainstTheDummyHash) {
  EXPECT_EQ(Verify({"carol@here.test", "dave@off.test"}),
            (std::vector<roster_auth_result>{ROSTER_AUTH_DISABLED, ROSTER_AUTH_DISABLED}));
  EXPECT_EQ(Dummies(), 2u);
}

TEST_P(AuthCoreTest, RealUsersAreAnsweredAsBeforeWithoutTheDummy) {
  EXPECT_EQ(Verify({"alice@here.test"}), std::vector<roster_auth_result>{ROSTER_AUTH_OK});
  EXPECT_EQ(Verify({"alice@here.test"}, "wrong"), std::vector<roster_auth_result>{ROSTER_AUTH_MISMATCH});
  EXPECT_EQ(Dummies(), 0u);
  // Mixed in one batch: each gets its own answer.
  EXPECT_EQ(Verify({"alice@here.test", "nobody@here.test", "carol@here.test", "Alice@HERE.test"}),
            (std::vector<roster_auth_result>{ROSTER_AUTH_OK, ROSTER_AUTH_UNKNOWN, ROSTER_AUTH_DISABLED,
                                             ROSTER_AUTH_OK}));
  EXPECT_EQ(Dummies(), 2u);
}

TEST_P(AuthCoreTest, DatabaseDownIsATemporaryFailureWithoutTheDummy) {
  MariaDb::Get().Stop();
  auto results = Verify({"nobody@here.test"});
  MariaDb::Get().Start();
  EXPECT_EQ(results, std::vector<roster_auth_result>{ROSTER_AUTH_TEMPFAIL});
  EXPECT_EQ(Dummies(), 0u);
}

INSTANTIATE_TEST_SUITE_P(BlockingAndThreaded, AuthCoreTest, ::testing::Values(0u, 2u),
                         [](const ::testing::TestParamInfo<unsigned>& info) {
                           return info.param == 0 ? std::string("Blocking") : std::string("Threaded");
                         });

}  // namespace
}  // namespace roster::test
