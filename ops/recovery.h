// recovery.h: what the self-service password recovery (ops/recovery_ops.cc)
// shares with its callers and tests: how an answer to a security question is
// normalised before it is hashed or checked, and the Mailer roster-apid gives
// the operations (the reset link goes by SMTP to the local MTA,
// common/smtp_client.h).
//
// Trusts: nothing in the text it normalises (bounded by the operation's
// field); its settings for the MTA's address (loopback, checked by
// OpsSettings::FromConfig).
#ifndef ROSTER_OPS_RECOVERY_H
#define ROSTER_OPS_RECOVERY_H

#include <string>
#include <string_view>

#include "common/smtp_client.h"
#include "ops/operations.h"

namespace roster::ops {

// An answer as it is hashed and compared, so that case and stray spaces do
// not make a right answer wrong. roster has no Unicode library (no ICU), so
// this is not full NFKC with full case folding, but the parts that matter
// for typed answers, Chinese input methods among them:
//   - full-width ASCII forms (U+FF01..U+FF5E) become their ASCII characters
//     (what NFKC does to them), the ideographic space U+3000 and the
//     no-break space U+00A0 a space;
//   - ASCII letters lower-cased (other letters are compared as typed);
//   - leading and trailing white space removed, every inner run of white
//     space (space, tab, CR, LF, the two above) made one space.
// Everything else, Chinese characters included, is kept byte for byte.
std::string NormaliseRecoveryAnswer(std::string_view answer);

// Sends through the local MTA (OpsSettings::smtp), from OpsSettings::mail_from.
class SmtpMailer : public Mailer {
 public:
  explicit SmtpMailer(const OpsSettings& settings) : target_(settings.smtp), from_(settings.mail_from) {}
  Status Send(const std::string& to, const std::string& subject, const std::string& body) override;

 private:
  SmtpTarget target_;
  std::string from_;
};

// A reset link's token: 32 random bytes, 52 characters of lower-case base32.
constexpr size_t kResetTokenChars = 52;

}  // namespace roster::ops

#endif  // ROSTER_OPS_RECOVERY_H
