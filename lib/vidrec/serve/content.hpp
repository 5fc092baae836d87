// SPDX-License-Identifier: MIT
// The media types /invocations reads and writes, and HTTP content
// negotiation (RFC 9110 Content-Type and Accept) over them.
//
// Contract
// - request_type(): the body type a Content-Type names, case-insensitive,
//   parameters (charset...) ignored: application/json; JSON Lines as
//   application/jsonlines (SageMaker's name), application/x-jsonlines,
//   application/jsonl or application/x-ndjson; text/csv. Anything else,
//   or no Content-Type, is nullopt (the API's 415).
// - reply_type(): the type an Accept header asks for among those in
//   `offered`. An empty header is */*. Each media range (type/subtype,
//   type/* or */*, parameters ignored but q) gives a type the q of its most
//   specific matching range (a type matches under any of request_type()'s
//   names; q 0 = not acceptable; a range with a malformed
//   q, or no '/', is ignored). The highest q wins; ties go to the type whose
//   range comes first in the header, then to `offered`'s order. nullopt
//   when none is acceptable (the API's 406).
#pragma once
#include <initializer_list>
#include <optional>
#include <string_view>

namespace vidrec {

enum class MediaType { Json, JsonLines, Csv };

// The name replies carry in their Content-Type.
const char* media_type_name(MediaType t);

std::optional<MediaType> request_type(std::string_view content_type);
std::optional<MediaType> reply_type(std::string_view accept, std::initializer_list<MediaType> offered);

}  // namespace vidrec
