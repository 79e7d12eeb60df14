// libFuzzer target: the config parser on arbitrary text, with includes served
// from a fixed in-memory file so the include path is exercised too. Any
// crash, leak, overflow or undefined behaviour is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto reader = [&text](const std::string& path, std::string* exposed) -> roster::Result<std::string> {
    *exposed = path.find("public") != std::string::npos ? "public" : "";
    if (path.find("self") != std::string::npos) return text;  // includes itself: loop detection
    if (path.find("missing") != std::string::npos) return roster::Error::NotFound(path);
    return std::string("db_name = included\nauth_db_password = x\n");
  };
  auto config = roster::Config::ParseText(text, "/etc/roster/fuzz.conf", roster::RosterConfigKeys(), reader);
  if (config.ok()) {
    for (const roster::ConfigKey& k : roster::RosterConfigKeys()) {
      (void)config->GetString(k.name);
      (void)config->Origin(k.name);
      switch (k.type) {
        case roster::ConfigType::kInt: (void)config->GetInt(k.name); break;
        case roster::ConfigType::kBool: (void)config->GetBool(k.name); break;
        case roster::ConfigType::kSize: (void)config->GetSize(k.name); break;
        case roster::ConfigType::kDuration: (void)config->GetDuration(k.name); break;
        case roster::ConfigType::kList: (void)config->GetList(k.name); break;
        case roster::ConfigType::kString: break;
      }
    }
  }
  return 0;
}
