// SPDX-License-Identifier: MIT
// A request body's fields, read in one pass by nlohmann's SAX parser with
// no DOM: the values requests.cpp checks, kept as the DOM would have held
// them, so that its checks (and their messages) are those of the DOM code
// they replaced.
//
// Contract
// - read_fields(body, with_instances) parses the whole body first: bad JSON,
//   nesting deeper than kMaxJsonDepth or a number beyond double's range is
//   an InputError (the message names the path of that number), before any
//   field is judged.
// - Only the fields named below are kept: at the top level, in each element
//   of "instances" (with_instances), and in "exclude" and "history" arrays;
//   every other key is skipped, its value parsed for syntax only.
// - A key given twice keeps its last value (as nlohmann's DOM did).
// - Arrays and objects where a scalar is expected are kept by kind only,
//   like the elements of "exclude" after the first one that is not a string.
#pragma once
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace vidrec {

// One JSON value: a scalar, or an array or object by kind only.
struct RawValue {
  enum Kind : uint8_t { Absent, Null, Bool, Int, Uint, Float, String, Array, Object };
  Kind kind = Absent;
  union {  // the member that `kind` names (a history of a million items holds two each)
    bool b;
    int64_t i = 0;
    uint64_t u;
    double d;
  };
  std::string s;

  bool present() const { return kind != Absent; }
  bool is_integer() const { return kind == Int || kind == Uint; }
  bool is_number() const { return kind == Int || kind == Uint || kind == Float; }
  double number() const { return kind == Int ? double(i) : kind == Uint ? double(u) : d; }
  // The scalar as a DOM value (Array and Object: empty ones).
  nlohmann::json json() const;
};

struct RawHistoryItem {
  bool object = false;
  RawValue video_id, value;
};

// The fields of one request object (or the top level, whatever it is).
struct RawFields {
  RawValue self;  // the value these fields belong to: Object unless the body was something else
  RawValue user_id, video_id, k, ef, include_seen, explain, explain_n, location;
  RawValue exclude;                       // with, when an array:
  std::vector<std::string> exclude_ids;   //   its strings up to the first other element
  RawValue exclude_bad;                   //   that element (Absent: none)
  RawValue history;                       // with, when an array, its elements:
  std::vector<RawHistoryItem> history_items;
  RawValue instances;                     // with, when an array (top level only):
  size_t instance_count = 0;              //   its length
  std::vector<RawFields> instance_items;  //   its first kMaxInstances elements
};

RawFields read_fields(std::string_view body, bool with_instances);

}  // namespace vidrec
