// libFuzzer target: the address normaliser and domain parser on arbitrary
// bytes. Beyond "no crash", it checks the normaliser's promises: an accepted
// address is bounded, valid UTF-8, free of control characters, has a
// lower-case ASCII domain, and parses again to itself; a local part accepted
// for a mailbox can never leave its directory as a path component.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/address.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  roster::AddressOptions options;
  options.recipient_delimiter = "+-";
  auto a = roster::ParseAddress(input, options);
  if (a.ok()) {
    std::string full = a->Full();
    if (full.size() > roster::kMaxAddress || a->local.size() > roster::kMaxLocalPart) abort();
    if (!roster::IsValidUtf8(full)) abort();
    for (unsigned char c : full)
      if (c < 0x20 || c == 0x7f) abort();
    for (char c : a->domain)
      if (c >= 'A' && c <= 'Z') abort();
    auto again = roster::ParseAddress(full, options);
    if (!again.ok() || again->Full() != full || again->Mailbox() != a->Mailbox()) abort();
  }
  size_t at = input.rfind('@');
  std::string local = input.substr(0, at == std::string::npos ? input.size() : at);
  if (roster::CheckMailboxLocalPart(local).ok()) {
    if (local.empty() || local == "." || local == ".." || local[0] == '.' || local[0] == '-' ||
        local.find('/') != std::string::npos || local.find('\0') != std::string::npos || local.size() > 64)
      abort();
  }
  if (roster::CheckMailboxPathName(input).ok() && !roster::ParseMailboxName(input).ok()) abort();
  auto d = roster::ParseDomain(input);
  if (d.ok()) {
    auto again = roster::ParseDomain(*d);
    if (!again.ok() || *again != *d) abort();
  }
  return 0;
}
