// db_bench: mailbox-for-login lookups per second through roster's accounts
// repository (prepared statement, reused connection), N client threads each
// with its own connection, for a fixed number of lookups over the mailboxes
// user0..user{M-1}@bench.test. Prints lookups/s; run-bench compares it with
// mariadb-slap running the same query on the same server.
//   db_bench CONFIG THREADS LOOKUPS MAILBOXES
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/login_store.h"
#include "common/config.h"
#include "common/db.h"

int main(int argc, char** argv) {
  if (argc != 5 && argc != 6) {
    std::fprintf(stderr, "usage: db_bench CONFIG THREADS LOOKUPS MAILBOXES [BATCH]\n");
    return 64;
  }
  auto config = roster::Config::LoadFile(argv[1]);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 78;
  }
  int threads = std::atoi(argv[2]);
  long lookups = std::atol(argv[3]);
  int mailboxes = std::atoi(argv[4]);
  size_t batch = argc == 6 ? static_cast<size_t>(std::atol(argv[5])) : 1;
  auto settings = roster::DbSettings::FromConfig(*config, roster::DbRole::kAuth);
  if (!settings) return 78;
  std::atomic<long> next{0}, found{0}, failed{0};
  std::vector<std::thread> pool;
  std::vector<std::unique_ptr<roster::Db>> dbs;
  for (int t = 0; t < threads; ++t) {
    dbs.push_back(std::make_unique<roster::Db>(*settings));
    if (!dbs.back()->Ping()) return 75;  // connect before the clock starts, as mariadb-slap does
  }
  auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      roster::LoginStore accounts(*dbs[t]);
      std::mt19937 rng(static_cast<unsigned>(t));
      if (batch > 1) {
        // As the threaded auth driver does under load: several logins in one query.
        while (next.fetch_add(static_cast<long>(batch)) < lookups) {
          std::vector<std::string> users;
          for (size_t i = 0; i < batch; ++i) users.push_back("user" + std::to_string(rng() % mailboxes) + "@bench.test");
          auto m = accounts.FindMailboxesForLogin(users);
          for (size_t i = 0; i < batch; ++i)
            if (m && (*m)[i]) ++found;
            else ++failed;
        }
        return;
      }
      while (next.fetch_add(1) < lookups) {
        std::string user = "user" + std::to_string(rng() % mailboxes) + "@bench.test";
        auto m = accounts.FindMailboxForLogin(user);
        if (m) ++found;
        else ++failed;
      }
    });
  }
  for (auto& th : pool) th.join();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%.0f\n", lookups / s);
  std::fprintf(stderr, "db_bench: %ld found, %ld failed, %.2f s\n", found.load(), failed.load(), s);
  return failed.load() == 0 ? 0 : 1;
}
