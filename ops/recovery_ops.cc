// recovery_ops.cc: a mailbox user's self-service password recovery (issue
// 15; doc/api.md "Password recovery"): the user's own security question and
// recovery address (recovery.set, recovery.show), the public questions and
// resets (recovery.question, recovery.reset, recovery.send_link,
// recovery.reset_by_link) and an administrator lifting a lock
// (recovery.unlock). The SQL is common/recovery_store's.
//
// The rules: an answer is normalised (ops/recovery.h) and stored as an
// argon2id hash; recovery_max_failures wrong answers in a row lock the reset
// for recovery_lock (by ctx.clock), and while it is locked every try is
// refused without looking at the answer; a right answer resets the count. A
// reset link is a 256-bit random token mailed to the recovery address, kept
// only as its SHA-256, working once within an hour; a link whose mail could
// not be sent is withdrawn at once (and does not count as the mailbox's link
// of the interval). What a stranger learns:
// recovery.question answers {"question": null, "link": false} alike for an
// unknown address, a disabled mailbox and one with no question, so it tells
// no more than "this address has a question", which a mail server's RCPT
// answer tells already; a wrong answer and an unknown address read the same
// and cost the same argon2id verification; recovery.send_link answers the
// same whether a mail went or not. The public operations are throttled per
// client (ops/authn.h, PublicThrottle).
//
// Trusts: Run to have validated the input and authorized the principal;
// ctx.actor's origin (the client's address) for the change log.
#include <sodium.h>

#include <mutex>

#include "common/address.h"
#include "common/admin_store.h"
#include "common/password.h"
#include "common/recovery_store.h"
#include "common/text.h"
#include "ops/authn.h"
#include "ops/handlers.h"
#include "ops/recovery.h"

namespace roster::ops {

// ------------------------------------------------------------------ shared

std::string NormaliseRecoveryAnswer(std::string_view in) {
  std::string out;
  bool space = false;  // a run of white space waits to be written
  auto put = [&](char c) {
    if (space && !out.empty()) out += ' ';
    space = false;
    out += AsciiLower(c);
  };
  for (size_t i = 0; i < in.size();) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = true;
      ++i;
      continue;
    }
    // U+00A0: C2 A0.
    if (c == 0xc2 && i + 1 < in.size() && static_cast<unsigned char>(in[i + 1]) == 0xa0) {
      space = true;
      i += 2;
      continue;
    }
    if (c == 0xe3 && i + 2 < in.size() && static_cast<unsigned char>(in[i + 1]) == 0x80 &&
        static_cast<unsigned char>(in[i + 2]) == 0x80) {  // U+3000: E3 80 80
      space = true;
      i += 3;
      continue;
    }
    // U+FF01..U+FF5E: EF BC 81..EF BC BF, EF BD 80..EF BD 9E.
    if (c == 0xef && i + 2 < in.size()) {
      unsigned char b1 = static_cast<unsigned char>(in[i + 1]), b2 = static_cast<unsigned char>(in[i + 2]);
      unsigned cp = 0;
      if (b1 == 0xbc && b2 >= 0x81 && b2 <= 0xbf) cp = 0xff00 + (b2 - 0x80);
      if (b1 == 0xbd && b2 >= 0x80 && b2 <= 0x9e) cp = 0xff40 + (b2 - 0x80);
      if (cp != 0) {
        put(static_cast<char>(cp - 0xff01 + 0x21));
        i += 3;
        continue;
      }
    }
    put(static_cast<char>(c));
    ++i;
  }
  return out;
}

Status SmtpMailer::Send(const std::string& to, const std::string& subject, const std::string& body) {
  MailMessage m;
  m.envelope_from = from_;
  m.to = to;
  m.from_header = "roster <" + (from_.empty() ? std::string("postmaster") : from_) + ">";
  m.subject = subject;
  m.body = body;
  m.extra_headers = "Auto-Submitted: auto-generated\r\n";
  return SendMail(target_, m);
}

namespace {

// A hash no answer matches, checked when there is nothing to check against,
// so an unknown address costs what a wrong answer costs.
void SpendLikeAVerification(const PasswordPolicy& policy, const std::string& answer) {
  static std::once_flag once;
  static std::string dummy;
  std::call_once(once, [&] {
    unsigned char noise[24];
    randombytes_buf(noise, sizeof noise);
    auto made = PasswordHasher(policy).Hash(std::string(reinterpret_cast<char*>(noise), sizeof noise));
    dummy = made ? *made : std::string();
  });
  if (!dummy.empty()) (void)PasswordHasher(policy).Verify(answer, dummy);
}

Error WrongAnswer() {
  Error e = Error::Forbidden("the answer is not right (or the address has no security question)");
  e.field = "answer";
  return e;
}

bool LinkOffered(const Context& ctx, const RecoveryRecord& r) {
  return r.usable && r.recovery_mail && !r.recovery_address.empty() && !ctx.settings->public_url.empty();
}

std::string ResetUrl(const std::string& base, const std::string& token) {
  return base + (base.back() == '/' ? "" : "/") + "#/reset/" + token;
}

std::string ResetMail(const std::string& address, const std::string& url) {
  return "Someone, perhaps you, asked to reset the password of the mailbox " + address +
         ".\n"
         "To choose a new password, open this link within one hour (it works once):\n\n" +
         url +
         "\n\n"
         "If you did not ask for this, ignore this message: the password stays as it is.\n\n"
         "有人（可能是您）申请重置邮箱 " + address + " 的密码。\n"
         "如需设置新密码，请在一小时内打开以下链接（仅可使用一次）：\n\n" + url + "\n\n"
         "如果这不是您本人的操作，请忽略此邮件，您的密码不会改变。\n";
}

}  // namespace

// ------------------------------------------------------------------ the owner's

ROSTER_OPS_HANDLER(RecoverySet) {
  const bool has_question = in.contains("question"), has_answer = in.contains("answer");
  if (has_question != has_answer) {
    Error e = Error::Invalid("give the question and its answer together");
    e.field = has_question ? "answer" : "question";
    return e;
  }
  if (!has_question && !in.contains("recovery_address")) {
    Error e = Error::Invalid("give a question and its answer, and/or a recovery_address");
    e.field = "question";
    return e;
  }
  ROSTER_TRY(CheckCurrentPassword(ctx, object.name, in));
  std::optional<std::string> question;
  std::string answer_hash;
  if (has_question) {
    question = Str(in, "question");
    std::string answer = NormaliseRecoveryAnswer(in["answer"].get_ref<const std::string&>());
    if (question->empty() != answer.empty()) {
      sodium_memzero(answer.data(), answer.size());
      Error e = Error::Invalid("a question needs an answer that is not only spaces (both empty: none)");
      e.field = question->empty() ? "question" : "answer";
      return e;
    }
    if (!answer.empty()) {
      auto hash = PasswordHasher(ctx.settings->password_policy).Hash(answer);
      sodium_memzero(answer.data(), answer.size());
      if (!hash) return hash.error();
      answer_hash = *hash;
    }
  }
  std::optional<std::string> recovery_address;
  if (in.contains("recovery_address")) {
    recovery_address = Str(in, "recovery_address");
    if (!recovery_address->empty()) {
      auto a = ParseMailboxName(*recovery_address);
      if (!a) {
        Error e = Error::Invalid("recovery_address: " + a.error().message);
        e.field = "recovery_address";
        return e;
      }
      recovery_address = a->Mailbox();
      if (EqualsIgnoreCase(*recovery_address, object.name)) {
        Error e = Error::Invalid("recovery_address: another address than the mailbox's own");
        e.field = "recovery_address";
        return e;
      }
    }
  }
  ROSTER_TRY(RecoveryStore(*ctx.db).Set(object.name, question, answer_hash, recovery_address, ctx.actor));
  Json j = Json::object();
  j["mailbox"] = object.name;
  j["question_set"] = has_question;
  j["recovery_address_set"] = recovery_address.has_value();
  return j;
}

ROSTER_OPS_HANDLER(RecoveryShow) {
  auto r = RecoveryStore(*ctx.db).Find(object.name);
  if (!r) return r.error();
  const int64_t now = ctx.clock->NowUnix();
  Json j = Json::object();
  j["mailbox"] = r->address;
  j["question"] = r->question.empty() ? Json(nullptr) : Json(r->question);
  j["recovery_address"] = r->recovery_address;
  j["recovery_mail"] = r->recovery_mail;
  j["failures"] = r->locked_until > now ? 0u : r->failures;
  j["locked_until"] = r->locked_until > now ? Json(r->locked_until) : Json(nullptr);
  return j;
}

// ------------------------------------------------------------------ an administrator's

ROSTER_OPS_HANDLER(RecoveryUnlock) {
  auto lifted = RecoveryStore(*ctx.db).Unlock(object.name, ctx.clock->NowUnix(), ctx.actor);
  if (!lifted) return lifted.error();
  Json j = Json::object();
  j["mailbox"] = object.name;
  j["unlocked"] = *lifted;
  return j;
}

// ------------------------------------------------------------------ public

ROSTER_OPS_HANDLER(RecoveryQuestion) {
  const std::string address = Str(in, "address");
  Json j = Json::object();
  j["address"] = address;
  j["question"] = nullptr;
  j["link"] = false;
  auto r = RecoveryStore(*ctx.db).Find(address);
  if (!r) {
    if (r.error().is_not_found()) return j;
    return r.error();
  }
  if (r->usable && !r->question.empty()) j["question"] = r->question;
  j["link"] = LinkOffered(ctx, *r);
  return j;
}

ROSTER_OPS_HANDLER(RecoveryReset) {
  const std::string address = Str(in, "address");
  const PasswordPolicy& policy = ctx.settings->password_policy;
  std::string answer = NormaliseRecoveryAnswer(in["answer"].get_ref<const std::string&>());
  struct Wipe {
    std::string& s;
    ~Wipe() { sodium_memzero(s.data(), s.size()); }
  } wipe{answer};
  RecoveryStore store(*ctx.db);
  auto r = store.Find(address);
  if (!r && !r.error().is_not_found()) return r.error();
  if (!r || !r->usable || r->answer_hash.empty()) {
    SpendLikeAVerification(policy, answer);
    return WrongAnswer();
  }
  const int64_t now = ctx.clock->NowUnix();
  if (r->locked_until > now) return ResetLocked(r->locked_until - now);  // without looking at the answer
  if (r->locked_until != 0) ROSTER_TRY(store.LiftExpiredLock(r->mailbox_id, now, ctx.actor));
  PasswordHasher hasher(policy);
  if (!hasher.Verify(answer, r->answer_hash).matched()) {
    auto after = store.RecordFailure(r->mailbox_id, ctx.settings->recovery_max_failures, ctx.settings->recovery_lock,
                                     now, ctx.actor);
    if (!after) return after.error();
    if (after->locked_until > now) return ResetLocked(after->locked_until - now);
    return WrongAnswer();
  }
  auto hash = hasher.Hash(in["password"].get_ref<const std::string&>());
  if (!hash) return hash.error();
  ROSTER_TRY(store.ResetByAnswer(r->mailbox_id, r->address, *hash, now, ctx.actor));
  ctx.flusher->Flush({r->address});
  return Json{{"password_changed", r->address}};
}

ROSTER_OPS_HANDLER(RecoverySendLink) {
  const std::string address = Str(in, "address");
  Json answer = Json::object();
  answer["address"] = address;
  answer["requested"] = true;  // the same whether a mail went or not
  RecoveryStore store(*ctx.db);
  auto r = store.Find(address);
  if (!r) {
    if (r.error().is_not_found()) return answer;
    return r.error();
  }
  if (!LinkOffered(ctx, *r)) return answer;
  if (ctx.mailer == nullptr) return Error::Temporary("reset links cannot be mailed from here");
  std::string token = RandomBase32(kResetTokenChars);  // 260 random bits
  struct Wipe {
    std::string& s;
    ~Wipe() { sodium_memzero(s.data(), s.size()); }
  } wipe{token};
  const int64_t now = ctx.clock->NowUnix();
  // One link per mailbox per interval, whoever asks: the per-client throttle
  // alone would let many clients flood the recovery address.
  if (r->link_expires_at > now &&
      r->link_expires_at - ctx.settings->recovery_link_lifetime + ctx.settings->recovery_link_interval > now)
    return answer;
  const std::string digest = Sha256(token);
  ROSTER_TRY(store.SetToken(r->mailbox_id, r->address, digest, now + ctx.settings->recovery_link_lifetime,
                            r->recovery_address, ctx.actor));
  std::string url = ResetUrl(ctx.settings->public_url, token);
  Status sent = ctx.mailer->Send(r->recovery_address, "Password reset / 重置密码", ResetMail(r->address, url));
  sodium_memzero(url.data(), url.size());
  if (!sent) {
    // Not mailed (the MTA refused or could not be reached): the token is
    // withdrawn, so the link works nowhere, even if the MTA kept the mail
    // after all (its last reply lost), and the next request is not held back
    // by the one-link-per-interval rule. Should the database fail here too,
    // the token stays until it expires, in no mail the MTA said it took; the
    // answer is the same 503 either way.
    (void)store.WithdrawToken(r->mailbox_id, r->address, digest, ctx.actor);
    return Error::Temporary("the reset link could not be mailed now: try again later");
  }
  return answer;
}

ROSTER_OPS_HANDLER(RecoveryResetByLink) {
  const std::string& token = in["token"].get_ref<const std::string&>();
  if (token.size() != kResetTokenChars) {
    Error e = Error::Forbidden("the reset link is unknown, used or expired");
    e.field = "token";
    return e;
  }
  PasswordHasher hasher(ctx.settings->password_policy);
  auto hash = hasher.Hash(in["password"].get_ref<const std::string&>());
  if (!hash) return hash.error();
  auto address = RecoveryStore(*ctx.db).ResetByToken(Sha256(token), *hash, ctx.clock->NowUnix(), ctx.actor);
  if (!address) {
    if (!address.error().is_not_found()) return address.error();
    Error e = Error::Forbidden("the reset link is unknown, used or expired");
    e.field = "token";
    return e;
  }
  ctx.flusher->Flush({*address});
  return Json{{"password_changed", *address}};
}

}  // namespace roster::ops
