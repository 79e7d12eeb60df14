// sql_batch.h: helpers the role stores share to build and run statements
// over batches of keys (common/login_store, usage_store, policy_store). No
// statement about roster's data is here: each store keeps its own SQL, and
// a statement more than one store runs is in common/shared_sql.
//
// Trusts: the Db it is given; keys are lower-cased by the caller (or by
// SplitAscii) before they are compared as stored.
#ifndef ROSTER_COMMON_SQL_BATCH_H
#define ROSTER_COMMON_SQL_BATCH_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/db.h"
#include "common/result.h"

namespace roster {

// The most keys one batch statement takes (a login, a usage or a state
// batch, an outbound count): more are split.
constexpr size_t kMaxBatch = 32;

// A statement over a batch of `n` keys, "head ?, ?, ... tail", built once
// per size (1, 2, 4 ... kMaxBatch), so hot paths do not rebuild SQL text and
// a connection prepares a handful of statements. `list` makes the part
// repeated per key ("?" for an IN list).
class BatchStatements {
 public:
  using ListFn = std::string (*)(size_t n);
  explicit BatchStatements(ListFn list);
  // The statement for n keys (padded up to a power of two) and its size.
  std::pair<const std::string&, size_t> For(size_t n) const;

 private:
  std::vector<std::string> by_size_;
};

// "?, ?, ?" for n = 3: `each` repeated, joined by `separator`.
std::string Placeholders(size_t n, const char* each = "?", const char* separator = ", ");

// Runs `batch` over lower-cased keys, kMaxBatch at a time, the last key
// repeated up to the statement's size; on_row(i, row) for every row whose
// first column is keys[i] (a key may appear more than once).
Status QueryByKeys(Db& db, const BatchStatements& batch, const std::vector<std::string>& keys,
                   const std::function<void(size_t, const DbRow&)>& on_row);

// Runs the statement `batch` makes over ids (an IN list, say), kMaxBatch at
// a time, the last id repeated up to the statement's size; idempotent
// statements only (a lost connection is retried).
Status ExecuteByIds(Db& db, const BatchStatements& batch, const std::vector<uint64_t>& ids);

// Batch statements compare keys as stored, so the keys are lower-cased here,
// which gives what the server's LOWER() gives only for ASCII. Returns the
// indexes of the ASCII addresses (their keys appended to `keys`, in order);
// the others' indexes go to `others`, for a query of their own.
std::vector<size_t> SplitAscii(const std::vector<std::string>& addresses, std::vector<std::string>* keys,
                               std::vector<size_t>* others);

// QueryByKeys for addresses of any spelling: the ASCII ones lower-cased and
// batched, the others one by one through `one` (the same columns; its one
// parameter compared with LOWER(?)). on_row(i, row) answers addresses[i].
Status QueryByAddresses(Db& db, const BatchStatements& batch, std::string_view one,
                        const std::vector<std::string>& addresses,
                        const std::function<void(size_t, const DbRow&)>& on_row);

// HEX() text back to bytes; a stray character counts as 0 (the server's
// HEX() gives none).
std::string Unhex(std::string_view hex);

// NotFound(what) when a statement changed no row.
Status ExpectOneRow(const Result<uint64_t>& affected, const std::string& what);

}  // namespace roster

#endif
