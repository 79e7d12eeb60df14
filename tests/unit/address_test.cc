// Tests of the address normaliser: limits, refused characters, UTF-8, extensions.
#include <gtest/gtest.h>

#include "common/address.h"
#include "common/text.h"

namespace roster {
namespace {

TEST(Address, DomainLowerCasedLocalPartKept) {
  auto a = ParseAddress("John.Smith@Example.ORG");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->local, "John.Smith");
  EXPECT_EQ(a->domain, "example.org");
  EXPECT_EQ(a->Mailbox(), "John.Smith@example.org");
}

TEST(Address, ExtensionSplitAtFirstDelimiter) {
  AddressOptions opts;
  opts.recipient_delimiter = "+-";
  auto a = ParseAddress("user+tag-more@d.example", opts);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->local, "user");
  EXPECT_EQ(a->delimiter, '+');
  EXPECT_EQ(a->extension, "tag-more");
  EXPECT_EQ(a->Mailbox(), "user@d.example");
  EXPECT_EQ(a->Full(), "user+tag-more@d.example");
  auto b = ParseAddress("first-last+x@d.example", opts);
  EXPECT_EQ(b->local, "first");
  EXPECT_EQ(b->extension, "last+x");
}

TEST(Address, NoSplitWhenDisabledOrLeading) {
  AddressOptions none;
  none.recipient_delimiter = "";
  EXPECT_EQ(ParseAddress("a+b@d.example", none)->local, "a+b");
  EXPECT_EQ(ParseAddress("+ab@d.example")->local, "+ab");
  EXPECT_EQ(ParseAddress("ab+@d.example")->extension, "");
  EXPECT_EQ(ParseAddress("ab+@d.example")->delimiter, '+');
}

TEST(Address, Utf8LocalPartAccepted) {
  auto a = ParseAddress("δοκιμή@παράδειγμα.example");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->local, "δοκιμή");
  EXPECT_EQ(a->domain, "παράδειγμα.example");
}

TEST(Address, InvalidUtf8Refused) {
  EXPECT_EQ(ParseAddress("a\xff@d.example").error().message, "local part is not valid UTF-8");
  EXPECT_FALSE(ParseAddress("\xc0\xaf@d.example").ok());        // overlong '/'
  EXPECT_FALSE(ParseAddress("\xed\xa0\x80@d.example").ok());    // surrogate
  EXPECT_FALSE(ParseAddress("a@d\xe2\x82.example").ok());       // truncated sequence in domain
}

TEST(Address, NulCrLfAndControlRefused) {
  auto nul = ParseAddress(std::string("a\0b@d.example", 13));
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.error().message, "address contains a NUL byte");
  EXPECT_EQ(ParseAddress("a\r\nRCPT TO:<x>@d.example").error().message, "address contains a control character");
  EXPECT_EQ(ParseAddress("a@d.example\n").error().message, "address contains a control character");
  EXPECT_EQ(ParseAddress("a\x7f@d.example").error().kind, ErrorKind::kInvalid);
}

TEST(Address, LengthLimits) {
  std::string local64(64, 'a'), local65(65, 'a');
  EXPECT_TRUE(ParseAddress(local64 + "@d.example").ok());
  EXPECT_EQ(ParseAddress(local65 + "@d.example").error().message, "local part longer than 64 octets");
  // A 10 KB local part is refused before any other work, with a bounded message.
  auto huge = ParseAddress(std::string(10240, 'x') + "@d.example");
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().message, "address longer than 254 octets (10250)");
  std::string label(63, 'b');
  std::string domain = label + "." + label + "." + label + ".example";  // 199 octets
  EXPECT_TRUE(ParseAddress("a@" + domain).ok());
  EXPECT_FALSE(ParseAddress(std::string(60, 'a') + "@" + domain).ok());  // 260 octets in all
  EXPECT_FALSE(ParseDomain(std::string(64, 'c') + ".example").ok());
  EXPECT_FALSE(ParseDomain(std::string(256, 'c')).ok());
}

TEST(Address, StructureRefused) {
  for (const char* bad : {"", "nobody", "@d.example", "a@", "a@.example", "a@d..example", "a@-d.example",
                          "a@d-.example", "a b@d.example", "\"a b\"@d.example", "a<b@d.example", "a@d_x.example",
                          "a@[192.0.2.1]", "a,b@d.example", "a(b)@d.example", "a\\b@d.example"})
    EXPECT_FALSE(ParseAddress(bad).ok()) << bad;
  EXPECT_EQ(ParseAddress("\"q\"@d.example").error().message, "quoted local parts are not supported");
}

TEST(Address, SqlMetacharactersAreOrdinaryAtext) {
  // Valid atext: stored and returned verbatim, never interpreted.
  auto a = ParseAddress("o'brien%_x--y@d.example");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->local, "o'brien%_x--y");
  EXPECT_FALSE(ParseAddress("x';DROP TABLE mailbox;--@d.example").ok());  // ';' and space are not atext
}

// The local parts a mailbox may have (they become directory names), each
// boundary of the rule in common/address.h.
TEST(Address, MailboxLocalParts) {
  const std::string longest(kMaxLocalPart, 'a');
  for (const std::string& good : {std::string("a"), std::string("7"), std::string("_x"), std::string("a.b"),
                                  std::string("a_b-c+d"), std::string("a-"), std::string("a+"), longest,
                                  std::string("Δοκιμή"), std::string("用户"), std::string("\xc2\xa0x")})
    EXPECT_TRUE(CheckMailboxLocalPart(good).ok()) << good;
  for (const std::string& bad :
       {std::string(""), std::string("."), std::string(".."), std::string(".a"), std::string("a."),
        std::string("a..b"), std::string("-a"), std::string("+a"), std::string("a/b"), std::string("/"),
        std::string("../x"), std::string("a%b"), std::string("o'brien"), std::string("a b"), std::string("a\tb"),
        std::string("a\\b"), std::string("a*b"), std::string("a$b"), std::string("a`b"), std::string("a|b"),
        std::string("a~b"), std::string("a=b"), std::string("a\"b"), std::string("a\x7f"), std::string("a\0b", 3),
        longest + "a", std::string("\xc2\x85x"), std::string("\xff"), std::string("\xc0\xaf")})
    EXPECT_FALSE(CheckMailboxLocalPart(bad).ok()) << Shown(bad);
  EXPECT_NE(CheckMailboxLocalPart("a/b").error().message.find("contains '/'"), std::string::npos);
  EXPECT_NE(CheckMailboxLocalPart("..").error().message.find("starts with '.'"), std::string::npos);
}

TEST(Address, MailboxPathNames) {
  EXPECT_TRUE(CheckMailboxPathName("alice@example.test").ok());
  EXPECT_TRUE(CheckMailboxPathName("Alice@Example.Test").ok());
  for (const char* bad : {"../example.test/alice@other.test", "alice@example.test/..", "alice@..", "alice@.",
                          "alice@", "alice", "@example.test", "a@b@example.test", "alice@exa/mple.test"})
    EXPECT_FALSE(CheckMailboxPathName(bad).ok()) << bad;
}

TEST(Address, LastAtSplitsDomain) {
  // "a@b"@d is quoted in RFC terms; unquoted '@' in the local part is refused.
  EXPECT_FALSE(ParseAddress("a@b@d.example").ok());
}

TEST(Address, DomainParser) {
  EXPECT_EQ(*ParseDomain("Mail.Example.COM"), "mail.example.com");
  EXPECT_EQ(*ParseDomain("xn--bcher-kva.example"), "xn--bcher-kva.example");
  EXPECT_FALSE(ParseDomain("example.com.").ok());
  EXPECT_FALSE(ParseDomain("exa mple.com").ok());
}

}  // namespace
}  // namespace roster
