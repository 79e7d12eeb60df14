// handoff.h: how roster's worker threads hand finished work back to the one
// thread that may call its host (Dovecot's ioloop thread), written once for
// the auth and the dict cores. Worker threads Post() finished items; the
// eventfd then turns readable; the host thread, watching it, calls Drain(),
// which runs each item's Complete() there, in the order they were posted.
//
// Thread contract:
//   - Post() may be called from any thread, any number at once.
//   - Drain(), WaitForPost() and the destructor only from the host thread
//     (the one that owns the object), never at the same time as each other.
//   - An item's Complete() runs once, on the host thread, inside Drain();
//     items never drained are destroyed (not completed) with the Handoff.
//   - A Complete() may Post() more items: they run at the next Drain().
//
// Trusts: nothing; it only moves items between threads.
#ifndef ROSTER_COMMON_HANDOFF_H
#define ROSTER_COMMON_HANDOFF_H

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "common/result.h"

namespace roster {

class Handoff {
 public:
  // A finished piece of work, waiting for the host thread.
  class Item {
   public:
    virtual ~Item() = default;
    // Runs on the host thread, inside Drain(), once. It must not throw
    // (the items after it would be lost): an exception ends the process.
    virtual void Complete() noexcept = 0;
  };
  using Items = std::vector<std::unique_ptr<Item>>;

  // The eventfd, or a permanent error if none can be made.
  static Result<std::unique_ptr<Handoff>> Create();
  ~Handoff();
  Handoff(const Handoff&) = delete;
  Handoff& operator=(const Handoff&) = delete;

  // The descriptor to watch for reading (level-triggered: readable while
  // something was posted and not yet drained). Owned by this object.
  int fd() const { return fd_; }

  // Any thread: queues the items for the host thread, with one wakeup.
  void Post(Items items);
  void Post(std::unique_ptr<Item> item);

  // Host thread: runs Complete() of everything posted so far; returns how
  // many ran.
  size_t Drain();

  // Host thread: blocks until something is posted and not drained yet.
  void WaitForPost() const;

 private:
  explicit Handoff(int fd) : fd_(fd) {}
  void Wake();

  const int fd_;
  std::mutex mu_;
  Items posted_;  // GUARDED_BY(mu_)
};

}  // namespace roster

#endif
