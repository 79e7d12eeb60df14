// sql_batch.cc: see sql_batch.h.
#include "common/sql_batch.h"

#include <algorithm>

#include "common/text.h"

namespace roster {

BatchStatements::BatchStatements(ListFn list) {
  for (size_t size = 1; size <= kMaxBatch; size *= 2) by_size_.push_back(list(size));
}

std::pair<const std::string&, size_t> BatchStatements::For(size_t n) const {
  size_t index = 0;
  while ((size_t{1} << index) < n) ++index;
  return {by_size_.at(index), size_t{1} << index};
}

std::string Placeholders(size_t n, const char* each, const char* separator) {
  std::string list;
  for (size_t i = 0; i < n; ++i) list += (i == 0 ? "" : separator) + std::string(each);
  return list;
}

namespace {

// Runs run(sql, params, start, count) for each batch of at most kMaxBatch
// values, the last value repeated up to the statement's size.
template <typename T, typename Run>
Status EachBatch(const BatchStatements& batch, const std::vector<T>& values, Run run) {
  for (size_t start = 0; start < values.size(); start += kMaxBatch) {
    size_t count = std::min(kMaxBatch, values.size() - start);
    auto [sql, size] = batch.For(count);
    DbParams params;
    for (size_t i = 0; i < size; ++i) params.emplace_back(values[start + std::min(i, count - 1)]);
    ROSTER_TRY(run(sql, params, start, count));
  }
  return Status::Ok();
}

}  // namespace

Status QueryByKeys(Db& db, const BatchStatements& batch, const std::vector<std::string>& keys,
                   const std::function<void(size_t, const DbRow&)>& on_row) {
  return EachBatch(batch, keys, [&](const std::string& sql, const DbParams& params, size_t start, size_t count) {
    auto rows = db.Query(sql, params);
    if (!rows) return Status(rows.error());
    for (const DbRow& r : *rows)
      for (size_t i = start; i < start + count; ++i)
        if (keys[i] == r.String(0)) on_row(i, r);
    return Status::Ok();
  });
}

Status ExecuteByIds(Db& db, const BatchStatements& batch, const std::vector<uint64_t>& ids) {
  return EachBatch(batch, ids, [&](const std::string& sql, const DbParams& params, size_t, size_t) {
    auto done = db.ExecuteIdempotent(sql, params);
    return done ? Status::Ok() : Status(done.error());
  });
}

namespace {

bool IsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

}  // namespace

std::vector<size_t> SplitAscii(const std::vector<std::string>& addresses, std::vector<std::string>* keys,
                               std::vector<size_t>* others) {
  std::vector<size_t> ascii;
  for (size_t i = 0; i < addresses.size(); ++i) {
    if (IsAscii(addresses[i])) {
      ascii.push_back(i);
      keys->push_back(AsciiLower(addresses[i]));
    } else {
      others->push_back(i);
    }
  }
  return ascii;
}

Status QueryByAddresses(Db& db, const BatchStatements& batch, std::string_view one,
                        const std::vector<std::string>& addresses,
                        const std::function<void(size_t, const DbRow&)>& on_row) {
  std::vector<std::string> keys;
  std::vector<size_t> others;
  std::vector<size_t> batched = SplitAscii(addresses, &keys, &others);
  for (size_t i : others) {
    auto rows = db.Query(one, {addresses[i]});
    if (!rows) return rows.error();
    for (const DbRow& r : *rows) on_row(i, r);
  }
  return QueryByKeys(db, batch, keys, [&](size_t i, const DbRow& r) { on_row(batched[i], r); });
}

std::string Unhex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return 0;
  };
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(nibble(hex[i]) << 4 | nibble(hex[i + 1]));
  return out;
}

Status ExpectOneRow(const Result<uint64_t>& affected, const std::string& what) {
  if (!affected) return affected.error();
  if (*affected == 0) return Error::NotFound(what);
  return Status::Ok();
}

}  // namespace roster
