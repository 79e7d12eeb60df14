// roster_dict.cc: the C API of quota/roster_dict.h over the C++ dict core
// (quota/dict_core.h): converts C to C++ and back, and catches every
// exception, so none reaches Dovecot.
//
// Trusts: the glue to pass NUL-terminated strings (or NULL where allowed).
#include "quota/roster_dict.h"

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "quota/dict_core.h"

struct roster_dict {
  std::unique_ptr<roster::dict::DictCore> core;
};

namespace {

using roster::dict::Committed;
using roster::dict::DictCore;

void Write(char* buffer, unsigned int size, const std::string& text) {
  if (buffer != nullptr && size > 0) std::snprintf(buffer, size, "%s", text.c_str());
}

std::optional<std::string> Optional(const char* text) {
  return text != nullptr ? std::optional<std::string>(text) : std::nullopt;
}

void AnswerError(roster_dict_done_fn* done, void* context, const char* why) {
  roster_dict_answer answer{-1, ROSTER_DICT_COMMIT_FAILED, "", why};
  done(context, &answer);
}

// Runs `submit`; if it throws, the callback has not run (dict_core.h), so it
// is answered here with the error.
template <typename F>
void Guarded(roster_dict_done_fn* done, void* context, F submit) {
  try {
    submit();
    return;
  } catch (const std::exception& e) {
    std::string why = std::string("internal error: ") + e.what();
    AnswerError(done, context, why.c_str());
    return;
  } catch (...) {
  }
  AnswerError(done, context, "internal error");
}

roster::dict::ChangeType TypeOf(roster_dict_change_type type) {
  switch (type) {
    case ROSTER_DICT_SET: return roster::dict::ChangeType::kSet;
    case ROSTER_DICT_UNSET: return roster::dict::ChangeType::kUnset;
    case ROSTER_DICT_INC: return roster::dict::ChangeType::kInc;
  }
  return static_cast<roster::dict::ChangeType>(-1);  // refused by the core's check
}

}  // namespace

extern "C" {

struct roster_dict* roster_dict_create(const char* config_path, char* error, unsigned int size) {
  try {
    auto core = DictCore::Create(config_path);
    if (!core) {
      Write(error, size, core.error().message);
      return nullptr;
    }
    auto handle = std::make_unique<roster_dict>();
    handle->core = std::move(*core);
    return handle.release();  // owned by the glue until roster_dict_destroy
  } catch (const std::exception& e) {
    Write(error, size, std::string("internal error: ") + e.what());
  } catch (...) {
    Write(error, size, "internal error");
  }
  return nullptr;
}

void roster_dict_destroy(struct roster_dict* dict) {
  try {
    std::unique_ptr<roster_dict> owned(dict);
  } catch (...) {
  }
}

int roster_dict_start(struct roster_dict* dict, char* error, unsigned int error_size) {
  try {
    roster::Status started = dict->core->Start();
    if (!started.ok()) {
      Write(error, error_size, started.error().message);
      return -1;
    }
    return dict->core->fd();
  } catch (const std::exception& e) {
    Write(error, error_size, std::string("internal error: ") + e.what());
  } catch (...) {
    Write(error, error_size, "internal error");
  }
  return -1;
}

void roster_dict_lookup(struct roster_dict* dict, const char* username, const char* key, int wait,
                        roster_dict_done_fn* done, void* context) {
  Guarded(done, context, [&] {
    dict->core->Lookup(Optional(username), key != nullptr ? key : "", wait != 0,
                       [done, context](const roster::Result<std::optional<std::string>>& r) {
                         roster_dict_answer answer{-1, ROSTER_DICT_COMMIT_FAILED, "", ""};
                         if (!r) {
                           answer.error = r.error().message.c_str();
                         } else if (*r) {
                           answer.found = 1;
                           answer.value = (*r)->c_str();
                         } else {
                           answer.found = 0;
                         }
                         done(context, &answer);
                       });
  });
}

void roster_dict_commit(struct roster_dict* dict, const char* username, const struct roster_dict_change* changes,
                        unsigned int count, int wait, roster_dict_done_fn* done, void* context) {
  Guarded(done, context, [&] {
    std::vector<roster::dict::Change> copied(count);
    for (unsigned i = 0; i < count; ++i) {
      copied[i].type = TypeOf(changes[i].type);
      copied[i].key = Optional(changes[i].key);
      copied[i].value = Optional(changes[i].value);
      copied[i].diff = changes[i].diff;
    }
    dict->core->Commit(Optional(username), std::move(copied), wait != 0,
                       [done, context](const roster::Result<Committed>& r) {
                         roster_dict_answer answer{-1, ROSTER_DICT_COMMIT_FAILED, "", ""};
                         if (!r)
                           answer.error = r.error().message.c_str();
                         else
                           answer.result = *r == Committed::kOk ? ROSTER_DICT_COMMIT_OK : ROSTER_DICT_COMMIT_NOTFOUND;
                         done(context, &answer);
                       });
  });
}

unsigned int roster_dict_pending(const struct roster_dict* dict) { return dict->core->pending(); }

void roster_dict_drain(struct roster_dict* dict) {
  try {
    dict->core->Drain();
  } catch (...) {
    // Only the answers' callbacks run here, and they are C.
  }
}

void roster_dict_wait(struct roster_dict* dict) {
  try {
    dict->core->Wait();
  } catch (...) {
  }
}

}  // extern "C"
