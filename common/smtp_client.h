// smtp_client.h: a minimal SMTP client (RFC 5321) for the few mails roster
// itself sends through the local MTA: roster-policyd's circuit-breaker notices
// (policy/notifier.h) and roster-apid's password-reset links (ops/recovery.h).
// One message per connection: greeting, EHLO (HELO if the server refuses
// EHLO), MAIL FROM, RCPT TO, DATA with the body dot-stuffed and every line
// ending in CRLF, QUIT. Plain SMTP to a numeric loopback address only: it
// never authenticates, never speaks TLS and never looks a name up.
//
// Bounded: the whole dialogue has one deadline (connect to the end of DATA),
// every read waits at most until it; a reply may be at most 64 KiB (all its
// lines), a line of the message at most 998 bytes (longer ones are cut), the
// body at most 64 KiB. A failure is kTemporary (the MTA said no, or could not
// be reached in time) with the step and the server's reply in its message;
// kInvalid for a target or address roster would never send to.
//
// Trusts: nothing from the server (its replies are bounded and shown
// escaped); the caller for the message's text (UTF-8; control characters
// other than newlines are dropped from header values here).
#ifndef ROSTER_COMMON_SMTP_CLIENT_H
#define ROSTER_COMMON_SMTP_CLIENT_H

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace roster {

struct SmtpTarget {
  std::string host = "127.0.0.1";  // numeric, loopback
  uint16_t port = 25;
  std::chrono::milliseconds timeout{10000};  // the whole dialogue
};

// "127.0.0.1:25", "[::1]:25", "127.0.0.1" (port 25): loopback only.
Result<SmtpTarget> ParseSmtpTarget(std::string_view text);

struct MailMessage {
  std::string envelope_from;  // "" = the null sender <>
  std::string to;             // one recipient
  std::string from_header;    // the From: header's whole value
  std::string subject;        // UTF-8; sent RFC 2047-encoded when not ASCII
  std::string body;           // UTF-8 text, lines separated by '\n'
  std::string extra_headers;  // more header lines, each ending in "\r\n" (made by the caller)
};

// Sends `message`, adding Date and the MIME headers (text/plain, UTF-8,
// 8bit); the MTA adds Message-ID.
Status SendMail(const SmtpTarget& target, const MailMessage& message);

}  // namespace roster

#endif  // ROSTER_COMMON_SMTP_CLIENT_H
