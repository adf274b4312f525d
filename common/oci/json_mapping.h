// Internal to common/oci and common/image: maps plain structs to and from nlohmann::json.
//
// Each struct has one Describe(visitor, object) overload listing its
// properties; JsonReader uses it to parse (collecting every error with its
// JSON path) and JsonWriter to serialise, so the two can never disagree.
// Properties not named by Describe are kept verbatim in `unknown`.
#pragma once

#include <concepts>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/oci/field_error.h"

namespace sandbox::oci::json_detail {

// ordered_json: documents are written in the order Describe() lists properties
// (ociVersion first, as runc writes them), unknown properties after.
using Json = nlohmann::ordered_json;

template <class S>
concept MappedObject = requires(S object) { object.unknown; };

inline std::string JsonTypeName(const Json& value) {
  if (value.is_number_integer()) return "integer";
  if (value.is_number_float()) return "number";
  return value.type_name();
}

inline bool TypeError(const Json& value, const std::string& path, const char* wanted,
                      FieldErrors& errors) {
  errors.push_back({path, std::string("expected ") + wanted + ", got " + JsonTypeName(value)});
  return false;
}

inline bool Decode(const Json& value, const std::string& path, FieldErrors& errors,
                   std::string& out) {
  if (!value.is_string()) return TypeError(value, path, "string", errors);
  out = value.get<std::string>();
  return true;
}

inline bool Decode(const Json& value, const std::string& path, FieldErrors& errors, bool& out) {
  if (!value.is_boolean()) return TypeError(value, path, "boolean", errors);
  out = value.get<bool>();
  return true;
}

template <std::integral T>
  requires(!std::same_as<T, bool>)
bool Decode(const Json& value, const std::string& path, FieldErrors& errors, T& out) {
  auto out_of_range = [&](auto number) {
    errors.push_back({path, "value " + std::to_string(number) + " is out of range [" +
                                std::to_string(std::numeric_limits<T>::min()) + ", " +
                                std::to_string(std::numeric_limits<T>::max()) + "]"});
    return false;
  };
  if (value.is_number_unsigned()) {
    uint64_t number = value.get<uint64_t>();
    if (std::cmp_greater(number, std::numeric_limits<T>::max())) return out_of_range(number);
    out = static_cast<T>(number);
    return true;
  }
  if (value.is_number_integer()) {
    int64_t number = value.get<int64_t>();
    if (std::cmp_less(number, std::numeric_limits<T>::min()) ||
        std::cmp_greater(number, std::numeric_limits<T>::max())) {
      return out_of_range(number);
    }
    out = static_cast<T>(number);
    return true;
  }
  return TypeError(value, path, "integer", errors);
}

template <class T>
bool Decode(const Json& value, const std::string& path, FieldErrors& errors, std::vector<T>& out);
template <class T>
bool Decode(const Json& value, const std::string& path, FieldErrors& errors,
            std::map<std::string, T>& out);
template <MappedObject S>
bool Decode(const Json& value, const std::string& path, FieldErrors& errors, S& out);

inline Json Encode(const std::string& value) { return value; }
inline Json Encode(bool value) { return value; }
template <std::integral T>
  requires(!std::same_as<T, bool>)
Json Encode(T value) {
  return value;
}
template <class T>
Json Encode(const std::vector<T>& values);
template <class T>
Json Encode(const std::map<std::string, T>& values);
template <MappedObject S>
Json Encode(const S& object);

class JsonReader {
 public:
  JsonReader(const Json& object, const std::string& path, FieldErrors& errors)
      : object_(object), path_(path), errors_(errors) {}

  template <class T>
  void Required(const char* key, T& out) {
    consumed_.insert(key);
    auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) {
      errors_.push_back({ChildPath(path_, key), "required property is missing"});
      return;
    }
    Decode(*it, ChildPath(path_, key), errors_, out);
  }

  // An absent or null property leaves `out` empty.
  template <class T>
  void Optional(const char* key, std::optional<T>& out) {
    consumed_.insert(key);
    auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) return;
    T value{};
    if (Decode(*it, ChildPath(path_, key), errors_, value)) out = std::move(value);
  }

  // Keeps a property as raw JSON text (used for sections validation rejects).
  void Raw(const char* key, std::map<std::string, std::string>& out) {
    consumed_.insert(key);
    auto it = object_.find(key);
    if (it != object_.end()) out[key] = it->dump();
  }

  void Unknown(std::map<std::string, std::string>& out) {
    for (const auto& [key, value] : object_.items()) {
      if (!consumed_.contains(key)) out[key] = value.dump();
    }
  }

 private:
  const Json& object_;
  const std::string& path_;
  FieldErrors& errors_;
  std::set<std::string> consumed_;
};

class JsonWriter {
 public:
  explicit JsonWriter(Json& out) : out_(out) {}

  template <class T>
  void Required(const char* key, const T& value) {
    out_[key] = Encode(value);
  }
  template <class T>
  void Optional(const char* key, const std::optional<T>& value) {
    if (value) out_[key] = Encode(*value);
  }
  void Raw(const char* key, const std::map<std::string, std::string>& values) {
    auto it = values.find(key);
    if (it != values.end()) out_[key] = Json::parse(it->second);
  }
  void Unknown(const std::map<std::string, std::string>& values) {
    for (const auto& [key, text] : values) out_[key] = Json::parse(text);
  }

 private:
  Json& out_;
};

template <class T>
bool Decode(const Json& value, const std::string& path, FieldErrors& errors, std::vector<T>& out) {
  if (!value.is_array()) return TypeError(value, path, "array", errors);
  bool ok = true;
  out.clear();
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    T element{};
    if (Decode(value[i], IndexPath(path, i), errors, element)) {
      out.push_back(std::move(element));
    } else {
      ok = false;
    }
  }
  return ok;
}

template <class T>
bool Decode(const Json& value, const std::string& path, FieldErrors& errors,
            std::map<std::string, T>& out) {
  if (!value.is_object()) return TypeError(value, path, "object", errors);
  bool ok = true;
  for (const auto& [key, element_json] : value.items()) {
    T element{};
    if (Decode(element_json, MapKeyPath(path, key), errors, element)) {
      out.emplace(key, std::move(element));
    } else {
      ok = false;
    }
  }
  return ok;
}

template <MappedObject S>
bool Decode(const Json& value, const std::string& path, FieldErrors& errors, S& out) {
  if (!value.is_object()) return TypeError(value, path, "object", errors);
  size_t errors_before = errors.size();
  JsonReader reader(value, path, errors);
  Describe(reader, out);
  reader.Unknown(out.unknown);
  return errors.size() == errors_before;
}

template <class T>
Json Encode(const std::vector<T>& values) {
  Json out = Json::array();
  for (const T& value : values) out.push_back(Encode(value));
  return out;
}

template <class T>
Json Encode(const std::map<std::string, T>& values) {
  Json out = Json::object();
  for (const auto& [key, value] : values) out[key] = Encode(value);
  return out;
}

template <MappedObject S>
Json Encode(const S& object) {
  Json out = Json::object();
  JsonWriter writer(out);
  Describe(writer, object);
  writer.Unknown(object.unknown);
  return out;
}

// Parses text into a struct; syntax errors become one FieldError at the root.
template <MappedObject S>
FieldErrors ParseDocument(std::string_view text, S& out) {
  FieldErrors errors;
  Json document;
  try {
    document = Json::parse(text);
  } catch (const Json::exception& error) {  // parse_error, and out_of_range for a number like 1e400
    errors.push_back({"", std::string("malformed JSON: ") + error.what()});
    return errors;
  }
  Decode(document, "", errors, out);
  return errors;
}

}  // namespace sandbox::oci::json_detail
