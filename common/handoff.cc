// handoff.cc: the eventfd hand-off of common/handoff.h.
//
// Trusts: nothing.
#include "common/handoff.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace roster {

Result<std::unique_ptr<Handoff>> Handoff::Create() {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return Error::Permanent("eventfd failed");
  return std::unique_ptr<Handoff>(new Handoff(fd));
}

Handoff::~Handoff() { close(fd_); }

void Handoff::Post(Items items) {
  if (items.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (posted_.empty()) {
      posted_ = std::move(items);
    } else {
      for (auto& item : items) posted_.push_back(std::move(item));
    }
  }
  Wake();
}

void Handoff::Post(std::unique_ptr<Item> item) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    posted_.push_back(std::move(item));
  }
  Wake();
}

void Handoff::Wake() {
  uint64_t one = 1;
  if (write(fd_, &one, sizeof one) < 0) {
    // EAGAIN: the counter is saturated, so the host has wakeups pending anyway.
  }
}

size_t Handoff::Drain() {
  // Reset the counter first: whatever is posted after this read wakes the
  // host again, so nothing is left behind without a wakeup.
  uint64_t count;
  while (read(fd_, &count, sizeof count) > 0) {
  }
  Items ready;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ready.swap(posted_);
  }
  for (auto& item : ready) {
    item->Complete();
    item.reset();  // before the next completion: the item's memory is its own
  }
  return ready.size();
}

void Handoff::WaitForPost() const {
  pollfd p{fd_, POLLIN, 0};
  while (poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
}

}  // namespace roster
