// Tests of common/handoff.h: items posted from many threads each complete
// exactly once, on the draining thread, in the order each thread posted
// them; the descriptor turns readable after a post; a completion may post.
#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <thread>
#include <vector>

#include "common/handoff.h"

namespace roster {
namespace {

struct Seen {
  std::vector<std::pair<int, int>> completed;  // (poster, sequence)
  std::thread::id thread;
  bool other_thread = false;
};

class Note : public Handoff::Item {
 public:
  Note(Seen* seen, int poster, int sequence, Handoff* post_again = nullptr)
      : seen_(seen), poster_(poster), sequence_(sequence), post_again_(post_again) {}
  void Complete() noexcept override {
    if (std::this_thread::get_id() != seen_->thread) seen_->other_thread = true;
    seen_->completed.emplace_back(poster_, sequence_);
    if (post_again_) post_again_->Post(std::make_unique<Note>(seen_, -1, 0));
  }

 private:
  Seen* seen_;
  int poster_, sequence_;
  Handoff* post_again_;
};

bool Readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) > 0;
}

TEST(HandoffTest, EveryItemCompletesOnceOnTheDrainingThreadInPostOrder) {
  auto handoff = Handoff::Create();
  ASSERT_TRUE(handoff.ok());
  Handoff& h = **handoff;
  EXPECT_FALSE(Readable(h.fd(), 0));
  Seen seen;
  seen.thread = std::this_thread::get_id();
  constexpr int kThreads = 4, kEach = 500;
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t)
    posters.emplace_back([&, t] {
      for (int i = 0; i < kEach; i += 2) {
        Handoff::Items two;
        two.push_back(std::make_unique<Note>(&seen, t, i));
        two.push_back(std::make_unique<Note>(&seen, t, i + 1));
        h.Post(std::move(two));
      }
    });
  // Drain while they post, then what is left.
  while (seen.completed.size() < kThreads * kEach) {
    if (Readable(h.fd(), 1000)) h.Drain();
  }
  for (std::thread& t : posters) t.join();
  h.Drain();
  EXPECT_FALSE(seen.other_thread);
  ASSERT_EQ(seen.completed.size(), static_cast<size_t>(kThreads * kEach));
  std::vector<int> next(kThreads, 0);
  for (auto [poster, sequence] : seen.completed) EXPECT_EQ(sequence, next[poster]++);
  EXPECT_FALSE(Readable(h.fd(), 0));
}

TEST(HandoffTest, ACompletionMayPostForTheNextDrain) {
  auto handoff = Handoff::Create();
  ASSERT_TRUE(handoff.ok());
  Handoff& h = **handoff;
  Seen seen;
  seen.thread = std::this_thread::get_id();
  h.Post(std::make_unique<Note>(&seen, 0, 0, &h));
  h.WaitForPost();
  EXPECT_EQ(h.Drain(), 1u);
  EXPECT_TRUE(Readable(h.fd(), 0));
  EXPECT_EQ(h.Drain(), 1u);
  EXPECT_EQ(seen.completed, (std::vector<std::pair<int, int>>{{0, 0}, {-1, 0}}));
  EXPECT_EQ(h.Drain(), 0u);
}

}  // namespace
}  // namespace roster
