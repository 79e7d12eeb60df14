// Tests of roster-policyd's protocol readers (policy/policy_request.h,
// policy/netstring.h): whole requests from bytes however they arrive,
// attributes in any order, and the limits that end a connection.
#include <gtest/gtest.h>

#include <string>

#include "policy/netstring.h"
#include "policy/policy_request.h"
#include "policy/recipients.h"
#include "policy/settings.h"

namespace roster {
namespace {

using PStatus = PolicyRequestReader::Status;
using NStatus = NetstringReader::Status;

const std::string kRequest =
    "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=192.0.2.1\n"
    "sender=a@b.test\nrecipient=c@d.test\nsize=1234\nnew_in_postfix_9=x=y\n\n";

TEST(PolicyRequestReader, ReadsAWholeRequestAndKeepsWhatItUses) {
  PolicyRequestReader reader(PolicyLimits{});
  PolicyRequest r;
  std::string problem;
  reader.Feed(kRequest);
  ASSERT_EQ(reader.Next(&r, &problem), PStatus::kRequest);
  EXPECT_EQ(r.request, "smtpd_access_policy");
  EXPECT_EQ(r.protocol_state, "RCPT");
  EXPECT_EQ(r.client_address, "192.0.2.1");
  EXPECT_EQ(r.recipient, "c@d.test");
  EXPECT_EQ(r.sender, "a@b.test");
  EXPECT_EQ(r.size, 1234u);
  EXPECT_EQ(r.attributes, 8u);
  EXPECT_EQ(reader.Next(&r, &problem), PStatus::kNeedMore);
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(PolicyRequestReader, ByteByByteAndPipelinedAndCrLf) {
  PolicyRequestReader reader(PolicyLimits{});
  PolicyRequest r;
  std::string problem;
  for (char c : kRequest.substr(0, kRequest.size() - 1)) {
    reader.Feed(std::string(1, c));
    ASSERT_EQ(reader.Next(&r, &problem), PStatus::kNeedMore);
  }
  reader.Feed("\n" + kRequest + "recipient=x@y.test\r\nsize=junk\r\n\r\n");
  ASSERT_EQ(reader.Next(&r, &problem), PStatus::kRequest);
  EXPECT_EQ(r.recipient, "c@d.test");
  ASSERT_EQ(reader.Next(&r, &problem), PStatus::kRequest);
  EXPECT_EQ(r.recipient, "c@d.test");
  ASSERT_EQ(reader.Next(&r, &problem), PStatus::kRequest);
  EXPECT_EQ(r.recipient, "x@y.test");  // fields from an earlier request do not leak
  EXPECT_EQ(r.size, 0u);
  EXPECT_EQ(r.sender, "");
  EXPECT_EQ(reader.Next(&r, &problem), PStatus::kNeedMore);
}

TEST(PolicyRequestReader, LaterDuplicateWinsAndOrderDoesNotMatter) {
  PolicyRequestReader reader(PolicyLimits{});
  PolicyRequest r;
  std::string problem;
  reader.Feed("recipient=first@d.test\nsize=5\nprotocol_state=RCPT\nrecipient=second@d.test\n\n");
  ASSERT_EQ(reader.Next(&r, &problem), PStatus::kRequest);
  EXPECT_EQ(r.recipient, "second@d.test");
  EXPECT_EQ(r.protocol_state, "RCPT");
}

TEST(PolicyRequestReader, MalformedLinesEndTheConnection) {
  for (std::string bad : {"no equals sign\n\n", "=value\n\n", "request=x\ngarbage\n\n"}) {
    PolicyRequestReader reader(PolicyLimits{});
    PolicyRequest r;
    std::string problem;
    reader.Feed(bad);
    EXPECT_EQ(reader.Next(&r, &problem), PStatus::kMalformed) << bad;
    EXPECT_FALSE(problem.empty());
  }
}

TEST(PolicyRequestReader, LimitsOnBytesAndAttributes) {
  PolicyLimits limits{1024, 10};
  {
    PolicyRequestReader reader(limits);
    PolicyRequest r;
    std::string problem;
    reader.Feed("recipient=" + std::string(2000, 'a'));  // no end in sight
    EXPECT_EQ(reader.Next(&r, &problem), PStatus::kTooLarge);
  }
  {
    PolicyRequestReader reader(limits);
    PolicyRequest r;
    std::string problem;
    reader.Feed("recipient=" + std::string(2000, 'a') + "\n\n");  // whole but too big
    EXPECT_EQ(reader.Next(&r, &problem), PStatus::kTooLarge);
  }
  {
    PolicyRequestReader reader(limits);
    PolicyRequest r;
    std::string problem;
    std::string many;
    for (int i = 0; i < 11; ++i) many += "a" + std::to_string(i) + "=1\n";
    reader.Feed(many + "\n");
    EXPECT_EQ(reader.Next(&r, &problem), PStatus::kTooLarge);
    EXPECT_NE(problem.find("attributes"), std::string::npos);
  }
}

TEST(Netstring, EncodesAndReadsPipelinedPieces) {
  EXPECT_EQ(EncodeNetstring("domains example.com"), "19:domains example.com,");
  EXPECT_EQ(EncodeNetstring(""), "0:,");
  NetstringReader reader(10000);
  std::string payload, problem;
  std::string wire = EncodeNetstring("a b") + EncodeNetstring("") + EncodeNetstring("aliases x@y");
  for (size_t i = 0; i + 1 < wire.size(); ++i) {
    reader.Feed(wire.substr(i, 1));
  }
  ASSERT_EQ(reader.Next(&payload, &problem), NStatus::kNetstring);
  EXPECT_EQ(payload, "a b");
  ASSERT_EQ(reader.Next(&payload, &problem), NStatus::kNetstring);
  EXPECT_EQ(payload, "");
  EXPECT_EQ(reader.Next(&payload, &problem), NStatus::kNeedMore);
  reader.Feed(",");
  ASSERT_EQ(reader.Next(&payload, &problem), NStatus::kNetstring);
  EXPECT_EQ(payload, "aliases x@y");
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(Netstring, RefusesBadFraming) {
  for (std::string bad : {"x:abc,", ":abc,", "3:abcd", "01:a,", "1234567890:", "-1:a,", "3 :abc,"}) {
    NetstringReader reader(10000);
    std::string payload, problem;
    reader.Feed(bad);
    auto status = reader.Next(&payload, &problem);
    EXPECT_TRUE(status == NStatus::kMalformed || status == NStatus::kTooLarge) << bad;
  }
  NetstringReader reader(100);
  std::string payload, problem;
  reader.Feed("101:");
  EXPECT_EQ(reader.Next(&payload, &problem), NStatus::kTooLarge);
}

TEST(Recipients, KeysBccListsAndPaths) {
  auto k = KeysOf("Alice+Tag@Example.COM", AddressOptions{});
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->full, "Alice+Tag@example.com");
  ASSERT_EQ(k->keys.size(), 2u);
  EXPECT_EQ(k->keys[0], "Alice+Tag@example.com");
  EXPECT_EQ(k->keys[1], "Alice@example.com");
  EXPECT_FALSE(KeysOf("no-domain", AddressOptions{}).ok());
  EXPECT_EQ(BccListAddress("alice@example.com", 'I'), "alice=example.com@bcc-in.roster.invalid");
  EXPECT_EQ(BccListAddress("alice@example.com", 'O'), "alice=example.com@bcc-out.roster.invalid");
  auto list = ParseBccListAddress("a=b=example.com@BCC-IN.roster.invalid");
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(list->first, "a=b@example.com");
  EXPECT_EQ(list->second, 'I');
  EXPECT_FALSE(ParseBccListAddress("alice@example.com").has_value());
  EXPECT_FALSE(ParseBccListAddress("=x@bcc-in.roster.invalid").has_value());
  EXPECT_EQ(MaildirPathOf("alice@example.com"), "example.com/alice/");
}

TEST(Recipients, OneDotAtTheEndOfTheDomainGoesAsInPostfix) {
  // Postfix's trivial-rewrite delivers bob@example.com. to bob@example.com.
  EXPECT_EQ(WithoutRootDot("bob@example.com."), "bob@example.com");
  EXPECT_EQ(WithoutRootDot("example.com."), "example.com");
  EXPECT_EQ(WithoutRootDot("bob@example.com"), "bob@example.com");
  // Not two dots, not "@.", not a lone dot.
  EXPECT_EQ(WithoutRootDot("bob@example.com.."), "bob@example.com..");
  EXPECT_EQ(WithoutRootDot("bob@."), "bob@.");
  EXPECT_EQ(WithoutRootDot("."), ".");
  EXPECT_EQ(WithoutRootDot(""), "");
  auto k = KeysOf("Bob+Tag@Example.COM.", AddressOptions{});
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->full, "Bob+Tag@example.com");
  EXPECT_EQ(k->keys, (std::vector<std::string>{"Bob+Tag@example.com", "Bob@example.com"}));
  EXPECT_FALSE(KeysOf("bob@example.com..", AddressOptions{}).ok());
  EXPECT_FALSE(KeysOf("bob@.", AddressOptions{}).ok());
  auto list = ParseBccListAddress("a=example.com@bcc-in.roster.invalid.");
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(list->first, "a@example.com");
}

TEST(PolicySettings, Listeners) {
  auto unix_listener = ParseListener("unix:/run/x/policy", Listener::Protocol::kPolicy);
  ASSERT_TRUE(unix_listener.ok());
  EXPECT_EQ(unix_listener->path, "/run/x/policy");
  auto v6 = ParseListener("inet:[::1]:10040", Listener::Protocol::kSocketmap);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 10040);
  EXPECT_EQ(v6->Display(), "inet:[::1]:10040");
  for (const char* bad : {"unix:relative", "inet:localhost:25", "inet:127.0.0.1", "inet:127.0.0.1:0",
                          "inet:127.0.0.1:70000", "tcp:127.0.0.1:1", "inet:[::1]10040"})
    EXPECT_FALSE(ParseListener(bad, Listener::Protocol::kPolicy).ok()) << bad;
}

}  // namespace
}  // namespace roster
