// SPDX-License-Identifier: MIT
#include "vidrec/serve/request_fields.hpp"

#include <array>

#include "vidrec/base/errors.hpp"
#include "vidrec/serve/requests.hpp"

namespace vidrec {

nlohmann::json RawValue::json() const {
  switch (kind) {
    case Null:
    case Absent:
      return nullptr;
    case Bool:
      return b;
    case Int:
      return i;
    case Uint:
      return u;
    case Float:
      return d;
    case String:
      return s;
    case Array:
      return nlohmann::json::array();
    case Object:
      break;
  }
  return nlohmann::json::object();
}

namespace {

// Which field the next value of an object fills.
enum class Slot : uint8_t {
  None, UserId, VideoId, K, Ef, IncludeSeen, Explain, ExplainN, Location, Exclude, History, Instances,
  ItemVideoId, ItemValue
};

// What the values directly inside an array or object are.
enum class Role : uint8_t {
  Ignore,       // skipped: parsed for syntax only
  Fields,       // a request object's fields
  Exclude,      // the elements of "exclude"
  History,      // the elements of "history"
  HistoryItem,  // the fields of one of them
  Instances     // the elements of "instances"
};

// The SAX handler: the depth limit, the path of a value for a message
// ("instances[2].history[0].value"), and the fields, filled as they come.
class FieldReader {
 public:
  using json = nlohmann::json;
  FieldReader(RawFields& root, bool with_instances) : root_(root), with_instances_(with_instances) {}

  bool null() { return scalar([](RawValue& v) { v.kind = RawValue::Null; }); }
  bool boolean(bool b) {
    return scalar([b](RawValue& v) {
      v.kind = RawValue::Bool;
      v.b = b;
    });
  }
  bool number_integer(json::number_integer_t i) {
    return scalar([i](RawValue& v) {
      v.kind = RawValue::Int;
      v.i = i;
    });
  }
  bool number_unsigned(json::number_unsigned_t u) {
    return scalar([u](RawValue& v) {
      v.kind = RawValue::Uint;
      v.u = u;
    });
  }
  bool number_float(json::number_float_t d, const json::string_t&) {
    return scalar([d](RawValue& v) {
      v.kind = RawValue::Float;
      v.d = d;
    });
  }
  bool string(json::string_t& s) {
    return scalar([&s](RawValue& v) {
      v.kind = RawValue::String;
      v.s.swap(s);  // the lexer clears its token before the next one
    });
  }
  bool binary(json::binary_t&) { return true; }  // never sent by the JSON parser
  bool start_object(std::size_t) { return open(false); }
  bool start_array(std::size_t) { return open(true); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(json::string_t& k) {
    Frame& f = frames_[depth_ - 1];
    f.key = k;
    f.pending = f.role == Role::Fields        ? field_slot(k, f.fields == &root_)
                : f.role == Role::HistoryItem ? k == "videoId" ? Slot::ItemVideoId
                                                : k == "value" ? Slot::ItemValue
                                                               : Slot::None
                                              : Slot::None;
    return true;
  }
  bool parse_error(std::size_t, const std::string& token, const nlohmann::detail::exception& e) {
    if (e.id == 406)  // a number beyond double's range, such as 1e400
      error_ = path(true) + " must be a finite number, got " + token.substr(0, 40);
    else
      error_ = std::string("malformed JSON: ") + e.what();
    if (error_.size() > 300) error_ = error_.substr(0, 300) + "...";  // e.what() quotes the last token
    return false;
  }
  const std::string& error() const { return error_; }

 private:
  struct Frame {
    bool array = false;
    size_t count = 0;  // elements begun (arrays)
    std::string key;   // the last key read (objects)
    Role role = Role::Ignore;
    Slot pending = Slot::None;
    RawFields* fields = nullptr;      // Fields, Exclude, History, Instances
    RawHistoryItem* item = nullptr;   // HistoryItem
  };
  // Where a value that begins now goes (null: nowhere), and the role of
  // the frame it opens if it is an array or object.
  struct Target {
    RawValue* value = nullptr;
    Role role = Role::Ignore;
    RawFields* fields = nullptr;
    RawHistoryItem* item = nullptr;
  };

  Slot field_slot(const std::string& k, bool top) const {
    static const std::array<std::pair<std::string_view, Slot>, 11> names{{
        {"user_id", Slot::UserId}, {"video_id", Slot::VideoId}, {"k", Slot::K}, {"ef", Slot::Ef},
        {"include_seen", Slot::IncludeSeen}, {"explain", Slot::Explain}, {"explain_n", Slot::ExplainN},
        {"location", Slot::Location}, {"exclude", Slot::Exclude}, {"history", Slot::History},
        {"instances", Slot::Instances}}};
    for (const auto& [name, slot] : names)
      if (k == name) return slot == Slot::Instances && !(top && with_instances_) ? Slot::None : slot;
    return Slot::None;
  }

  // A value begins: counts it in its array and says where it goes.
  Target begin(bool object) {
    if (depth_ == 0) return {&root_.self, Role::Fields, &root_, nullptr};
    Frame& f = frames_[depth_ - 1];
    if (f.array) ++f.count;
    RawFields* r = f.fields;
    switch (f.role) {
      case Role::Ignore:
        return {};
      case Role::Exclude:
        return {r->exclude_bad.present() ? nullptr : &r->exclude_bad};
      case Role::History: {
        RawHistoryItem& item = r->history_items.emplace_back();
        item.object = object;
        return {nullptr, object ? Role::HistoryItem : Role::Ignore, nullptr, &item};
      }
      case Role::Instances:
        if (++r->instance_count > kMaxInstances) return {};
        return {&r->instance_items.emplace_back().self, Role::Fields, &r->instance_items.back()};
      case Role::HistoryItem:
        return {f.pending == Slot::ItemVideoId ? &f.item->video_id
                : f.pending == Slot::ItemValue ? &f.item->value
                                               : nullptr};
      case Role::Fields:
        break;
    }
    switch (f.pending) {
      case Slot::UserId: return {&r->user_id};
      case Slot::VideoId: return {&r->video_id};
      case Slot::K: return {&r->k};
      case Slot::Ef: return {&r->ef};
      case Slot::IncludeSeen: return {&r->include_seen};
      case Slot::Explain: return {&r->explain};
      case Slot::ExplainN: return {&r->explain_n};
      case Slot::Location: return {&r->location};
      case Slot::Exclude:  // a key given again: only its last value counts
        r->exclude_ids.clear();
        r->exclude_bad.kind = RawValue::Absent;
        return {&r->exclude, Role::Exclude, r};
      case Slot::History:
        r->history_items.clear();
        return {&r->history, Role::History, r};
      case Slot::Instances:
        r->instance_items.clear();
        r->instance_count = 0;
        return {&r->instances, Role::Instances, r};
      default:
        return {};
    }
  }

  template <class Fill>
  bool scalar(Fill fill) {
    const Target t = begin(false);
    if (!t.value) return true;
    fill(*t.value);
    // An "exclude" string joins the list; the first other element stays as exclude_bad.
    if (depth_ > 0 && frames_[depth_ - 1].role == Role::Exclude && t.value->kind == RawValue::String) {
      frames_[depth_ - 1].fields->exclude_ids.push_back(std::move(t.value->s));
      t.value->kind = RawValue::Absent;
    }
    return true;
  }

  bool open(bool array) {
    const Target t = begin(!array);
    if (depth_ == kMaxJsonDepth) {
      error_ = "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels at " + path(false);
      return false;
    }
    if (t.value) t.value->kind = array ? RawValue::Array : RawValue::Object;
    Frame& f = frames_[depth_++];
    f.array = array;
    f.count = 0;
    f.pending = Slot::None;
    // A role applies to the container it was meant for only: "history":{} is no list.
    const bool fits = t.role == Role::Fields || t.role == Role::HistoryItem ? !array
                      : t.role == Role::Ignore                              ? true
                                                                            : array;
    f.role = fits ? t.role : Role::Ignore;
    f.fields = t.fields;
    f.item = t.item;
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }
  // The path to the value being read; `pending`: it has not begun yet.
  std::string path(bool pending) const {
    std::string p;
    for (size_t i = 0; i < depth_; ++i) {
      const Frame& f = frames_[i];
      const bool last = i + 1 == depth_;
      if (f.array)
        p += "[" + std::to_string(f.count - (last && pending ? 0 : 1)) + "]";
      else
        p += (p.empty() ? "" : ".") + f.key.substr(0, 40);
    }
    return p.empty() ? "the top level" : p;
  }

  RawFields& root_;
  bool with_instances_;
  std::array<Frame, kMaxJsonDepth> frames_;  // no allocation per request
  size_t depth_ = 0;
  std::string error_;
};

}  // namespace

RawFields read_fields(std::string_view body, bool with_instances) {
  RawFields root;
  FieldReader reader(root, with_instances);
  if (!nlohmann::json::sax_parse(body.begin(), body.end(), &reader)) throw InputError(reader.error());
  return root;
}

}  // namespace vidrec
